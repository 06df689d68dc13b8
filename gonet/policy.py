"""Policy model files and the inference API: ``load_policy()`` and ``Policy.predict(game)``.

A model file is a ``torch.save`` dict, read back with ``weights_only=True``::

    {"format": "gonet-policy", "version": 1,
     "config": {"filters", "layers", "feature_set", "board_size"},
     "state_dict": {name: tensor (fp16 or fp32)},
     "meta": {free-form JSON-able notes: training data, steps, accuracy}}

The package ships one under ``gonet/weights/``; :func:`default_model_path` finds it.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from gonet.features import position_planes
from gonet.game import Game
from gonet.nets import PolicyConfig, PolicyNet

FORMAT = "gonet-policy"
VERSION = 1
WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_MODEL = "policy.pt"


class ModelFileError(ValueError):
    """A file that is not a usable gonet policy model; the message says which and why."""


def default_model_path() -> Path:
    return WEIGHTS_DIR / DEFAULT_MODEL


def save_model(net: PolicyNet, path: str | Path, meta: dict | None = None, half: bool = True) -> Path:
    """Write ``net`` as a model file (fp16 weights by default: half the size, same moves)."""
    state = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().contiguous()
             for k, v in net.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "version": VERSION, "config": net.config.to_dict(), "state_dict": state,
                "meta": meta or {}}, path)
    return path


def load_net(path: str | Path) -> tuple[PolicyNet, dict]:
    """(fp32 PolicyNet in eval mode, meta) from a model file; :class:`ModelFileError` if unusable."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError, OSError) as e:
        raise ModelFileError(f"{path}: not a readable model file ({type(e).__name__}: {e})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a gonet policy model (no format {FORMAT!r})")
    if blob.get("version") != VERSION:
        raise ModelFileError(f"{path}: model format version {blob.get('version')}, this gonet reads {VERSION}")
    try:
        config = PolicyConfig(**blob["config"])
        net = PolicyNet(config)
        net.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ModelFileError(f"{path}: weights do not fit the model's config ({e})") from None
    return net.eval(), blob.get("meta", {})


class Policy:
    """A policy net ready to play: planes in, move probabilities out, batched, CPU or GPU."""

    def __init__(self, net: PolicyNet, device: str | torch.device = "cpu", meta: dict | None = None):
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.config = net.config
        self.meta = meta or {}

    @property
    def board_size(self) -> int:
        return self.config.board_size

    @torch.inference_mode()
    def logits(self, planes: np.ndarray | torch.Tensor) -> np.ndarray:
        """(B, C, N, N) planes → (B, N*N) float32 logits."""
        x = torch.as_tensor(planes).to(self.device)
        return self.net(x.float()).float().cpu().numpy()

    def predict_planes(self, planes: np.ndarray, legal: np.ndarray | None = None) -> np.ndarray:
        """(B, C, N, N) planes (+ optional (B, N*N+1) legal masks) → (B, N*N+1) probabilities.

        The net never predicts a pass: the last column is 0 unless no point is legal, when
        it is 1. With ``legal``, illegal points get 0 and the rest sum to 1.
        """
        logits = self.logits(planes)
        if legal is None:
            legal = np.ones((logits.shape[0], logits.shape[1] + 1), dtype=bool)
        return _softmax_masked(logits, legal)

    def predict(self, game: Game | list[Game], symmetries: int = 1) -> np.ndarray:
        """Move probabilities (N*N+1, pass last) for the side to move, legal moves only.

        A list of games gives a (B, N*N+1) batch. ``symmetries`` > 1 averages the net's
        output over that many of the 8 board symmetries.
        """
        games = game if isinstance(game, list) else [game]
        size = games[0].size  # any size: the net maps its per-point bias (nets.resized_point_bias)
        if any(g.size != size for g in games):
            raise ValueError("a batch of games must share one board size")
        planes = np.stack([position_planes(g, self.config.feature_set) for g in games])
        legal = np.stack([g.legal_moves() for g in games])
        if symmetries <= 1:
            probs = self.predict_planes(planes, legal)
        else:
            from gonet.features import symmetry_planes, symmetry_table

            table = symmetry_table(size)
            nn = size * size
            total = np.zeros((len(games), nn), dtype=np.float64)
            for k in range(min(symmetries, 8)):
                moved = np.ascontiguousarray(symmetry_planes(planes, k))
                p = self.predict_planes(moved)[:, :nn]
                total += p[:, table[k, :nn]]  # back to the original orientation
            logits = np.log(np.maximum(total / min(symmetries, 8), 1e-30))
            probs = _softmax_masked(logits, legal)
        return probs if isinstance(game, list) else probs[0]


def _softmax_masked(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """Softmax over the legal points; all the mass on pass when no point is legal."""
    nn = logits.shape[1]
    masked = np.where(legal[:, :nn], logits, -np.inf)
    probs = np.zeros((len(logits), nn + 1), dtype=np.float32)
    top = masked.max(axis=1, keepdims=True)
    ok = np.isfinite(top[:, 0])
    e = np.exp(masked[ok] - top[ok])
    probs[ok, :nn] = e / e.sum(axis=1, keepdims=True)
    probs[~ok, nn] = 1.0
    return probs


def load_policy(path: str | Path | None = None, device: str = "cpu") -> Policy:
    """The policy in ``path``, or the shipped default model."""
    net, meta = load_net(path if path is not None else default_model_path())
    return Policy(net, device, meta)
