"""``gonet mnist train|eval``: handwritten digits on the same conv core as the Go net.

Reads the standard IDX files (gzipped or not) from a folder: ``--data``, else
``$GONET_MNIST``, else ``../shared/data/mnist`` beside the repository.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gonet.classify import accuracy, fit_classifier, load_classifier, save_classifier, saved_kind
from gonet.nets import conv_core, fc_net

FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
VAL_IMAGES = 10_000  # held out of the 60k training images for early stopping: the usual 50k/10k split
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
             0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (``.gz`` or plain) as an array of its declared type and shape."""
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file")
    dtype, ndim = np.dtype(IDX_TYPES[raw[2]]), raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    count = int(np.prod(dims)) if dims else 1
    offset = 4 + 4 * ndim
    if len(raw) < offset + count * dtype.itemsize:
        raise ValueError(f"{path}: truncated ({len(raw)} bytes for shape {dims})")
    return np.frombuffer(raw, dtype, count, offset).reshape(dims)


def default_folder() -> Path:
    env = os.environ.get("GONET_MNIST")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def _find(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"{folder}: no {stem}[.gz]; pass --data FOLDER with the MNIST IDX files")


def load(split: str, folder: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(images float[N, 1, 28, 28] scaled to 0..1, labels int64[N]) of ``train`` or ``test``."""
    folder = Path(folder) if folder else default_folder()
    images, labels = (read_idx(_find(folder, stem)) for stem in FILES[split])
    x = torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]  # (N, 1, 28, 28)
    return x, torch.from_numpy(labels.astype(np.int64))


def load_split(folder: str | Path | None = None, val: int = VAL_IMAGES) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``train``/``val``/``test``: ``val`` training images chosen at random (fixed seed, so every
    run holds out the same ones) for model selection, the rest to train, and the test set."""
    x, y = load("train", folder)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    held, kept = order[:val], order[val:]
    return {"train": (x[kept], y[kept]), "val": (x[held], y[held]), "test": load("test", folder)}


def make_net(stage_widths: tuple[int, ...] = (32, 64), convs_per_stage: int = 2, hidden: int = 128) -> nn.Module:
    """Stages of 3x3 conv→BatchNorm→ReLU (the conv core) each ending in a 2x2 max-pool,
    then dropout and a two-layer head: (B, 1, 28, 28) → (B, 10) logits."""
    layers: list[nn.Module] = []
    channels = 1
    for width in stage_widths:
        layers += [*conv_core(channels, [width] * convs_per_stage, 3, norm="batch"), nn.MaxPool2d(2)]
        channels = width
    side = 28 // 2 ** len(stage_widths)
    layers += [nn.Flatten(), nn.Dropout(0.2), nn.Linear(channels * side * side, hidden), nn.ReLU(),
               nn.Linear(hidden, 10)]
    return nn.Sequential(*layers)


def make_fc_net() -> nn.Module:
    """784-512-512-10, fully connected: a second architecture, so that a picture one net
    "sees" a digit in can be checked by a net that shares none of its weights or biases."""
    return fc_net(28 * 28, [512, 512])


NETS = {"mnist": make_net, "mnist-fc": make_fc_net}  # model-file kind -> the net it holds


def train(out: str | Path, folder: str | Path | None = None, epochs: int = 3, batch_size: int = 128,
          lr: float = 3e-3, max_time: str | None = "00:00:10:00", limit: int | None = None,
          progress: bool = True, kind: str = "mnist", seed: int = 0) -> dict:
    """Train on the 60k training images, test on the 10k; saves ``OUT/<kind>.pt``."""
    torch.manual_seed(seed)
    x, y = load("train", folder)
    tx, ty = load("test", folder)
    if limit:
        x, y, tx, ty = x[:limit], y[:limit], tx[:limit], ty[:limit]
    net = NETS[kind]()
    train_loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(TensorDataset(tx, ty), batch_size=1000)
    result = fit_classifier(net, train_loader, test_loader, epochs, out, lr=lr, max_time=max_time,
                            progress=progress)
    save_classifier(net, Path(out) / f"{kind}.pt", kind)
    return result


def load_net(path: str | Path) -> nn.Module:
    """Either MNIST net, told apart by the kind saved in the file."""
    kind = saved_kind(path)
    if kind not in NETS:
        raise ValueError(f"{path}: not a gonet MNIST model")
    return load_classifier(path, kind, NETS[kind]())


def evaluate(path: str | Path, folder: str | Path | None = None) -> float:
    """Test-set accuracy of a saved model."""
    tx, ty = load("test", folder)
    return accuracy(load_net(path), DataLoader(TensorDataset(tx, ty), batch_size=1000))
