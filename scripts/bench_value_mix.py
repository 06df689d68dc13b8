"""How well the value head, random playouts' scores and mixes of the two name the winner.

For one random position of each game with a result (uniform over the move number), the
model's value from Black's view, one playout's area score, the mean of ``--playouts``
single-playout scores, and the majority score of ``--playouts`` playouts
(:func:`gonet.ownership.estimated_score`: each point goes to the side owning it in most
playouts). Each judge, and each mix V = (1 - lam)·v + lam·tanh(score / sigma), is scored by
MSE against z = ±1 and by the share of winners it names, by game phase. Results and the
reasoning: docs/benchmarks.md ("Playout scores beside the value").

    python scripts/bench_value_mix.py ../shared/data/kgs/val --positions 1169
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from tqdm import tqdm

from gonet.evaluate import PHASES
from gonet.game import Game, winner
from gonet.ownership import estimated_score, ownership
from gonet.policy import default_model_path, load_policy
from gonet.sgf import read_records


def judged_positions(source: str, positions: int, playouts: int, model: str, seed: int) -> dict[str, np.ndarray]:
    """Move number, z, value and the playouts' scores (Black's view) of one position a game."""
    rng = np.random.default_rng(seed)
    policy = load_policy(model)
    rows = []
    bar = tqdm(total=positions, desc="positions", unit="pos")
    for record in read_records(source):
        z = winner(record.result)
        if z == 0 or len(record.moves) < 20 or record.setup:
            continue
        move = int(rng.integers(0, len(record.moves)))
        game = Game.from_record(record, move)
        _, value = policy.evaluate([game])
        singles = [float(ownership(game, 1, move * 100 + i).sum()) - game.komi for i in range(playouts)]
        rows.append((move, z, float(value[0]) * game.to_move, singles[0], np.mean(singles),
                     estimated_score(game, playouts, seed=move)))
        bar.update()
        if len(rows) == positions:
            break
    bar.close()
    table = np.array(rows)
    return dict(zip(("move", "z", "value", "one", "mean", "majority"), table.T))


def report(name: str, judged: np.ndarray, data: dict[str, np.ndarray]) -> None:
    """One line: MSE / winners named, over all positions and by phase."""
    z, move = data["z"], data["move"]
    parts = {"all": (0, None), **PHASES}
    cells = []
    for label, (lo, hi) in parts.items():
        k = (move >= lo) & (move < (hi if hi is not None else np.inf))
        if k.any():
            mse, named = ((judged[k] - z[k]) ** 2).mean(), 100 * ((judged[k] > 0) == (z[k] > 0)).mean()
            cells.append(f"{label} {mse:.3f}/{named:.1f}%")
    print(f"{name:34s} " + "  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="SGF records with results (e.g. ../shared/data/kgs/val)")
    parser.add_argument("--positions", type=int, default=1169)
    parser.add_argument("--playouts", type=int, default=64, help="for the mean and the majority score")
    parser.add_argument("--model", default=str(default_model_path()))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = judged_positions(args.source, args.positions, args.playouts, args.model, args.seed)
    print(f"{len(data['z'])} positions; MSE/winners named")
    report("value", data["value"], data)
    for lam in (0.1, 0.25, 0.5):
        for sigma in (5, 10, 20):
            for score in ("one", "mean", "majority"):
                report(f"lam {lam} {score} sigma {sigma}",
                       (1 - lam) * data["value"] + lam * np.tanh(data[score] / sigma), data)


if __name__ == "__main__":
    main()
