"""Training throughput of the policy net (positions/s, achieved FLOP/s, MFU on GPU) and
whether the data pipeline keeps up.

    python scripts/bench_train.py [--filters 192 --layers 13 --batch-size 256] [--data DIR --workers N [--loader-only]]

Synthetic batches time the model alone (forward + backward + SGD step, unpacking and
random symmetries included); with ``--data`` (a `gonet prepare` folder) the DataLoader alone is
timed too, as positions/s per worker next to the batch kernel's rate on the same
positions in this process (the target: per worker >= 80% of the kernel).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

import numpy as np
import torch

from gonet.data import EndlessRandomSampler, PositionDataModule, random_symmetry
from gonet.features import NUM_PLANES
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
    x = torch.randint(0, 256, (args.batch_size, 6 * 361), dtype=torch.uint8, device=device)  # packed planes
    y = torch.randint(0, 361, (args.batch_size,), device=device)
    komi = torch.full((args.batch_size,), 7.5, device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")

    def step():
        planes, moves = random_symmetry(module.input_planes(x), y)
        with autocast:
            loss = torch.nn.functional.cross_entropy(module(planes, komi)[0].float(), moves)
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_loader(args) -> dict[str, float]:
    """Positions/s of the DataLoader per worker and of the batch kernel alone on the same
    positions in this process: the training sampler's batches after a warm-up of two per
    worker, timed back to back so that both see the same machine load. Each rate is given
    per second of wall time and per second of CPU time (the workers', the kernel's): on a
    shared machine the CPU rates compare the code, the wall rates what a run would get."""
    dm = PositionDataModule(args.data, batch_size=args.batch_size, workers=args.workers)
    dm.setup("fit")
    games, rows, b, warm = dm.train_set.games, dm.train_set.rows, args.batch_size, 2 * args.workers
    stream = EndlessRandomSampler(len(rows), dm.seed)
    flat = np.array(list(itertools.islice(stream, warm * b, (warm + args.loader_batches) * b)))
    batches = flat.reshape(args.loader_batches, b)  # (batches, B) dataset indices

    def kernel(batch: np.ndarray) -> None:
        out = np.empty((len(batch), NUM_PLANES, games.size ** 2), dtype=np.uint8)
        games.planes(np.sort(rows[batch]), out)

    kernel(batches[0])  # compile or load Numba's cache
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        kernel(batch)
    rates = {"kernel": batches.size / (time.perf_counter() - wall),
             "kernel_cpu": batches.size / (time.process_time() - cpu)}

    it = iter(dm.train_dataloader())
    for _ in range(warm):
        next(it)
    pids = [w.pid for w in it._workers]  # private, but the only handle on the worker processes
    wall, cpu = time.perf_counter(), sum(map(cpu_seconds, pids))
    n = sum(len(next(it)[1]) for _ in range(args.loader_batches))
    rates["worker"] = n / (time.perf_counter() - wall) / len(pids)
    rates["worker_cpu"] = n / (sum(map(cpu_seconds, pids)) - cpu)
    return rates


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
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers (at least 1)")
    parser.add_argument("--loader-batches", type=int, default=40)
    parser.add_argument("--loader-only", action="store_true", help="with --data: time the data pipeline alone")
    args = parser.parse_args()
    if args.data:
        r = bench_loader(args)
        print(f"DataLoader, {args.workers} workers: {r['worker']:,.0f} positions/s per worker "
              f"({r['worker_cpu']:,.0f} per worker CPU second); batch kernel alone on the same positions: "
              f"{r['kernel']:,.0f} positions/s ({r['kernel_cpu']:,.0f} per CPU second); ratio "
              f"{r['worker'] / r['kernel']:.2f} (wall), {r['worker_cpu'] / r['kernel_cpu']:.2f} (CPU)")
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
