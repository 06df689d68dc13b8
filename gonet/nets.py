"""Plain ``nn.Module``s: the conv core shared by every model, and AlphaGo's SL policy net.

The conv core is a stack of conv → (norm) → ReLU → (pool) stages, 1-D or 2-D; the Go
policy net, the MNIST classifier and the spoken-digit model are all built from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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


class PolicyNet(nn.Module):
    """AlphaGo's SL policy network: a 5x5 conv, ``layers - 2`` 3x3 convs (all with k filters,
    zero padding, ReLU, no pooling), then a 1x1 conv to one plane plus a separate learned
    bias for each point. Returns logits over the N*N points (softmax is the loss's job)."""

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
        return x.flatten(1) + self.point_bias  # (B, N*N)


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
