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


BLUR_EVERY = 4  # blur every few steps, not each: a blur per step undoes the ascent (Yosinski et al. 2015)
READABLE = {"l1": 0.002, "tv": 0.05, "jitter": 2, "blur": 0.6}  # the "fully regularised" settings of the docs


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Sum of |differences| between neighbouring inputs along every spatial axis of (1, C, ...)."""
    return sum(x.diff(dim=d).abs().sum() for d in range(2, x.dim()))


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (1, C, ...) along each spatial axis (1-D or 2-D inputs)."""
    radius = max(1, int(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-t ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    channels, spatial = x.shape[1], x.dim() - 2
    for d in range(spatial):
        shape = [1] * spatial
        shape[d] = len(kernel)
        weight = kernel.reshape(1, 1, *shape).expand(channels, 1, *shape)
        padding = [0] * spatial
        padding[d] = radius
        conv = F.conv1d if spatial == 1 else F.conv2d
        x = conv(x, weight, padding=padding, groups=channels)
    return x


def maximize(net: nn.Module, shape: tuple[int, ...], layer: int | None = None, filter_index: int | list[int] = 0,
             class_index: int | list[int] | None = None, l1: float = 0.0, tv: float = 0.0, jitter: int = 0,
             blur: float = 0.0, steps: int = 200, lr: float = 0.05,
             value_range: tuple[float, float] = (0.0, 1.0), seed: int = 0) -> torch.Tensor:
    """Activation maximisation by gradient ascent on the input.

    Target: a conv filter's summed activation (``layer``/``filter_index``) or a class logit
    (``class_index``). With no regulariser this is the plain ascent that finds the "easily
    fooled" images (Nguyen et al. 2015): high scores, no digit. The regularisers are priors
    that the image should look like data:

    - ``l1``: weight of ``|x|_1``, "no ink" where the target does not need it;
    - ``tv``: weight of the total variation, penalising isolated speckle (Mahendran & Vedaldi 2015);
    - ``jitter``: each step scores a copy shifted by up to this many pixels, so the image
      cannot depend on exact pixel positions (Olah et al. 2017, "transformation robustness");
    - ``blur``: the sigma of a Gaussian blur applied every ``BLUR_EVERY`` steps, a low-pass
      prior against high-frequency patterns (Yosinski et al. 2015).

    A list of filters or classes optimises one image for each in a single batch, which costs
    far less than one run each; the images do not interact (the net is in eval mode).
    Returns the inputs (number of targets, *shape), clamped to ``value_range`` after each step.
    """
    net.eval()
    chosen = filter_index if class_index is None else class_index
    chosen = [chosen] if isinstance(chosen, int) else list(chosen)
    rows = torch.arange(len(chosen))
    gen = torch.Generator().manual_seed(seed)
    x = (0.1 * torch.rand((len(chosen), *shape), generator=gen)).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    spatial = tuple(range(2, x.dim()))
    for step in range(steps):
        opt.zero_grad()
        seen = x
        if jitter:
            shifts = torch.randint(-jitter, jitter + 1, (len(spatial),), generator=gen).tolist()
            seen = torch.roll(x, shifts, spatial)
        if class_index is not None:
            target = net(seen)[rows, chosen].sum()
        else:
            with _Capture(conv_layers(net)[layer or 0]) as cap:
                net(seen)
            target = cap.output[rows, chosen].sum()  # each image's own filter, summed over its map
        penalty = l1 * x.abs().sum() + (tv * total_variation(x) if tv else 0.0)
        (-target + penalty).backward()
        opt.step()
        with torch.no_grad():
            if blur and step % BLUR_EVERY == BLUR_EVERY - 1:
                x.copy_(gaussian_blur(x, blur))
            x.clamp_(*value_range)
    return x.detach()


def receptive_field(net: nn.Module, layer: int) -> tuple[int, int, float]:
    """(size, jump, centre of unit 0) of conv ``layer``'s units along a spatial axis, in input
    pixels/frames: unit i looks at ``centre + i * jump ± (size - 1) / 2``. Walks the
    convolutions and pools before it in forward order (square kernels; the usual recurrence
    r += (k - 1) j, centre += ((k - 1) / 2 - p) j, j *= s)."""
    target = conv_layers(net)[layer]
    size, jump, centre = 1, 1, 0.0
    for module in net.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
            k, s, p = (v if isinstance(v, int) else v[0] for v in (module.kernel_size, module.stride, module.padding))
            size += (k - 1) * jump
            centre += ((k - 1) / 2 - p) * jump
            jump *= s
        if module is target:
            return size, jump, centre
    raise AssertionError("conv_layers returned a module that net.modules() does not visit")


@torch.inference_mode()
def strongest_response(net: nn.Module, x: torch.Tensor, layer: int, filter_index: int
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """For each input of a batch (B, C, ...): one filter's largest response anywhere in its map
    (the conv output, before ReLU), and where: (B, spatial dims) map coordinates."""
    net.eval()
    with _Capture(conv_layers(net)[layer]) as cap:
        net(x)
    fmap = cap.output[:, filter_index]  # (B, ...)
    values, flat = fmap.flatten(1).max(1)
    return values, torch.stack(torch.unravel_index(flat, fmap.shape[1:]), dim=1)


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
