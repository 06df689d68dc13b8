"""Plain ``nn.Module``s: the conv core shared by every model, and AlphaGo's SL policy net
with an optional AlphaGo-Zero-style value head on its trunk.

The conv core is a stack of conv → (norm) → ReLU → (pool) stages, 1-D or 2-D; the Go
policy net, the MNIST classifier and the spoken-digit model are all built from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from gonet.feature_sets import feature_planes


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
    value_head: bool = False  # a value head on the shared trunk: forward returns (logits, value)
    value_tower: int = 0      # 3x3 convs in the value head before it pools (0: AlphaGo Zero's 1x1 conv alone)

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
:func:`resized_point_bias`); docs/benchmarks.md has the matches that compare them."""


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


VALUE_CHANNELS = 32  # 1x1 conv maps the value head pools (AlphaGo Zero: 1 map, flattened)
VALUE_HIDDEN = 256   # AlphaGo Zero's value head width
KOMI_SCALE = 7.5     # komi enters the value head in units of a usual komi...
KOMI_CLIP = 30.0     # ...clipped, because some records carry nonsense (e.g. KM[375])


class ValueHead(nn.Module):
    """AlphaGo Zero's value head, 1x1 conv → ReLU → FC 256 → ReLU → FC 1 → tanh, with the
    conv maps averaged over the board instead of flattened (as KataGo's head pools):

    - pooled, the head has no per-point weights, so it serves any board size, and it has
      far fewer weights to fit: on a frozen trunk with ~20k positions the flattened
      AlphaGo Zero head memorised its training set (hold-out MSE above 1, docs/benchmarks.md);
    - the FC also gets the global average of the maps it pools from, and the komi from the
      side to move's view: the planes do not say who is Black, and a position won on the
      board by 3 points is lost by the player who gives 6.5 komi (AlphaGo's value net had
      a 49th "colour" plane for the same reason);
    - ``tower`` 3x3 convs of ``maps`` filters (ReLU) may come first: a head that pools 1x1
      maps of a frozen policy trunk underfits (train and hold-out MSE within 0.01), and the
      tower lets it read each point's neighbourhood (which group is dead, whose a border is)
      for about 2% of the trunk's work.

    No batch norm: the head is trained on a frozen trunk whose features do not drift.
    """

    def __init__(self, channels: int, maps: int = VALUE_CHANNELS, tower: int = 0):
        super().__init__()
        self.tower = conv_core(channels, [maps] * tower, [3] * tower) if tower else nn.Identity()
        pooled = maps if tower else channels
        self.conv = nn.Conv2d(pooled, maps, kernel_size=1)
        self.hidden = nn.Linear(maps + pooled + 1, VALUE_HIDDEN)
        self.out = nn.Linear(VALUE_HIDDEN, 1)

    def forward(self, features: torch.Tensor, komi: torch.Tensor) -> torch.Tensor:
        """(B, k, N, N) trunk features, (B,) komi from the side to move's view → (B,) values in [-1, 1]."""
        features = self.tower(features)
        maps = torch.relu(self.conv(features)).mean(dim=(2, 3))  # (B, maps)
        pooled = features.mean(dim=(2, 3))  # (B, maps or k)
        komi = (komi.to(features.dtype).clamp(-KOMI_CLIP, KOMI_CLIP) / KOMI_SCALE)[:, None]  # (B, 1)
        x = torch.relu(self.hidden(torch.cat([maps, pooled, komi], dim=1)))  # (B, 256)
        return torch.tanh(self.out(x)).squeeze(1)  # (B,)


class PolicyNet(nn.Module):
    """AlphaGo's SL policy network: a 5x5 conv, ``layers - 2`` 3x3 convs (all with k filters,
    zero padding, ReLU, no pooling), then a 1x1 conv to one plane plus a separate learned
    bias for each point. Returns logits over the N*N points (softmax is the loss's job);
    with ``config.value_head``, also a value from the same trunk (see :class:`ValueHead`).
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
        self.value_head = ValueHead(k, tower=config.value_tower) if config.value_head else None
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

    def trunk(self, planes: torch.Tensor) -> torch.Tensor:
        """(B, C, N, N) planes (any float or uint8 dtype) → (B, k, N, N) features of the last hidden layer."""
        if not planes.is_floating_point():
            planes = planes.to(self.point_bias.dtype)
        return self.body(planes)

    def policy_logits(self, features: torch.Tensor) -> torch.Tensor:
        """(B, k, N, N) trunk features → (B, N*N) move logits."""
        size = features.shape[-1]
        bias = resized_point_bias(self.point_bias, self.config.board_size, size, self.bias_map)
        return self.head(features).flatten(1) + bias  # (B, N*N)

    def move_logits(self, planes: torch.Tensor) -> torch.Tensor:
        """(B, C, N, N) planes → (B, N*N) logits, without the value head (needs no komi)."""
        return self.policy_logits(self.trunk(planes))

    def forward(self, planes: torch.Tensor, komi: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(B, C, N, N) planes → (B, N*N) logits; with a value head, (logits, (B,) values)
        given ``komi``, each position's komi from the side to move's view (see
        :func:`gonet.features.side_komi`)."""
        features = self.trunk(planes)
        logits = self.policy_logits(features)
        if self.value_head is None:
            return logits
        if komi is None:
            raise ValueError("a net with a value head needs each position's komi (from the side to move's view)")
        return logits, self.value_head(features, komi)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def fc_net(in_features: int, widths: list[int], classes: int = 10) -> nn.Sequential:
    """A fully connected ReLU net (the Seide et al. set-up): flatten, Linear → ReLU for each
    hidden width, a linear output layer. He initialisation for the same reason as
    :meth:`PolicyNet.reset_parameters`: PyTorch's default shrinks the signal at each ReLU
    layer, which would handicap the deep nets in a deep-vs-shallow comparison."""
    layers: list[nn.Module] = [nn.Flatten()]
    features = in_features
    for width in widths:
        layers += [nn.Linear(features, width), nn.ReLU(inplace=True)]
        features = width
    layers.append(nn.Linear(features, classes))
    for linear in layers:
        if isinstance(linear, nn.Linear):
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu" if linear is not layers[-1] else "linear")
            nn.init.zeros_(linear.bias)
    return nn.Sequential(*layers)
