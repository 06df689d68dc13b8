"""How well the playouts' score tracks the final margin, how stable it is, and what it costs.

For one random position after move 100 of each game whose result gives a count (``B+3.5``),
three estimates from ``--playouts`` single playouts, against the game's final margin: their
mean area score (what the search's score lead averages), their majority score
(:func:`gonet.ownership.majority_score`), and the mean of the majority scores of groups of
``--leaf-playouts`` (a score lead counted at each leaf and averaged over leaves, here all
one position; tried and dropped for its swings early in a game). Mean absolute error,
correlation, the share of winners named, and the spread between two seeds. Then the spread
of one leaf's two scores on the empty board (200 leaves of ``--leaf-playouts``), and the
milliseconds of ``--playouts`` playouts at moves 0, 100 and 200.
Results: docs/benchmarks.md ("Playouts that answer ataris").

    python scripts/bench_playouts.py ../shared/data/kgs/val --positions 300
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
from tqdm import tqdm

from gonet.game import Game, margin
from gonet.ownership import majority_score, ownership
from gonet.sgf import read_records

FIRST_MOVE = 100  # earlier the margin is mostly what is still to be played
ESTIMATES = ("mean", "majority", "leaves")


def scored_positions(source: str, positions: int, playouts: int, leaf_playouts: int,
                     seed: int) -> dict[str, np.ndarray]:
    """Per position: move, game length, final margin, and each estimate under two seeds."""
    rng = np.random.default_rng(seed)
    rows = []
    bar = tqdm(total=positions, desc="positions", unit="pos")
    for record in read_records(source):
        final = margin(record.result)
        if final is None or record.setup or len(record.moves) <= FIRST_MOVE + 20:
            continue
        move = int(rng.integers(FIRST_MOVE, len(record.moves)))
        game = Game.from_record(record, move)
        row = [move, len(record.moves), final]
        for run in (1, 2):
            singles = np.array([ownership(game, 1, run * 100_000 + move * 100 + i) for i in range(playouts)])
            leaves = singles.reshape(-1, leaf_playouts, singles.shape[1]).mean(axis=1)
            row += [float(singles.sum(axis=1).mean()) - game.komi, majority_score(singles.mean(axis=0), game.komi),
                    float(np.mean([majority_score(leaf, game.komi) for leaf in leaves]))]
        rows.append(row)
        bar.update()
        if len(rows) == positions:
            break
    bar.close()
    table = np.array(rows)
    names = ("move", "length", "margin", *ESTIMATES, *(name + "2" for name in ESTIMATES))
    return dict(zip(names, table.T))


def report(data: dict[str, np.ndarray], playouts: int, leaf_playouts: int) -> None:
    final, late = data["margin"], data["move"] >= data["length"] - 30
    print(f"{len(final)} positions (moves {FIRST_MOVE}+, {late.sum()} in a game's last 30 moves); "
          f"mean |final margin| {np.abs(final).mean():.1f}")
    for name in ESTIMATES:
        est, again = data[name], data[name + "2"]
        label = f"{name} of {playouts}" if name != "leaves" else f"leaves of {leaf_playouts}"
        print(f"{label:16s}: MAE {np.abs(est - final).mean():.1f} (last 30 moves "
              f"{np.abs(est[late] - final[late]).mean():.1f}), corr {np.corrcoef(est, final)[0, 1]:.3f}, "
              f"winner {100 * (np.sign(est) == np.sign(final)).mean():.1f}%, "
              f"seed-to-seed sd {np.std(est - again) / np.sqrt(2):.1f}")


def opening_spread(leaf_playouts: int, leaves: int = 200) -> None:
    """How far one leaf's mean and majority scores swing where nothing is settled yet."""
    game = Game(19, 7.5)
    owns = [ownership(game, leaf_playouts, seed) for seed in range(leaves)]
    mean = np.array([own.sum() - game.komi for own in owns])
    majority = np.array([majority_score(own, game.komi) for own in owns])
    print(f"empty 19x19, {leaves} leaves of {leaf_playouts}: mean score sd {mean.std():.1f}, "
          f"majority score sd {majority.std():.1f}")


def timing(source: str, playouts: int, games: int = 20) -> None:
    records = [r for r in itertools.islice(read_records(source), 4 * games) if len(r.moves) > 200 and not r.setup]
    ownership(Game(9), 2, 0)  # compile
    for move in (0, 100, 200):
        positions = [Game.from_record(r, move) for r in records[:games]]
        start = time.perf_counter()
        for i, game in enumerate(positions):
            ownership(game, playouts, i)
        ms = 1000 * (time.perf_counter() - start) / len(positions)
        print(f"move {move}: {ms:.1f} ms for {playouts} playouts ({len(positions)} games)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="SGF records with results (e.g. ../shared/data/kgs/val)")
    parser.add_argument("--positions", type=int, default=300)
    parser.add_argument("--playouts", type=int, default=64)
    parser.add_argument("--leaf-playouts", type=int, default=16, help="playouts a leaf (gonet analysis: 16)")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    if args.playouts % args.leaf_playouts:
        parser.error("--playouts must be a multiple of --leaf-playouts")
    data = scored_positions(args.source, args.positions, args.playouts, args.leaf_playouts, args.seed)
    report(data, args.playouts, args.leaf_playouts)
    opening_spread(args.leaf_playouts)
    timing(args.source, args.playouts)


if __name__ == "__main__":
    main()
