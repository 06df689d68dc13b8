"""Training throughput of the policy net (positions/s, achieved FLOP/s, MFU on GPU) and
whether the data pipeline keeps up.

    python scripts/bench_train.py [--filters 192 --layers 13 --batch-size 256] [--data DIR --workers N [--loader-only]]

Synthetic batches time the model alone (forward + backward + SGD step, random
symmetries included); with ``--data`` (a `gonet prepare` folder) the DataLoader alone is
timed too, as positions/s per worker next to the batch kernel's rate on the same
positions in this process (the target: per worker >= 80% of the kernel).
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch

from gonet.board import diagonals, neighbours
from gonet.data import EndlessRandomSampler, PositionDataModule, batch_planes, random_symmetry
from gonet.features import LADDER_BUDGET, NUM_PLANES
from gonet.train import PolicyModule

PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}  # dense bf16 FLOP/s


def flops_per_position(filters: int, layers: int, planes: int = 48, points: int = 361) -> float:
    """Forward + backward ≈ 3 × forward multiply-adds × 2."""
    forward = planes * 25 * filters + (layers - 2) * filters * 9 * filters + filters
    return 3 * 2 * forward * points


def bench_model(args, device: torch.device) -> float:
    module = PolicyModule(args.filters, args.layers, channels_last=device.type == "cuda",
                          compile=device.type == "cuda" and not args.no_compile).to(device)
    opt = module.configure_optimizers()["optimizer"]
    x = torch.randint(0, 2, (args.batch_size, 48, 19, 19), dtype=torch.uint8, device=device)
    y = torch.randint(0, 361, (args.batch_size,), device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")

    def step():
        planes, moves = random_symmetry(x, y)
        with autocast:
            loss = torch.nn.functional.cross_entropy(module(planes).float(), moves)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return args.steps * args.batch_size / (time.perf_counter() - start)


def bench_loader(args) -> tuple[float, float]:
    """(DataLoader positions/s per worker, the batch kernel alone on the same positions in
    this process): batches ``--warmup``.. of the training sampler's stream, timed both ways,
    back to back so that both see the same machine load."""
    dm = PositionDataModule(args.data, batch_size=args.batch_size, workers=args.workers)
    dm.setup("fit")
    games, rows, b = dm.train_set.games, dm.train_set.rows, args.batch_size
    stream = EndlessRandomSampler(len(rows), dm.seed)
    flat = np.array(list(itertools.islice(stream, args.warmup * b, (args.warmup + args.loader_batches) * b)))
    batches = flat.reshape(args.loader_batches, b)  # (batches, B) dataset indices
    nbr, diag = neighbours(games.size), diagonals(games.size)

    def kernel(batch: np.ndarray) -> None:
        wanted = np.sort(rows[batch])
        out = np.zeros((len(wanted), NUM_PLANES, games.size ** 2), dtype=np.uint8)
        batch_planes(nbr, diag, games.setup_colours, games.setup, games.setup_offsets, games.colours,
                     games.moves, games.game_offsets, wanted, out, LADDER_BUDGET)

    kernel(batches[0])  # compile or load Numba's cache
    start = time.perf_counter()
    for batch in batches:
        kernel(batch)
    kernel_rate = batches.size / (time.perf_counter() - start)

    it = iter(dm.train_dataloader())
    for _ in range(args.warmup):
        next(it)
    start = time.perf_counter()
    n = sum(len(next(it)[1]) for _ in range(args.loader_batches))
    return n / (time.perf_counter() - start) / max(1, args.workers), kernel_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filters", type=int, default=192)
    parser.add_argument("--layers", type=int, default=13)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--data", help="a prepared folder: also time the DataLoader")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loader-batches", type=int, default=40)
    parser.add_argument("--loader-only", action="store_true", help="with --data: time the data pipeline alone")
    args = parser.parse_args()
    if args.data:
        per_worker, kernel = bench_loader(args)
        print(f"DataLoader: {per_worker:,.0f} positions/s per worker ({args.workers} workers); "
              f"batch kernel alone on the same positions: {kernel:,.0f} positions/s; "
              f"ratio {per_worker / kernel:.2f}")
    if args.loader_only:
        return
    device = torch.device(args.device)
    rate = bench_model(args, device)
    flops = rate * flops_per_position(args.filters, args.layers)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    line = f"l{args.layers}k{args.filters} batch {args.batch_size} on {name}: {rate:,.0f} positions/s, {flops / 1e12:.2f} TFLOP/s"
    peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
    if peak:
        line += f", MFU {100 * flops / peak:.1f}% of {peak / 1e12:.0f} TFLOP/s bf16"
    print(line)


if __name__ == "__main__":
    main()
