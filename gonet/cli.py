"""The ``gonet`` command: one subcommand per job; heavy modules are imported only when used."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
import logging
import math
import sys
from collections.abc import Callable
from pathlib import Path

from gonet import __version__
from gonet.coords import DEFAULT_KOMI, MAX_SIZE, MIN_SIZE
from gonet.modelfile import PRECISIONS, NetOptions
from gonet.train_config import TrainConfig


class OneLineParser(argparse.ArgumentParser):
    """Usage errors in one line (argparse prints the whole usage first), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def bounded(kind: type, low: float | None = None, high: float | None = None) -> Callable[[str], int | float]:
    """An argparse type: ``kind`` (int or float), finite, within [low, high]; nonsense such
    as ``--size 52`` or ``--val-fraction 7`` used to be accepted."""

    def parse(text: str) -> int | float:
        value = kind(text)
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text}: not a finite number")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"{text}: must be {bounds}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return parse


BOARD_SIZE = bounded(int, MIN_SIZE, MAX_SIZE)
COUNT = bounded(int, 1)
FINITE = bounded(float)


def _prepare(args: argparse.Namespace) -> int:
    from gonet.prepare import prepare

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out {args.out}: exists and is not a folder")

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


def _train(args: argparse.Namespace) -> int:
    from gonet.train import train

    train(TrainConfig.from_args(args))
    print(f"model written to {args.out}/model.pt")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from gonet.evaluate import evaluate

    policy = _net(args).load()
    result = evaluate(policy, args.sources, max_positions=args.max_positions, progress=not args.json)
    if result["positions"] == 0:
        skipped = ", ".join(f"{n} {why}" for why, n in result["skipped"].items()) or "none"
        raise ValueError(f"no {policy.board_size}x{policy.board_size} positions to evaluate in "
                         f"{' '.join(map(str, args.sources))} ({result['games']} games read; skipped: {skipped})")
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['model']} on {result['positions']} positions of {result['games']} games: "
              f"top-1 {100 * result['top1']:.2f}%, top-5 {100 * result['top5']:.2f}%, "
              f"mean log-likelihood {result['loglik']:.3f}")
        value = result.get("value")
        for phase, row in ([("all", value), *value["phases"].items()] if value else []):
            scores = (f"MSE {row['mse']:.3f}, winner right {100 * row['winner_accuracy']:.1f}%" if row["positions"]
                      else "no positions")
            print(f"value, moves {phase:>6}: {row['positions']:>6} positions with a result: {scores}")
    return 0


def _search_settings(args: argparse.Namespace):
    """SearchSettings from the search flags, or None for the raw policy."""
    from gonet.search import SearchSettings

    if args.no_search or args.visits == 0:
        return None
    given = {"visits": args.visits, "seconds": args.time, "batch": args.batch, "mix": args.mix,
             "playouts": args.playouts}
    settings = SearchSettings(**{k: v for k, v in given.items() if v is not None})
    return settings if args.time != 0 else replace(settings, seconds=None)


def _add_search_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--visits", type=bounded(int, 0), help="search: root visits per move (0: no search)")
    p.add_argument("--time", type=bounded(float, 0),
                   help="search: seconds per move at most (default about 1 s; 0: no limit)")
    p.add_argument("--no-search", action="store_true", help="play the raw policy, no search")
    p.add_argument("--batch", type=COUNT, help="search: leaves per forward pass")
    p.add_argument("--mix", type=bounded(float, 0, 1),
                   help="search: weight λ of 64 playouts' score in leaf values from move 0.4·N² on (default 0)")
    p.add_argument("--playouts", type=bounded(int, 0),
                   help="search: random playouts per leaf for the score lead and ownership (default 1)")


def _add_net_options(p: argparse.ArgumentParser, model_help: str = "model file (default: the shipped one)") -> None:
    """The flags of :class:`NetOptions`: which model and how to run it (``_net`` reads them back)."""
    p.add_argument("--model", help=model_help)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=COUNT,
                   help="torch's CPU threads for the net (default: torch's, one per core; 1 is faster on a busy box)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="the net's arithmetic (auto: bf16 where the CPU or GPU runs it natively, else fp32)")


def _net(args: argparse.Namespace) -> NetOptions:
    return NetOptions(args.model, args.device, args.threads, args.precision)


def _gtp(args: argparse.Namespace) -> int:
    from gonet.gtp import main as gtp_main

    return gtp_main(_net(args), args.symmetries, args.temperature, args.resign_margin,
                    search=_search_settings(args), resign_winrate=args.resign_winrate or None)


def _analysis(args: argparse.Namespace) -> int:
    from gonet.analysis import main as analysis_main

    return analysis_main(_net(args), args.katago_model, args.config, args.override_config)


def _match(args: argparse.Namespace) -> int:
    import shlex

    from gonet.match import read_openings, run_match

    search = ((["--visits", str(args.visits)] if args.visits else [])
              + (["--time", str(args.time)] if args.time is not None else []))
    engine = args.engine or " ".join(
        [shlex.quote(sys.executable), "-m", "gonet", "gtp", *(search or ["--no-search"]),
         "--resign-winrate", str(args.resign), *map(shlex.quote, _net(args).flags())])
    openings = None
    if args.openings:
        openings = read_openings(args.openings, (args.games + 1) // 2, args.opening_moves, args.size)
    summary = run_match(engine, args.opponent, args.games, args.out, size=args.size, komi=args.komi,
                        max_moves=args.max_moves, parallel=args.parallel, names=("gonet", args.opponent_name),
                        timeout=args.timeout, openings=openings)
    low, high = summary["win_rate_95"]
    print(f"gonet won {summary['wins']['gonet']:g} of {summary['games']} games against {args.opponent!r}: "
          f"{100 * summary['win_rate']:.1f}% (95% interval {100 * low:.1f}-{100 * high:.1f}%); "
          f"seconds per move {summary['seconds_per_move']}; SGF and report.json in {args.out}")
    return 0


def _selfplay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gonet.coords import colour_name
    from gonet.game import result_text
    from gonet.ownership import estimated_score
    from gonet.player import Player, self_play
    from gonet.sgf import game_to_sgf

    player = Player(_net(args).load(), args.symmetries, args.temperature, seed=args.seed)
    game = self_play(player, komi=args.komi, max_moves=args.max_moves)
    record = game.to_record()
    if game.is_over() or game.move_number >= args.max_moves:
        record.result = result_text(estimated_score(game))
    else:
        record.result = f"{colour_name(-game.to_move)}+R"
    Path(args.out).write_text(game_to_sgf(record, black="gonet", white="gonet"))
    print(f"{game.move_number} moves, result {record.result} (dead stones removed by playouts) -> {args.out}")
    return 0


def _play(args: argparse.Namespace) -> int:
    from gonet.gui.app import main as play_main

    return play_main(_net(args), args.engine, args.color, args.handicap, args.komi, args.size,
                     search=_search_settings(args))


def _check_model_file(args: argparse.Namespace) -> None:
    """``eval --model`` of a missing file fails at once, before torch is imported and the
    test set is read (``speech eval`` used to take minutes to say so)."""
    if args.action == "eval" and not Path(args.model).is_file():
        raise ValueError(f"{args.model}: no such {args.command} model file")


def _mnist(args: argparse.Namespace) -> int:
    _check_model_file(args)
    from gonet import mnist

    if args.action == "train":
        result = mnist.train(args.out, args.data, epochs=args.epochs, max_time=args.max_time)
        print(f"MNIST test accuracy {100 * result['accuracy']:.2f}% after {result['epochs']} epochs "
              f"({result['steps']} steps) -> {args.out}/mnist.pt")
    else:
        print(f"MNIST test accuracy {100 * mnist.evaluate(args.model, args.data):.2f}%")
    return 0


def _speech(args: argparse.Namespace) -> int:
    _check_model_file(args)
    from gonet import speech

    if args.action == "train":
        result = speech.train(args.out, args.data, epochs=args.epochs, held_out_speaker=args.held_out_speaker)
        split = f"speaker {args.held_out_speaker} held out" if args.held_out_speaker else "standard split"
        print(f"spoken digits ({split}): test accuracy {100 * result['accuracy']:.2f}% on {result['test']} "
              f"recordings -> {args.out}/speech.pt")
    else:
        accuracy = speech.evaluate(args.model, args.data, args.held_out_speaker)
        print(f"spoken digits test accuracy {100 * accuracy:.2f}%")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="gonet", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gonet {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("prepare", help="turn SGF corpora into training data on disk")
    p.add_argument("sources", nargs="+", help=".sgf, .sgf.gz, folders, .tar.gz/.tar.bz2/.zip archives")
    p.add_argument("--out", required=True, help="output folder (an interrupted run there resumes)")
    p.add_argument("--val-fraction", type=bounded(float, 0, 1), default=0.01, help="share of games held out (by hash)")
    p.add_argument("--size", type=BOARD_SIZE, default=19, help="board size to keep (others are skipped)")
    p.add_argument("--workers", type=COUNT, default=None, help="processes (default: all cores)")
    p.set_defaults(run=_prepare)

    p = commands.add_parser("train", help="train a policy net on `gonet prepare` output")
    TrainConfig.add_arguments(p)
    p.set_defaults(run=_train)

    p = commands.add_parser("eval", help="top-1/top-5 accuracy of a policy (and value MSE) on SGF records")
    p.add_argument("sources", nargs="+")
    p.add_argument("--max-positions", type=COUNT, help="evaluate an even sample of this many positions")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_net_options(p)
    p.set_defaults(run=_eval)

    p = commands.add_parser("gtp", help="a GTP engine on stdin/stdout for Go GUIs and match runners")
    p.add_argument("--symmetries", type=bounded(int, 1, 8), default=1,
                   help="average the net over N of the 8 symmetries")
    p.add_argument("--temperature", type=bounded(float, 0), default=0.0, help="0: always the likeliest move")
    p.add_argument("--resign-margin", type=bounded(float, 0),
                   help="without search: resign when the score estimate is worse than this (off)")
    p.add_argument("--resign-winrate", type=bounded(float, 0, 1), default=0.05,
                   help="resign when the search's winrate stays under this for 3 moves late in the game (0: never)")
    _add_search_options(p)
    _add_net_options(p)
    p.set_defaults(run=_gtp)

    p = commands.add_parser("analysis", help="KataGo's JSON analysis protocol on stdin/stdout (for KaTrain)")
    p.add_argument("-model", dest="katago_model", help="KataGo's flag: a gonet .pt is used, anything else noted")
    p.add_argument("-config", action="append", help="KataGo's flag: accepted and ignored")
    p.add_argument("-override-config", action="append", dest="override_config",
                   help="KataGo's flag: reportAnalysisWinratesAs=BLACK|WHITE|SIDETOMOVE is honoured")
    p.add_argument("-human-model", "-analysis-threads", dest="ignored", action="append", help=argparse.SUPPRESS)
    p.add_argument("-quit-without-waiting", action="store_true", help=argparse.SUPPRESS)
    _add_net_options(p)
    p.set_defaults(run=_analysis)

    p = commands.add_parser("match", help="play games between gonet and another GTP engine (GnuGo)")
    p.add_argument("--games", type=COUNT, default=10)
    p.add_argument("--opponent", default="/usr/games/gnugo --mode gtp --level 1", help="GTP command line")
    p.add_argument("--opponent-name", default="gnugo")
    p.add_argument("--engine", help="gonet's GTP command line (default: this gonet with the net flags below)")
    p.add_argument("--out", default="out/match", help="folder for the SGF files and report.json")
    p.add_argument("--size", type=BOARD_SIZE, default=19)
    p.add_argument("--komi", type=FINITE, default=DEFAULT_KOMI)
    p.add_argument("--max-moves", type=COUNT, default=600, help="stop and score after this many moves")
    p.add_argument("--parallel", type=COUNT, default=1, help="games at once (each runs two engines)")
    p.add_argument("--timeout", type=bounded(float, 0.1), default=120.0,
                   help="seconds an engine may take to answer one command before the match stops")
    p.add_argument("--visits", type=COUNT, help="gonet searches this many root visits a move (default: raw policy)")
    p.add_argument("--time", type=bounded(float, 0),
                   help="gonet searches this many seconds a move (default: raw policy)")
    p.add_argument("--resign", type=bounded(float, 0, 1), default=0.0,
                   help="gonet resigns under this search winrate (default never)")
    p.add_argument("--openings", help="SGF source (file, folder, archive): each pair of games starts from "
                                      "the first moves of its own record, colours swapped")
    p.add_argument("--opening-moves", type=COUNT, default=10, help="moves taken from each opening record")
    _add_net_options(p, "model file for the default engine")
    p.set_defaults(run=_match)

    p = commands.add_parser("selfplay", help="a headless game of the net against itself, saved as SGF")
    p.add_argument("--out", default="selfplay.sgf")
    p.add_argument("--komi", type=FINITE, default=DEFAULT_KOMI)
    p.add_argument("--max-moves", type=COUNT, default=400)
    p.add_argument("--temperature", type=bounded(float, 0), default=0.0)
    p.add_argument("--symmetries", type=bounded(int, 1, 8), default=1)
    p.add_argument("--seed", type=int)
    _add_net_options(p)
    p.set_defaults(run=_selfplay)

    p = commands.add_parser("play", help="a pygame board to play against the net")
    p.add_argument("--color", "--colour", default="black", choices=["black", "white", "random"])
    p.add_argument("--handicap", type=int, default=0, help="fixed handicap stones for Black (2-9)")
    p.add_argument("--komi", type=FINITE, default=DEFAULT_KOMI)
    p.add_argument("--engine", help='play a GTP engine instead of the net, e.g. "gnugo --mode gtp"')
    p.add_argument("--size", type=int, default=19, choices=[9, 13, 19], help="board size")
    _add_search_options(p)
    _add_net_options(p)
    p.set_defaults(run=_play)

    p = commands.add_parser("mnist", help="train or evaluate the MNIST digit classifier")
    p.add_argument("action", choices=["train", "eval"])
    p.add_argument("--data", help="folder of the MNIST IDX files (default ../shared/data/mnist)")
    p.add_argument("--out", default="runs/mnist")
    p.add_argument("--model", default="runs/mnist/mnist.pt", help="for eval")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-time", default="00:00:10:00", help="stop training after DD:HH:MM:SS")
    p.set_defaults(run=_mnist)

    p = commands.add_parser("speech", help="train or evaluate the spoken-digit classifier (FSDD)")
    p.add_argument("action", choices=["train", "eval"])
    p.add_argument("--data", help="folder of FSDD WAVs (default ../shared/data/fsdd/recordings)")
    p.add_argument("--out", default="runs/speech")
    p.add_argument("--model", default="runs/speech/speech.pt", help="for eval")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--held-out-speaker", help="train without this speaker and test on all of theirs")
    p.set_defaults(run=_speech)

    from gonet.viz.commands import add_parser as add_viz

    add_viz(commands)

    p = commands.add_parser("read", help="read SGF sources, check every move, print the summary")
    p.add_argument("sources", nargs="+")
    p.add_argument("--size", type=BOARD_SIZE, default=None, help="skip other board sizes")
    p.add_argument("--json", action="store_true", help="also print the counts as JSON")
    p.set_defaults(run=_read)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except (OSError, ValueError) as e:  # bad input or a file problem: one line, never a traceback
        print(f"gonet {args.command}: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gonet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
