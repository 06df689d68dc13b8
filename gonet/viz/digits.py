"""What excites a filter of the digit nets: the training inputs where it responds most, as
``gonet viz excite`` does for Go positions (Zeiler & Fergus 2014 show the same for ImageNet).

Each panel marks the unit's receptive field, the part of the input it can see: on MNIST a
box on the whole image, on spoken digits a crop of the spectrogram around that window.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from gonet import mnist, speech
from gonet.viz import plots
from gonet.viz.methods import receptive_field, strongest_response

CONTEXT = 15  # spectrogram frames shown on each side of a speech unit's window (150 ms): the word around it


def _window(centre: float, size: int, limit: int) -> tuple[int, int]:
    """Inclusive input bounds of a receptive field centred at ``centre``, clipped to the input."""
    half = (size - 1) / 2
    return max(0, math.ceil(centre - half)), min(limit - 1, math.floor(centre + half))


def exciting_images(model: str | Path, folder: str | Path | None, layer: int, filter_index: int, out: str | Path,
                    top: int = 8, max_inputs: int | None = None) -> Path:
    """The ``top`` MNIST training images (of the first ``max_inputs``) where one filter fires
    hardest, its receptive field boxed."""
    net = mnist.load_net(model)
    x, y = mnist.load("train", folder)
    x, y = x[:max_inputs], y[:max_inputs]
    found = [strongest_response(net, batch, layer, filter_index) for batch in x.split(1000)]
    values, where = torch.cat([v for v, _ in found]), torch.cat([w for _, w in found])  # (N,), (N, 2)
    size, jump, centre = receptive_field(net, layer)
    best = values.argsort(descending=True)[:top]
    boxes, labels = [], []
    for i in best.tolist():
        (r0, r1), (c0, c1) = (_window(centre + int(k) * jump, size, 28) for k in where[i])
        boxes.append((r0, c0, r1, c1))
        labels.append(f"image {i}, a {int(y[i])}\nresponse {float(values[i]):.1f}")
    return plots.image_grid(x[best, 0].numpy(), out, f"MNIST conv layer {layer}, filter {filter_index}: top {top} of "
                            f"{len(x):,} training images (box: what the unit sees, {size}x{size})",
                            labels=labels, boxes=boxes)


def exciting_sounds(model: str | Path, folder: str | Path | None, layer: int, filter_index: int, out: str | Path,
                    top: int = 8) -> Path:
    """The ``top`` spoken-digit recordings (all of FSDD) where one filter fires hardest, each
    as the log-mel crop around the window the unit sees (outlined)."""
    net = speech.load_net(model)
    digits = speech.SpokenDigits(folder)
    found = [strongest_response(net, spec[None], layer, filter_index) for spec in digits.features]
    values = torch.tensor([float(v[0]) for v, _ in found])
    size, jump, centre = receptive_field(net, layer)
    crops, boxes, labels = [], [], []
    floor = math.log(1e-6)  # the silence level of speech.log_mel
    for i in values.argsort(descending=True)[:top].tolist():
        spec = digits.features[i].numpy()  # (N_MELS, T)
        t0, t1 = _window(centre + int(found[i][1][0, 0]) * jump, size, spec.shape[1])
        start = t0 - CONTEXT
        crop = np.full((spec.shape[0], size + 2 * CONTEXT), floor, dtype=np.float32)
        lo, hi = max(0, start), min(spec.shape[1], start + crop.shape[1])
        crop[:, lo - start: hi - start] = spec[:, lo:hi]
        crops.append(crop[::-1])  # low frequencies at the bottom
        boxes.append((0, t0 - start, spec.shape[0] - 1, t1 - start))
        _, digit, speaker = digits.items[i]
        labels.append(f"'{digit}' {speaker}\n{10 * t0}-{10 * t1} ms: {float(values[i]):.1f}")
    return plots.image_grid(np.stack(crops), out, f"spoken digits, conv layer {layer}, filter {filter_index}: top "
                            f"{top} of {len(digits):,} recordings (log-mel, {speech.N_MELS} bands x time; box: the "
                            f"{10 * (size - 1) + 25} ms the unit hears)", cmap="magma", labels=labels, boxes=boxes)
