"""Policy model files and the inference API: ``load_policy()``, ``Policy.predict(game)`` and
``Policy.evaluate(games)`` (moves and values in one pass).

A model file is a ``torch.save`` dict, read back with ``weights_only=True``::

    {"format": "gonet-policy", "version": 1,
     "config": {"filters", "layers", "feature_set", "board_size", "value_head" (absent: False)},
     "state_dict": {name: tensor (fp16 or fp32)},   # value_head.* when config["value_head"]
     "meta": {free-form JSON-able notes: training data, steps, accuracy}}

The package ships one under ``gonet/weights/``; :func:`default_model_path` finds it.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from gonet.features import position_planes, side_komi, symmetry_planes, symmetry_table
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

    @property
    def has_value(self) -> bool:
        """Whether the model has a value head (else :meth:`evaluate` gives values of 0)."""
        return self.config.value_head

    @torch.inference_mode()
    def logits(self, planes: np.ndarray | torch.Tensor) -> np.ndarray:
        """(B, C, N, N) planes → (B, N*N) float32 logits."""
        x = torch.as_tensor(planes).to(self.device)
        return self.net.move_logits(x.float()).float().cpu().numpy()

    @torch.inference_mode()
    def logits_values(self, planes: np.ndarray | torch.Tensor, komi: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        """(B, C, N, N) planes and (B,) komi from the side to move's view → ((B, N*N) logits,
        (B,) values from the side to move's view; 0 without a value head), one forward pass."""
        x = torch.as_tensor(planes).to(self.device).float()
        if not self.has_value:
            logits = self.net(x)
            return logits.float().cpu().numpy(), np.zeros(len(logits), dtype=np.float32)
        logits, values = self.net(x, torch.as_tensor(komi, dtype=torch.float32, device=self.device))
        return logits.float().cpu().numpy(), values.float().cpu().numpy()

    def predict(self, game: Game | list[Game], symmetries: int = 1) -> np.ndarray:
        """Move probabilities (N*N+1, pass last) for the side to move, legal moves only.

        A list of games gives a (B, N*N+1) batch. ``symmetries`` > 1 averages the net's
        output over that many of the 8 board symmetries.
        """
        probs, _ = self.evaluate(game if isinstance(game, list) else [game], symmetries)
        return probs if isinstance(game, list) else probs[0]

    def evaluate(self, games: list[Game], symmetries: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """((B, N*N+1) legal move probabilities as :meth:`predict`, (B,) values in [-1, 1]
        from the side to move's view, 0 without a value head) for a batch of games.

        One forward pass: with ``symmetries`` S > 1 the S transformed copies of the batch go
        through the net together, the probabilities are averaged back in the original
        orientation and the values are averaged.
        """
        for g in games:
            if g.size != self.board_size:
                raise ValueError(f"the model plays {self.board_size}x{self.board_size}, not {g.size}x{g.size}")
        planes = np.stack([position_planes(g, self.config.feature_set) for g in games])  # (B, C, N, N)
        legal = np.stack([g.legal_moves() for g in games])  # (B, N*N+1)
        komi = np.array([side_komi(g.komi, g.to_move) for g in games], dtype=np.float32)  # (B,)
        s = min(max(symmetries, 1), 8)
        if s == 1:
            logits, values = self.logits_values(planes, komi)
            return _softmax_masked(logits, legal), values
        b, nn = len(games), self.board_size * self.board_size
        moved = np.concatenate([symmetry_planes(planes, k) for k in range(s)])  # (S*B, C, N, N)
        logits, values = self.logits_values(np.ascontiguousarray(moved), np.tile(komi, s))
        probs = _softmax_masked(logits, np.ones((s * b, nn + 1), dtype=bool))[:, :nn].reshape(s, b, nn)
        table = symmetry_table(self.board_size)
        total = sum(probs[k][:, table[k, :nn]].astype(np.float64) for k in range(s))  # back to the original orientation
        probs = _softmax_masked(np.log(np.maximum(total / s, 1e-30)), legal)
        return probs, values.reshape(s, b).mean(axis=0)


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
