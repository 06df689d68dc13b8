"""Inference speed of a policy net on CPU (or GPU): one position's latency (planes + net)
and batch throughput; optionally genmove over a self-play game, and what a GUI asks of one
position through GTP (genmove with search off, heat map, top moves, genmove with analysis).

    python scripts/bench_infer.py [--model PATH | --filters 192 --layers 13] [--threads 2]
        [--genmove-moves 300] [--gtp-repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from gonet.features import position_planes
from gonet.game import Game
from gonet.gtp import GtpEngine
from gonet.nets import PolicyConfig, PolicyNet
from gonet.player import Player
from gonet.policy import Policy, default_model_path, load_policy
from gonet.sgf import read_records

GTP_POSITION = "loadsgf data/sgf/handicap.sgf 41"  # move 41: docs/benchmarks.md's counted position
GTP_COMMANDS = {  # what a GUI asks of one position; run in turn, so the machine's load hits all alike
    "genmove, search off": ["reg_genmove {colour}"],
    "heat map": ["gonet-policy_heatmap"],
    "top moves": ["gonet-top_moves"],
    "genmove with analysis, search off": ["lz-genmove_analyze {colour} 1000", "undo"],  # only the last info line
}


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def net_speed(policy: Policy, game: Game, repeats: int) -> None:
    """Print one position's latency (median of ``repeats``) and batch throughput."""
    policy.predict(game)
    whole = timed(lambda: policy.predict(game), repeats)
    planes = position_planes(game, policy.config.feature_set)[None]
    net_only = timed(lambda: policy.logits(planes), repeats)
    print(f"{policy.config.name} on {policy.device} ({torch.get_num_threads()} threads): one position "
          f"median {1000 * statistics.median(whole):.1f} ms (planes + legal mask + net), "
          f"net alone {1000 * statistics.median(net_only):.1f} ms")
    for batch in (1, 8, 64, 256):
        x = np.repeat(planes, batch, axis=0)
        policy.logits(x)
        t = min(timed(lambda: policy.logits(x), 3))
        print(f"  batch {batch:4d}: {batch / t:8,.0f} positions/s")


def gtp_times(model: str, repeats: int) -> dict[str, list[float]]:
    """Seconds per command of :data:`GTP_COMMANDS` (the first of each is timed, the rest undo
    it) at :data:`GTP_POSITION`, through a :class:`GtpEngine` with search off; one round first
    to warm up."""
    engine = GtpEngine(model, seed=0)
    colour = engine.handle(GTP_POSITION).split()[1]
    times: dict[str, list[float]] = {name: [] for name in GTP_COMMANDS}
    for _ in range(repeats + 1):
        for name, (timed_command, *after) in GTP_COMMANDS.items():
            start = time.perf_counter()
            answer = engine.handle(timed_command.format(colour=colour))
            times[name].append(time.perf_counter() - start)
            if not answer.startswith("="):
                raise SystemExit(f"{timed_command}: {answer.strip()}")
            for command in after:
                engine.handle(command)
    return {name: seconds[1:] for name, seconds in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a model file (default: a random net of --filters/--layers)")
    parser.add_argument("--filters", type=int, default=192)
    parser.add_argument("--layers", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=30, help="one position's timings (0: skip them and batches)")
    parser.add_argument("--genmove-moves", type=int, default=0, help="also time genmove over a self-play game")
    parser.add_argument("--gtp-repeats", type=int, default=0,
                        help="also time GTP commands on one position (the shipped model unless --model)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.model:
        policy = load_policy(args.model, args.device)
    else:
        policy = Policy(PolicyNet(PolicyConfig(args.filters, args.layers)), args.device)
    record = next(iter(read_records(["data/sgf/handicap.sgf"])), None)
    game = Game.from_record(record) if record and record.size == 19 else Game(19)
    if args.repeats:
        net_speed(policy, game, args.repeats)
    if args.genmove_moves:
        player = Player(policy, symmetries=1)
        game = Game(19, superko=True)
        times = []
        while len(times) < args.genmove_moves and not game.is_over():
            start = time.perf_counter()
            move = player.choose(game)
            times.append(time.perf_counter() - start)
            game.play(move if move >= 0 else game.pass_idx)
        print(f"  genmove (Player.choose, 1 symmetry) over {len(times)} self-play moves: median "
              f"{1000 * statistics.median(times):.0f} ms, 90th percentile {1000 * np.percentile(times, 90):.0f} ms")
    if args.gtp_repeats:
        for name, times in gtp_times(args.model or str(default_model_path()), args.gtp_repeats).items():
            print(f"  GTP {name} ({len(times)} repeats): median {1000 * statistics.median(times):.1f} ms, "
                  f"min {1000 * min(times):.1f} ms")


if __name__ == "__main__":
    main()
