"""Plain ``nn.Module``s: the conv core shared by every model, and AlphaGo's SL policy net.

The conv core is a stack of conv → (norm) → ReLU → (pool) stages, 1-D or 2-D; the Go
policy net, the MNIST classifier and the spoken-digit model are all built from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from gonet.features import feature_planes


def conv_core(in_channels: int, widths: list[int], kernel_sizes: int | list[int], dim: int = 2,
              padding: str | int = "same", norm: str | None = None, pool: int | None = None,
              final_relu: bool = True) -> nn.Sequential:
    """conv(k_i, widths[i]) → [BatchNorm] → ReLU → [MaxPool(pool)] for each width.

    ``dim`` is 1 (sequences: speech) or 2 (images, boards); ``padding`` is passed to the
    convolutions ("same" keeps the size; 0 is 'valid'); ``final_relu=False`` leaves the
    last stage linear (e.g. for logits).
    """
    conv = {1: nn.Conv1d, 2: nn.Conv2d}[dim]
    batch_norm = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[dim]
    max_pool = {1: nn.MaxPool1d, 2: nn.MaxPool2d}[dim]
    if isinstance(kernel_sizes, int):
        kernel_sizes = [kernel_sizes] * len(widths)
    if len(kernel_sizes) != len(widths):
        raise ValueError(f"{len(widths)} widths but {len(kernel_sizes)} kernel sizes")
    layers: list[nn.Module] = []
    channels = in_channels
    for i, (width, kernel) in enumerate(zip(widths, kernel_sizes)):
        last = i == len(widths) - 1
        pad = kernel // 2 if padding == "same" and kernel % 2 else padding  # explicit zero padding
        layers.append(conv(channels, width, kernel, padding=pad, bias=norm is None))
        if norm == "batch":
            layers.append(batch_norm(width))
        elif norm is not None:
            raise ValueError(f"unknown norm {norm!r}; use None or 'batch'")
        if final_relu or not last:
            layers.append(nn.ReLU(inplace=True))
        if pool:
            layers.append(max_pool(pool))
        channels = width
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class PolicyConfig:
    """Everything needed to rebuild a policy net; saved inside model files."""

    filters: int = 192
    layers: int = 13
    feature_set: str = "full"
    board_size: int = 19

    @property
    def planes(self) -> int:
        return len(feature_planes(self.feature_set))

    @property
    def name(self) -> str:
        """Short shape name, e.g. ``l13k192``."""
        return f"l{self.layers}k{self.filters}"

    def to_dict(self) -> dict:
        return asdict(self)


BIAS_MAPS = ("edge", "bilinear", "zero")
"""How a net trained on one board size gets its per-point bias on another (see
:func:`resized_point_bias`); ``edge`` won the matches in docs/benchmarks.md."""


@lru_cache(maxsize=None)
def _edge_lines(trained: int, size: int) -> np.ndarray:
    """For each line of a ``size`` board, the line of the ``trained`` board at the same
    distance from the nearer edge (the centre line when the board is larger)."""
    lines = []
    for i in range(size):
        d = min(i, size - 1 - i, (trained - 1) // 2)
        lines.append(d if i <= size - 1 - i else trained - 1 - d)
    return np.array(lines)


def resized_point_bias(bias: torch.Tensor, trained: int, size: int, how: str = "edge") -> torch.Tensor:
    """A ``trained``-board bias (``(T*T,)``) for a ``size`` board (``(N*N,)``).

    The conv trunk is the same on every board; only the bias is tied to a size. What it
    learned is mostly about the edges (2nd line low, 3rd and 4th lines high), so ``edge``
    gives each point the bias of the point as far from the two nearer edges on the trained
    board; ``bilinear`` resamples the whole map; ``zero`` drops it.
    """
    if size == trained:
        return bias
    if how == "zero":
        return bias.new_zeros(size * size)
    grid = bias.view(1, 1, trained, trained)
    if how == "bilinear":
        return nn.functional.interpolate(grid, size=(size, size), mode="bilinear", align_corners=True).flatten()
    if how != "edge":
        raise ValueError(f"unknown bias map {how!r}; use one of {BIAS_MAPS}")
    lines = torch.as_tensor(_edge_lines(trained, size), device=bias.device)
    return grid[0, 0][lines][:, lines].flatten()  # (N*N,)


class PolicyNet(nn.Module):
    """AlphaGo's SL policy network: a 5x5 conv, ``layers - 2`` 3x3 convs (all with k filters,
    zero padding, ReLU, no pooling), then a 1x1 conv to one plane plus a separate learned
    bias for each point. Returns logits over the N*N points (softmax is the loss's job).
    It plays every board size: the bias is mapped by ``bias_map`` (:data:`BIAS_MAPS`)."""

    bias_map: str = "edge"

    def __init__(self, config: PolicyConfig = PolicyConfig()):
        super().__init__()
        if config.layers < 2:
            raise ValueError("a policy net needs at least 2 layers")
        self.config = config
        k = config.filters
        self.body = conv_core(config.planes, [k] * (config.layers - 1), [5] + [3] * (config.layers - 2))
        self.head = nn.Conv2d(k, 1, kernel_size=1, bias=False)
        self.point_bias = nn.Parameter(torch.zeros(config.board_size * config.board_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He initialisation: PyTorch's default conv init shrinks the signal about 6x per ReLU
        layer, so a 13-layer net starts with near-zero logits and gradients, stalls, then
        diverges once the learning rate is up (seen on the first GPU run)."""
        for conv in self.body.modules():
            if isinstance(conv, nn.Conv2d):
                nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
                nn.init.zeros_(conv.bias)
        nn.init.kaiming_normal_(self.head.weight, nonlinearity="linear")

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        """(B, C, N, N) planes (any float or uint8 dtype) → (B, N*N) logits."""
        if not planes.is_floating_point():
            planes = planes.to(self.point_bias.dtype)
        x = self.head(self.body(planes))  # (B, 1, N, N)
        bias = resized_point_bias(self.point_bias, self.config.board_size, x.shape[-1], self.bias_map)
        return x.flatten(1) + bias  # (B, N*N)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
