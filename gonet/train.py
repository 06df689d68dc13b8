"""``gonet train``: the LightningModule around :class:`PolicyNet`, and the trainer setup.

Optimiser: SGD with Nesterov momentum 0.9, weight decay 1e-4, a linear warm-up then cosine
decay to zero over ``max_steps``. AlphaGo used plain asynchronous SGD at 0.003 halved every
80M steps for 340M steps; with a budget of minutes or hours, momentum plus a schedule that
ends at zero reaches a given accuracy in far fewer steps (docs/benchmarks.md).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import time
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from gonet.data import PositionDataModule, board_size_of, random_symmetry, unpack_planes
from gonet.feature_sets import NUM_PLANES, feature_planes
from gonet.nets import PolicyConfig, PolicyNet, parameter_count
from gonet.policy import ModelFileError, content_checksum, load_net, non_finite, one_line, save_model
from gonet.train_config import TrainConfig

CHECKSUM_KEY = "gonet_sha256"  # a checkpoint's content_checksum of everything else in it


def masked_mse(value: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean of (z - v)² over the positions whose result is known (z != 0), their number):
    games without a result teach the value head nothing."""
    known = z != 0
    count = known.sum()
    return torch.where(known, (z - value.float().reshape(z.shape)) ** 2, 0.0).sum() / count.clamp(min=1), count


class PolicyModule(L.LightningModule):
    """Cross-entropy on the played move, top-1/top-5 on val; the batch's planes are unpacked,
    cut to the feature set and given random symmetries on its device. With ``value_head``
    the net also returns a value, and the loss adds ``value_weight`` × the masked MSE
    against the batch's z (AlphaGo Zero's supervised net: 0.01, against over-fitting the
    values of whole games); validation logs the value MSE."""

    def __init__(self, filters: int = TrainConfig.filters, layers: int = TrainConfig.layers,
                 feature_set: str = TrainConfig.feature_set, board_size: int = 19, lr: float = TrainConfig.lr,
                 momentum: float = 0.9, weight_decay: float = 1e-4, warmup_steps: int = TrainConfig.warmup_steps,
                 max_steps: int = TrainConfig.max_steps, symmetries: bool = TrainConfig.symmetries,
                 channels_last: bool = False, compile: bool = False, value_weight: float = TrainConfig.value_weight,
                 value_head: bool = TrainConfig.value_head, value_tower: int = TrainConfig.value_tower):
        """The arguments are the checkpoint's hyperparameters (``save_hyperparameters``), so
        a checkpoint alone rebuilds the module; defaults as in :class:`TrainConfig`."""
        super().__init__()
        self.save_hyperparameters()
        self.net = PolicyNet(PolicyConfig(filters, layers, feature_set, board_size, value_head, value_tower))
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.forward_net = torch.compile(self.net) if compile else self.net
        channels = list(feature_planes(feature_set))
        self.channels = None if len(channels) == NUM_PLANES else channels  # None: all, no copy
        self._tick: tuple[float, int] | None = None

    def forward(self, planes: torch.Tensor, komi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits, value or None if the net has no value head); ``komi`` from the side to
        move's view, for a value head."""
        x = planes.float()
        if self.hparams.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out = self.forward_net(x, komi)
        return out if isinstance(out, tuple) else (out, None)

    def input_planes(self, packed: torch.Tensor) -> torch.Tensor:
        """The net's input planes uint8[B, C, N, N] of a batch's packed planes, on its device."""
        planes = unpack_planes(packed, self.hparams.board_size)
        return planes if self.channels is None else planes[:, self.channels]

    def training_step(self, batch, batch_idx):
        packed, moves, z, komi = batch
        planes = self.input_planes(packed)
        if self.hparams.symmetries:
            # drawn on the batch's device from (step, rank), so that a resumed run draws the same
            draws = torch.Generator(planes.device).manual_seed(self.global_step * self.trainer.world_size
                                                               + self.global_rank)
            planes, moves = random_symmetry(planes, moves, draws)
        logits, value = self(planes, komi)
        loss = F.cross_entropy(logits.float(), moves)
        acc = (logits.argmax(1) == moves).float().mean()
        metrics = {"train/top1": acc}
        if value is not None:
            mse, _ = masked_mse(value, z)
            loss = loss + self.hparams.value_weight * mse
            metrics["train/value_mse"] = mse
        self.log_dict({"train/loss": loss, **metrics}, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        packed, moves, z, komi = batch
        logits, value = self(self.input_planes(packed), komi)
        logits = logits.float()
        top5 = logits.topk(5, dim=1).indices
        self.log_dict({
            "val/loss": F.cross_entropy(logits, moves),
            "val/top1": (top5[:, 0] == moves).float().mean(),
            "val/top5": (top5 == moves[:, None]).any(1).float().mean(),
        }, prog_bar=True, sync_dist=True, batch_size=len(moves))
        if value is not None:
            mse, count = masked_mse(value, z)
            # weighted by the known results, so the epoch mean is over positions, not batches
            self.log("val/value_mse", mse, prog_bar=True, sync_dist=True, batch_size=max(1, int(count)))

    def on_train_batch_end(self, outputs, batch, batch_idx):
        """Log training throughput (positions/s) every 50 steps."""
        now, step = time.perf_counter(), self.global_step
        if self._tick is None:
            self._tick = (now, step)
        elif step - self._tick[1] >= 50:
            rate = (step - self._tick[1]) * batch[1].shape[0] * self.trainer.world_size / (now - self._tick[0])
            self.log("train/positions_per_s", rate, prog_bar=True)
            self._tick = (now, step)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Seal the checkpoint with its checksum; Lightning calls this hook after everything
        else (optimizer, loops, callbacks) is in, so all of it is covered."""
        checkpoint[CHECKSUM_KEY] = content_checksum(checkpoint)

    def configure_optimizers(self):
        hp = self.hparams
        decay = [p for n, p in self.net.named_parameters() if p.ndim > 1]
        no_decay = [p for n, p in self.net.named_parameters() if p.ndim <= 1]
        opt = torch.optim.SGD([{"params": decay, "weight_decay": hp.weight_decay},
                               {"params": no_decay, "weight_decay": 0.0}],
                              lr=hp.lr, momentum=hp.momentum, nesterov=True)

        def factor(step: int) -> float:
            if step < hp.warmup_steps:
                return (step + 1) / hp.warmup_steps
            progress = min(1.0, (step - hp.warmup_steps) / max(1, hp.max_steps - hp.warmup_steps))
            return 0.5 * (1 + math.cos(math.pi * progress))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class StepProgressBar(TQDMProgressBar):
    """Training is one endless epoch, so the bar counts steps towards ``max_steps``."""

    @property
    def total_train_batches(self) -> int | float:
        return self.trainer.max_steps if self.trainer.max_steps > 0 else super().total_train_batches


class TimeLimit(Callback):
    """Stop after ``seconds`` of this run (Lightning's own ``max_time`` also counts the time
    of the runs a checkpoint was resumed from, which defeats fixed-length chunks)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.start = time.monotonic()

    def on_train_start(self, trainer, module):
        self.start = time.monotonic()

    def on_train_batch_end(self, trainer, *args):
        if time.monotonic() - self.start >= self.seconds:
            trainer.should_stop = True


def parse_duration(text: str) -> float:
    """Seconds in ``DD:HH:MM:SS`` (leading fields may be left out: ``MM:SS``, ``SS``)."""
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        raise ValueError(f"{text!r}: not a duration DD:HH:MM:SS") from None
    if not 1 <= len(parts) <= 4:
        raise ValueError(f"{text!r}: not a duration DD:HH:MM:SS")
    return sum(v * u for v, u in zip(reversed(parts), (1, 60, 3600, 86400)))


class TrainingDiverged(ValueError):
    """The training loss stopped being finite."""


class StopOnDivergence(Callback):
    """Fail fast with a clear message once the training loss is not finite (checked every
    50 steps, to keep the GPU from waiting on the host), instead of training on NaNs."""

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if trainer.global_step % 50 == 0 and not torch.isfinite(outputs["loss"]).item():
            raise TrainingDiverged(f"training diverged: loss {outputs['loss'].item()} at step "
                                     f"{trainer.global_step}; lower --lr or set --grad-clip")


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed: unreadable, not from ``gonet train``, or of another net."""


def checked_checkpoint(path: str, module: PolicyModule) -> str:
    """``path`` once it is known to be a readable checkpoint of the same net as ``module``,
    so that a corrupt or mismatched file is refused with a message before training starts:
    zip CRCs, the stored checksum (checkpoints written before it had none), finite weights."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        ckpt = torch.load(path, map_location="cpu", weights_only=True) if bad is None else None
    except FileNotFoundError:
        raise
    except Exception as e:
        raise CheckpointError(f"{path}: not a readable checkpoint ({one_line(e)})") from None
    if bad is not None:
        raise CheckpointError(f"{path}: damaged checkpoint (CRC mismatch in {bad})")
    if not isinstance(ckpt, dict) or not {"state_dict", "hyper_parameters"} <= ckpt.keys():
        raise CheckpointError(f"{path}: not a `gonet train` checkpoint")
    expected = ckpt.pop(CHECKSUM_KEY, None)
    if expected is not None and expected != content_checksum(ckpt):
        raise CheckpointError(f"{path}: damaged checkpoint (SHA-256 checksum mismatch)")
    if (name := non_finite(ckpt["state_dict"])) is not None:
        raise CheckpointError(f"{path}: weights {name} hold NaN or infinity")
    # the net's shape, value head included (absent from checkpoints written before it: none)
    keys = [f.name for f in dataclasses.fields(PolicyConfig)]
    theirs = {k: ckpt["hyper_parameters"].get(k, getattr(PolicyConfig, k)) for k in keys}
    ours = {k: module.hparams[k] for k in keys}
    if theirs != ours:
        raise CheckpointError(f"{path}: a checkpoint of {theirs}, but this run asks for {ours}")
    return path


PIECE_BYTES = 15 * 2**20  # a file back from a lent GPU machine must be under 16 MiB


def split_checkpoint(path: str | Path, out: str | Path, piece_bytes: int = PIECE_BYTES) -> list[Path]:
    """Cut a checkpoint file into ``out/NAME.1of3``, ``NAME.2of3``, ... of at most
    ``piece_bytes`` each, so that it fits the device tool's limit on a file. The pieces are
    the file's bytes as they are, not a lighter copy: exact resume needs the fp32 weights
    and the optimizer's momentum, which make up all but ~30 kB of it (docs/benchmarks.md)."""
    path, out = Path(path), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = path.read_bytes()
    count = max(1, math.ceil(len(data) / piece_bytes))
    pieces = [out / f"{path.name}.{i + 1}of{count}" for i in range(count)]
    for i, piece in enumerate(pieces):
        piece.write_bytes(data[i * piece_bytes:(i + 1) * piece_bytes])
    return pieces


def join_checkpoint(pieces: str | Path, path: str | Path) -> Path:
    """The checkpoint ``path`` put together from the pieces in folder ``pieces`` (the inverse
    of :func:`split_checkpoint`); :class:`CheckpointError` if one is missing or two
    checkpoints are mixed. The joined file is then checked as any other before resuming
    (:func:`checked_checkpoint`: zip CRCs and its SHA-256 seal)."""
    matches = [m for piece in Path(pieces).iterdir() if (m := re.fullmatch(r"(.+)\.(\d+)of(\d+)", piece.name))]
    kinds = {(m[1], int(m[3])) for m in matches}
    if len(kinds) != 1:
        raise CheckpointError(f"{pieces}: " + ("no checkpoint pieces (NAME.1ofN)" if not kinds else
                                               f"pieces of {len(kinds)} checkpoints: {sorted(kinds)}"))
    (name, count), = kinds
    found = {int(m[2]): Path(pieces) / m[0] for m in matches}
    if missing := sorted(set(range(1, count + 1)) - found.keys()):
        raise CheckpointError(f"{pieces}: pieces {missing} of {count} of {name} are missing")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as joined:
        for i in range(1, count + 1):
            joined.write(found[i].read_bytes())
    return path


class ExportModel(Callback):
    """Write the latest weights as a model file whenever a checkpoint is saved and at the end."""

    def __init__(self, path: Path):
        self.path = path

    def _export(self, trainer: L.Trainer, module: PolicyModule) -> None:
        if trainer.is_global_zero:
            metrics = {k: round(float(v), 4) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
            save_model(module.net, self.path, meta={"steps": trainer.global_step, **metrics})

    def on_save_checkpoint(self, trainer, module, checkpoint):
        self._export(trainer, module)

    def on_train_end(self, trainer, module):
        self._export(trainer, module)


def on_gpu(config: TrainConfig) -> bool:
    """Whether the run trains on a GPU: asked for, or found under ``accelerator="auto"``."""
    return config.accelerator == "gpu" or (config.accelerator == "auto" and torch.cuda.is_available())


def build_trainer(config: TrainConfig) -> L.Trainer:
    out = Path(config.out)
    cuda = on_gpu(config)
    checkpoints = ModelCheckpoint(dirpath=out / "checkpoints", filename="step{step}", save_last=True,
                                  every_n_train_steps=config.checkpoint_every, save_top_k=1, monitor="val/top1",
                                  mode="max", auto_insert_metric_name=False)
    multi = (isinstance(config.devices, int) and config.devices > 1) or config.num_nodes > 1
    return L.Trainer(
        default_root_dir=out, max_steps=config.max_steps, max_epochs=-1,
        val_check_interval=config.val_every, check_val_every_n_epoch=None,
        accelerator=config.accelerator, devices=config.devices, num_nodes=config.num_nodes,
        strategy="ddp" if multi else "auto",
        precision=config.precision or ("bf16-mixed" if cuda else "32-true"),
        logger=[CSVLogger(out, name="logs"), TensorBoardLogger(out, name="tb")],
        callbacks=[checkpoints, ExportModel(out / "model.pt"), StepProgressBar(), StopOnDivergence()]
        + ([TimeLimit(parse_duration(config.max_time))] if config.max_time else []),
        log_every_n_steps=10, num_sanity_val_steps=0, use_distributed_sampler=False,
        gradient_clip_val=config.grad_clip or None,
    )


def train(config: TrainConfig, callbacks: Sequence[Callback] = ()) -> PolicyModule:
    """Train (or resume: ``resume="last"`` or a checkpoint path) a policy net; returns the module.

    ``value_head`` trains the dual-head net; ``value_weight`` scales its value loss.

    ``init_from`` (a model file) starts a new run from its weights with a fresh optimizer and
    schedule, e.g. to continue a shipped model; a resumed checkpoint takes precedence. The
    policy comes from the file; so does the value head when both have one (a head the file
    lacks starts fresh, one this run lacks is left out).

    ``max_time`` (DD:HH:MM:SS) limits this run alone, so a resumed run gets its own budget.
    The last checkpoint is also written when training stops early (``max_time``, or a
    callback setting ``trainer.should_stop``)."""
    c = config
    L.seed_everything(c.seed, workers=True)
    out_dir = Path(c.out)
    cuda = on_gpu(c)
    workers = max(1, (os.cpu_count() or 2) - 1) if c.workers is None else c.workers
    module = PolicyModule(c.filters, c.layers, c.feature_set, board_size_of(c.data), lr=c.lr, max_steps=c.max_steps,
                          warmup_steps=c.warmup_steps, value_weight=c.value_weight, value_head=c.value_head,
                          value_tower=c.value_tower,
                          symmetries=c.symmetries, channels_last=cuda, compile=cuda if c.compile is None else c.compile)
    print(f"policy net {module.net.config.name} ({c.feature_set}, {module.net.config.planes} planes): "
          f"{parameter_count(module.net):,} parameters")
    datamodule = PositionDataModule(c.data, c.val_data, c.batch_size, c.val_positions, workers, c.seed,
                                    pin_memory=cuda)
    trainer = build_trainer(c)
    trainer.callbacks.extend(callbacks)
    ckpt = None
    if c.resume == "last":
        last = out_dir / "checkpoints" / "last.ckpt"
        ckpt = checked_checkpoint(str(last), module) if last.exists() else None
    elif c.resume:
        ckpt = checked_checkpoint(c.resume, module)
    if c.init_from and ckpt is None:
        start, _ = load_net(c.init_from)
        # a value head does not change the policy: a run may start from a model with or without one, or another one
        value = {"value_head": module.net.config.value_head, "value_tower": module.net.config.value_tower}
        if dataclasses.replace(start.config, **value) != module.net.config:
            raise ModelFileError(f"{c.init_from}: a {start.config.name} {start.config.feature_set} net, "
                                 f"but this run trains {module.net.config.name} {module.net.config.feature_set}")
        same_head = dataclasses.replace(start.config, **value) == start.config
        state = {k: v for k, v in start.state_dict().items() if same_head or not k.startswith("value_head.")}
        module.net.load_state_dict(state, strict=same_head)  # another value head starts fresh
    with warnings.catch_warnings():
        # resuming "mid-epoch" is exact here: the datamodule restarts its endless sampler at
        # the checkpoint's sample count (see gonet.data.EndlessRandomSampler)
        warnings.filterwarnings("ignore", message=".*resuming from a checkpoint that ended before the epoch ended")
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
    # a full checkpoint (optimizer included), also when --max-time stopped the run
    trainer.save_checkpoint(out_dir / "checkpoints" / "last.ckpt", weights_only=False)
    return module
