"""The 19x19 net on other board sizes: a match against GnuGo with one way of mapping the
per-point bias (``edge``, ``bilinear`` or ``zero``; see ``gonet.nets.resized_point_bias``).

    python scripts/bench_sizes.py --size 9 --bias-map edge --games 20 --out /tmp/sz9_edge \
        [--opponent "/usr/games/gnugo --mode gtp --level 10"]
"""

from __future__ import annotations

import argparse
import shlex
import sys

from gonet.match import run_match
from gonet.nets import BIAS_MAPS

# gonet's GTP engine with the bias map set once the model has loaded
ENGINE = ("import sys; from gonet.gtp import GtpEngine; e = GtpEngine(); "
          "e.player.policy.net.bias_map = sys.argv[1]; e.run()")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--bias-map", choices=BIAS_MAPS, default="edge")
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--opponent", default="/usr/games/gnugo --mode gtp --level 10")
    parser.add_argument("--komi", type=float, default=7.5)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    engine = shlex.join([sys.executable, "-c", ENGINE, args.bias_map])
    summary = run_match(engine, args.opponent, args.games, args.out, size=args.size, komi=args.komi,
                        max_moves=4 * args.size * args.size, parallel=args.parallel, names=("gonet", "gnugo"))
    low, high = summary["win_rate_95"]
    print(f"{args.size}x{args.size}, bias map {args.bias_map}: gonet won {summary['wins']['gonet']:g} of "
          f"{summary['games']} against {args.opponent!r}: {100 * summary['win_rate']:.1f}% "
          f"(95% interval {100 * low:.1f}-{100 * high:.1f}%); seconds per move {summary['seconds_per_move']}")


if __name__ == "__main__":
    main()
