"""The model file as a container, read without torch: quick start-up checks and one-line errors.

A model file is a ``torch.save`` zip archive whose ``data.pkl`` holds the dict described in
:mod:`gonet.policy`. Importing torch takes seconds, so the GTP engine checks a model here
before it answers its first command: :func:`peek_model` verifies the CRC-32 of every zip
member (torch's own reader skips them, so flipped bytes used to load as silently wrong
weights) and reads the format, version and config with the tensors left out. The SHA-256
of the weights themselves is verified by :func:`gonet.policy.load_net`.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gonet.policy import Policy

FORMAT = "gonet-policy"
VERSION = 2  # 2: "sha256" of the weights is stored and verified; 1: no checksum (still read)
READABLE_VERSIONS = (1, 2)
WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_MODEL = "policy.pt"
PRECISIONS = ("auto", "fp32", "bf16")  # how a loaded model runs (gonet.policy.Policy); here for the torch-free CLI
_WEIGHTS_ONLY_ADVICE = "weights_only"  # torch suggests weights_only=False: arbitrary code execution


class ModelFileError(ValueError):
    """A file that is not a usable gonet policy model; the message says which and why."""


def default_model_path() -> Path:
    return WEIGHTS_DIR / DEFAULT_MODEL


@dataclass(frozen=True)
class NetOptions:
    """Which model file, and how to run it: the net flags of every command that plays,
    handed down whole from the command line to where the net is loaded."""

    model: str | None = None    # None: the shipped model
    device: str = "cpu"         # cpu or cuda
    threads: int | None = None  # torch's CPU threads for the process (None: torch's default, one per core)
    precision: str = "auto"     # the net's arithmetic: one of PRECISIONS (gonet.policy.Policy)

    @classmethod
    def of(cls, net: NetOptions | str | Path | None) -> NetOptions:
        """``net`` itself, or a model path alone (None: the shipped model) with the defaults."""
        return net if isinstance(net, NetOptions) else cls(str(net) if net else None)

    @property
    def path(self) -> Path:
        return Path(self.model) if self.model else default_model_path()

    def load(self) -> Policy:
        from gonet.policy import load_policy

        return load_policy(self.path, self.device, self.threads, self.precision)

    def flags(self) -> list[str]:
        """The ``gonet gtp`` flags that ask for these options (a child engine's command line)."""
        given = {"--model": self.model, "--device": self.device if self.device != "cpu" else None,
                 "--threads": self.threads, "--precision": self.precision if self.precision != "auto" else None}
        return [word for flag, value in given.items() if value is not None for word in (flag, str(value))]


def one_line(error: BaseException, limit: int = 200) -> str:
    """``Type: reason`` of an exception in one line, for messages that must stay one line.

    torch's unpickling errors run to many lines and advise ``weights_only=False``; keep
    only the first sentence of their ``WeightsUnpickler error: ...`` and never that advice.
    """
    lines = [s.strip() for s in str(error).splitlines() if s.strip()]
    lines = [s for s in lines if _WEIGHTS_ONLY_ADVICE not in s]
    unpickler = next((s for s in lines if s.startswith("WeightsUnpickler error")), None)
    # its first sentence names the refused global; the rest is advice on allowing it
    reason = unpickler.split(". ", 1)[0] if unpickler else " ".join(lines)
    text = f"{type(error).__name__}: {reason}" if reason else type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Opaque:
    """Stands for every object a peek leaves out (tensors, storages, dtypes)."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


class _PeekUnpickler(pickle.Unpickler):
    """Builds plain containers and primitives only: no class is imported, no code runs."""

    def find_class(self, module: str, name: str):
        return dict if (module, name) == ("collections", "OrderedDict") else _Opaque

    def persistent_load(self, pid):
        return _Opaque()


def peek_model(path: str | Path) -> dict:
    """The model file's dict without its tensors, once every byte is checked against its CRC.

    Fast (no torch): the GTP engine uses it to refuse a missing or damaged model at once.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise ModelFileError(f"{path}: damaged model file (CRC mismatch in {bad})")
            pkl = next((n for n in archive.namelist() if n.endswith("/data.pkl")), None)
            if pkl is None:
                raise ModelFileError(f"{path}: not a gonet policy model (no data.pkl)")
            blob = _PeekUnpickler(archive.open(pkl)).load()
    except ModelFileError:
        raise
    except Exception as e:  # a damaged file can fail in any zip or pickle routine
        raise ModelFileError(f"{path}: not a readable model file ({one_line(e)})") from None
    check_header(blob, path)
    return blob


def check_header(blob: object, path: str | Path) -> None:
    """Refuse anything but a gonet policy dict of a version this gonet reads."""
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a gonet policy model (no format {FORMAT!r})")
    if blob.get("version") not in READABLE_VERSIONS:
        raise ModelFileError(f"{path}: model format version {blob.get('version')!r}, "
                             f"this gonet reads {', '.join(map(str, READABLE_VERSIONS))}")
    if not isinstance(blob.get("config"), dict):
        raise ModelFileError(f"{path}: not a gonet policy model (no config)")
