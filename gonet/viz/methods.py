"""Model-agnostic visualisation methods on PyTorch conv nets (inputs (B, C, ...))."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_layers(net: nn.Module) -> list[nn.Module]:
    """The net's convolutions, in order (layer 0 is the first)."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d))]


def first_layer_filters(net: nn.Module) -> torch.Tensor:
    """The first convolution's weights: (filters, in_channels, *kernel)."""
    return conv_layers(net)[0].weight.detach().cpu()


class _Capture:
    """Keeps the output of one module during a forward pass (and its gradient)."""

    def __init__(self, module: nn.Module):
        self.output: torch.Tensor | None = None
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, module, inputs, output):
        if output.requires_grad:
            output.retain_grad()
        self.output = output

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def activation_of(net: nn.Module, x: torch.Tensor, layer: int, filter_index: int) -> torch.Tensor:
    """Sum of one filter's activation map, taken at the convolution's output (before its
    ReLU, so a filter that is silent on the start image still has a gradient to climb)."""
    with _Capture(conv_layers(net)[layer]) as cap:
        net(x)
    return cap.output[:, filter_index].flatten(1).sum(1)


def maximize(net: nn.Module, shape: tuple[int, ...], layer: int | None = None, filter_index: int = 0,
             class_index: int | None = None, l1: float = 0.0, steps: int = 200, lr: float = 0.05,
             value_range: tuple[float, float] = (0.0, 1.0), seed: int = 0) -> torch.Tensor:
    """Activation maximisation by gradient ascent on the input.

    Target: a conv filter's summed activation (``layer``/``filter_index``) or a class logit
    (``class_index``). ``l1`` weighs the "no ink" penalty ``l1 * |x|_1`` that keeps the
    image sparse. Returns the input (1, *shape), clamped to ``value_range`` after each step.
    """
    net.eval()
    gen = torch.Generator().manual_seed(seed)
    x = (0.1 * torch.rand((1, *shape), generator=gen)).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        if class_index is not None:
            target = net(x)[0, class_index]
        else:
            target = activation_of(net, x, layer or 0, filter_index)[0]
        (-target + l1 * x.abs().sum()).backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(*value_range)
    return x.detach()


def saliency(net: nn.Module, x: torch.Tensor, class_index: int | None = None) -> tuple[torch.Tensor, int]:
    """|d y_k / d x| for one input (1, C, ...), max over channels, and k (default: the top class)."""
    net.eval()
    x = x.clone().requires_grad_(True)
    out = net(x)
    k = int(out[0].argmax()) if class_index is None else class_index
    out[0, k].backward()
    return x.grad.abs().amax(dim=1)[0], k


def grad_cam(net: nn.Module, x: torch.Tensor, layer: int = -1, class_index: int | None = None
             ) -> tuple[torch.Tensor, int]:
    """Grad-CAM for one 2-D input: ReLU of the layer's maps weighted by their mean gradient,
    scaled to 0..1 and resized to the input."""
    net.eval()
    with _Capture(conv_layers(net)[layer]) as cap:
        out = net(x)
        k = int(out[0].argmax()) if class_index is None else class_index
        out[0, k].backward()
    maps, grads = cap.output, cap.output.grad  # (1, C, H, W)
    cam = F.relu((grads.mean(dim=(2, 3), keepdim=True) * maps).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    return (cam / cam.max()).detach() if cam.max() > 0 else cam.detach(), k


def deep_dream(net: nn.Module, x: torch.Tensor, layer: int = -1, steps: int = 50, lr: float = 0.02,
               value_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Deep dream: gradient ascent on an input image to amplify whatever a layer sees in it
    (its mean squared activation), with normalised steps."""
    net.eval()
    x = x.clone().requires_grad_(True)
    for _ in range(steps):
        with _Capture(conv_layers(net)[layer]) as cap:
            net(x)
        (F.relu(cap.output) ** 2).mean().backward()
        with torch.no_grad():
            x += lr * x.grad / (x.grad.abs().mean() + 1e-8)
            x.clamp_(*value_range)
            x.grad.zero_()
    return x.detach()
