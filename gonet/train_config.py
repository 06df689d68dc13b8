"""The settings of a ``gonet train`` run: one dataclass whose fields are also the command's
options, so each default is written once.

Apart from :mod:`gonet.train` so that the CLI builds its parser without loading torch,
Lightning and Numba (importing ``gonet.train`` takes seconds; ``gonet gtp`` answers at once).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gonet.data import Folders


def option(default: Any = dataclasses.MISSING, help: str | None = None, **argparse_kwargs: Any) -> Any:
    """A config field that is also a ``gonet train`` option: ``--name-with-dashes`` unless
    ``flag`` says otherwise (a flag without dashes is positional), of the default's type
    unless ``type`` or ``action`` says otherwise; other keywords go to ``add_argument``.
    ``cli=False`` keeps a field off the command line."""
    return field(default=default, metadata={"help": help, **argparse_kwargs})


def _devices(text: str) -> int | str:
    """``--devices``: a count (``8`` for DDP on 8 GPUs) or a Lightning spec (``auto``, ``0,1``)."""
    return int(text) if text.isdigit() else text


@dataclass
class TrainConfig:
    """What ``gonet train`` and :func:`gonet.train.train` take; the fields in the order of
    the command's ``--help``."""

    data: Folders = option(
        flag="data", nargs="+", help="folders written by `gonet prepare` (e.g. KGS and Tygem)")
    out: str = option(required=True, help="run folder: checkpoints, logs, model.pt")
    val_data: str | None = option(None, "another prepared folder to validate on (default: DATA's val split)")
    filters: int = option(192, "k: filters per layer (128/192/256/384)")
    layers: int = option(13)
    feature_set: str = option("full", "feature set: full, board, board_history, ...", flag="--features",
                              metavar="FEATURES")
    batch_size: int = option(256)
    lr: float = option(0.05, "peak learning rate (SGD, Nesterov momentum)")
    max_steps: int = option(100_000, "steps; also the cosine schedule's length")
    warmup_steps: int = option(200, "linear learning-rate warm-up")
    grad_clip: float = option(0.0, "clip the gradient norm to this (0: off)")
    value_head: bool = option(
        False, "train a dual-head net: a value head on the shared trunk, learning the game's result",
        action="store_true")
    value_tower: int = option(0, "with --value-head: 3x3 convs in the value head before it pools")
    value_weight: float = option(
        0.01, "weight of the value MSE in the loss, with --value-head (AlphaGo Zero: 0.01)")
    max_time: str | None = option(None, "stop after DD:HH:MM:SS (a checkpoint is written)")
    val_every: int = option(1000, "validate every N steps")
    val_positions: int = option(20000)
    checkpoint_every: int = option(500)
    resume: str | None = option(None, "'last' or a checkpoint path: continue exactly from there")
    init_from: str | None = option(
        None, "start from a model file's weights (new optimizer and schedule; ignored when resuming)",
        metavar="MODEL")
    devices: int | str = option("auto", "Lightning devices (e.g. 8 for DDP on 8 GPUs)", type=_devices)
    num_nodes: int = option(1)
    accelerator: str = option("auto", "cpu, gpu or auto")
    precision: str | None = option(None, "Lightning precision (default bf16-mixed on GPU, 32-true on CPU)")
    workers: int | None = option(None, "DataLoader workers (default: cores - 1)", type=int)
    compile: bool | None = option(None, "torch.compile the net (default: on GPU)",
                                  action=argparse.BooleanOptionalAction)
    seed: int = option(0)
    symmetries: bool = option(True, cli=False)  # random dihedral symmetries per position; off for exact tests

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add every field with ``cli`` unset as an option of ``parser``."""
        for f in fields(cls):
            kwargs = dict(f.metadata)
            if not kwargs.pop("cli", True):
                continue
            flag = kwargs.pop("flag", "--" + f.name.replace("_", "-"))
            if flag.startswith("-"):
                kwargs["dest"] = f.name
            if f.default is not dataclasses.MISSING:
                kwargs["default"] = f.default
                if "type" not in kwargs and "action" not in kwargs and isinstance(f.default, (int, float)):
                    kwargs["type"] = type(f.default)
            parser.add_argument(flag, **kwargs)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainConfig:
        """The config of parsed ``gonet train`` arguments (fields off the command line keep
        their defaults)."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if f.metadata.get("cli", True)})
