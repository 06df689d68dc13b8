"""Benchmark the SGF reader, the rules engine and the 48 planes on one core.

    OMP_NUM_THREADS=1 python scripts/bench_features.py [--games 200] [SOURCE]

Default source: the first 200 games of ../shared/data/kgs/val. Prints (a) SGF parse speed,
(b) replay speed from parsed moves, (c) replay + all 48 planes, and the time the first
call took in this process (JIT compile, or loading Numba's cache).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from gonet.board import diagonals, neighbours, new_state, no_journal, place, replay  # noqa: E402
from gonet.features import LADDER_BUDGET, NUM_PLANES, game_planes  # noqa: E402
from gonet.game import record_arrays  # noqa: E402
from gonet.sgf import iter_sgf_blobs, parse_game  # noqa: E402

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "kgs" / "val"


def best_of(repeats: int, fn) -> float:
    """Fastest wall time of ``repeats`` runs of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", default=str(DEFAULT_SOURCE))
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    blobs = [data for _, data in itertools.islice(iter_sgf_blobs(args.source), args.games)]
    records = []

    def parse_all():
        records.clear()
        records.extend(parse_game(data) for data in blobs)

    parse_s = best_of(args.repeats, parse_all)
    games = [record_arrays(r) for r in records if r.size == 19]
    moves = sum(len(g[3]) for g in games)
    nbr, diag = neighbours(19), diagonals(19)
    log, logn = no_journal()

    def replay_all():
        for setup_colours, setup_idxs, colours, idxs in games:
            state = new_state(19)
            for colour, idx in zip(setup_colours, setup_idxs):
                place(state, nbr, idx, colour, log, logn)
            assert replay(state, nbr, colours, idxs, log, logn) == -1

    def planes_all():
        for setup_colours, setup_idxs, colours, idxs in games:
            out = np.zeros((len(idxs), NUM_PLANES, 361), dtype=np.uint8)
            wanted = np.arange(len(idxs))
            assert game_planes(nbr, diag, setup_colours, setup_idxs, colours, idxs, wanted, out, LADDER_BUDGET) == -1

    first = time.perf_counter()
    replay_all()
    game_planes(nbr, diag, *games[0], np.arange(1), np.zeros((1, NUM_PLANES, 361), np.uint8), LADDER_BUDGET)
    first_s = time.perf_counter() - first
    replay_s = best_of(args.repeats, replay_all)
    planes_s = best_of(args.repeats, planes_all)
    print(f"source: {args.source} ({len(records)} games, {moves} moves)")
    print(f"first call (JIT compile or cache load): {first_s:.2f} s")
    print(f"(a) SGF parse:        {len(blobs) / parse_s:10,.0f} games/s  ({moves / parse_s:,.0f} moves/s)")
    print(f"(b) replay:           {moves / replay_s:10,.0f} moves/s")
    print(f"(c) replay + 48 planes: {moves / planes_s:8,.0f} positions/s")


if __name__ == "__main__":
    main()
