"""``gonet analysis``: KataGo's JSON analysis-engine protocol on stdin/stdout, for KaTrain and
the other programs written for KataGo's analysis engine.

One JSON query per input line; JSON answers on stdout, one object a line (stdout carries
nothing else; notes go to stderr). Rules, in order:

1. **Actions**: ``query_version`` is answered at once; ``terminate`` (``terminateId``) and
   ``terminate_all``, each with optional ``turnNumbers``, end the turns they name: a queued
   turn is answered ``noResults`` at once, a running search stops at its next batch and
   gives its final answer from what it has; then the action is echoed. ``clear_cache`` is
   echoed (gonet keeps no cache).
2. **Position**: ``initialStones`` are placed, then ``moves`` are played from
   ``initialPlayer`` on (default Black), under positional superko; ``komi`` (default 7.5),
   square ``boardXSize``/``boardYSize`` (default 19) of any size gonet plays. gonet scores
   by area: territory ``rules`` (japanese, korean) get a warning, not an error.
3. **Turns**: ``analyzeTurns`` (default: the last) lists the positions to analyse; each
   gets its own answers with ``turnNumber``. One worker searches one turn at a time, the
   queued turn of highest ``priority`` first (or the turn's entry in ``priorities``, one per
   ``analyzeTurns`` entry; default 0), ties in order of arrival; a running search is not
   pre-empted, as in KataGo.
4. **The search** (:func:`analyse`, the one place that works out an analysis): a PUCT search
   (search.py) of the position, fresh for each turn (queries jump between positions, so
   answers do not depend on what was asked before). Its budget is ``maxVisits`` root visits
   (absent: gonet's default time budget, ``SearchSettings``' 0.9 s), and at most
   ``maxTime`` seconds, never more than ``MAX_SECONDS`` (5 s), so that KaTrain, which asks
   for every move of a game, stays responsive on two CPU cores. ``avoidMoves`` (or
   ``allowMoves``) ban moves for the colour given to ply ``untilDepth`` in the search itself
   (search.py rule 2, as GTP's ``avoid``/``allow``): it never enters them, and the banned
   root moves are not reported. ``rootPolicyTemperature``, ``wideRootNoise`` and
   ``rootFpuReductionMax`` widen the root as KataGo's do (search.py rule 2).
5. **Reports**: with ``reportDuringSearchEvery`` (and ``firstReportDuringSearchAfter``)
   seconds, a running search answers with ``"isDuringSearch": true`` at that interval,
   in the shape of the final answer; every turn ends with exactly one answer whose
   ``isDuringSearch`` is false (the final one, or ``noResults``). KaTrain shows the partial
   answers as they come and marks a position analysed on the final one.
6. **What an answer says**: ``moveInfos`` are the visited root moves, most visited first,
   with their ``visits``, ``winrate``, ``lcb``, ``scoreLead`` (``PLAYOUTS`` random playouts
   at each leaf), ``scoreStdev``, ``prior`` (the net's probability over the search's
   candidates), ``pv`` (at most ``analysisPVLen`` moves) and ``utility`` (2·winrate − 1);
   ``rootInfo`` is the root's. As asked: ``ownership``/``ownershipStdev`` (the leaves'
   playouts), per move ``ownership``/``ownershipStdev`` (``includeMovesOwnership(Stdev)``:
   the playouts below that move), ``pvVisits``/``pvEdgeVisits`` (equal: a tree), ``noResultValue``
   (0: area scoring always ends in a score) and ``policy`` (the net: 362 values, -1 for
   illegal points).
7. **Perspective**: winrate, scoreLead and ownership are from the side to move's view
   unless ``reportAnalysisWinratesAs`` is ``BLACK`` or ``WHITE`` (in the query's
   ``overrideSettings`` or ``-override-config`` at start-up; KaTrain asks for BLACK).
8. **Accepted, not acted on**: ``overrideSettings`` other than ``reportAnalysisWinratesAs``
   and :data:`SEARCH_KEYS` (KaTrain's ``humanSLProfile``, ``playoutDoublingAdvantage``,
   ``antiMirror`` ...) are named in one warning line and the query is answered without
   them; other top-level fields (``whiteHandicapBonus`` ...) are ignored.
9. **Errors**: a bad query is answered ``{"id": ..., "error": ..., "field": ...}`` and the
   engine goes on; an illegal move is ``Illegal move N: B Q16``.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import numpy as np

from gonet import __version__
from gonet.coords import BLACK, check_size, colour_name, idx_to_vertex, parse_colour, vertex_to_idx
from gonet.game import DEFAULT_KOMI, Game, IllegalMove
from gonet.modelfile import NetOptions
from gonet.search import NodeInfo, Report, Schedule, Search, SearchSettings, avoid_table, ban, warm_up

log = logging.getLogger(__name__)

MAX_SECONDS = 5.0        # search time per turn at most (rule 4): KaTrain asks for every move
PLAYOUTS = 16            # random playouts per leaf (~1 ms each): one alone swings the score by ±20 points
AREA_RULES = {"tromp-taylor", "chinese", "chinese-ogs", "chinese-kgs", "aga", "new-zealand", "new zealand",
              "stone_scoring", "bga", "french", "aga-button"}
TERRITORY_RULES = {"japanese", "korean"}
PERSPECTIVES = ("BLACK", "WHITE", "SIDETOMOVE")
INCLUDES = ("includeOwnership", "includeOwnershipStdev", "includeMovesOwnership", "includeMovesOwnershipStdev",
            "includePolicy", "includePVVisits", "includeNoResultValue")  # the true/false fields (rule 6)
# KataGo's search settings gonet acts on (rule 4): key -> (lowest, highest, top-level field too)
SEARCH_KEYS = {"maxVisits": (1, 1 << 50, True), "maxTime": (0.0, 1e20, False),
               "rootPolicyTemperature": (0.01, 100.0, True), "wideRootNoise": (0.0, 5.0, False),
               "rootFpuReductionMax": (0.0, 2.0, True)}
END = (math.inf, math.inf, None)  # the queue's last item: sorts after every turn


class QueryError(ValueError):
    """A query gonet cannot answer; ``field`` names the culprit (KataGo's error shape)."""

    def __init__(self, message: str, field_name: str = ""):
        super().__init__(message, field_name)
        self.message, self.field = message, field_name


@dataclass
class Request:
    """What a query asks of each of its turns (rules 4-7)."""

    id: object  # the query's, echoed in every answer
    perspective: str
    settings: SearchSettings
    include: frozenset[str] = frozenset()  # the INCLUDES set true
    avoid: np.ndarray | None = field(default=None, compare=False)  # search.avoid_table
    pv_len: int | None = None  # analysisPVLen
    reports: tuple[float, float] | None = None  # seconds between partial answers, before the first


@dataclass
class Turn:
    """One queued unit of work: a query's position after ``turn`` moves."""

    request: Request
    turn: int
    game: Game
    priority: int = 0
    serial: int = 0        # order of arrival: ties in priority go to the earlier
    running: bool = False  # the worker has taken it: terminate stops it instead of answering noResults
    stopped: bool = False  # terminated while running: the search ends at its next batch


def analyse(player, turn: Turn, emit: Callable[[dict], None]) -> None:
    """Search ``turn``'s position (rule 4) and emit its answers: partial ones at the asked
    interval (rule 5), then the final one, early once the turn is ``stopped`` (rule 1)."""
    game, request = turn.game, turn.request
    policy = None
    if "includePolicy" in request.include:
        view = player.view(game)
        policy = np.where(view.legal, view.evaluation[0], -1.0)
    search = Search(player.policy, request.settings, player.symmetries, seed=0)
    schedule = None if request.reports is None else Schedule(*request.reports)

    def between_batches() -> bool:
        if schedule is not None and schedule.left() == 0.0:
            emit(answer(turn, search.report(min_moves=1), policy, during=True))
            schedule.written()
        return turn.stopped

    search.run(game, stop=between_batches, avoid=request.avoid)
    emit(answer(turn, search.report(min_moves=1), policy))


def answer(turn: Turn, report: Report, policy: np.ndarray | None = None, during: bool = False) -> dict:
    """One answer for a turn in KataGo's shape (rule 6), in the asked perspective (rule 7)."""
    game, request = turn.game, turn.request
    include, size = request.include, game.size
    flip = {"BLACK": game.to_move, "WHITE": -game.to_move, "SIDETOMOVE": 1}[request.perspective]
    view = flip * game.to_move  # ownership is Black's (+1): this turns it to the asked view

    def values(i: NodeInfo) -> dict:
        winrate = i.winrate if flip == 1 else 1.0 - i.winrate
        score = flip * i.score_lead
        return {"visits": i.visits, "winrate": winrate, "scoreLead": score, "scoreMean": score,
                "scoreSelfplay": score, "scoreStdev": i.score_stdev, "utility": flip * i.utility}

    def owners(stats, key: str) -> dict:
        out = {}
        if key in include:
            out["ownership"] = _rounded(view * stats.mean(), 4)
        if key + "Stdev" in include:
            out["ownershipStdev"] = _rounded(stats.stdev(), 4)
        return out

    infos = []
    for order, m in enumerate(report.moves):
        pv = m.pv[:request.pv_len]
        info = {"move": idx_to_vertex(m.move, size), **values(m), "prior": m.prior, "order": order,
                "pv": [idx_to_vertex(i, size) for i in pv], "lcb": m.lcb if flip == 1 else 1.0 - m.lcb,
                "utilityLcb": flip * m.utility_lcb}
        if "includePVVisits" in include:
            info["pvVisits"] = info["pvEdgeVisits"] = m.pv_visits[:len(pv)]
        if "includeNoResultValue" in include:
            info["noResultValue"] = 0.0
        infos.append(info | owners(report.move_ownership(m.move), "includeMovesOwnership"))
    out = {"id": request.id, "isDuringSearch": during, "turnNumber": turn.turn, "moveInfos": infos,
           "rootInfo": {"currentPlayer": colour_name(game.to_move), **values(report.root)}}
    out |= owners(report.ownership, "includeOwnership")
    if policy is not None:
        out["policy"] = _rounded(policy, 6)
    return out


def no_results(turn: Turn) -> dict:
    """The one answer of a turn terminated before its search began (rule 1)."""
    return {"id": turn.request.id, "isDuringSearch": False, "noResults": True, "turnNumber": turn.turn}


def _rounded(values: np.ndarray, digits: int) -> list[float]:
    return [round(float(v), digits) for v in values]


# ---------------------------------------------------------------- reading queries


def _move(item, size: int, field_name: str) -> tuple[int, int]:
    """``["B", "Q16"]`` → (colour, idx); :class:`QueryError` naming ``field_name`` if malformed."""
    try:
        colour_text, vertex = item
        return parse_colour(str(colour_text)), vertex_to_idx(str(vertex), size)
    except (TypeError, ValueError):
        raise QueryError(f"could not parse {json.dumps(item)} as a [player, location] pair", field_name) from None


def _int(query: dict, key: str, default: int) -> int:
    value = query.get(key, default)
    if not _is_int(value):
        raise QueryError(f"{key} must be an integer", key)
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(query: dict, key: str, low: float, high: float, field_name: str | None = None) -> float | None:
    """``query[key]`` if given, a number in [low, high] (an integer if ``low`` is one), else None."""
    if key not in query:
        return None
    value = query[key]
    kind = int if isinstance(low, int) else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        what = "an integer" if kind is int else "a number"
        raise QueryError(f"{key} must be {what} from {low:g} to {high:g}", field_name or key)
    return value


def read_turns(query: dict, perspective: str) -> tuple[list[Turn], list[tuple[str, str]]]:
    """The turns a query asks for (rules 2-4) and any warnings as (field, message);
    :class:`QueryError` if the query is bad."""
    warnings = []
    size = _int(query, "boardXSize", 19)
    if _int(query, "boardYSize", size) != size:
        raise QueryError("rectangular boards are not supported", "boardYSize")
    try:
        check_size(size)
    except ValueError as e:
        raise QueryError(str(e), "boardXSize") from None
    komi = query.get("komi", DEFAULT_KOMI)
    if isinstance(komi, bool) or not isinstance(komi, (int, float)) or not -150 <= komi <= 150:
        raise QueryError("komi must be a number between -150 and 150", "komi")
    rules = query.get("rules", "tromp-taylor")
    name = rules.lower() if isinstance(rules, str) else (rules.get("scoringRule", "area").lower()
                                                          if isinstance(rules, dict) else None)
    if name is None or isinstance(rules, str) and name not in AREA_RULES | TERRITORY_RULES:
        raise QueryError(f"unknown rules {json.dumps(rules)}", "rules")
    if name in TERRITORY_RULES or name == "territory":
        warnings.append(("rules", "gonet scores by area; territory rules are analysed as area scoring"))
    overrides = query.get("overrideSettings", {})
    if not isinstance(overrides, dict):
        raise QueryError("overrideSettings must be an object", "overrideSettings")
    ignored = sorted(set(overrides) - set(SEARCH_KEYS) - {"reportAnalysisWinratesAs"})
    if ignored:
        warnings.append(("overrideSettings", f"gonet does not act on: {', '.join(ignored)}"))
    stones = query.get("initialStones", [])
    moves = query.get("moves", [])
    if not isinstance(stones, list) or not isinstance(moves, list):
        raise QueryError("initialStones and moves must be lists", "moves")
    setup = [_move(s, size, "initialStones") for s in stones]
    played = [_move(m, size, "moves") for m in moves]
    turns = query.get("analyzeTurns", [len(played)])
    if not isinstance(turns, list) or not all(_is_int(t) and 0 <= t <= len(played) for t in turns):
        raise QueryError(f"analyzeTurns must list turns between 0 and {len(played)}", "analyzeTurns")
    priorities = _priorities(query, turns)
    game = Game(size, float(komi), superko=True)
    if any(idx == game.pass_idx for _, idx in setup) or len({idx for _, idx in setup}) < len(setup):
        raise QueryError("initialStones must be distinct points", "initialStones")
    game.place_setup(setup)
    first = query.get("initialPlayer")
    try:
        game.to_move = parse_colour(str(first)) if first is not None else played[0][0] if played else BLACK
    except ValueError:
        raise QueryError("initialPlayer must be B or W", "initialPlayer") from None
    request = _request(query, overrides, perspective, size)
    out = []
    for number, (colour, idx) in enumerate(played + [(0, -1)]):
        if number in priorities:
            out.append(Turn(request, number, Game.from_record(game.to_record(), superko=True), priorities[number]))
        if number == len(played):
            break
        try:
            game.play(idx, colour)
        except IllegalMove:
            raise QueryError(f"Illegal move {number}: {colour_name(colour)} {idx_to_vertex(idx, size)}",
                             "moves") from None
    return out, warnings


def _priorities(query: dict, turns: list[int]) -> dict[int, int]:
    """Each asked turn's priority (rule 3): ``priority`` for all, or ``priorities`` one each."""
    if "priorities" not in query:
        priority = _int(query, "priority", 0)
        return dict.fromkeys(turns, priority)
    if "priority" in query:
        raise QueryError("cannot specify both priority and priorities", "priority")
    priorities = query["priorities"]
    if ("analyzeTurns" not in query or not isinstance(priorities, list) or len(priorities) != len(turns)
            or not all(_is_int(p) for p in priorities)):
        raise QueryError("priorities must list one integer for each analyzeTurns entry", "priorities")
    return dict(zip(turns, priorities, strict=True))


def _request(query: dict, overrides: dict, perspective: str, size: int) -> Request:
    """The options a query's turns share (rules 4-7)."""
    perspective = str(overrides.get("reportAnalysisWinratesAs", perspective)).upper()
    if perspective not in PERSPECTIVES:
        raise QueryError(f"reportAnalysisWinratesAs must be one of {', '.join(PERSPECTIVES)}", "overrideSettings")
    include = set()
    for key in INCLUDES:
        if not isinstance(query.get(key, False), bool):
            raise QueryError(f"{key} must be true or false", key)
        if query.get(key):
            include.add(key)
    every = _number(query, "reportDuringSearchEvery", 0.001, 1e6)
    first = _number(query, "firstReportDuringSearchAfter", 0.001, 1e6)
    reports = None if every is None and first is None else (every or math.inf, first or every)
    return Request(query["id"], perspective, _settings(query, overrides), frozenset(include), _bans(query, size),
                   _number(query, "analysisPVLen", 1, 1000), reports)


def _settings(query: dict, overrides: dict) -> SearchSettings:
    """The search a query asks for (rule 4): SEARCH_KEYS, top-level before overrideSettings."""
    given = {}
    for key, (low, high, top_level) in SEARCH_KEYS.items():
        value = _number(overrides, key, low, high, "overrideSettings")
        given[key] = _number(query, key, low, high) if top_level and key in query else value
    default = SearchSettings()
    visits = given["maxVisits"]
    seconds = given["maxTime"] if given["maxTime"] is not None else MAX_SECONDS if visits else default.seconds
    return replace(default, visits=visits, seconds=min(float(seconds), MAX_SECONDS), playouts=PLAYOUTS,
                   root_temperature=given["rootPolicyTemperature"] or 1.0,
                   wide_root_noise=given["wideRootNoise"] or 0.0, root_fpu_reduction=given["rootFpuReductionMax"])


def _bans(query: dict, size: int) -> np.ndarray | None:
    """``avoidMoves`` or ``allowMoves`` as the search's ban table (rule 4); None if neither."""
    keys = [key for key in ("avoidMoves", "allowMoves") if key in query]
    if len(keys) == 2:
        raise QueryError("cannot specify both allowMoves and avoidMoves", "allowMoves")
    if not keys:
        return None
    key = keys[0]
    shape = QueryError(f"{key} must be a list of objects with player, moves and untilDepth", key)
    if not isinstance(query[key], list):
        raise shape
    table = avoid_table(size)
    allowed = set()  # colours with an allowMoves entry: one each, or the second would undo the first
    for entry in query[key]:
        try:
            colour = parse_colour(str(entry["player"]))
            if not isinstance(entry["moves"], list):
                raise TypeError
            moves = [vertex_to_idx(str(v), size) for v in entry["moves"]]
            depth = entry["untilDepth"]
        except (KeyError, TypeError, ValueError):
            raise shape from None
        if not _is_int(depth) or depth < 1:
            raise QueryError("untilDepth must be a positive integer", key)
        if key == "allowMoves" and colour in allowed:
            raise QueryError("allowMoves takes at most one entry per player", key)
        allowed.add(colour)
        ban(table, colour, moves, depth, allow=key == "allowMoves")
    return table


# ---------------------------------------------------------------- the engine


class AnalysisEngine:
    """Reads queries, queues their turns, answers them from one worker thread (rules 1, 3)."""

    def __init__(self, net: NetOptions | str | Path | None = None, perspective: str = "SIDETOMOVE",
                 out: TextIO = sys.stdout):
        self.net = NetOptions.of(net)
        self.perspective = perspective
        self.out = out
        self._player = None
        self._write = threading.Lock()
        self._queue: queue.PriorityQueue[tuple[float, float, Turn | None]] = queue.PriorityQueue()
        self._open: dict[int, Turn] = {}  # queued and running turns by serial: what terminate reaches
        self._lock = threading.Lock()  # guards _open and the turns' running and stopped
        self._serial = 0
        self._worker = threading.Thread(target=self._work, daemon=True)
        self._worker.start()

    @property
    def player(self):
        if self._player is None:
            from gonet.player import Player

            player = Player(self.net.load(), seed=0)
            warm_up(player.policy, symmetries=player.symmetries)  # KaTrain times its first answers
            self._player = player
        return self._player

    def emit(self, obj: dict) -> None:
        with self._write:
            self.out.write(json.dumps(obj, separators=(",", ":")) + "\n")
            self.out.flush()

    def handle(self, line: str) -> None:
        """One input line: answer an action, or queue a query's turns, or emit its error."""
        line = line.strip()
        if not line:
            return
        try:
            query = json.loads(line)
        except json.JSONDecodeError as e:
            self.emit({"error": f"could not parse input line as json request: {e}"})
            return
        if not isinstance(query, dict) or "id" not in query:
            self.emit({"error": "request must be a json object with an \"id\" field"})
            return
        action = query.get("action")
        if action is not None:
            self._action(query, action)
            return
        try:
            turns, warnings = read_turns(query, self.perspective)
        except QueryError as e:
            self.emit({"id": query["id"], "error": e.message, "field": e.field})
            return
        for field_name, warning in warnings:
            self.emit({"id": query["id"], "field": field_name, "warning": warning})
        with self._lock:
            for turn in turns:
                self._serial += 1
                turn.serial = self._serial
                self._open[turn.serial] = turn
                self._queue.put((-turn.priority, turn.serial, turn))

    def _action(self, query: dict, action: str) -> None:
        """Rule 1; terminations are answered before the echo, as KataGo does."""
        qid = query["id"]
        if action == "query_version":
            self.emit({"id": qid, "action": action, "version": __version__, "git_hash": "gonet"})
        elif action == "clear_cache":
            self.emit(query)
        elif action in ("terminate", "terminate_all"):
            if action == "terminate" and "terminateId" not in query:
                self.emit({"id": qid, "error": "terminate needs terminateId", "field": "terminateId"})
                return
            turns = query.get("turnNumbers")
            if turns is not None and not (isinstance(turns, list) and all(_is_int(t) for t in turns)):
                self.emit({"id": qid, "error": "turnNumbers must be a list of integers", "field": "turnNumbers"})
                return
            self._terminate(str(query["terminateId"]) if action == "terminate" else None, turns)
            self.emit(query)
        else:
            self.emit({"id": qid, "error": f"unknown action {action!r}", "field": "action"})

    def _terminate(self, query_id: str | None, turns: list[int] | None) -> None:
        """End the open turns of ``query_id`` (None: of every query), of ``turns`` only if given."""
        with self._lock:
            for serial, turn in list(self._open.items()):
                if (query_id is None or str(turn.request.id) == query_id) and (turns is None or turn.turn in turns):
                    if turn.running:
                        turn.stopped = True
                    else:
                        del self._open[serial]
                        self.emit(no_results(turn))

    def _work(self) -> None:
        while True:
            _, _, turn = self._queue.get()
            if turn is None:
                return
            try:
                with self._lock:  # a turn terminated while queued was answered then
                    turn.running = self._open.get(turn.serial) is turn
                if turn.running:
                    analyse(self.player, turn, self.emit)
            except Exception as e:  # a bug must not kill the engine a GUI is talking to
                log.exception("analysis failed")
                self.emit({"id": turn.request.id, "error": f"internal error: {type(e).__name__}: {e}"})
            finally:
                with self._lock:
                    self._open.pop(turn.serial, None)
                self._queue.task_done()

    def run(self, stdin: TextIO = sys.stdin) -> None:
        """Serve until end of input, then finish the queued turns."""
        for line in stdin:
            self.handle(line)
        self._queue.put(END)
        self._worker.join()


def parse_overrides(texts: list[str]) -> dict[str, str]:
    """``-override-config "a=b, c=d"`` (repeatable) → {a: b, c: d}."""
    settings = {}
    for text in texts:
        for part in text.split(","):
            if part.strip():
                key, _, value = part.partition("=")
                settings[key.strip()] = value.strip()
    return settings


def main(net: NetOptions = NetOptions(), katago_model: str | None = None, config: list[str] | None = None,
         overrides: list[str] | None = None) -> int:
    """Start the engine; KataGo's ``-model``/``-config`` are used when they fit gonet, else noted."""
    if katago_model is not None:
        if katago_model.endswith(".pt") and net.model is None:
            net = replace(net, model=katago_model)
        else:
            print(f"gonet analysis: -model {katago_model} is not a gonet model; using the shipped net",
                  file=sys.stderr)
    for path in config or []:
        print(f"gonet analysis: -config {path} ignored (KataGo's config)", file=sys.stderr)
    settings = parse_overrides(overrides or [])
    perspective = settings.pop("reportAnalysisWinratesAs", "SIDETOMOVE").upper()
    if perspective not in PERSPECTIVES:
        raise ValueError(f"reportAnalysisWinratesAs={perspective}: choose from {', '.join(PERSPECTIVES)}")
    if settings:
        print(f"gonet analysis: settings ignored: {', '.join(sorted(settings))}", file=sys.stderr)
    engine = AnalysisEngine(net, perspective)
    engine.player  # load the net and compile the kernels before the first query
    print("gonet analysis: ready", file=sys.stderr)
    engine.run()
    return 0
