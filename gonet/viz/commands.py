"""``gonet viz``: one subcommand per view, each writing a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

REGULARISERS = ("l1", "tv", "jitter", "blur")


def add_parser(commands) -> None:
    viz = commands.add_parser("viz", help="visualise what the networks learn (PNG files)")
    sub = viz.add_subparsers(dest="view", required=True, metavar="VIEW")

    def view(name: str, help: str, image_model: bool = True):
        p = sub.add_parser(name, help=help)
        p.add_argument("--out", default=f"{name}.png")
        if image_model:
            p.add_argument("--model", required=True, help="an MNIST model (gonet mnist train), or a Go model")
            p.add_argument("--data", help="MNIST folder (default ../shared/data/mnist)")
            p.add_argument("--index", type=int, default=0, help="which test image")
        return p

    view("filters", "first-layer filters of an MNIST, speech or Go model")
    p = view("maximize", "activation maximisation by gradient ascent (MNIST model)")
    p.add_argument("--layer", type=int, default=0)
    p.add_argument("--filters", type=int, default=8, help="how many filters of the layer")
    p.add_argument("--classes", action="store_true", help="maximise the 10 class outputs instead")
    p.add_argument("--l1", type=float, default=0.0, help="weight of the L1 'no ink' penalty")
    p.add_argument("--tv", type=float, default=0.0, help="weight of the total-variation penalty (against speckle)")
    p.add_argument("--jitter", type=int, default=0, help="shift the image by up to this many pixels each step")
    p.add_argument("--blur", type=float, default=0.0, help="sigma of a Gaussian blur every few steps (low-pass)")
    p.add_argument("--compare", action="store_true",
                   help="the 10 classes three ways: plain ascent, L1 only, all regularisers (at the settings of "
                        "gonet.viz.methods.READABLE)")
    p.add_argument("--check-model", help="an independently trained MNIST model: count the class images it "
                                         "assigns to their class")
    p.add_argument("--steps", type=int, default=200)
    view("saliency", "saliency |dy/dx| of a test image (MNIST model)")
    p = view("gradcam", "Grad-CAM of a test image (MNIST model)")
    p.add_argument("--layer", type=int, default=-1)
    p = view("dream", "deep dream on a test image (MNIST model)")
    p.add_argument("--layer", type=int, default=-1)
    p.add_argument("--steps", type=int, default=50)
    for name, help in (("policy", "the policy's move probabilities on a position"),
                       ("go-saliency", "saliency of the policy's chosen move over the board")):
        p = view(name, help, image_model=False)
        p.add_argument("sgf")
        p.add_argument("--move", type=int, default=50, help="the position before this move (1-based)")
        p.add_argument("--model", help="Go model (default: the shipped one)")
    p = view("excite", "the inputs that excite one filter most: Go positions (SGF sources), or MNIST "
                       "training images / spoken-digit spectrogram crops (with an MNIST or speech --model)",
             image_model=False)
    p.add_argument("sources", nargs="*", help="SGF sources (Go only)")
    p.add_argument("--layer", type=int, default=0)
    p.add_argument("--filter", type=int, default=0)
    p.add_argument("--top", type=int, default=8)
    p.add_argument("--max-positions", type=int, default=5000, help="Go positions to scan")
    p.add_argument("--model", help="Go model (default: the shipped one), or an MNIST or speech model")
    p.add_argument("--data", help="MNIST folder or FSDD recordings folder (digit models)")
    p.add_argument("--max-inputs", type=int, default=10_000, help="MNIST training images to scan")
    p = view("fold", "how a small fully connected net folds the plane, layer by layer (a 2-D toy task)",
             image_model=False)
    p.add_argument("--task", choices=["xor", "spirals"], default="xor")
    p.add_argument("--layers", type=int, default=2, help="hidden layers")
    p.add_argument("--wide", type=int, default=16, help="width of the second (wide) net's hidden layers")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=1000, help="full-batch training steps of each net")
    viz.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(VIEWS[args.view](args))
    return 0


def _image_model(args):
    """(net, test images, labels) for the image views."""
    from gonet import mnist

    net = mnist.load_net(args.model)
    images, labels = mnist.load("test", args.data)
    return net, images, labels


def _maximize(args) -> Path:
    import numpy as np

    from gonet import mnist
    from gonet.viz import methods, plots

    net = mnist.load_net(args.model)
    if args.compare:
        settings = {"plain ascent": {}, "L1 only": {"l1": methods.READABLE["l1"]}, "all regularisers": methods.READABLE}
        images = np.stack([methods.maximize(net, (1, 28, 28), class_index=list(range(10)), steps=args.steps,
                                            **kw)[:, 0].numpy() for kw in settings.values()])  # (3, 10, 28, 28)
        rows = list(settings)
        if args.check_model:
            right = class_check(mnist.load_net(args.check_model), images)
            rows = [f"{name}\n{n}/10 to their class\nby an FC net" for name, n in zip(rows, right)]
            print("classes recognised by the independent net: "
                  + ", ".join(f"{name} {n}/10" for name, n in zip(settings, right)))
        return plots.image_table(images, args.out, rows, [f"class {k}" for k in range(10)],
                                 "activation maximisation of the 10 class outputs")
    options = {k: getattr(args, k) for k in REGULARISERS}
    if args.classes:
        found = methods.maximize(net, (1, 28, 28), class_index=list(range(10)), steps=args.steps, **options)
        names = [f"class {k}" for k in range(10)]
    else:
        found = methods.maximize(net, (1, 28, 28), args.layer, list(range(args.filters)), steps=args.steps, **options)
        names = [f"filter {f}" for f in range(args.filters)]
    title = "activation maximisation (" + ", ".join(f"{k} {v:g}" for k, v in options.items() if v) + ")"
    return plots.image_grid(found[:, 0].numpy(), args.out, title.replace(" ()", " (plain)"), labels=names)


def class_check(net, images) -> list[int]:
    """For each row of class images (R, 10, H, W), how many ``net`` assigns to their class."""
    import torch

    with torch.inference_mode():
        x = torch.as_tensor(images).float().reshape(-1, 1, *images.shape[-2:])  # (R * 10, 1, H, W)
        predicted = net.eval()(x).argmax(1).reshape(len(images), 10)
    return (predicted == torch.arange(10)).sum(1).tolist()


def _explained(args, explain, title: str, cmap: str) -> Path:
    """An image beside the map ``explain(net, x) -> (map, class)`` says its class rests on."""
    from gonet.viz import plots

    net, images, labels = _image_model(args)
    x = images[args.index: args.index + 1]
    heat, k = explain(net, x)
    return plots.images_side_by_side([x[0, 0].numpy(), heat.numpy()],
                                     [f"label {int(labels[args.index])}", f"{title} {k}"], args.out, ["gray", cmap])


def _saliency(args) -> Path:
    from gonet.viz import methods

    return _explained(args, methods.saliency, "saliency of class", "hot")


def _gradcam(args) -> Path:
    from gonet.viz import methods

    return _explained(args, lambda net, x: methods.grad_cam(net, x, args.layer), "Grad-CAM, class", "jet")


def _dream(args) -> Path:
    from gonet.viz import methods, plots

    net, images, _ = _image_model(args)
    x = images[args.index: args.index + 1]
    dream = methods.deep_dream(net, x, args.layer, args.steps)
    return plots.images_side_by_side([x[0, 0].numpy(), dream[0, 0].numpy()], ["input", "deep dream"], args.out)


def _go_view(args) -> Path:
    from gonet.policy import load_policy
    from gonet.viz import go

    policy = load_policy(args.model)
    if args.view == "policy":
        return go.policy_heatmap(policy, args.sgf, args.move, args.out)
    return go.move_saliency(policy, args.sgf, args.move, args.out)


def _excite(args) -> Path:
    from gonet.classify import saved_kind

    kind = saved_kind(args.model) if args.model else None
    if kind in ("mnist", "mnist-fc", "speech"):
        from gonet.viz import digits

        if kind == "speech":
            return digits.exciting_sounds(args.model, args.data, args.layer, args.filter, args.out, args.top)
        return digits.exciting_images(args.model, args.data, args.layer, args.filter, args.out, args.top,
                                      args.max_inputs)
    if not args.sources:
        raise SystemExit("gonet viz excite: give SGF sources for a Go model")
    from gonet.policy import load_policy
    from gonet.viz import go

    return go.exciting_positions(load_policy(args.model), args.sources, args.layer, args.filter, args.out, args.top,
                                 args.max_positions)


def _fold(args) -> Path:
    from gonet.viz import fold

    return fold.fold_figure(args.task, args.out, layers=args.layers, wide=args.wide, seed=args.seed, steps=args.steps)


def _filters(args) -> Path:
    """First-layer filters: MNIST/speech kernels as images; Go 5x5 kernels summed over planes."""
    from gonet.classify import saved_kind
    from gonet.viz import methods, plots

    kind = saved_kind(args.model)
    if kind == "mnist":
        from gonet import mnist

        w = methods.first_layer_filters(mnist.load_net(args.model))[:, 0]
        return plots.image_grid(w.numpy(), args.out, "MNIST first-layer filters", cmap="RdBu_r", symmetric=True)
    if kind == "speech":
        from gonet import speech

        w = methods.first_layer_filters(speech.load_net(args.model))  # (filters, mels, width)
        return plots.image_grid(w[:32].numpy(), args.out, "speech first-layer filters (mel x time)", cmap="RdBu_r",
                                symmetric=True)
    from gonet.policy import load_net

    net, _ = load_net(args.model)
    w = methods.first_layer_filters(net)  # (k, planes, 5, 5)
    return plots.image_grid(w[:, :3].sum(1).numpy(), args.out, "Go net first-layer filters (stone planes summed)",
                            cmap="RdBu_r", symmetric=True)


VIEWS = {"filters": _filters, "maximize": _maximize, "saliency": _saliency, "gradcam": _gradcam, "dream": _dream,
         "policy": _go_view, "go-saliency": _go_view, "excite": _excite, "fold": _fold}
