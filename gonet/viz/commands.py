"""``gonet viz``: one subcommand per view, each writing a PNG."""

from __future__ import annotations

import argparse


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
    p = view("excite", "the corpus positions that excite one filter of the Go net most", image_model=False)
    p.add_argument("sources", nargs="+")
    p.add_argument("--layer", type=int, default=0)
    p.add_argument("--filter", type=int, default=0)
    p.add_argument("--top", type=int, default=8)
    p.add_argument("--max-positions", type=int, default=5000)
    p.add_argument("--model", help="Go model (default: the shipped one)")
    viz.set_defaults(run=run)


def _image_model(args):
    """(net, test images, labels) for the image views."""
    from gonet import mnist

    net = mnist.load_net(args.model)
    images, labels = mnist.load("test", args.data)
    return net, images, labels


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from gonet.viz import methods, plots

    if args.view in ("policy", "go-saliency", "excite"):
        from gonet.policy import load_policy
        from gonet.viz import go

        policy = load_policy(args.model)
        if args.view == "policy":
            path = go.policy_heatmap(policy, args.sgf, args.move, args.out)
        elif args.view == "go-saliency":
            path = go.move_saliency(policy, args.sgf, args.move, args.out)
        else:
            path = go.exciting_positions(policy, args.sources, args.layer, args.filter, args.out, args.top,
                                         args.max_positions)
    elif args.view == "filters":
        path = _filters(args.model, args.out, methods, plots)
    else:
        net, images, labels = _image_model(args)
        x = images[args.index: args.index + 1]
        if args.view == "maximize":
            if args.classes:
                found = [methods.maximize(net, (1, 28, 28), class_index=k, l1=args.l1, steps=args.steps)[0, 0]
                         for k in range(10)]
                names = [f"class {k}" for k in range(10)]
            else:
                found = [methods.maximize(net, (1, 28, 28), args.layer, f, l1=args.l1, steps=args.steps)[0, 0]
                         for f in range(args.filters)]
                names = [f"filter {f}" for f in range(args.filters)]
            path = plots.image_grid(np.stack([f.numpy() for f in found]), args.out,
                                    f"activation maximisation (L1 {args.l1:g})", labels=names)
        elif args.view == "saliency":
            sal, k = methods.saliency(net, x)
            path = plots.images_side_by_side([x[0, 0].numpy(), sal.numpy()],
                                             [f"label {int(labels[args.index])}", f"saliency of class {k}"],
                                             args.out, ["gray", "hot"])
        elif args.view == "gradcam":
            cam, k = methods.grad_cam(net, x, args.layer)
            path = plots.images_side_by_side([x[0, 0].numpy(), cam.numpy()],
                                             [f"label {int(labels[args.index])}", f"Grad-CAM, class {k}"],
                                             args.out, ["gray", "jet"])
        else:
            dream = methods.deep_dream(net, x, args.layer, args.steps)
            path = plots.images_side_by_side([x[0, 0].numpy(), dream[0, 0].numpy()], ["input", "deep dream"],
                                             args.out)
    print(path)
    return 0


def _filters(model: str, out: str, methods, plots):
    """First-layer filters: MNIST/speech kernels as images; Go 5x5 kernels summed over planes."""
    import torch

    blob = torch.load(model, map_location="cpu", weights_only=True)
    fmt = blob.get("format") if isinstance(blob, dict) else None
    if fmt == "gonet-mnist":
        from gonet import mnist

        w = methods.first_layer_filters(mnist.load_net(model))[:, 0]
        return plots.image_grid(w.numpy(), out, "MNIST first-layer filters", cmap="RdBu_r", symmetric=True)
    if fmt == "gonet-speech":
        from gonet import speech

        w = methods.first_layer_filters(speech.load_net(model))  # (filters, mels, width)
        return plots.image_grid(w[:32].numpy(), out, "speech first-layer filters (mel x time)", cmap="RdBu_r",
                                symmetric=True)
    from gonet.policy import load_net

    net, _ = load_net(model)
    w = methods.first_layer_filters(net)  # (k, planes, 5, 5)
    return plots.image_grid(w[:, :3].sum(1).numpy(), out, "Go net first-layer filters (stone planes summed)",
                            cmap="RdBu_r", symmetric=True)
