"""Deep vs shallow at equal parameter count, on MNIST and on the spoken digits.

    python scripts/deep_vs_shallow.py [--depths 1 2 3 5 7] [--width 32] [--mnist-train 12000]

For each depth L a conv-core net of L layers (width ``--width``, 3x3 kernels on images, 5
wide on spectrograms, global max pool, linear head) is trained, and so is a one-layer net
whose width is chosen to have the same number of parameters. Like the classic speech
table (layers x width vs error rate, each paired with a single-layer net of matched size),
the result goes to docs/deep_vs_shallow.md with a plot, docs/deep_vs_shallow.png.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from gonet import mnist, speech  # noqa: E402
from gonet.classify import fit_classifier  # noqa: E402
from gonet.nets import conv_core, parameter_count  # noqa: E402

TASKS = {"mnist": {"dim": 2, "in": 1, "kernel": 3}, "speech": {"dim": 1, "in": speech.N_MELS, "kernel": 5}}


def build(task: str, layers: int, width: int) -> nn.Module:
    spec = TASKS[task]
    pool = nn.AdaptiveMaxPool2d(1) if spec["dim"] == 2 else nn.AdaptiveMaxPool1d(1)
    front = [nn.AvgPool2d(2)] if task == "mnist" else [nn.BatchNorm1d(spec["in"])]  # 28x28 -> 14x14
    return nn.Sequential(*front, *conv_core(spec["in"], [width] * layers, spec["kernel"], spec["dim"], norm="batch"),
                         pool, nn.Flatten(), nn.Linear(width, 10))


def matched_width(task: str, params: int) -> int:
    """The one-layer width with the parameter count closest to ``params`` (it grows linearly)."""
    one, two = parameter_count(build(task, 1, 1)), parameter_count(build(task, 1, 2))
    per_filter = two - one
    return max(1, round((params - (one - per_filter)) / per_filter))


def loaders(task: str, args) -> tuple[DataLoader, DataLoader]:
    if task == "mnist":
        x, y = mnist.load("train", args.mnist)
        tx, ty = mnist.load("test", args.mnist)
        keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[: args.mnist_train]
        return (DataLoader(TensorDataset(x[keep], y[keep]), 128, shuffle=True),
                DataLoader(TensorDataset(tx, ty), 1000))
    train, test = speech.splits(args.fsdd)
    return (DataLoader(train, 32, shuffle=True, collate_fn=speech.pad_batch),
            DataLoader(test, 100, collate_fn=speech.pad_batch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3, 5, 7])
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--tasks", nargs="+", default=["mnist", "speech"])
    parser.add_argument("--mnist", help="MNIST folder (default ../shared/data/mnist)")
    parser.add_argument("--fsdd", help="FSDD recordings folder")
    parser.add_argument("--mnist-train", type=int, default=12000, help="training images used")
    parser.add_argument("--epochs", type=int, nargs=2, default=[2, 15], metavar=("MNIST", "SPEECH"))
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    rows = []
    for task in args.tasks:
        train, test = loaders(task, args)
        epochs = args.epochs[0] if task == "mnist" else args.epochs[1]
        for depth in args.depths:
            deep = build(task, depth, args.width)
            params = parameter_count(deep)
            wide_width = matched_width(task, params)
            for layers, width in [(depth, args.width)] + ([(1, wide_width)] if depth > 1 else []):
                torch.manual_seed(0)
                net = build(task, layers, width)
                start = time.time()
                result = fit_classifier(net, train, test, epochs, "runs/deep_vs_shallow", progress=False)
                rows.append({"task": task, "pair": depth, "layers": layers, "width": width,
                             "params": parameter_count(net), "error": 1 - result["accuracy"],
                             "seconds": time.time() - start})
                print(rows[-1], flush=True)
    write(rows, Path(args.out), args)


def write(rows: list[dict], out: Path, args) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Deep vs shallow at equal parameter count", "",
             f"`python scripts/deep_vs_shallow.py` ({time.strftime('%Y-%m-%d')}, 2-core CPU): conv-core nets "
             f"of L layers x width {args.width}, each paired with a single-layer net of matched parameter count; "
             f"MNIST: {args.mnist_train} training images (input pooled to 14x14), {args.epochs[0]} epochs, "
             f"the 10k test set; spoken digits: standard split, {args.epochs[1]} epochs. Error = test error rate.", ""]
    for task in args.tasks:
        lines += [f"## {task}", "", "| L x width | params | error | 1 x width (matched) | params | error |",
                  "|---|---|---|---|---|---|"]
        for depth in args.depths:
            deep = next(r for r in rows if r["task"] == task and r["pair"] == depth and r["layers"] == depth)
            wide = next((r for r in rows if r["task"] == task and r["pair"] == depth and r["layers"] == 1), deep)
            lines.append(f"| {depth} x {deep['width']} | {deep['params']:,} | {100 * deep['error']:.2f}% | "
                         f"1 x {wide['width']} | {wide['params']:,} | {100 * wide['error']:.2f}% |")
        lines.append("")
    lines.append("![deep vs shallow](deep_vs_shallow.png)")
    (out / "deep_vs_shallow.md").write_text("\n".join(lines) + "\n")
    fig, axes = plt.subplots(1, len(args.tasks), figsize=(5 * len(args.tasks), 3.6), squeeze=False)
    for ax, task in zip(axes[0], args.tasks):
        for kind, style in (("deep", "o-"), ("shallow", "s--")):
            pts = [(r["params"], 100 * r["error"]) for r in rows if r["task"] == task and
                   ((r["layers"] == r["pair"]) if kind == "deep" else (r["layers"] == 1))]
            pts.sort()
            ax.plot([p for p, _ in pts], [e for _, e in pts], style, label=kind)
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.set_ylabel("test error %")
        ax.set_title(task)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "deep_vs_shallow.png", dpi=110)


if __name__ == "__main__":
    main()
