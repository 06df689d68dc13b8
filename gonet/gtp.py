"""``gonet gtp``: a GTP version 2 engine on stdin/stdout for Go GUIs and match runners.

Every ``cmd_<name>`` method is a command (``kgs_``, ``lz_``, ``gogui_`` and ``gonet_``
prefixes become ``kgs-`` ...), its arguments cast from the annotations. stdout carries only
the protocol; logs go to stderr. A failing command answers ``? message`` (one line) and
leaves the engine as it was. Input is read as bytes and never fails to decode. The model
file is checked at start-up without torch (:func:`gonet.modelfile.peek_model`: a missing or
damaged file is refused at once) and loads in a background thread, so the engine answers at
once; ``gonet gtp`` exits with one line on stderr if that load fails.

Analysis (``lz-analyze``, ``kata-analyze``, ``analyze``) streams: :meth:`GtpEngine.run`
reads stdin in a thread, and while no command waits it grows the search tree and writes
one ``info`` line per interval; the next command ends the response with its blank line.
Analysis searches a copy of the game, so it never changes whose turn it is. The analysis
commands read KataGo's grammar (its docs/GTP_Extensions.md) in every dialect:
``[colour] [interval] key value ...`` with ``interval``, ``minmoves``, ``maxmoves``,
``avoid|allow COLOUR V,V,... DEPTH`` (the search never enters a banned move up to that ply)
and the true/false options of :data:`SHOW_OPTIONS`, all honoured: ``pvVisits`` and
``pvEdgeVisits`` are the visits of each pv node (equal: the search is a tree, no
transpositions), ``rootInfo`` the root's statistics, ``ownershipStdev`` and
``movesOwnership(Stdev)`` the spread and the per-move mean of the playouts' ownership maps at
the search's leaves (0 for a move with nothing below it, as KataGo), ``noResultValue`` always
0 (Tromp-Taylor games end in a score). ``edgeVisits`` and ``weight`` equal ``visits``,
``scoreSelfplay`` the playouts' score lead.

``name`` is ``gonet`` and ``version`` answers :data:`GTP_VERSION`, Leela Zero's numbering:
Lizzie takes every engine not named ``KataGo...`` for Leela Zero and warns below 0.15, so
gonet speaks Leela Zero's analysis dialect to it (``kata-analyze`` works for GUIs that ask).
"""

from __future__ import annotations

import inspect
import io
import logging
import math
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np

from gonet import __version__
from gonet.coords import BLACK, check_size, colour_name, idx_to_vertex, parse_colour, vertex_to_idx
from gonet.game import DEFAULT_KOMI, Game, IllegalMove, fixed_handicap_points, max_fixed_handicap
from gonet.modelfile import NetOptions, one_line, peek_model
from gonet.ownership import OwnershipStats
from gonet.search import (UNLIMITED, MoveInfo, NodeInfo, Report, Schedule, SearchSettings, avoid_table, ban, root_bans,
                          warm_up)

log = logging.getLogger(__name__)
PREFIXES = ("kgs", "lz", "kata", "gogui", "gonet")
MAX_SGF_BYTES = 16 << 20  # loadsgf: one game record is kilobytes; refuse what cannot be one
FREE_HANDICAP_CALLS = 4  # net calls per place_free_handicap: one a stone for the usual few beyond
# the fixed points, batches when hundreds are asked (one call a stone took 48 s for 300)
GTP_VERSION = "0.17.0"  # what Lizzie reads as a Leela Zero version it accepts (see the module notes)
PRIOR_VISITS = 1000     # without search, analysis reports visits in proportion to the prior
MOVES_LEFT = 0.35       # main time is spread over (this · N·N − moves played), at least 20 of our moves
TIME_SHARE = 0.8        # of the time per move the clock allows, the rest is margin for lag
SHOW_OPTIONS = ("rootInfo", "ownership", "ownershipStdev", "movesOwnership", "movesOwnershipStdev",
                "pvVisits", "pvEdgeVisits", "noResultValue")  # KataGo's true/false analysis keys


class GtpError(Exception):
    """Answered as ``? message``; the engine's state is unchanged."""


@dataclass
class Analysis:
    """An analysis request: which position, how often and in which dialect to report."""

    dialect: str                # "lz" (integers x 10000), "kata" (floats 0-1) or "sabaki" (lz + scoreLead)
    game: Game                  # a copy of the game with the side to analyse to move
    interval: float = 1.0       # seconds between info lines
    min_moves: int = 0
    max_moves: int | None = None
    show: frozenset[str] = frozenset()  # the SHOW_OPTIONS set true
    avoid: np.ndarray | None = field(default=None, compare=False)  # avoid_table; arrays compare as no bool


def _gtp_name(method: str) -> str:
    name = method[len("cmd_"):]
    for prefix in PREFIXES:
        if name.startswith(prefix + "_"):
            return prefix + "-" + name[len(prefix) + 1:]
    return name


def clean_line(line: str) -> str:
    """GTP preprocessing: drop control characters but tab, tabs to spaces, comments off."""
    line = "".join(ch for ch in line if ch in "\t\n" or ord(ch) >= 32 and ord(ch) != 127)
    return line.replace("\t", " ").split("#", 1)[0].strip()


def protocol_lines(stream: TextIO | BinaryIO | Iterable[str]) -> Iterator[str]:
    """The input's lines as text, read as bytes (a text stream's ``buffer``) and decoded as
    UTF-8 with undecodable bytes kept as surrogate escapes: a strict locale decoder ended
    the engine on the first non-UTF-8 byte, and the escapes turn a latin-1 file name back
    into the same bytes when ``loadsgf`` opens it."""
    for line in getattr(stream, "buffer", stream):
        yield line.decode("utf-8", "surrogateescape") if isinstance(line, bytes) else line


class GtpEngine:
    """The protocol over a :class:`Game`; the player (policy) is loaded on first need."""

    def __init__(self, net: NetOptions | str | Path | None = None, symmetries: int = 1,
                 temperature: float = 0.0, resign_margin: float | None = None, superko: bool = True,
                 seed: int | None = None, on_load_error: Callable[[str], None] | None = None,
                 search: SearchSettings | None = None, resign_winrate: float | None = None):
        """``net``: the model and how to run it (a path alone: that model, the other options
        their defaults). Raises :class:`ModelFileError` at once for a missing or damaged model
        file; a failure of the background load goes to ``on_load_error`` (one line) if given,
        else every command that needs the model answers it as its error."""
        net = NetOptions.of(net)
        self.board_size = peek_model(net.path)["config"].get("board_size")  # known before torch loads
        self.superko = superko
        self.komi = DEFAULT_KOMI
        self.game = Game(19, self.komi, superko)
        self.time_settings = (0, 0, 0)
        self.time_left: dict[int, tuple[float, int]] = {}
        self.spent: dict[int, float] = {}  # our thinking time by colour, for a clock without time_left
        self._player = None
        self._player_error = ""
        self._on_load_error = on_load_error
        options = dict(symmetries=symmetries, temperature=temperature, resign_margin=resign_margin,
                       resign_winrate=resign_winrate, search=search, seed=seed)
        self._load = threading.Thread(target=self._load_player, daemon=True, args=(net, options))
        self._load.start()
        self.commands = {_gtp_name(n): getattr(self, n) for n in dir(self) if n.startswith("cmd_")}
        self._analysis: Analysis | None = None  # set by an analysis command; run() streams it
        self._quit = False

    # ------------------------------------------------------------ plumbing

    def _load_player(self, net: NetOptions, options: dict) -> None:
        try:
            from gonet.player import Player

            player = Player(net.load(), **options)
            warm_up(player.policy, options["search"] or SearchSettings(), player.symmetries)
            self._player = player
        except Exception as e:
            # ModelFileError and device errors are written for users; anything else is shortened
            self._player_error = " ".join(str(e).split()) if isinstance(e, ValueError) else one_line(e)
            if self._on_load_error is not None:
                self._on_load_error(self._player_error)

    @property
    def player(self):
        self._load.join()
        if self._player is None:
            raise GtpError(f"cannot load the model: {self._player_error}")
        return self._player

    def _snapshot(self) -> tuple:
        """What a command may change before it fails; restored so that it changes nothing
        (the board itself is only changed by ``Game.play`` after its checks pass)."""
        return (self.game, self.game.to_move, self.game.komi, self.komi, dict(self.time_left),
                self.time_settings, self._analysis)

    def _restore(self, snapshot: tuple) -> None:
        (self.game, self.game.to_move, self.game.komi, self.komi, self.time_left, self.time_settings,
         self._analysis) = snapshot

    def handle(self, line: str) -> str | None:
        """One input line → the full response text (None for blank/comment lines)."""
        line = clean_line(line)
        if not line:
            return None
        match = re.match(r"^(\d+)?\s*(.*)$", line)
        cmd_id, rest = match.group(1) or "", match.group(2)
        words = rest.split()
        if not words:
            return f"?{cmd_id} syntax error\n\n"
        name, args = words[0], words[1:]
        command = self.commands.get(name)
        if command is None:
            return f"?{cmd_id} unknown command\n\n"
        snapshot = self._snapshot()
        try:
            result = command(*self._cast(command, args))
        except Exception as e:  # GtpError, or a bug: neither may kill the engine a GUI is talking to
            self._restore(snapshot)
            if not isinstance(e, GtpError):
                log.exception("%s failed", name)
            message = str(e) if isinstance(e, GtpError) else f"internal error: {one_line(e)}"
            return f"?{cmd_id} {' '.join(message.split())}\n\n"  # one line, whatever the message
        text = "" if result is None else str(result)
        return f"={cmd_id}" + ("" if not text or text.startswith("\n") else " ") + text + "\n\n"

    @staticmethod
    def _cast(command, args: list[str]) -> list:
        """Arguments cast by the method's annotations (int, float, str, optional ones, *str)."""
        params = list(inspect.signature(command, eval_str=True).parameters.values())
        if params and params[-1].kind is inspect.Parameter.VAR_POSITIONAL:
            return list(args)
        required = [p for p in params if p.default is inspect.Parameter.empty]
        if not len(required) <= len(args) <= len(params):
            raise GtpError("syntax error")
        cast = []
        for p, a in zip(params, args):
            kind = next((t for t in (int, float) if t == p.annotation or t in getattr(p.annotation, "__args__", ())), str)
            try:
                value = kind(a)
            except ValueError:
                raise GtpError("syntax error") from None
            # GTP numbers: ASCII digits only (int() also takes "1_9" and other scripts' digits),
            # finite floats only (komi nan broke printsgf; time_left inf broke the clock)
            if kind is int and not re.fullmatch(r"[+-]?[0-9]+", a) or kind is float and not math.isfinite(value):
                raise GtpError("syntax error")
            cast.append(value)
        return cast

    def _colour(self, text: str) -> int:
        try:
            return parse_colour(text)
        except ValueError:
            raise GtpError("syntax error") from None

    def _vertex(self, text: str) -> int:
        try:
            return vertex_to_idx(text, self.game.size)
        except ValueError:
            raise GtpError("syntax error") from None

    def _vertices(self, points) -> str:
        return " ".join(idx_to_vertex(int(p), self.game.size) for p in points)

    def run(self, stdin: TextIO | BinaryIO | Iterable[str] = sys.stdin, stdout: TextIO = sys.stdout) -> None:
        """Serve until ``quit`` or end of input. stdin is read in a thread so that an open
        analysis can search and report while no command waits."""
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            for line in protocol_lines(stdin):
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        while True:
            if self._analysis is None:
                line = lines.get()
            else:
                line = self._stream(lines, stdout)
                stdout.write("\n")  # any input ends the analysis response
                stdout.flush()
                self._analysis = None
            if line is None:
                return
            response = self.handle(line)
            if response is None:
                continue
            if self._analysis is not None:
                response = response[:-1]  # left open: info lines follow until the next command
            stdout.write(response)
            stdout.flush()
            if self._quit:
                return

    def _stream(self, lines: queue.Queue, stdout: TextIO) -> str | None:
        """Search the open analysis and write an info line per interval; the next input line."""
        a = self._analysis
        tree = self.player.tree
        schedule = Schedule(a.interval)
        info = None  # without search the line never changes: worked out once
        while True:
            try:
                if tree is not None:
                    tree.run(a.game, visits=UNLIMITED, seconds=schedule.left(), stop=lambda: not lines.empty(),
                             avoid=a.avoid)
                try:
                    return lines.get(timeout=schedule.left())
                except queue.Empty:
                    pass
                info = self._info_line(a) if tree is not None or info is None else info
            except Exception:  # a bug must not kill the engine: the stream goes quiet
                log.exception("analysis failed")
                return lines.get()
            if info:  # never an empty line: it would end the response
                stdout.write(info + "\n")
                stdout.flush()
            schedule.written()

    # ------------------------------------------------------------ required commands

    def cmd_protocol_version(self):
        return "2"

    def cmd_name(self):
        return "gonet"

    def cmd_version(self):
        return GTP_VERSION

    def cmd_known_command(self, name: str):
        return "true" if name in self.commands else "false"

    def cmd_list_commands(self):
        return "\n".join(sorted(self.commands))

    def cmd_quit(self):
        self._quit = True

    def cmd_boardsize(self, size: int):
        try:
            check_size(size)  # the net plays every size the rules engine does
        except ValueError:
            raise GtpError("unacceptable size") from None
        self.game = Game(size, self.komi, self.superko)

    def cmd_clear_board(self):
        self.game = Game(self.game.size, self.komi, self.superko)
        self.spent = {}

    def cmd_komi(self, komi: float):
        self.komi = komi
        self.game.komi = komi

    def cmd_play(self, colour: str, vertex: str):
        c, idx = self._colour(colour), self._vertex(vertex)
        try:
            self.game.play(idx, c)
        except IllegalMove:
            raise GtpError("illegal move") from None

    def _genmove(self, colour: str, cleanup: bool = False, commit: bool = True, stop=None,
                 avoid: np.ndarray | None = None) -> str:
        from gonet.player import RESIGN, Effort

        c = self._colour(colour)
        self.game.to_move = c
        effort = Effort(symmetries=1, playouts=50) if self._short_of_time(c) else None  # fast rather than lose on time
        start = time.perf_counter()
        try:
            idx = self.player.choose(self.game, cleanup=cleanup, seconds=self._move_seconds(c), stop=stop,
                                     avoid=avoid, effort=effort)
        finally:
            self.spent[c] = self.spent.get(c, 0.0) + time.perf_counter() - start
        if idx == RESIGN:
            return "resign"
        if commit:
            self.game.play(idx, c)
        return idx_to_vertex(idx, self.game.size)

    def _move_seconds(self, colour: int) -> float | None:
        """The search time the clock allows this move (None: no clock, the settings decide):
        ``TIME_SHARE`` of the byo-yomi period per stone, or in main time of the time left
        over our estimated moves left (plus a byo-yomi period's share, if there is one)."""
        main, byo, stones = self.time_settings
        if colour in self.time_left:
            seconds, left = self.time_left[colour]
        elif main > 0 or byo > 0 and stones > 0:
            seconds, left = max(main - self.spent.get(colour, 0.0), 0.0), 0
        else:
            return None
        if left > 0:
            per_move = seconds / left
        else:
            moves = max(20.0, MOVES_LEFT * self.game.size ** 2 - self.game.move_number / 2)
            per_move = seconds / moves + (byo / stones if stones > 0 else 0.0)
        clock = max(0.05, TIME_SHARE * per_move)
        settings = self.player.search
        return clock if settings is None or settings.seconds is None else min(clock, settings.seconds)

    def _short_of_time(self, colour: int) -> bool:
        """Under 10 s left, or under 1 s a move in byo-yomi (from ``time_left``)."""
        if colour not in self.time_left:
            return False
        seconds, stones = self.time_left[colour]
        return seconds < 10 if stones == 0 else seconds / stones < 1.0

    def cmd_genmove(self, colour: str):
        return self._genmove(colour)

    def cmd_reg_genmove(self, colour: str):
        previous = self.game.to_move
        try:
            return self._genmove(colour, commit=False)
        finally:
            self.game.to_move = previous

    def cmd_kgs_genmove_cleanup(self, colour: str):
        return self._genmove(colour, cleanup=True)

    def cmd_undo(self):
        try:
            self.game.undo()
        except IndexError:
            raise GtpError("cannot undo") from None

    def cmd_showboard(self):
        g = self.game
        return (f"\n{g}\nmove {g.move_number}, {colour_name(g.to_move)} to play, komi {g.komi:g}, "
                f"captures B {g.captures(BLACK)} W {g.captures(-BLACK)}")

    # ------------------------------------------------------------ handicap

    def _check_empty_board(self) -> None:
        if self.game.moves or self.game.setup:
            raise GtpError("board not empty")

    def cmd_fixed_handicap(self, stones: int):
        self._check_empty_board()
        if not 2 <= stones <= max_fixed_handicap(self.game.size):
            raise GtpError("invalid number of stones")
        points = fixed_handicap_points(stones, self.game.size)
        self.game.place_handicap(points)
        return self._vertices(points)

    def cmd_place_free_handicap(self, stones: int):
        self._check_empty_board()
        size = self.game.size
        if not 2 <= stones < size * size:
            raise GtpError("invalid number of stones")
        fixed = min(stones, max_fixed_handicap(size))
        points = fixed_handicap_points(fixed, size) if fixed >= 2 else []
        trial = Game(size, self.komi)
        trial.place_setup([(BLACK, p) for p in points])
        calls_left = FREE_HANDICAP_CALLS
        while len(points) < stones:
            remaining = stones - len(points)
            trial.to_move = BLACK
            probs = self.player.move_probabilities(trial)[: size * size]
            free = trial.stones == 0
            empty = [int(p) for p in np.argsort(-probs, kind="stable") if free[p]]
            chosen = empty[: -(-remaining // min(calls_left, remaining))]  # likeliest first
            trial.place_setup([(BLACK, p) for p in chosen])
            points += chosen
            calls_left = max(1, calls_left - 1)
        self.game.place_handicap(points)
        return self._vertices(points)

    def cmd_set_free_handicap(self, *vertices: str):
        self._check_empty_board()
        points = [self._vertex(v) for v in vertices]
        pass_idx = self.game.pass_idx
        if not 2 <= len(points) < pass_idx or len(set(points)) != len(points) or pass_idx in points:
            raise GtpError("bad vertex list")
        self.game.place_handicap(points)

    # ------------------------------------------------------------ records

    def cmd_loadsgf(self, filename: str, move_number: int | None = None):
        from gonet.sgf import SgfError, parse_game

        path = Path(filename)
        try:
            if not path.is_file():  # /dev/zero would never end, /dev/stdin would eat the protocol
                raise GtpError("cannot open file")
            if path.stat().st_size > MAX_SGF_BYTES:
                raise GtpError(f"cannot load file: over {MAX_SGF_BYTES >> 20} MB")
            record = parse_game(path.read_bytes(), filename)
        except OSError:
            raise GtpError("cannot open file") from None
        except SgfError as e:
            raise GtpError(f"cannot load file: {e.reason}") from None
        moves = None if move_number is None else max(0, move_number - 1)
        try:
            game = Game.from_record(record, moves, superko=self.superko)
        except (IllegalMove, ValueError) as e:
            raise GtpError(f"cannot load file: {e}") from None
        self.game = game
        self.komi = game.komi
        return "black" if game.to_move == BLACK else "white"

    def cmd_printsgf(self, filename: str | None = None):
        from gonet.sgf import game_to_sgf

        text = game_to_sgf(self.game.to_record(), program=("gonet", __version__))
        if filename is None:
            return text.strip()
        path = Path(filename)
        try:
            # only regular files, and never our own stdout: /dev/stdout would put the SGF inside
            # the protocol (a file when stdout is redirected to one, a pipe or tty otherwise)
            if path.exists() and (not path.is_file() or os.path.samestat(path.stat(), os.fstat(1))):
                raise GtpError("cannot write file")
            path.write_text(text)
        except OSError:
            raise GtpError("cannot write file") from None

    # ------------------------------------------------------------ scoring and time

    def _dead(self) -> np.ndarray:
        from gonet.ownership import dead_stones

        return dead_stones(self.game, self.player.playouts)

    def cmd_final_score(self):
        return self.game.result(self._dead())  # the board's rule too: Game.score

    def cmd_final_status_list(self, status: str):
        if status not in ("dead", "alive", "seki"):
            raise GtpError("syntax error")
        if status == "seki":
            return ""
        stones = np.flatnonzero(self.game.stones)
        dead = set(self._dead().tolist())
        chosen = [p for p in stones if (p in dead) == (status == "dead")]
        return self._vertices(chosen)

    def cmd_time_settings(self, main_time: int, byo_yomi_time: int, byo_yomi_stones: int):
        self.time_settings = (main_time, byo_yomi_time, byo_yomi_stones)
        self.time_left = {}
        self.spent = {}

    def cmd_time_left(self, colour: str, time: float, stones: int):
        self.time_left[self._colour(colour)] = (time, stones)

    # ------------------------------------------------------------ analysis for GUIs

    def _parse_analysis(self, dialect: str, args: tuple[str, ...], colour_needed: bool = False) -> Analysis:
        """KataGo's ``[colour] [interval] key value ...`` (its parseAnalyzeCommand): numbers are
        plain decimals, the interval in centiseconds; ``avoid``/``allow`` take a colour, a
        comma-separated vertex list and a depth of at least 1."""
        _ = self.player  # the model, or a GtpError now rather than in the stream
        words = list(args)
        game = self.game.copy()
        if words and words[0].lower() in ("b", "w", "black", "white"):
            game.to_move = self._colour(words.pop(0))
        elif colour_needed:
            raise GtpError("syntax error")
        a = Analysis(dialect, game)
        if words and _decimal(words[0]) is not None:
            words.insert(0, "interval")
        bans: dict[int, list[str]] = {}  # colour -> its avoid/allow keys so far
        while words:
            if len(words) < 2:
                raise GtpError("syntax error")
            key, value = words.pop(0), words.pop(0)
            if key == "interval" and (centiseconds := _decimal(value)) is not None:
                a.interval = max(centiseconds, 1.0) / 100
            elif key in ("minmoves", "maxmoves") and value.isascii() and value.isdigit():
                if key == "minmoves":
                    a.min_moves = int(value)
                else:
                    a.max_moves = int(value)
            elif key in SHOW_OPTIONS and value.lower() in ("true", "false"):
                a.show = a.show | {key} if value.lower() == "true" else a.show - {key}
            elif key in ("avoid", "allow") and len(words) >= 2:
                colour = self._colour(value)
                keys = bans.setdefault(colour, [])
                if key == "allow" and keys or "allow" in keys:  # one allow a colour, and no avoid beside it
                    raise GtpError("syntax error")
                keys.append(key)
                self._ban(a, key, colour, words.pop(0), words.pop(0))
            else:
                raise GtpError("syntax error")
        return a

    def _ban(self, a: Analysis, key: str, colour: int, vertices: str, depth: str) -> None:
        """``avoid``: ban the vertices for ``colour`` to ply ``depth``; ``allow``: all others."""
        if not (depth.isascii() and depth.isdigit() and int(depth) >= 1):
            raise GtpError("syntax error")
        points = [self._vertex(v) for v in vertices.split(",") if v.strip()]
        if a.avoid is None:
            a.avoid = avoid_table(a.game.size)
        ban(a.avoid, colour, points, int(depth), allow=key == "allow")

    def _report(self, a: Analysis) -> Report:
        """The search's moves, root and ownership, or without search the policy's moves, with
        visits in proportion to the prior so that heat maps show it."""
        tree = self.player.tree
        if tree is not None:
            return tree.report(a.min_moves, a.max_moves)
        from gonet.ownership import ownership_stats

        player = self.player
        view = player.view(a.game)
        winrate = (1.0 + view.evaluation[1]) / 2.0
        owners = ownership_stats(a.game, player.playouts)
        lead = a.game.to_move * (float(owners.mean().sum()) - a.game.komi)
        banned = root_bans(a.avoid, a.game.to_move)
        moves = [(i, p) for i, p in view.top_moves(a.game.pass_idx) if banned is None or not banned[i]]
        keep = max(sum(round(PRIOR_VISITS * p) >= 1 for _, p in moves), a.min_moves)
        moves = moves[:keep if a.max_moves is None else min(keep, a.max_moves)]
        infos = []
        for i, p in moves:
            visits = max(round(PRIOR_VISITS * p), 1)
            infos.append(MoveInfo(visits, winrate, winrate, lead, 0.0, move=i, prior=p, pv=[i], pv_visits=[visits]))
        unsearched = OwnershipStats(a.game.size ** 2)
        return Report(infos, NodeInfo(PRIOR_VISITS, winrate, winrate, lead, 0.0), owners, lambda move: unsearched)

    def _info_line(self, a: Analysis) -> str:
        """The info line by KataGo's grammar: per move ``info move V <numbers> order K pv V...``
        then ``pvVisits``, ``pvEdgeVisits``, ``movesOwnership``, ``movesOwnershipStdev`` as
        asked; after the moves ``rootInfo``, ``ownership``, ``ownershipStdev`` as asked.
        Ownership is from the side to move's view, row-major from the top-left corner."""
        r = self._report(a)
        size, view, show = a.game.size, a.game.to_move, a.show
        parts = []
        for order, i in enumerate(r.moves):
            parts.append(f"info move {idx_to_vertex(i.move, size)} {_numbers(a, i)} order {order} "
                         f"pv {' '.join(idx_to_vertex(m, size) for m in i.pv)}")
            for key in ("pvVisits", "pvEdgeVisits"):  # a tree: an edge's visits are its node's
                if key in show:
                    parts.append(f"{key} {' '.join(map(str, i.pv_visits))}")
            if "movesOwnership" in show or "movesOwnershipStdev" in show:
                owners = r.move_ownership(i.move)
                if "movesOwnership" in show:
                    parts.append("movesOwnership " + _floats(view * owners.mean()))
                if "movesOwnershipStdev" in show:
                    parts.append("movesOwnershipStdev " + _floats(owners.stdev()))
        if not parts:
            return ""
        if "rootInfo" in show:
            parts.append(f"rootInfo {_numbers(a, r.root)}")
        if "ownership" in show:
            parts.append("ownership " + _floats(view * r.ownership.mean()))
        if "ownershipStdev" in show:
            parts.append("ownershipStdev " + _floats(r.ownership.stdev()))
        return " ".join(parts)

    def _analyze(self, dialect: str, args: tuple[str, ...]) -> str:
        self._analysis = self._parse_analysis(dialect, args)
        return ""

    def cmd_lz_analyze(self, *args: str):
        return self._analyze("lz", args)

    def cmd_kata_analyze(self, *args: str):
        return self._analyze("kata", args)

    def cmd_analyze(self, *args: str):
        return self._analyze("sabaki", args)

    def _genmove_analyze(self, dialect: str, args: tuple[str, ...]) -> str:
        """genmove that reports info lines at the interval while it searches (written with the
        answer: one response), the last one for the final tree, then ``play <vertex>``."""
        a = self._parse_analysis(dialect, args, colour_needed=True)
        lines = []
        schedule = Schedule(a.interval)

        def report() -> bool:
            if schedule.left() == 0.0:
                lines.append(self._info_line(a))
                schedule.written()
            return False

        move = self._genmove(args[0], stop=report, avoid=a.avoid)
        lines.append(self._info_line(a))  # a.game is the position before the move
        return "\n" + "\n".join(line for line in lines if line) + f"\nplay {move}"

    def cmd_lz_genmove_analyze(self, *args: str):
        return self._genmove_analyze("lz", args)

    def cmd_kata_genmove_analyze(self, *args: str):
        return self._genmove_analyze("kata", args)

    def cmd_genmove_analyze(self, *args: str):
        return self._genmove_analyze("sabaki", args)

    def cmd_gogui_analyze_commands(self):
        return "gfx/Policy heatmap/gonet-policy_heatmap\npspairs/Policy top moves/gonet-top_moves"

    def cmd_gonet_policy_heatmap(self):
        view = self.player.view(self.game)
        probs = view.probs
        top = probs[:-1].max() or 1.0
        lines = ["INFLUENCE " + " ".join(f"{idx_to_vertex(i, self.game.size)} {p / top:.2f}"
                                         for i, p in enumerate(probs[:-1]) if p >= 0.005 * top)]
        lines += [f"LABEL {idx_to_vertex(i, self.game.size)} {percent_label(p)}"
                  for i, p in view.top_moves(5)]
        lines.append(f"TEXT {colour_name(self.game.to_move)} to play: the net's move probabilities")
        return "\n".join(lines)

    def cmd_gonet_top_moves(self):
        return " ".join(f"{idx_to_vertex(i, self.game.size)} {100 * p:.1f}%"
                        for i, p in self.player.top_moves(self.game, 10))


def percent_label(p: float) -> str:
    """A heat-map label for a probability: whole percents, ``<1`` below 1% (never ``0``)."""
    return f"{100 * p:.0f}" if p >= 0.01 else "<1"


def _decimal(text: str) -> float | None:
    """A plain decimal such as ``10`` or ``2.5`` (an analysis interval), else None."""
    return float(text) if re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", text) else None


def _floats(values: np.ndarray) -> str:
    return " ".join(f"{x:.4f}" for x in values)


def _numbers(a: Analysis, i: NodeInfo) -> str:
    """A move's (a :class:`MoveInfo`) or the root's ``key value`` pairs before ``order``, in
    KataGo's order and the dialect's numbers: Leela Zero's integers x 10000 (Sabaki's with
    ``scoreLead``) or KataGo's floats."""
    move = isinstance(i, MoveInfo)
    if a.dialect != "kata":
        pairs = [("visits", i.visits), ("winrate", round(10000 * i.winrate))]
        if move:
            pairs += [("prior", round(10000 * i.prior)), ("lcb", round(10000 * i.lcb))]
        if a.dialect == "sabaki":
            pairs.append(("scoreLead", f"{i.score_lead:.3f}"))
    else:
        lead = f"{i.score_lead:.3f}"
        pairs = [("visits", i.visits), *([("edgeVisits", i.visits)] if move else []),
                 ("utility", f"{i.utility:.6f}"), ("winrate", f"{i.winrate:.6f}"), ("scoreMean", lead),
                 ("scoreStdev", f"{i.score_stdev:.3f}"), ("scoreLead", lead), ("scoreSelfplay", lead)]
        if move:
            if "noResultValue" in a.show:
                pairs.append(("noResultValue", "0.000000"))
            pairs += [("prior", f"{i.prior:.6f}"), ("lcb", f"{i.lcb:.6f}"), ("utilityLcb", f"{i.utility_lcb:.6f}")]
        pairs.append(("weight", i.visits))  # every visit weighs 1
    return " ".join(f"{key} {value}" for key, value in pairs)


def main(net: NetOptions = NetOptions(), symmetries: int = 1, temperature: float = 0.0,
         resign_margin: float | None = None, search: SearchSettings | None = None,
         resign_winrate: float | None = None) -> int:
    """Serve stdin/stdout; a bad model file raises :class:`ModelFileError` before the first answer."""

    def give_up(message: str) -> None:
        """A model that fails to load in the background ends the engine: one line on stderr
        and exit status 2, rather than a GUI waiting on an engine that cannot play."""
        print(f"gonet gtp: {message}", file=sys.stderr, flush=True)
        os._exit(2)

    if isinstance(sys.stdout, io.TextIOWrapper):  # never die on writing an odd character
        sys.stdout.reconfigure(errors="backslashreplace")
    GtpEngine(net, symmetries, temperature, resign_margin, on_load_error=give_up, search=search,
              resign_winrate=resign_winrate).run()
    return 0
