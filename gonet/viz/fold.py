"""The folding picture: what each layer of a small fully connected ReLU net does to the plane.

A 2-D toy task (XOR: four blobs; two interleaved spirals) is learned by a net whose hidden
layers have 2 units, so every layer's output is again a plane and can be drawn exactly: a
grid of the input plane and the data points, carried through the layers. Each layer is an
affine map (stretch, rotate, shift) followed by ReLU, which keeps the positive quadrant and
flattens the other three onto its edges: it folds the plane. The output layer is linear, so
the last hidden layer must have made the classes linearly separable; its decision line is
drawn there.

A second net with wide hidden layers is drawn the same way, each layer projected to 2-D:
the last hidden layer onto the output's own direction (horizontal: the logit difference,
so the classes split at a vertical line) and the first principal component orthogonal to
it; earlier layers onto their first two principal components (of the data's activations).
With more units than the 2-D input, a layer can lift the points into a space where a flat
cut separates them, which a chain of 2-unit layers struggles to do.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gonet.nets import fc_net
from gonet.viz.plots import save_figure

GRID_LINES = 17      # grid lines each way over the input square
GRID_POINTS = 200    # points along each grid line: enough for the folds to look continuous
RESTARTS = 4         # 2-unit ReLU nets often die (a unit off for a whole class): keep the best of a few inits
START_BIAS = 0.3     # hidden biases start positive so each unit starts alive on the data: with zero biases
                     # 2 x 2 nets learned XOR in 1 of 5 starts, with 0.3 in 3 of 5 (measured)


def toy_data(task: str, n: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(points (n, 2) in about [-1, 1]², labels 0/1). ``xor``: four Gaussian blobs at the
    corners, opposite corners sharing a class; ``spirals``: two interleaved spirals, 1.5 turns."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    if task == "xor":
        corner = torch.randint(0, 2, (n,), generator=gen)
        sign = torch.stack([2.0 * corner - 1, (2.0 * corner - 1) * (1 - 2.0 * y)], dim=1)  # class = signs differ
        return 0.5 * sign + 0.1 * torch.randn(n, 2, generator=gen), y
    if task == "spirals":
        t = torch.rand(n, generator=gen) ** 0.5 * 3 * math.pi  # up to 1.5 turns, evenly along the arc
        angle = t + math.pi * y
        points = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1) / (3 * math.pi)
        return points + 0.02 * torch.randn(n, 2, generator=gen), y
    raise ValueError(f"unknown task {task!r}; use 'xor' or 'spirals'")


def train_net(x: torch.Tensor, y: torch.Tensor, widths: list[int], steps: int = 1000, seed: int = 0,
              restarts: int = RESTARTS) -> tuple[nn.Sequential, float]:
    """A ``fc_net(2, widths, 2)`` trained full-batch with Adam; the best of ``restarts`` seeds
    by training accuracy (then loss). Returns the net and its accuracy."""
    best = None
    for restart in range(restarts):
        torch.manual_seed(seed * 1000 + restart)
        net = fc_net(2, widths, 2)
        for hidden in list(net)[:-1]:
            if isinstance(hidden, nn.Linear):
                nn.init.constant_(hidden.bias, START_BIAS)
        opt = torch.optim.Adam(net.parameters(), lr=0.02)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        for _ in range(steps):
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        with torch.no_grad():
            logits = net(x)
            score = ((logits.argmax(1) == y).float().mean().item(), -F.cross_entropy(logits, y).item())
        if best is None or score > best[0]:
            best = (score, net)
        if score[0] == 1.0:
            break
    return best[1].eval(), best[0][0]


@torch.no_grad()
def layer_outputs(net: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """The input and each hidden layer's output (after its ReLU) for points (N, 2)."""
    outputs = [x]
    for module in net:
        x = module(x)
        if isinstance(module, nn.ReLU):
            outputs.append(x)
    return outputs


def grid(lo: float = -1.2, hi: float = 1.2) -> torch.Tensor:
    """Grid lines over the input square: (2 * GRID_LINES, GRID_POINTS, 2), horizontal then vertical."""
    ticks, along = torch.linspace(lo, hi, GRID_LINES), torch.linspace(lo, hi, GRID_POINTS)
    horizontal = torch.stack([along.expand(GRID_LINES, -1), ticks[:, None].expand(-1, GRID_POINTS)], dim=2)
    return torch.cat([horizontal, horizontal.flip(2)])


def projection(h: torch.Tensor, output: nn.Linear | None = None) -> torch.Tensor:
    """A (D, 2) basis to draw D-dimensional activations ``h`` (N, D) in the plane: the identity
    for D = 2; else the first two principal components, or with ``output`` (the final linear
    layer) its logit-difference direction and the first principal component orthogonal to it."""
    if h.shape[1] == 2:
        return torch.eye(2)
    centred = h - h.mean(0)
    if output is None:
        return torch.linalg.svd(centred, full_matrices=False).Vh[:2].T
    w = (output.weight[1] - output.weight[0]).detach()
    w = w / w.norm()
    rest = centred - (centred @ w)[:, None] * w
    return torch.stack([w, torch.linalg.svd(rest, full_matrices=False).Vh[0]], dim=1)


@torch.no_grad()
def draw_net(axes, net: nn.Sequential, x: torch.Tensor, y: torch.Tensor, label: str) -> None:
    """One row: the input plane (decision regions shaded), then every hidden layer's output."""
    lines = grid()
    data_layers = layer_outputs(net, x)
    line_layers = layer_outputs(net, lines.reshape(-1, 2))
    output = net[-1]
    side = torch.linspace(-1.2, 1.2, 121)
    mesh = torch.stack(torch.meshgrid(side, side, indexing="xy"), dim=2).reshape(-1, 2)
    decision = net(mesh).argmax(1).reshape(121, 121).numpy()
    for i, (ax, points, line_points) in enumerate(zip(axes, data_layers, line_layers)):
        last = i == len(data_layers) - 1
        basis = projection(points, output if last else None)
        if i == 0:
            ax.imshow(decision, extent=(-1.2, 1.2, -1.2, 1.2), origin="lower", cmap="coolwarm", alpha=0.18)
        drawn = (line_points @ basis).reshape(*lines.shape[:2], 2).numpy()
        for k, line in enumerate(drawn):
            ax.plot(line[:, 0], line[:, 1], color="0.55" if k < GRID_LINES else "0.8", lw=0.5, zorder=1)
        p = (points @ basis).numpy()
        ax.scatter(p[:, 0], p[:, 1], c=y.numpy(), cmap="coolwarm", s=6, zorder=2, edgecolors="none")
        if last and i > 0:
            _decision_line(ax, output, basis, points)
        width = points.shape[1]
        ax.set_title("input" if i == 0 else f"layer {i} ({width} units" + (", projected)" if width > 2 else ")"),
                     fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].set_ylabel(label, fontsize=8)


def _decision_line(ax, output: nn.Linear, basis: torch.Tensor, points: torch.Tensor) -> None:
    """The output layer's boundary (logit 1 = logit 0) in the drawn plane of the last layer."""
    w = output.weight[1] - output.weight[0]
    b = float(output.bias[1] - output.bias[0])
    drawn = points @ basis
    lo, hi = drawn.min(0).values.numpy(), drawn.max(0).values.numpy()
    if basis.shape[0] > 2:  # horizontal axis is w/|w| itself: the boundary is vertical at -b/|w|
        ax.axvline(-b / float(w.norm()), color="k", lw=1, ls="--")
        return
    wx, wy = float(w @ basis[:, 0]), float(w @ basis[:, 1])
    xs = np.linspace(lo[0] - 0.1, hi[0] + 0.1, 2)
    if abs(wy) > 1e-9:
        ax.plot(xs, -(b + wx * xs) / wy, "k--", lw=1)
    else:
        ax.axvline(-b / wx, color="k", lw=1, ls="--")
    ax.set_xlim(lo[0] - 0.1 * (hi[0] - lo[0] + 1e-3), hi[0] + 0.1 * (hi[0] - lo[0] + 1e-3))
    ax.set_ylim(lo[1] - 0.1 * (hi[1] - lo[1] + 1e-3), hi[1] + 0.1 * (hi[1] - lo[1] + 1e-3))


def fold_figure(task: str, out: str | Path, layers: int = 2, wide: int = 16, seed: int = 0,
                steps: int = 1000) -> Path:
    """Two rows: a net of ``layers`` 2-unit hidden layers and one of ``layers`` x ``wide``."""
    import matplotlib.pyplot as plt

    x, y = toy_data(task, seed=seed)
    fig, axes = plt.subplots(2, layers + 1, figsize=(2.6 * (layers + 1), 5.6), squeeze=False)
    for row, width in zip(axes, (2, wide)):
        net, acc = train_net(x, y, [width] * layers, steps=steps, seed=seed)
        draw_net(row, net, x, y, f"{layers} x {width} units\n{100 * acc:.0f}% right")
    fig.suptitle(f"{task}: each ReLU layer folds the plane; the output line (dashed) separates the last layer",
                 fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out)
