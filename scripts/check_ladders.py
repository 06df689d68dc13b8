"""Check that the ladder pre-filter never changes a plane: compare the planes of every
position of some ``gonet prepare`` folders with and without it.

    python scripts/check_ladders.py PREPARED_FOLDER... [--max-positions N] [--show 3]

``_surely_escapes`` skips the ladder search where it can prove the prey escapes; it must
be exact, so the planes (44 and 45 are the ones it can touch) equal those of the full
search everywhere. Prints the positions checked, those that differ with the points per
plane, both speeds (per CPU second of the kernels: steadier than wall time on a shared
box), and with ``--show`` the first differing positions as ASCII boards (X = Black), ready
to become a test. Exits with 1 when any position differs.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from gonet.board import diagonals, neighbours  # noqa: E402
from gonet.coords import colour_name, idx_to_vertex  # noqa: E402
from gonet.data import PreparedGames  # noqa: E402
from gonet.features import LADDER_BUDGET, NUM_PLANES, OPPONENT, PLAYER, game_planes  # noqa: E402


def board_text(planes: np.ndarray, to_move: int, size: int) -> str:
    """ASCII art of a position from its planes (uint8[48, N*N]); X is Black."""
    stones = (planes[PLAYER].astype(np.int64) - planes[OPPONENT]) * to_move  # (N*N,) +1 Black
    return "\n".join(" ".join(".XO"[v] for v in row) for row in stones.reshape(size, size))


def warm_up() -> None:
    """Compile (or load from Numba's cache) both variants, so the speeds measure only work."""
    nbr, diag = neighbours(19), diagonals(19)
    empty = np.zeros(0, dtype=np.int64)
    for prefilter in (True, False):
        game_planes(nbr, diag, empty, empty, np.ones(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64),
                    np.zeros((1, NUM_PLANES, 361), np.uint8), LADDER_BUDGET, prefilter)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", help="folders written by `gonet prepare` (all games are read)")
    parser.add_argument("--max-positions", type=int, default=None, help="stop after this many positions")
    parser.add_argument("--show", type=int, default=3, help="print this many differing positions")
    args = parser.parse_args()

    checked = differing = shown = 0
    points = np.zeros(NUM_PLANES, dtype=np.int64)
    seconds = {True: 0.0, False: 0.0}
    warm_up()
    for folder in args.folders:
        games = PreparedGames(folder, split="all")
        size = games.size
        nbr, diag = neighbours(size), diagonals(size)
        bar = tqdm(range(len(games)), desc=folder, unit="game")
        for g in bar:
            first, stop = games.game_offsets[g], games.game_offsets[g + 1]
            setup = slice(games.setup_offsets[g], games.setup_offsets[g + 1])
            colours, idxs = games.colours[first:stop], games.moves[first:stop]
            wanted = np.arange(stop - first)
            planes = {}
            for prefilter in (True, False):
                out = np.zeros((len(wanted), NUM_PLANES, size * size), dtype=np.uint8)  # (M, 48, N*N)
                start = time.process_time()
                game_planes(nbr, diag, games.setup_colours[setup], games.setup[setup], colours, idxs, wanted,
                            out, LADDER_BUDGET, prefilter)
                seconds[prefilter] += time.process_time() - start
                planes[prefilter] = out
            diff = planes[True] != planes[False]  # (M, 48, N*N)
            points += diff.sum(axis=(0, 2))
            for m in np.flatnonzero(diff.any(axis=(1, 2))):
                differing += 1
                if shown < args.show:
                    shown += 1
                    where = ", ".join(f"plane {p} at {idx_to_vertex(int(i), size)}: filtered {planes[True][m, p, i]} "
                                      f"full {planes[False][m, p, i]}" for p, i in np.argwhere(diff[m]))
                    print(f"\n{folder} game {g} before move {m + 1}, {colour_name(int(colours[m]))} to move: {where}")
                    print(board_text(planes[False][m], int(colours[m]), size))
            checked += len(wanted)
            bar.set_postfix(positions=checked, differing=differing, refresh=False)
            if args.max_positions and checked >= args.max_positions:
                break
        if args.max_positions and checked >= args.max_positions:
            break
    planes_text = ", ".join(f"plane {p}: {n}" for p, n in enumerate(points) if n) or "none"
    print(f"\n{checked:,} positions checked, {differing:,} differ (points per plane: {planes_text})")
    print(f"replay + 48 planes: {checked / seconds[True]:,.0f} positions per CPU second with the pre-filter, "
          f"{checked / seconds[False]:,.0f} without")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
