"""Regenerate every figure in docs/viz/ (one command; the models it needs are trained first).

    python scripts/viz_figures.py [--runs runs] [--out docs/viz]

Models, trained only when missing and kept small (a few minutes of CPU in all, measured on a
busy 2-core box): ``runs/mnist/mnist.pt`` (gonet's conv MNIST net, one epoch over 10k images),
``runs/mnist/mnist-fc.pt`` (a 784-512-512-10 fully connected net, another seed, one epoch:
the independent judge of the class images) and ``runs/speech/speech.pt`` (the spoken-digit
net, standard split, 10 epochs). Each prints its test accuracy. The Go figures use the
shipped policy net on the first game of a KGS archive. Each figure is drawn by the
``gonet viz`` command printed before it; ``--only`` redraws some of them.
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

import torch

from gonet import mnist, speech
from gonet.cli import main as gonet

KGS_GAME = "../shared/data/kgs/val/KGS-2017_01-19-733-.tar.gz"  # its first game, move 60


def models(runs: Path) -> dict[str, Path]:
    """Train the models the figures need, if they are not there yet."""
    paths = {"mnist": runs / "mnist" / "mnist.pt", "fc": runs / "mnist" / "mnist-fc.pt",
             "speech": runs / "speech" / "speech.pt"}
    if not paths["mnist"].exists():
        print(mnist.train(paths["mnist"].parent, epochs=1, max_time=None, limit=10_000, progress=False))
    if not paths["fc"].exists():
        print(mnist.train(paths["fc"].parent, epochs=1, max_time=None, progress=False, kind="mnist-fc", seed=1))
    if not paths["speech"].exists():
        print(speech.train(paths["speech"].parent, epochs=10, progress=False))
    return paths


def figures(m: dict[str, Path], out: Path) -> list[list[str]]:
    """The ``gonet viz`` argument lists, one per figure."""
    net, fc, sp = str(m["mnist"]), str(m["fc"]), str(m["speech"])
    return [
        ["filters", "--model", net, "--out", f"{out}/mnist_filters.png"],
        ["maximize", "--model", net, "--compare", "--check-model", fc, "--out", f"{out}/mnist_classes.png"],
        ["maximize", "--model", net, "--layer", "2", "--filters", "8", "--l1", "0.002", "--tv", "0.05",
         "--jitter", "2", "--blur", "0.6", "--out", f"{out}/mnist_filter_optima.png"],
        ["saliency", "--model", net, "--index", "7", "--out", f"{out}/mnist_saliency.png"],
        ["gradcam", "--model", net, "--index", "7", "--out", f"{out}/mnist_gradcam.png"],
        ["dream", "--model", net, "--index", "7", "--out", f"{out}/mnist_dream.png"],
        ["excite", "--model", net, "--layer", "2", "--filter", "5", "--max-inputs", "10000",
         "--out", f"{out}/mnist_excite.png"],
        ["excite", "--model", sp, "--layer", "1", "--filter", "3", "--out", f"{out}/speech_excite.png"],
        ["fold", "--task", "xor", "--out", f"{out}/fold_xor.png"],
        ["fold", "--task", "spirals", "--layers", "3", "--out", f"{out}/fold_spirals.png"],
        ["policy", KGS_GAME, "--move", "60", "--out", f"{out}/policy.png"],
        ["go-saliency", KGS_GAME, "--move", "60", "--out", f"{out}/go_saliency.png"],
        ["filters", "--model", "gonet/weights/policy.pt", "--out", f"{out}/go_filters.png"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="runs", type=Path)
    parser.add_argument("--out", default="docs/viz", type=Path)
    parser.add_argument("--only", nargs="+", help="only the figures whose file names contain one of these")
    args = parser.parse_args()
    torch.set_num_threads(1)  # on a busy shared box a second thread mostly spins: 6x the CPU per step, measured
    start = time.time()
    trained = models(args.runs)
    print(f"models ready ({time.time() - start:.0f} s)", flush=True)
    for argv in figures(trained, args.out):
        if args.only and not any(word in argv[-1] for word in args.only):
            continue
        t = time.time()
        print("gonet viz " + shlex.join(argv), flush=True)
        gonet(["viz", *argv])
        print(f"  {time.time() - t:.0f} s", flush=True)
    print(f"all done in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
