"""The ``gonet`` command: one subcommand per job; heavy modules are imported only when used."""

from __future__ import annotations

import argparse
import json
import logging
import sys


def _prepare(args: argparse.Namespace) -> int:
    from gonet.prepare import prepare

    manifest = prepare(args.sources, args.out, val_fraction=args.val_fraction, size=args.size,
                       workers=args.workers)
    print(manifest["summary"])
    print(f"train: {manifest['train']['games']} games, {manifest['train']['positions']} positions; "
          f"val: {manifest['val']['games']} games, {manifest['val']['positions']} positions; "
          f"{manifest['seconds']} s -> {args.out}/manifest.json")
    return 0


def _read(args: argparse.Namespace) -> int:
    from gonet.game import check_record
    from gonet.sgf import ReadStats, read_records

    stats = ReadStats()
    illegal = 0
    for record in read_records(args.sources, stats, size=args.size):
        if check_record(record) is not None:
            illegal += 1
    print(stats.summary() + (f"; {illegal} with an illegal move" if illegal else ""))
    if args.json:
        print(json.dumps({**stats.to_dict(), "illegal": illegal}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gonet", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("prepare", help="turn SGF corpora into training data on disk")
    p.add_argument("sources", nargs="+", help=".sgf, .sgf.gz, folders, .tar.gz/.tar.bz2/.zip archives")
    p.add_argument("--out", required=True, help="output folder (an interrupted run there resumes)")
    p.add_argument("--val-fraction", type=float, default=0.01, help="share of games held out (by hash)")
    p.add_argument("--size", type=int, default=19, help="board size to keep (others are skipped)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.set_defaults(run=_prepare)

    p = commands.add_parser("read", help="read SGF sources, check every move, print the summary")
    p.add_argument("sources", nargs="+")
    p.add_argument("--size", type=int, default=None, help="skip other board sizes")
    p.add_argument("--json", action="store_true", help="also print the counts as JSON")
    p.set_defaults(run=_read)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"gonet {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gonet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
