"""Steps per second of gonet's ``gonet/Go-v0`` against PettingZoo's ``go_v5`` on 19x19, in a
paired run: the two alternate in rounds of equal length, each in its own interpreter (they
usually live in different virtual environments), so machine load hits both alike.

Both play uniformly random actions from the action mask, both colours, and start a new
game after two passes or 722 moves (gonet's default move cap, applied to both).

    python scripts/bench_env.py --pettingzoo-python /work/pz-venv/bin/python [--seconds 10] [--rounds 3]
    python scripts/bench_env.py --only gonet       # one measurement, JSON on stdout
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

SIZE = 19
MOVE_CAP = 2 * SIZE * SIZE


def run_gonet(seconds: float, seed: int) -> dict:
    import gymnasium as gym

    import gonet  # noqa: F401  (registers gonet/Go-v0)

    env = gym.make("gonet.env:gonet/Go-v0", size=SIZE)  # the module path also works on older gonets
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    steps, games, moves = 0, 0, 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        obs, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        steps, moves = steps + 1, moves + 1
        if terminated or truncated or moves >= MOVE_CAP:
            obs, _ = env.reset()
            games, moves = games + 1, 0
    return {"env": "gonet/Go-v0", "steps": steps, "games": games, "steps_per_s": steps / seconds}


def run_pettingzoo(seconds: float, seed: int) -> dict:
    from pettingzoo.classic import go_v5

    env = go_v5.env(board_size=SIZE, komi=7.5)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    steps, games, moves = 0, 0, 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        obs, _, terminated, truncated, _ = env.last()
        if terminated or truncated or moves >= MOVE_CAP:
            env.reset()
            games, moves = games + 1, 0
            continue
        env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        steps, moves = steps + 1, moves + 1
    return {"env": "pettingzoo go_v5", "steps": steps, "games": games, "steps_per_s": steps / seconds}


RUNNERS = {"gonet": run_gonet, "pettingzoo": run_pettingzoo}


def measure(python: str, which: str, seconds: float, seed: int) -> dict:
    """One round in a fresh interpreter (warm-up, e.g. Numba's cache load, not counted)."""
    command = [python, __file__, "--only", which, "--seconds", str(seconds), "--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(RUNNERS), help="measure one env in this interpreter")
    parser.add_argument("--pettingzoo-python", default=sys.executable, help="an interpreter with pettingzoo[classic]")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.only:
        RUNNERS[args.only](min(2.0, args.seconds / 5), args.seed)  # warm-up: compile, caches
        print(json.dumps(RUNNERS[args.only](args.seconds, args.seed)))
        return
    rates: dict[str, list[float]] = {"gonet": [], "pettingzoo": []}
    for r in range(args.rounds):
        for which, python in (("gonet", sys.executable), ("pettingzoo", args.pettingzoo_python)):
            result = measure(python, which, args.seconds, args.seed + r)
            rates[which].append(result["steps_per_s"])
            print(f"round {r + 1}: {result['env']:18s} {result['steps_per_s']:8.0f} steps/s "
                  f"({result['steps']} steps, {result['games']} games)", flush=True)
    ratios = [g / p for g, p in zip(rates["gonet"], rates["pettingzoo"])]
    print(f"gonet/Go-v0 {statistics.median(rates['gonet']):.0f} steps/s, pettingzoo go_v5 "
          f"{statistics.median(rates['pettingzoo']):.0f} steps/s; paired ratio median "
          f"{statistics.median(ratios):.2f}x (rounds: {', '.join(f'{x:.2f}' for x in ratios)})")


if __name__ == "__main__":
    main()
