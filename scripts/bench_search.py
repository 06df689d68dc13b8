"""Benchmark the PUCT search on CPU: visits/s by leaf batch, where the time goes, and genmove
time at the default budget.

    python scripts/bench_search.py [--model M] [--positions 8] [--visits 64] [--batches 1 4 8]

Positions: moves 30, 60, ... of the first KGS validation games (``../shared/data/kgs/val``),
or of the bundled ``data/sgf`` records when that is absent. Batch sizes run interleaved,
position by position, so that a machine shared with other jobs slows them alike. Time is
split three ways: the net's forward pass, the rest of ``evaluate`` (planes, superko-legal
masks), and everything else in the search (tree kernels, play/undo, sensible masks, leaf
playouts): the last is the search's own overhead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from gonet.game import Game
from gonet.player import Player
from gonet.modelfile import PRECISIONS
from gonet.policy import Policy, load_policy
from gonet.search import Search, SearchSettings
from gonet.sgf import read_records

REPO = Path(__file__).resolve().parents[1]
KGS_VAL = REPO.parent / "shared" / "data" / "kgs" / "val"


def positions(count: int) -> list[Game]:
    """Positions at moves 30, 60, 90 ... of the source's games, ``count`` of them."""
    source = KGS_VAL if KGS_VAL.is_dir() else REPO / "data" / "sgf"
    found = []
    for record in read_records([str(source)], size=19):
        for move in range(30, len(record.moves) - 10, 30):
            found.append(Game.from_record(record, move, superko=True))
            if len(found) == count:
                return found
    return found


class ForwardTimer:
    """Wraps the policy's forward pass (``Policy.logits_values``: the net, planes in, logits
    and values out) and adds up its wall time."""

    def __init__(self, policy: Policy):
        self.seconds = 0.0
        self._forward = policy.logits_values
        policy.logits_values = self

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._forward(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--positions", type=int, default=8)
    parser.add_argument("--visits", type=int, default=64)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--genmoves", type=int, default=8, help="genmoves at the default budget")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    policy = load_policy(args.model, precision=args.precision)
    timer = ForwardTimer(policy)
    games = positions(args.positions)
    print(f"{len(games)} positions, {args.visits} visits each, torch threads {torch.get_num_threads()}, "
          f"value head: {policy.has_value}, precision {policy.precision}")
    Search(policy, SearchSettings(visits=8, seconds=None)).run(games[0])  # warm-up: kernels, oneDNN
    totals = {b: {"visits": 0, "seconds": 0.0, "evaluate": 0.0, "forward": 0.0} for b in args.batches}
    for game in games:
        for batch in args.batches:
            search = Search(policy, SearchSettings(visits=args.visits, seconds=None, batch=batch), seed=0)
            forward = timer.seconds
            search.run(game)
            t = totals[batch]
            t["visits"] += search.root_visits
            t["seconds"] += search.run_seconds
            t["evaluate"] += search.net_seconds
            t["forward"] += timer.seconds - forward
    results = {}
    print("| leaf batch | visits/s | net forward | rest of evaluate (planes, legal masks) | search's own | "
          "outside the forward, ms a visit |")
    print("|---|---|---|---|---|---|")
    for batch, t in totals.items():
        share = {"forward": t["forward"] / t["seconds"], "evaluate_rest": (t["evaluate"] - t["forward"]) / t["seconds"],
                 "search": (t["seconds"] - t["evaluate"]) / t["seconds"]}
        outside_ms = 1000 * (t["seconds"] - t["forward"]) / t["visits"]
        results[batch] = {"visits_per_second": t["visits"] / t["seconds"], **share, "outside_ms_per_visit": outside_ms}
        print(f"| {batch} | {t['visits'] / t['seconds']:.1f} | {100 * share['forward']:.1f}% | "
              f"{100 * share['evaluate_rest']:.1f}% | {100 * share['search']:.1f}% | {outside_ms:.2f} |")

    player = Player(policy, search=SearchSettings(), seed=0)
    seconds, visits = [], []
    for game in games[: args.genmoves]:
        start = time.perf_counter()
        player.choose(game)
        seconds.append(time.perf_counter() - start)
        visits.append(player.tree.root_visits)
    print(f"genmove at the default budget ({SearchSettings().seconds} s of search): median "
          f"{statistics.median(seconds):.2f} s, max {max(seconds):.2f} s; "
          f"root visits median {statistics.median(visits)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"batches": results, "genmove_seconds": seconds,
                                               "genmove_visits": visits}, indent=1))


if __name__ == "__main__":
    main()
