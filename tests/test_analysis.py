"""``gonet analysis``: KataGo's JSON analysis protocol, read and answered from the search;
KaTrain's own engine class driving it (skipped where KaTrain is not installed)."""

import io
import json
import os
import shlex
import sys
import threading

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


def test_max_visits_bounds_the_search_and_avoid_moves_are_left_out(model):
    """A small maxVisits is the root's visit count at most; the moves the first answer
    liked best, asked as avoidMoves for the side to move, are not among the candidates."""
    query = {"id": "v", "boardXSize": 9, "boardYSize": 9, "moves": [["B", "E5"]], "maxVisits": 12}
    (first,) = exchange(model, query)
    assert first["rootInfo"]["visits"] <= 12 and sum(m["visits"] for m in first["moveInfos"]) <= 12
    liked = [m["move"] for m in first["moveInfos"][:2]]
    (avoided,) = exchange(model, {**query, "avoidMoves": [{"player": "W", "moves": liked, "untilDepth": 1}]})
    assert avoided["moveInfos"] and not {m["move"] for m in avoided["moveInfos"]} & set(liked)


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
