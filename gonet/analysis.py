"""``gonet analysis``: KataGo's JSON analysis-engine protocol on stdin/stdout, for KaTrain and
the other programs written for KataGo's analysis engine.

One JSON query per input line; one JSON answer per analysed turn, one line each, on stdout
(stdout carries nothing else; notes go to stderr). Rules, in order:

1. **Actions**: ``query_version`` is answered at once; ``terminate`` (``terminateId``,
   optional ``turnNumbers``) and ``terminate_all`` drop the queued turns they name and are
   acknowledged; ``clear_cache`` is acknowledged (gonet keeps no cache).
2. **Position**: ``initialStones`` are placed, then ``moves`` are played from
   ``initialPlayer`` on (default Black), under positional superko; ``komi`` (default 7.5),
   square ``boardXSize``/``boardYSize`` (default 19) of any size gonet plays. gonet scores
   by area: territory ``rules`` (japanese, korean) get a warning, not an error.
3. **Turns**: ``analyzeTurns`` (default: the last) lists the positions to analyse; each
   gets its own answer with ``turnNumber``. Queries are served in order by one worker, so
   a ``terminate`` read while a long query waits takes effect.
4. **What an answer says** (:func:`analyse`, the one place that works out an analysis): a
   PUCT search (search.py) of the position, fresh for each turn (queries jump between
   positions, so answers do not depend on what was asked before). Its budget is
   ``maxVisits`` root visits (absent: gonet's default time budget, ``SearchSettings``'
   0.9 s), and at most ``overrideSettings.maxTime`` seconds, never more than
   ``MAX_SECONDS`` (5 s), so that KaTrain, which asks for every move of a game, stays
   responsive on two CPU cores. ``moveInfos`` are the visited root moves, most visited
   first, with their ``visits``, ``winrate``, ``lcb``, ``scoreLead`` (``PLAYOUTS`` random
   playouts at each leaf), ``prior`` (the net's probability over the search's
   candidates), ``pv`` and ``utility`` (2·winrate − 1); ``rootInfo`` is the root's.
   ``ownership`` (the leaves' playouts) and ``policy`` (the net: 362 values, -1 for
   illegal points) come when asked; ``avoidMoves`` for the side to move are left out of
   the candidates (the search may still spend visits on them). ``priority`` and
   ``reportDuringSearchEvery`` are not acted on: one answer per turn, in order.
5. **Perspective**: winrate, scoreLead and ownership are from the side to move's view
   unless ``reportAnalysisWinratesAs`` is ``BLACK`` or ``WHITE`` (in the query's
   ``overrideSettings`` or ``-override-config`` at start-up; KaTrain asks for BLACK).
6. **Errors**: a bad query is answered ``{"id": ..., "error": ..., "field": ...}`` and the
   engine goes on; an illegal move is ``Illegal move N: B Q16``.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
from dataclasses import dataclass, field, replace
from typing import TextIO

import numpy as np

from gonet import __version__
from gonet.coords import BLACK, WHITE, check_size, colour_name, idx_to_vertex, parse_colour, vertex_to_idx
from gonet.game import DEFAULT_KOMI, Game, IllegalMove
from gonet.search import MoveInfo, Search, SearchSettings, warm_up

log = logging.getLogger(__name__)

MAX_SECONDS = 5.0        # search time per turn at most (rule 4): KaTrain asks for every move
PLAYOUTS = 16            # random playouts per leaf (~1 ms each): one alone swings the score by ±20 points
AREA_RULES = {"tromp-taylor", "chinese", "chinese-ogs", "chinese-kgs", "aga", "new-zealand", "new zealand",
              "stone_scoring", "bga", "french", "aga-button"}
TERRITORY_RULES = {"japanese", "korean"}
PERSPECTIVES = ("BLACK", "WHITE", "SIDETOMOVE")


class QueryError(ValueError):
    """A query gonet cannot answer; ``field`` names the culprit (KataGo's error shape)."""

    def __init__(self, message: str, field_name: str = ""):
        super().__init__(message, field_name)
        self.message, self.field = message, field_name


@dataclass
class Analysis:
    """One position's analysis, values from the side to move's view (rule 4)."""

    moves: list[MoveInfo]  # most visited first
    winrate: float
    score_lead: float
    visits: int
    ownership: np.ndarray | None = None  # float[N*N], +1 = Black
    policy: np.ndarray | None = None     # float[N*N + 1], -1 = illegal


@dataclass
class Turn:
    """One queued unit of work: a query's position after ``turn`` moves."""

    query: dict
    turn: int
    game: Game
    perspective: str
    include_ownership: bool
    include_policy: bool
    budget: SearchSettings
    avoid: set[int] = field(default_factory=set)
    serial: int = 0  # order of arrival, for terminate_all


def analyse(player, turn: Turn) -> Analysis:
    """The analysis of ``turn``'s position (rule 4): a fresh search within the turn's budget."""
    game = turn.game
    search = Search(player.policy, turn.budget, player.symmetries, seed=0)
    search.run(game)
    moves = [m for m in search.infos(min_moves=1) if m.move not in turn.avoid]
    policy = None
    if turn.include_policy:
        view = player.view(game)
        policy = np.where(view.legal, view.evaluation[0], -1.0)
    return Analysis(moves, search.winrate(), search.score_lead(), search.root_visits,
                    search.ownership() if turn.include_ownership else None, policy)


def answer(turn: Turn, analysis: Analysis) -> dict:
    """The JSON answer for one turn in KataGo's shape, in the asked perspective (rule 5)."""
    game = turn.game
    flip = {"BLACK": game.to_move, "WHITE": -game.to_move, "SIDETOMOVE": 1}[turn.perspective]

    def rate(p: float) -> float:
        return p if flip == 1 else 1.0 - p

    infos = []
    for order, m in enumerate(analysis.moves):
        score = flip * m.score_lead
        infos.append({"move": idx_to_vertex(m.move, game.size), "visits": m.visits, "winrate": rate(m.winrate),
                      "scoreLead": score, "scoreMean": score, "scoreSelfplay": score, "scoreStdev": m.score_stdev,
                      "prior": m.prior, "order": order, "pv": [idx_to_vertex(i, game.size) for i in m.pv],
                      "lcb": rate(m.lcb), "utility": flip * m.utility, "utilityLcb": flip * (2 * m.lcb - 1)})
    winrate, score = rate(analysis.winrate), flip * analysis.score_lead
    out = {"id": turn.query["id"], "isDuringSearch": False, "turnNumber": turn.turn, "moveInfos": infos,
           "rootInfo": {"currentPlayer": colour_name(game.to_move), "visits": analysis.visits, "winrate": winrate,
                        "scoreLead": score, "scoreSelfplay": score, "utility": 2 * winrate - 1}}
    if analysis.ownership is not None:
        view = game.to_move if turn.perspective == "SIDETOMOVE" else (1 if turn.perspective == "BLACK" else -1)
        out["ownership"] = [round(float(v), 4) for v in view * analysis.ownership]
    if analysis.policy is not None:
        out["policy"] = [round(float(v), 6) for v in analysis.policy]
    return out


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
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueryError(f"{key} must be an integer", key)
    return value


def read_turns(query: dict, perspective: str) -> tuple[list[Turn], list[str]]:
    """The turns a query asks for (rules 2-3) and any warnings; :class:`QueryError` if bad."""
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
        warnings.append("gonet scores by area; territory rules are analysed as area scoring")
    settings = query.get("overrideSettings", {})
    if not isinstance(settings, dict):
        raise QueryError("overrideSettings must be an object", "overrideSettings")
    perspective = str(settings.get("reportAnalysisWinratesAs", perspective)).upper()
    if perspective not in PERSPECTIVES:
        raise QueryError(f"reportAnalysisWinratesAs must be one of {', '.join(PERSPECTIVES)}", "overrideSettings")
    stones = query.get("initialStones", [])
    moves = query.get("moves", [])
    if not isinstance(stones, list) or not isinstance(moves, list):
        raise QueryError("initialStones and moves must be lists", "moves")
    setup = [_move(s, size, "initialStones") for s in stones]
    played = [_move(m, size, "moves") for m in moves]
    turns = query.get("analyzeTurns", [len(played)])
    if not isinstance(turns, list) or not all(isinstance(t, int) and 0 <= t <= len(played) for t in turns):
        raise QueryError(f"analyzeTurns must list turns between 0 and {len(played)}", "analyzeTurns")
    game = Game(size, float(komi), superko=True)
    if any(idx == game.pass_idx for _, idx in setup) or len({idx for _, idx in setup}) < len(setup):
        raise QueryError("initialStones must be distinct points", "initialStones")
    game.place_setup(setup)
    first = query.get("initialPlayer")
    try:
        game.to_move = parse_colour(str(first)) if first is not None else played[0][0] if played else BLACK
    except ValueError:
        raise QueryError("initialPlayer must be B or W", "initialPlayer") from None
    avoid = _avoided(query, size)
    budget = _budget(query, settings)
    wanted = sorted(set(turns))
    out = []
    for number, (colour, idx) in enumerate(played + [(0, -1)]):
        if number in wanted:
            snapshot = Game.from_record(game.to_record(), superko=True)
            out.append(Turn(query, number, snapshot, perspective, bool(query.get("includeOwnership", False)),
                            bool(query.get("includePolicy", False)), budget, avoid.get(snapshot.to_move, set())))
        if number == len(played):
            break
        try:
            game.play(idx, colour)
        except IllegalMove:
            raise QueryError(f"Illegal move {number}: {colour_name(colour)} {idx_to_vertex(idx, size)}",
                             "moves") from None
    return out, warnings


def _budget(query: dict, settings: dict) -> SearchSettings:
    """The search budget of a query (rule 4): ``maxVisits``, and seconds capped at ``MAX_SECONDS``."""
    default = SearchSettings()
    visits = query.get("maxVisits")
    if visits is not None and (isinstance(visits, bool) or not isinstance(visits, int) or visits < 1):
        raise QueryError("maxVisits must be a positive integer", "maxVisits")
    seconds = settings.get("maxTime", MAX_SECONDS if visits is not None else default.seconds)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise QueryError("maxTime must be a positive number", "overrideSettings")
    return replace(default, visits=visits, seconds=min(float(seconds), MAX_SECONDS), playouts=PLAYOUTS)


def _avoided(query: dict, size: int) -> dict[int, set[int]]:
    """``avoidMoves`` entries for the root (``untilDepth`` ≥ 1): colour → idxs."""
    avoid: dict[int, set[int]] = {BLACK: set(), WHITE: set()}
    for entry in query.get("avoidMoves", []) or []:
        try:
            colour = parse_colour(str(entry["player"]))
            avoid[colour] |= {vertex_to_idx(str(v), size) for v in entry["moves"]} - {size * size}
        except (KeyError, TypeError, ValueError):
            raise QueryError("avoidMoves entries need player, moves and untilDepth", "avoidMoves") from None
    return avoid


# ---------------------------------------------------------------- the engine


class AnalysisEngine:
    """Reads queries, queues their turns, answers them from one worker thread (rule 3)."""

    def __init__(self, model: str | None = None, device: str = "cpu", perspective: str = "SIDETOMOVE",
                 out: TextIO = sys.stdout):
        self.model, self.device = model, device
        self.perspective = perspective
        self.out = out
        self._player = None
        self._write = threading.Lock()
        self._queue: queue.Queue[Turn | None] = queue.Queue()
        self._dropped: set[tuple[str, int | None]] = set()  # (id, turn) terminated; turn None = all turns
        self._drop_all_before = 0  # turns queued before this serial are terminated
        self._serial = 0
        self._worker = threading.Thread(target=self._work, daemon=True)
        self._worker.start()

    @property
    def player(self):
        if self._player is None:
            from gonet.player import Player
            from gonet.policy import load_policy

            player = Player(load_policy(self.model, self.device), seed=0)
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
        for warning in warnings:
            self.emit({"id": query["id"], "warning": warning})
        for turn in turns:
            self._serial += 1
            turn.serial = self._serial
            self._queue.put(turn)

    def _action(self, query: dict, action: str) -> None:
        qid = query["id"]
        if action == "query_version":
            self.emit({"id": qid, "action": action, "version": __version__, "git_hash": "gonet"})
        elif action == "clear_cache":
            self.emit({"id": qid, "action": action})
        elif action == "terminate":
            if "terminateId" not in query:
                self.emit({"id": qid, "error": "terminate needs terminateId", "field": "terminateId"})
                return
            turns = query.get("turnNumbers")
            for turn in turns if isinstance(turns, list) else [None]:
                self._dropped.add((str(query["terminateId"]), turn))
            self.emit({"id": qid, "action": action, "terminateId": query["terminateId"],
                       **({"turnNumbers": turns} if isinstance(turns, list) else {})})
        elif action == "terminate_all":
            self._drop_all_before = self._serial + 1
            self.emit({"id": qid, "action": action})
        else:
            self.emit({"id": qid, "error": f"unknown action {action!r}", "field": "action"})

    def _terminated(self, turn: Turn) -> bool:
        qid = str(turn.query["id"])
        return ((qid, None) in self._dropped or (qid, turn.turn) in self._dropped
                or turn.serial < self._drop_all_before)

    def _work(self) -> None:
        while True:
            turn = self._queue.get()
            if turn is None:
                return
            try:
                if not self._terminated(turn):
                    result = analyse(self.player, turn)
                    self.emit(answer(turn, result))
            except Exception as e:  # a bug must not kill the engine a GUI is talking to
                log.exception("analysis failed")
                self.emit({"id": turn.query["id"], "error": f"internal error: {type(e).__name__}: {e}"})
            finally:
                self._queue.task_done()

    def run(self, stdin: TextIO = sys.stdin) -> None:
        """Serve until end of input, then finish the queued turns."""
        for line in stdin:
            self.handle(line)
        self._queue.put(None)
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


def main(model: str | None = None, device: str = "cpu", katago_model: str | None = None,
         config: list[str] | None = None, overrides: list[str] | None = None) -> int:
    """Start the engine; KataGo's ``-model``/``-config`` are used when they fit gonet, else noted."""
    if katago_model is not None:
        if katago_model.endswith(".pt") and model is None:
            model = katago_model
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
    engine = AnalysisEngine(model, device, perspective)
    engine.player  # load the net and compile the kernels before the first query
    print("gonet analysis: ready", file=sys.stderr)
    engine.run()
    return 0
