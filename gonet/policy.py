"""Policy model files and the inference API: ``load_policy()``, ``Policy.predict(game)`` and
``Policy.evaluate(games)`` (moves and values in one pass).

A model file is a ``torch.save`` dict, read back with ``weights_only=True``::

    {"format": "gonet-policy", "version": 2,
     "config": {"filters", "layers", "feature_set", "board_size", "value_head" (absent: False),
                "value_tower" (absent: 0)},
     "state_dict": {name: tensor (fp16 or fp32)},   # value_head.* when config["value_head"]
     "sha256": content_checksum(state_dict),
     "meta": {free-form JSON-able notes: training data, steps, accuracy}}

Version 1 files (no ``sha256``) are still read. Loading refuses a damaged file in one line:
zip CRCs (:mod:`gonet.modelfile`), then the weights' SHA-256, then non-finite weights.

The package ships one under ``gonet/weights/``; :func:`default_model_path` finds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from gonet.feature_sets import feature_planes
from gonet.features import position_planes, side_komi, symmetry_planes, symmetry_table
from gonet.game import Game
from gonet.modelfile import (  # noqa: F401  (re-exported: the names users import from here)
    FORMAT,
    VERSION,
    DEFAULT_MODEL,
    PRECISIONS,
    WEIGHTS_DIR,
    ModelFileError,
    check_header,
    default_model_path,
    one_line,
    peek_model,
)
from gonet.nets import PolicyConfig, PolicyNet


def content_checksum(obj: object) -> str:
    """SHA-256 of nested dicts, lists and tensors (dtype, shape, bytes), dict keys in sorted
    order, other values by ``repr``: stored beside a model's state dict or inside a
    checkpoint, it proves the content is what was written, whatever tensors it holds."""
    digest = hashlib.sha256()
    _feed(digest, obj)
    return digest.hexdigest()


def _feed(digest, obj: object) -> None:
    if isinstance(obj, torch.Tensor):
        tensor = obj.detach().cpu().contiguous()
        digest.update(f"T{tensor.dtype}{tuple(tensor.shape)}:".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, Mapping):
        digest.update(f"D{len(obj)}:".encode())
        for key in sorted(obj, key=repr):
            digest.update(f"{key!r}=".encode())
            _feed(digest, obj[key])
    elif isinstance(obj, (list, tuple)):
        digest.update(f"L{len(obj)}:".encode())
        for item in obj:
            _feed(digest, item)
    else:
        digest.update(f"V{obj!r};".encode())


def non_finite(state_dict: Mapping[str, torch.Tensor]) -> str | None:
    """The name of the first floating tensor holding NaN or infinity (a diverged run's
    weights must not play or resume), or None."""
    return next((name for name, t in state_dict.items()
                 if isinstance(t, torch.Tensor) and t.is_floating_point() and not torch.isfinite(t).all()), None)


def save_model(net: PolicyNet, path: str | Path, meta: dict | None = None, half: bool = True) -> Path:
    """Write ``net`` as a model file (fp16 weights by default: half the size, same moves)."""
    state = {k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().contiguous()
             for k, v in net.state_dict().items()}
    return write_model_file(state, net.config.to_dict(), meta, path)


def write_model_file(state: dict[str, torch.Tensor], config: dict, meta: dict | None, path: str | Path) -> Path:
    """The model file of these tensors, exactly as given, with their checksum."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "version": VERSION, "config": config, "state_dict": state,
                "sha256": content_checksum(state), "meta": meta or {}}, path)
    return path


def load_net(path: str | Path) -> tuple[PolicyNet, dict]:
    """(fp32 PolicyNet in eval mode, meta) from a model file; :class:`ModelFileError` if unusable."""
    path = Path(path)
    peek_model(path)  # missing file, CRC errors, wrong format: refused before torch reads it
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a damaged file can fail anywhere in torch's reader
        raise ModelFileError(f"{path}: not a readable model file ({one_line(e)})") from None
    check_header(blob, path)
    if not isinstance(blob.get("state_dict"), dict) or not all(
            isinstance(v, torch.Tensor) for v in blob["state_dict"].values()):
        raise ModelFileError(f"{path}: not a gonet policy model (no state_dict of tensors)")
    if blob["version"] >= 2 and blob.get("sha256") != content_checksum(blob["state_dict"]):
        raise ModelFileError(f"{path}: damaged weights (SHA-256 checksum mismatch)")
    if (bad := non_finite(blob["state_dict"])) is not None:
        raise ModelFileError(f"{path}: weights {bad} hold NaN or infinity")
    try:
        config = PolicyConfig(**blob["config"])
        net = PolicyNet(config)
        net.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ModelFileError(f"{path}: weights do not fit the model's config ({one_line(e)})") from None
    return net.eval(), blob.get("meta", {})


def usable_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch.device, or a one-line ValueError when it cannot run here (e.g.
    ``cuda`` on a machine without a GPU: torch's own error came as a traceback)."""
    try:
        device = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"device {str(device)!r}: {one_line(e)}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r}: no CUDA GPU is available here; use --device cpu")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device {str(device)!r}: only {torch.cuda.device_count()} CUDA GPU(s) here")
    return device


def bf16_is_fast(device: torch.device) -> bool:
    """Whether bfloat16 arithmetic runs natively on ``device``: a CUDA GPU that supports it,
    or a CPU with AVX512-BF16 or AMX (2x faster forward passes than fp32 on a 2-core Zen 4
    box, docs/benchmarks.md). Elsewhere torch emulates it, slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private in torch 2.x: absent reads as False
    return device.type == "cpu" and any(getattr(torch.cpu, name, lambda: False)() for name in checks)


class Policy:
    """A policy net ready to play: planes in, move probabilities out, batched, CPU or GPU.

    ``precision``: ``fp32``, ``bf16`` (autocast: weights stay fp32, convolutions run in
    bfloat16) or ``auto``, bf16 where :func:`bf16_is_fast`."""

    def __init__(self, net: PolicyNet, device: str | torch.device = "cpu", meta: dict | None = None,
                 precision: str = "auto"):
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
        self.device = usable_device(device)
        self.net = net.to(self.device).eval()
        self.config = net.config
        self.meta = meta or {}
        self.precision = ("bf16" if bf16_is_fast(self.device) else "fp32") if precision == "auto" else precision

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")

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
        with self._autocast():
            return self.net.move_logits(x.float()).float().cpu().numpy()

    @torch.inference_mode()
    def logits_values(self, planes: np.ndarray | torch.Tensor, komi: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        """(B, C, N, N) planes and (B,) komi from the side to move's view → ((B, N*N) logits,
        (B,) values from the side to move's view; 0 without a value head), one forward pass."""
        x = torch.as_tensor(planes).to(self.device).float()
        with self._autocast():
            features = self.net.trunk(x)
            logits = self.net.policy_logits(features).float().cpu().numpy()
        if not self.has_value:
            return logits, np.zeros(len(logits), dtype=np.float32)
        # the small value head in fp32: in bf16 its tanh near 0 flipped winners (kgs/val 58.6% -> 57.6%)
        values = self.net.value_head(features.float(), torch.as_tensor(komi, dtype=torch.float32, device=self.device))
        return logits, values.cpu().numpy()

    def predict(self, game: Game | list[Game], symmetries: int = 1) -> np.ndarray:
        """Move probabilities (N*N+1, pass last) for the side to move, legal moves only.

        A list of games gives a (B, N*N+1) batch. ``symmetries`` > 1 averages the net's
        output over that many of the 8 board symmetries.
        """
        probs, _ = self.evaluate(game if isinstance(game, list) else [game], symmetries)
        return probs if isinstance(game, list) else probs[0]

    def evaluate(self, games: list[Game], symmetries: int = 1, planes: np.ndarray | None = None,
                 legal: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """((B, N*N+1) legal move probabilities as :meth:`predict`, (B,) values in [-1, 1]
        from the side to move's view, 0 without a value head) for a batch of games. Any
        board size: the policy maps its point bias (``nets.resized_point_bias``) and the
        value head pools over the board.

        ``planes`` (B, 48, N, N: all of them, the model takes its feature set) and ``legal``
        (B, N*N+1) are the games' own, passed when already worked out (a
        :class:`gonet.player.PositionView`'s) so that no position is worked out twice.

        One forward pass: with ``symmetries`` S > 1 the S transformed copies of the batch go
        through the net together, the probabilities are averaged back in the original
        orientation and the values are averaged.
        """
        size = games[0].size
        if any(g.size != size for g in games):
            raise ValueError("a batch of games must share one board size")
        if planes is None:
            planes = np.stack([position_planes(g) for g in games])  # (B, 48, N, N)
        if legal is None:
            legal = np.stack([g.legal_moves() for g in games])  # (B, N*N+1)
        planes = planes[:, list(feature_planes(self.config.feature_set))]  # (B, C, N, N)
        komi = np.array([side_komi(g.komi, g.to_move) for g in games], dtype=np.float32)  # (B,)
        s = min(max(symmetries, 1), 8)
        if s == 1:
            logits, values = self.logits_values(planes, komi)
            return _softmax_masked(logits, legal), values
        b, nn = len(games), size * size
        moved = np.concatenate([symmetry_planes(planes, k) for k in range(s)])  # (S*B, C, N, N)
        logits, values = self.logits_values(np.ascontiguousarray(moved), np.tile(komi, s))
        probs = _softmax_masked(logits, np.ones((s * b, nn + 1), dtype=bool))[:, :nn].reshape(s, b, nn)
        table = symmetry_table(size)
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


def load_policy(path: str | Path | None = None, device: str = "cpu", threads: int | None = None,
                precision: str = "auto") -> Policy:
    """The policy in ``path``, or the shipped default model. ``threads`` sets torch's intra-op
    CPU threads for the whole process first (None: torch's default, one per core): on a loaded
    2-core box 2 threads ran about 3x slower than 1. ``precision``: see :class:`Policy`."""
    if threads is not None:
        torch.set_num_threads(threads)
    net, meta = load_net(path if path is not None else default_model_path())
    return Policy(net, device, meta, precision)
