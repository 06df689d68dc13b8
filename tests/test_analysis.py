"""``gonet analysis``: KataGo's JSON analysis protocol, read and answered from the search;
KaTrain's own engine class driving it (skipped where KaTrain is not installed)."""

import io
import json
import os
import shlex
import sys
import threading
import time

import pytest
import torch

from gonet.analysis import AnalysisEngine, parse_overrides
from gonet.coords import vertex_to_idx
from gonet.nets import PolicyConfig, PolicyNet
from gonet.policy import save_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("analysis") / "tiny.pt"
    # a value head, so that winrates differ between moves and perspectives
    save_model(PolicyNet(PolicyConfig(filters=8, layers=3, value_head=True)), path)
    return str(path)


def exchange(model, *queries, perspective="SIDETOMOVE") -> list[dict]:
    """Feed lines to an engine; return every JSON line it writes, in order."""
    out = io.StringIO()
    engine = AnalysisEngine(model, perspective=perspective, out=out)
    lines = [q if isinstance(q, str) else json.dumps(q) for q in queries]
    engine.run(io.StringIO("\n".join(lines) + "\n"))
    return [json.loads(line) for line in out.getvalue().splitlines()]


QUERY = {"id": "a", "moves": [["B", "Q16"], ["W", "D4"], ["B", "C3"]], "rules": "chinese", "komi": 7.5,
         "boardXSize": 19, "boardYSize": 19, "analyzeTurns": [0, 3], "maxVisits": 40,
         "includeOwnership": True, "includePolicy": True}


def test_answers_one_line_per_turn_in_katago_shape(model):
    """Each asked turn gets an answer with turnNumber; moveInfos carry every field KaTrain
    reads, from a search within maxVisits: most visited first, their visits adding up to
    no more than the root's, each pv starting with its move; rootInfo, 361 ownership values
    and a 362-value policy with -1 on occupied points."""
    answers = sorted(exchange(model, QUERY), key=lambda a: a["turnNumber"])
    assert [a["turnNumber"] for a in answers] == [0, 3]
    for a in answers:
        assert a["id"] == "a" and not a["isDuringSearch"]
        infos, root = a["moveInfos"], a["rootInfo"]
        assert [m["order"] for m in infos] == list(range(len(infos))) and len(infos) >= 2
        for m in infos:
            assert {"move", "visits", "winrate", "scoreLead", "prior", "order", "pv", "lcb", "utility"} <= m.keys()
            assert m["pv"][0] == m["move"] and 0 < m["prior"] <= 1 and m["visits"] >= 1
            assert 0 <= m["lcb"] <= m["winrate"] <= 1 and m["utility"] == pytest.approx(2 * m["winrate"] - 1)
        visits = [m["visits"] for m in infos]
        assert visits == sorted(visits, reverse=True) and visits[0] > 1
        assert sum(visits) <= root["visits"] <= QUERY["maxVisits"]
        assert {"visits", "winrate", "scoreLead", "currentPlayer"} <= root.keys() and 0 < root["winrate"] < 1
        assert len(a["ownership"]) == 361 and all(-1 <= v <= 1 for v in a["ownership"])
        assert len(a["policy"]) == 362
    after = answers[1]
    assert after["rootInfo"]["currentPlayer"] == "W"
    for vertex in ("Q16", "D4", "C3"):
        assert after["policy"][vertex_to_idx(vertex, 19)] == -1
        assert vertex not in [m["move"] for m in after["moveInfos"]]
    legal = [p for p in after["policy"] if p >= 0]
    assert abs(sum(legal) - 1) < 1e-3


SMALL = {"boardXSize": 9, "boardYSize": 9, "moves": [["B", "E5"]]}


def test_max_visits_bounds_the_search(model):
    """A small maxVisits is the root's visit count at most."""
    (first,) = exchange(model, {**SMALL, "id": "v", "maxVisits": 12})
    assert first["rootInfo"]["visits"] <= 12 and sum(m["visits"] for m in first["moveInfos"]) <= 12


def test_avoid_and_allow_moves_ban_moves_in_the_search(model):
    """avoidMoves bans moves for the colour given to its depth in the search itself: White's
    favourite moves at the root and Black's favourite replies one ply down get no visit (the
    root's visits are 1 + the reported moves', none hidden in banned moves; no pv answers
    with a banned reply). allowMoves: only the allowed moves are searched and reported."""
    query = {**SMALL, "id": "b", "maxVisits": 60}
    (plain,) = exchange(model, query)
    liked = [m["move"] for m in plain["moveInfos"][:2]]
    replies = sorted({m["pv"][1] for m in plain["moveInfos"] if len(m["pv"]) > 1})
    assert replies
    avoid = [{"player": "W", "moves": liked, "untilDepth": 1}, {"player": "B", "moves": replies, "untilDepth": 2}]
    (avoided,) = exchange(model, {**query, "avoidMoves": avoid})
    infos = avoided["moveInfos"]
    assert infos and not {m["move"] for m in infos} & set(liked)
    assert not {m["pv"][1] for m in infos if len(m["pv"]) > 1} & set(replies)
    assert sum(m["visits"] for m in infos) == avoided["rootInfo"]["visits"] - 1
    allowed = ["C3", "G7", "pass"]
    (only,) = exchange(model, {**query, "allowMoves": [{"player": "W", "moves": allowed, "untilDepth": 1}]})
    assert {m["move"] for m in only["moveInfos"]} <= set(allowed)
    assert sum(m["visits"] for m in only["moveInfos"]) == only["rootInfo"]["visits"] - 1 > 10


def test_katago_options_katrain_asks_for(model):
    """includeMovesOwnership(Stdev): each move's ownership below it, in the asked perspective
    (Black's E5 is Black's; an unvisited move has none); includeOwnershipStdev; includePVVisits:
    pvVisits = pvEdgeVisits, falling from the move's visits; includeNoResultValue: 0;
    analysisPVLen caps the pv."""
    query = {**SMALL, "id": "o", "maxVisits": 40, "analysisPVLen": 2, "includeOwnership": True,
             "includeOwnershipStdev": True, "includeMovesOwnership": True, "includeMovesOwnershipStdev": True,
             "includePVVisits": True, "includeNoResultValue": True, "overrideSettings": {
                 "reportAnalysisWinratesAs": "BLACK"}}
    (a,) = exchange(model, query)
    e5 = vertex_to_idx("E5", 9)
    assert len(a["ownershipStdev"]) == 81 and max(a["ownershipStdev"]) > 0 and a["ownership"][e5] > 0
    for m in a["moveInfos"]:
        assert len(m["pv"]) <= 2 and m["pvVisits"] == m["pvEdgeVisits"] and len(m["pvVisits"]) == len(m["pv"])
        assert m["pvVisits"][0] == m["visits"] and m["pvVisits"] == sorted(m["pvVisits"], reverse=True)
        assert m["noResultValue"] == 0 and len(m["ownership"]) == len(m["ownershipStdev"]) == 81
    top = a["moveInfos"][0]
    assert top["ownership"][e5] > 0 and max(top["ownershipStdev"]) > 0


def test_katrains_search_settings_are_honoured_or_named(model):
    """KaTrain's overrideSettings: wideRootNoise widens the root, so the same visits reach
    more moves, and a rootPolicyTemperature under 1 narrows it; maxTime and the perspective are honoured; settings
    gonet does not act on (humanSLProfile ...) are named in one warning, and answered."""
    query = {**SMALL, "id": "k", "maxVisits": 60}
    (plain,) = exchange(model, query)
    (wide,) = exchange(model, {**query, "overrideSettings": {"wideRootNoise": 1.0}})
    (cold,) = exchange(model, {**query, "rootPolicyTemperature": 0.1})
    assert len(cold["moveInfos"]) < len(plain["moveInfos"]) < len(wide["moveInfos"])
    settings = {"reportAnalysisWinratesAs": "BLACK", "wideRootNoise": 0.04, "maxTime": 8.0,
                "humanSLProfile": "rank_5k", "ignorePreRootHistory": False}
    warning, answered = exchange(model, {**query, "overrideSettings": settings})
    assert warning == {"id": "k", "field": "overrideSettings",
                       "warning": "gonet does not act on: humanSLProfile, ignorePreRootHistory"}
    assert answered["moveInfos"] and answered["rootInfo"]["currentPlayer"] == "W"


def test_report_during_search_every(model):
    """reportDuringSearchEvery: partial answers (isDuringSearch true) while the search runs,
    in the very shape of the final answer, visits growing, then exactly one final answer;
    firstReportDuringSearchAfter alone: one partial answer."""
    query = {**SMALL, "id": "r", "maxVisits": 10 ** 6, "overrideSettings": {"maxTime": 2.5},
             "reportDuringSearchEvery": 0.2, "includeOwnership": True, "includePolicy": True,
             "includeMovesOwnership": True, "includePVVisits": True}
    once = {key: value for key, value in query.items() if key != "reportDuringSearchEvery"}
    got = exchange(model, query, {**once, "id": "f", "firstReportDuringSearchAfter": 0.5})
    reports = [g for g in got if g["id"] == "r"]
    *partial, final = reports
    assert len(partial) >= 2 and all(p["isDuringSearch"] for p in partial) and not final["isDuringSearch"]
    for p in partial:
        assert p.keys() == final.keys() and p["rootInfo"].keys() == final["rootInfo"].keys()
        assert p["moveInfos"][0].keys() == final["moveInfos"][0].keys()
    visits = [r["rootInfo"]["visits"] for r in reports]
    assert visits == sorted(visits) and visits[0] < visits[-1]
    assert [g["isDuringSearch"] for g in got if g["id"] == "f"] == [True, False]


def test_black_perspective_flips_white_to_move_values(model):
    """With White to move, reportAnalysisWinratesAs=BLACK (start-up or per query) gives
    1 − winrate, −scoreLead and −ownership against the side-to-move default, for the root
    and for every candidate (the search is seeded, so both runs see the same tree)."""
    query = {**QUERY, "analyzeTurns": [3]}
    own_view = exchange(model, query)[0]
    black_view = exchange(model, query, perspective="BLACK")[0]
    per_query = exchange(model, {**query, "overrideSettings": {"reportAnalysisWinratesAs": "BLACK"}})[0]
    mine, black = own_view["rootInfo"], black_view["rootInfo"]
    assert mine["visits"] == black["visits"] and mine["winrate"] != pytest.approx(0.5)
    assert black["winrate"] == pytest.approx(1 - mine["winrate"])
    assert black["scoreLead"] == pytest.approx(-mine["scoreLead"])
    for m, b in zip(own_view["moveInfos"], black_view["moveInfos"], strict=True):
        assert (b["move"], b["visits"]) == (m["move"], m["visits"])
        assert b["winrate"] == pytest.approx(1 - m["winrate"]) and b["scoreLead"] == pytest.approx(-m["scoreLead"])
    assert black_view["ownership"] == [-v for v in own_view["ownership"]]
    assert per_query["rootInfo"]["winrate"] == black["winrate"]
    # stones count for their owner: Black's Q16 is positive from Black's view
    assert black_view["ownership"][vertex_to_idx("Q16", 19)] > 0


@pytest.mark.parametrize("line, error, field", [
    ({"id": "x", "moves": [["B", "Q16"], ["W", "Q16"]]}, "Illegal move 1: W Q16", "moves"),
    ({"id": "x", "boardXSize": 19, "boardYSize": 13}, "rectangular boards are not supported", "boardYSize"),
    ({"id": "x", "boardXSize": 30, "boardYSize": 30}, "board size 30", "boardXSize"),
    ({"id": "x", "moves": [["B", "Z99"]]}, "could not parse", "moves"),
    ({"id": "x", "moves": [], "analyzeTurns": [2]}, "analyzeTurns", "analyzeTurns"),
    ({"id": "x", "rules": "martian"}, "unknown rules", "rules"),
    ({"id": "x", "komi": "seven"}, "komi", "komi"),
    ({"id": "x", "maxVisits": 0}, "maxVisits", "maxVisits"),
    ({"id": "x", "overrideSettings": {"maxTime": "long"}}, "maxTime", "overrideSettings"),
    ({"id": "x", "action": "fly"}, "unknown action", "action"),
    ({"id": "x", "initialStones": [["B", "D4"], ["W", "D4"]]}, "distinct", "initialStones"),
    ({"id": "x", "avoidMoves": [], "allowMoves": []}, "both", "allowMoves"),
    ({"id": "x", "allowMoves": [{"player": "W", "moves": ["D4"], "untilDepth": 1},
                                {"player": "w", "moves": ["Q16"], "untilDepth": 1}]}, "one entry", "allowMoves"),
    ({"id": "x", "avoidMoves": [{"player": "B", "moves": ["D4"], "untilDepth": 0}]}, "untilDepth", "avoidMoves"),
    ({"id": "x", "avoidMoves": [{"player": "B", "moves": "D4", "untilDepth": 1}]}, "player, moves", "avoidMoves"),
    ({"id": "x", "avoidMoves": [{"player": "B", "moves": ["Z99"], "untilDepth": 1}]}, "player, moves", "avoidMoves"),
    ({"id": "x", "moves": [["B", "D4"]], "analyzeTurns": [0, 1], "priorities": [1]}, "priorities", "priorities"),
    ({"id": "x", "analyzeTurns": [0], "priorities": [1], "priority": 2}, "both", "priority"),
    ({"id": "x", "priority": "high"}, "priority", "priority"),
    ({"id": "x", "includeOwnership": "yes"}, "true or false", "includeOwnership"),
    ({"id": "x", "reportDuringSearchEvery": 0}, "reportDuringSearchEvery", "reportDuringSearchEvery"),
    ({"id": "x", "analysisPVLen": 0}, "analysisPVLen", "analysisPVLen"),
    ({"id": "x", "rootPolicyTemperature": 0}, "rootPolicyTemperature", "rootPolicyTemperature"),
    ({"id": "x", "overrideSettings": {"wideRootNoise": 9}}, "wideRootNoise", "overrideSettings"),
    ({"id": "x", "action": "terminate", "terminateId": "a", "turnNumbers": 3}, "turnNumbers", "turnNumbers"),
])
def test_bad_queries_get_an_error_line_and_the_engine_goes_on(model, line, error, field):
    """Every bad query is one {"id", "error", "field"} line; the next query is answered."""
    first, second = exchange(model, line, {"id": "ok", "boardXSize": 9, "boardYSize": 9, "maxVisits": 8})
    assert first["id"] == "x" and error in first["error"] and first["field"] == field
    assert second["id"] == "ok" and second["moveInfos"]


def test_lines_that_are_not_queries():
    """Not JSON, or no id: an error without an id (KataGo's behaviour); blank lines ignored."""
    out = io.StringIO()
    engine = AnalysisEngine(out=out)  # no model is loaded for these
    for line in ("nonsense", "[1, 2]", "", '{"moves": []}'):
        engine.handle(line)
    errors = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(errors) == 3 and all("error" in e and "id" not in e for e in errors)


def test_actions_version_terminate_and_territory_warning(model):
    """query_version answers at once; terminate drops the queued turns of its query and is
    acknowledged; japanese rules give a warning line and are still analysed."""
    out = io.StringIO()
    engine = AnalysisEngine(model, out=out)
    long = {"id": "long", "boardXSize": 9, "boardYSize": 9, "moves": [["B", "E5"], ["W", "C3"]], "maxVisits": 8,
            "analyzeTurns": [0, 1, 2], "rules": "japanese"}
    lines = [{"id": "v", "action": "query_version"}] + [
        {**long, "id": f"long{i}"} for i in range(8)] + [{"id": "t", "action": "terminate", "terminateId": "long7"}]
    engine.run(io.StringIO("\n".join(json.dumps(x) for x in lines) + "\n"))
    got = [json.loads(x) for x in out.getvalue().splitlines()]
    assert got[0] == {"id": "v", "action": "query_version", "version": got[0]["version"], "git_hash": "gonet"}
    assert {"id": "t", "action": "terminate", "terminateId": "long7"} in got
    assert sum(1 for g in got if g.get("id") == "long0" and "warning" in g) == 1
    answered = {(g["id"], g["turnNumber"]) for g in got if "moveInfos" in g}
    assert {("long0", t) for t in range(3)} <= answered
    assert not any(qid == "long7" for qid, _ in answered)  # its 3 turns queued behind 21 others


def test_priority_orders_the_queue(model):
    """Queued turns are searched highest priority first (priority, or priorities per turn),
    ties in order of arrival; the first query, the highest, holds the worker meanwhile."""
    query = {**SMALL, "maxVisits": 8}
    lines = [{**query, "id": "first", "priority": 100, "maxVisits": 30}, {**query, "id": "low", "priority": -5},
             {**query, "id": "plain"}, {**query, "id": "high", "priority": 7}, {**query, "id": "high2", "priority": 7},
             {**query, "id": "multi", "analyzeTurns": [0, 1], "priorities": [1, 8]}]
    got = exchange(model, *lines)
    order = [(g["id"], g["turnNumber"]) for g in got]
    assert order == [("first", 1), ("multi", 1), ("high", 1), ("high2", 1), ("multi", 0), ("plain", 1), ("low", 1)]


def wait_for(out: io.StringIO, found, seconds: float = 120) -> list[dict]:
    """The engine's lines so far, once ``found`` holds for them (a loaded box is slow)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        if found(lines):
            return lines
        time.sleep(0.05)
    raise AssertionError(f"timed out: {out.getvalue()[-500:]}")


def test_terminate_stops_a_running_search_and_answers_queued_turns(model):
    """terminate: the running search stops at once and gives its final answer from what it
    has; a queued turn named is answered noResults at once, before the echo; the turn not
    named is still analysed. Every turn ends with exactly one answer that is not partial."""
    out = io.StringIO()
    engine = AnalysisEngine(model, out=out)
    engine.handle(json.dumps({**SMALL, "id": "long", "maxVisits": 10 ** 6, "overrideSettings": {"maxTime": 5.0},
                              "reportDuringSearchEvery": 0.1}))
    engine.handle(json.dumps({**SMALL, "id": "queued", "analyzeTurns": [0, 1], "maxVisits": 8}))
    wait_for(out, lambda lines: any(g.get("isDuringSearch") for g in lines))
    began = time.monotonic()
    engine.handle(json.dumps({"id": "t1", "action": "terminate", "terminateId": "long"}))
    engine.handle(json.dumps({"id": "t2", "action": "terminate", "terminateId": "queued", "turnNumbers": [0]}))
    lines = wait_for(out, lambda lines: any(g.get("id") == "long" and g.get("isDuringSearch") is False
                                            for g in lines))
    assert time.monotonic() - began < 4.0  # not the 5 s asked
    engine.run(io.StringIO(""))
    got = [json.loads(line) for line in out.getvalue().splitlines()]
    no_results = {"id": "queued", "isDuringSearch": False, "noResults": True, "turnNumber": 0}
    assert got.index(no_results) < got.index({"id": "t2", "action": "terminate", "terminateId": "queued",
                                               "turnNumbers": [0]})
    finals = [(g["id"], g["turnNumber"]) for g in got if g.get("isDuringSearch") is False]
    assert sorted(finals) == [("long", 1), ("queued", 0), ("queued", 1)]
    final = next(g for g in lines if g.get("id") == "long" and not g["isDuringSearch"])
    assert final["moveInfos"] and final["rootInfo"]["visits"] >= max(
        g["rootInfo"]["visits"] for g in lines if g.get("isDuringSearch"))


def test_terminate_all_drops_what_was_queued_before_it(model):
    """terminate_all drops every turn queued before it, not the queries after it."""
    query = {"boardXSize": 9, "boardYSize": 9, "moves": [["B", "E5"]], "analyzeTurns": [0, 1], "maxVisits": 8}
    lines = [{**query, "id": f"q{i}"} for i in range(6)] + [{"id": "all", "action": "terminate_all"},
                                                               {**query, "id": "after"}]
    got = exchange(model, *lines)
    answered = [g["id"] for g in got if "moveInfos" in g]
    assert {"id": "all", "action": "terminate_all"} in got
    assert answered.count("after") == 2 and "q5" not in answered and len(answered) <= 4


def test_override_config_parsing():
    assert parse_overrides(["reportAnalysisWinratesAs=BLACK, homeDataDir=/x", "maxVisits=5"]) == {
        "reportAnalysisWinratesAs": "BLACK", "homeDataDir": "/x", "maxVisits": "5"}


def test_cli_takes_katago_flags(model):
    """``gonet analysis`` started as KaTrain starts KataGo (-model, -config, -override-config)
    notes what it ignores on stderr and answers from Black's view on stdout."""
    import subprocess

    query = json.dumps({**QUERY, "analyzeTurns": [3], "includeOwnership": True}) + "\n"
    done = subprocess.run([sys.executable, "-m", "gonet", "analysis", "--model", model, "-model", "kata.bin.gz",
                           "-config", "analysis.cfg", "-override-config",
                           "reportAnalysisWinratesAs=BLACK,homeDataDir=/tmp"],
                          input=query, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (answer,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert answer["rootInfo"]["currentPlayer"] == "W" and answer["ownership"][vertex_to_idx("Q16", 19)] > 0
    assert "kata.bin.gz" in done.stderr and "homeDataDir" in done.stderr


# ---------------------------------------------------------------- KaTrain


class _KaTrainStub:
    """What KataGoEngine needs of the KaTrain app object: a log and popups."""

    def __init__(self):
        self.lines, self.popups = [], []

    def log(self, message, level=0):
        self.lines.append(str(message))

    def __call__(self, *args):
        self.popups.append(args)


def test_katrain_engine_class_drives_gonet_analysis(model, tmp_path):
    """KaTrain's own KataGoEngine, configured with gonet as its custom engine command, gets
    analyses of a game position (Black's view, as KaTrain asks) that its GameNode accepts."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_HOME", str(tmp_path / "kivy"))
    engine_module = pytest.importorskip("katrain.core.engine", reason="KaTrain (pip install katrain) not installed")
    from katrain.core.game_node import GameNode
    from pysgf import Move

    # KaTrain runs a custom command through the shell; exec lets its terminate() reach gonet
    command = "exec " + shlex.join([sys.executable, "-m", "gonet", "analysis", "--model", model])
    config = {"backend": "custom", "altcommand": command, "max_visits": 50, "fast_visits": 10,
              "max_time": 5.0, "wide_root_noise": 0.0, "_enable_ownership": True, "allow_recovery": False}
    stub = _KaTrainStub()
    engine = engine_module.KataGoEngine(stub, config)
    try:
        root = GameNode(properties={"SZ": 19, "KM": 6.5, "RU": "chinese"})
        node = root
        for player, vertex in (("B", "Q16"), ("W", "D4"), ("B", "Q4")):
            node = node.play(Move.from_gtp(vertex, player=player))
        done = threading.Event()
        results = []

        def callback(analysis, partial):
            results.append(analysis)
            node.set_analysis(analysis, partial_result=partial)
            done.set()

        engine.request_analysis(node, callback, error_callback=lambda e: results.append(e) or done.set())
        assert done.wait(120), "no answer from gonet analysis: " + " | ".join(stub.lines[-5:])
        analysis = results[0]
        assert "error" not in analysis, analysis
        assert node.analysis_complete and len(node.candidate_moves) >= 2
        assert node.analysis["root"]["currentPlayer"] == "W" and 1 < node.analysis["root"]["visits"] <= 50
        assert sum(m["visits"] for m in node.candidate_moves) <= node.analysis["root"]["visits"]
        assert len(node.ownership) == 361 and len(node.policy) == 362
        # Black's view: Black's stone on Q16 belongs to Black
        assert node.ownership[vertex_to_idx("Q16", 19)] > 0
        assert not stub.popups
    finally:
        process = engine.katago_process
        engine.shutdown(finish=False)
        assert process.wait(30) is not None
