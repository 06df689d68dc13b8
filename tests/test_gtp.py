"""GTP engine: a scripted session over every command and error path; a game against GnuGo."""

import io
import itertools
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gonet.coords import BLACK, WHITE, idx_to_vertex, vertex_to_idx
from gonet.gtp import GTP_VERSION, GtpEngine, clean_line, percent_label, protocol_lines
from gonet.match import EngineError, GtpProcess, play_game, wilson_interval
from gonet.modelfile import ModelFileError, NetOptions
from gonet.nets import PolicyConfig, PolicyNet
from gonet.policy import content_checksum, save_model
from gonet.search import MOVE, VISITS, SearchSettings

GNUGO = shutil.which("gnugo") or ("/usr/games/gnugo" if Path("/usr/games/gnugo").exists() else None)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A tiny random 19x19 policy (k=8, 3 layers): fast and deterministic."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_model(PolicyNet(PolicyConfig(filters=8, layers=3)), path)
    return path


@pytest.fixture
def engine(model):
    return GtpEngine(str(model), seed=1)


@pytest.fixture
def searching(model):
    """An engine that searches 24 visits a move (fast with the tiny net)."""
    return GtpEngine(str(model), seed=1, search=SearchSettings(visits=24, seconds=None))


def ask(engine, line):
    return engine.handle(line)


def test_required_commands_and_response_format(engine):
    """= / ? with ids echoed, a blank line after each response; unknown commands fail."""
    assert ask(engine, "protocol_version") == "= 2\n\n"
    assert ask(engine, "7 name") == "=7 gonet\n\n"
    assert ask(engine, "version") == f"= {GTP_VERSION}\n\n"
    major, minor, _ = (int(x) for x in GTP_VERSION.split("."))
    assert (major, minor) >= (0, 15)  # Lizzie warns below Leela Zero 0.15
    assert ask(engine, "known_command genmove") == "= true\n\n"
    assert ask(engine, "known_command fly") == "= false\n\n"
    listed = ask(engine, "list_commands")[2:].split()
    for command in ("protocol_version", "name", "version", "known_command", "list_commands", "quit",
                    "boardsize", "clear_board", "komi", "play", "genmove", "undo", "showboard",
                    "fixed_handicap", "place_free_handicap", "set_free_handicap", "loadsgf", "printsgf",
                    "final_score", "final_status_list", "time_settings", "time_left", "kgs-genmove_cleanup",
                    "reg_genmove", "lz-analyze", "lz-genmove_analyze", "genmove_analyze", "gogui-analyze_commands"):
        assert command in listed, command
    assert ask(engine, "3 fly me") == "?3 unknown command\n\n"
    assert ask(engine, "") is None and ask(engine, "# just a comment") is None


def test_preprocessing_strips_controls_and_comments():
    assert clean_line("\tplay\x01 b D4  # a comment\r\n") == "play b D4"


def test_play_and_errors_leave_state_unchanged(engine):
    """Illegal, occupied, bad colour, bad vertex and missing arguments are errors; no change."""
    assert ask(engine, "boardsize 19") == "=\n\n"
    assert ask(engine, "play b D4") == "=\n\n"
    before = engine.game.board.state.copy()
    for line, error in [("play w D4", "illegal move"), ("play x D5", "syntax error"),
                        ("play b Z99", "syntax error"), ("play b", "syntax error"), ("play b I5", "syntax error"),
                        ("komi seven", "syntax error"), ("boardsize 26", "unacceptable size"),
                        ("boardsize", "syntax error"), ("final_status_list maybe", "syntax error")]:
        assert ask(engine, line) == f"? {error}\n\n", line
    assert (engine.game.board.state == before).all() and engine.game.move_number == 1


def test_genmove_plays_legal_moves_and_undo(engine):
    """genmove returns a legal vertex and plays it; undo takes it back; reg_genmove does not play."""
    ask(engine, "play b Q16")
    answer = ask(engine, "genmove w")
    vertex = answer[2:].strip()
    assert engine.game.board.colour_at(vertex_to_idx(vertex, 19)) == WHITE
    assert ask(engine, "undo") == "=\n\n"
    assert engine.game.board.colour_at(vertex_to_idx(vertex, 19)) == 0
    n = engine.game.move_number
    assert ask(engine, "reg_genmove w").startswith("= ")
    assert engine.game.move_number == n
    ask(engine, "undo")
    assert ask(engine, "undo") == "? cannot undo\n\n"


def test_genmove_never_illegal_in_a_long_game(engine):
    """40 genmoves in a row (both colours) are all legal and never pass early in the game."""
    for i in range(40):
        answer = ask(engine, f"genmove {'b' if i % 2 == 0 else 'w'}")
        assert answer.startswith("= ") and answer[2:].strip() not in ("resign",)
    assert engine.game.move_number == 40


def test_handicap_commands(engine):
    assert ask(engine, "fixed_handicap 3") == "= D4 Q16 D16\n\n"
    assert engine.game.to_move == WHITE and engine.game.handicap == 3
    assert ask(engine, "fixed_handicap 2") == "? board not empty\n\n"
    ask(engine, "clear_board")
    assert ask(engine, "fixed_handicap 10") == "? invalid number of stones\n\n"
    assert ask(engine, "set_free_handicap D4 D4") == "? bad vertex list\n\n"
    every_point = " ".join(f"{c}{r}" for c in "ABCDEFGHJKLMNOPQRST" for r in range(1, 20))
    assert ask(engine, f"set_free_handicap {every_point}") == "? bad vertex list\n\n"  # N*N-1 at most
    assert ask(engine, "set_free_handicap C3 Q17") == "=\n\n"
    assert engine.game.board.colour_at(vertex_to_idx("C3", 19)) == BLACK
    ask(engine, "clear_board")
    stones = ask(engine, "place_free_handicap 11")[2:].split()
    assert len(stones) == 11 and len(set(stones)) == 11
    assert stones[:9] == "D4 Q16 D16 Q4 D10 Q10 K4 K16 K10".split()


@pytest.mark.parametrize("size", [9, 13])
def test_small_boards_play_and_load(engine, tmp_path, size):
    """boardsize 9 and 13 are accepted (the 19x19 net maps its point bias); genmove plays
    on that board and loadsgf takes a record of that size."""
    assert ask(engine, f"boardsize {size}") == "=\n\n" and engine.game.size == size
    for colour in "bw":
        vertex = ask(engine, f"genmove {colour}")[2:].strip()
        assert 0 <= vertex_to_idx(vertex, size) < size * size
    assert engine.game.move_number == 2
    sgf = tmp_path / "small.sgf"
    sgf.write_text(f"(;GM[1]SZ[{size}]KM[5.5];B[cc];W[gg])")
    assert ask(engine, f"loadsgf {sgf}") == "= black\n\n"
    assert engine.game.size == size and engine.game.move_number == 2


def test_loadsgf_and_printsgf_round_trip(engine, tmp_path):
    """loadsgf sets up the position before move N and answers the colour to play; printsgf
    writes a record that loads back to the same moves."""
    sgf = tmp_path / "g.sgf"
    sgf.write_text("(;GM[1]SZ[19]KM[6.5];B[pd];W[dp];B[pp];W[dd])")
    assert ask(engine, f"loadsgf {sgf} 3") == "= black\n\n"
    assert engine.game.move_number == 2 and engine.game.komi == 6.5
    assert ask(engine, f"loadsgf {sgf}") == "= black\n\n" and engine.game.move_number == 4
    assert ask(engine, f"loadsgf {tmp_path / 'missing.sgf'}") == "? cannot open file\n\n"
    assert engine.game.move_number == 4
    out = tmp_path / "out.sgf"
    assert ask(engine, f"printsgf {out}") == "=\n\n"
    assert ask(engine, "clear_board") == "=\n\n"
    assert ask(engine, f"loadsgf {out}") == "= black\n\n"
    assert [m for _, m in engine.game.moves] == [vertex_to_idx(v, 19) for v in ("Q16", "D4", "Q4", "D16")]
    assert ask(engine, "printsgf").startswith("= (;FF[4]")


def finished_position_sgf() -> str:
    """A finished 19x19 game as setup: Black owns columns A-E, White F-T, both full of stones
    with single-point eyes; a lone White stone at B18 sits in Black's area with 2 liberties."""
    black, white = [], []
    for r in range(19):
        for c in range(19):
            point = "abcdefghijklmnopqrs"[c] + "abcdefghijklmnopqrs"[r]
            if (r, c) == (1, 1):
                white.append(point)
            elif c <= 4:
                if not (c in (1, 3) and r % 2 == 0):
                    black.append(point)
            elif not (c >= 7 and c % 2 == 1 and r % 2 == 0):
                white.append(point)
    return f"(;GM[1]SZ[19]KM[0.5]AB[{']['.join(black)}]AW[{']['.join(white)}];B[];W[])"


def test_scoring_commands(engine, tmp_path):
    """final_status_list finds the dead stone; final_score counts it off (Tromp-Taylor area:
    Black 5 x 19 = 95, White 14 x 19 = 266, komi 0.5 -> W+171.5)."""
    sgf = tmp_path / "end.sgf"
    sgf.write_text(finished_position_sgf())
    ask(engine, f"loadsgf {sgf}")
    assert ask(engine, "final_status_list dead") == "= B18\n\n"
    alive = ask(engine, "final_status_list alive")[2:].split()
    assert "B18" not in alive and len(alive) == int((engine.game.board.state[0] != 0).sum()) - 1
    assert ask(engine, "final_status_list seki") == "=\n\n"
    assert ask(engine, "final_score") == "= W+171.5\n\n"


def test_searching_engine_passes_and_cleans_up(searching, tmp_path):
    """Under area scoring with search on: after Black passes in a finished game White (far
    ahead) passes too; kgs-genmove_cleanup instead takes the dead White stone's liberties."""
    sgf = tmp_path / "end.sgf"
    sgf.write_text(finished_position_sgf().replace(";B[];W[])", ")"))
    ask(searching, f"loadsgf {sgf}")
    assert ask(searching, "kgs-genmove_cleanup b") in ("= B19\n\n", "= B17\n\n")  # its two liberties
    ask(searching, "undo")
    ask(searching, "play b pass")
    assert ask(searching, "genmove w") == "= pass\n\n"


def test_time_commands(engine):
    assert ask(engine, "time_settings 300 30 5") == "=\n\n"
    assert ask(engine, "time_left b 120 0") == "=\n\n"
    assert engine.time_left[BLACK] == (120.0, 0) and not engine._short_of_time(BLACK)
    assert ask(engine, "time_left b soon 0") == "? syntax error\n\n"
    ask(engine, "time_left b 5 0")
    assert engine._short_of_time(BLACK) and not engine._short_of_time(WHITE)
    ask(engine, "time_left b 20 25")  # byo-yomi: 25 stones in 20 s
    assert engine._short_of_time(BLACK)
    assert ask(engine, "genmove b").startswith("= ")  # still answers, with the fast settings
    assert engine.player.symmetries == 1 and engine.player.playouts == 200  # restored after


@pytest.mark.parametrize("command, times", [("gonet-policy_heatmap", 1), ("gonet-top_moves", 1), ("reg_genmove b", 1),
                                            ("lz-genmove_analyze b 1000", 2)])
def test_a_command_works_its_position_out_once(engine, work_count, command, times):
    """With search off, a heat map, top moves and a genmove compute the position's planes and
    legal mask once and run the net once; a genmove with analysis twice (the move, then the
    info line: it was three passes, the info line asking the net for its value apart)."""
    _ = engine.player  # loaded and warmed up before counting
    work_count.clear()
    assert ask(engine, command).startswith("=")
    assert work_count == {"planes": times, "legal": times, "passes": times}


def test_gogui_analysis_commands(engine):
    """GoGui: a gfx heat map whose labels never read 0, and the top moves as pairs."""
    assert "gfx/" in ask(engine, "gogui-analyze_commands")
    heat = ask(engine, "gonet-policy_heatmap")
    assert "INFLUENCE " in heat and "LABEL " in heat
    labels = [line.split()[2] for line in heat.splitlines() if line.startswith("LABEL ")]
    assert "0" not in labels
    assert len(ask(engine, "gonet-top_moves")[2:].split()) == 20


@pytest.mark.parametrize("p, label", [(0.5, "50"), (0.012, "1"), (0.0099, "<1"), (0.004, "<1"), (0.0, "<1")])
def test_percent_label(p, label):
    assert percent_label(p) == label


KEYS = {"lz": {"visits": int, "winrate": int, "prior": int, "lcb": int, "order": int},
        "kata": {"visits": int, "edgeVisits": int, "utility": float, "winrate": float, "scoreMean": float,
                 "scoreStdev": float, "scoreLead": float, "scoreSelfplay": float, "noResultValue": float,
                 "prior": float, "lcb": float, "utilityLcb": float, "weight": float, "order": int},
        "sabaki": {"visits": int, "winrate": int, "prior": int, "lcb": int, "scoreLead": float, "order": int}}
"""Each dialect's info keys in KataGo's order (Leela Zero's, with Sabaki's scoreLead)."""
ASKED = {"noResultValue"}  # only with ``noResultValue true``
ROOT_KEYS = {"visits", "utility", "winrate", "scoreMean", "scoreStdev", "scoreLead", "scoreSelfplay", "weight"}
MOVE_SECTIONS = ("pvVisits", "pvEdgeVisits", "movesOwnership", "movesOwnershipStdev")
TOP_SECTIONS = ("rootInfo", "ownership", "ownershipStdev")


def parse_info(line: str, dialect: str, size: int = 19) -> tuple[list[dict], dict]:
    """An info line by the grammar of KataGo's GTP extensions (docs/GTP_Extensions.md; Leela
    Zero's, which Sabaki's analysis guide follows): ``info move V (key value)* order K pv V*``
    with then, each only if asked and in this order, ``pvVisits`` and ``pvEdgeVisits`` (an
    integer per pv move), ``movesOwnership`` and ``movesOwnershipStdev`` (N*N floats), repeated
    per move; after the moves ``rootInfo (key value)*``, ``ownership`` and ``ownershipStdev``
    (N*N floats). Keys in KataGo's order, one space between words. Returns the moves and the
    top-level sections; raises on anything else."""
    assert line == " ".join(line.split()), "spacing"
    words, at = line.split(), 0

    def pairs(keys: dict, stop: tuple[str, ...]) -> dict:
        nonlocal at
        found = {}
        while at < len(words) and words[at] not in stop:
            key, value = words[at], words[at + 1]
            if keys[key] is int:
                assert value.lstrip("-").isdigit(), (key, value)
            found[key] = keys[key](value)
            at += 2
        assert list(found) == [k for k in keys if k in found], f"order: {list(found)}"
        return found

    def floats(low: float) -> list[float]:
        nonlocal at
        values = [float(x) for x in words[at + 1:at + 1 + size * size]]
        assert len(values) == size * size and all(low <= x <= 1 for x in values)
        at += 1 + size * size
        return values

    infos = []
    while at < len(words) and words[at] == "info":
        assert words[at + 1] == "move", words[at:at + 2]
        info = {"move": words[at + 2]}
        vertex_to_idx(info["move"], size)
        at += 3
        info |= pairs(KEYS[dialect], ("pv",))
        assert set(KEYS[dialect]) - ASKED <= set(info), set(KEYS[dialect]) - set(info)
        top = 10000 if dialect != "kata" else 1
        assert all(0 <= info[k] <= top for k in ("winrate", "prior", "lcb"))
        at += 1
        pv = []
        while at < len(words) and words[at] not in ("info", *MOVE_SECTIONS, *TOP_SECTIONS):
            vertex_to_idx(words[at], size)
            pv.append(words[at])
            at += 1
        assert pv and pv[0] == info["move"]
        info["pv"] = pv
        for section in MOVE_SECTIONS:
            if at < len(words) and words[at] == section:
                if section.startswith("pv"):
                    info[section] = [int(x) for x in words[at + 1:at + 1 + len(pv)]]
                    at += 1 + len(pv)
                else:
                    info[section] = floats(-1.0 if section == "movesOwnership" else 0.0)
        infos.append(info)
    assert infos and [info["order"] for info in infos] == list(range(len(infos)))
    sections = {}
    if at < len(words) and words[at] == "rootInfo":
        at += 1
        sections["rootInfo"] = pairs({k: v for k, v in KEYS[dialect].items() if k in ROOT_KEYS}, TOP_SECTIONS)
    for section in TOP_SECTIONS[1:]:
        if at < len(words) and words[at] == section:
            sections[section] = floats(-1.0 if section == "ownership" else 0.0)
    assert at == len(words), words[at:at + 3]
    return infos, sections


def slow_input(*steps):
    """stdin for run(): strings are lines, numbers are pauses in seconds before the next line,
    callables are waited for (until true, at most 60 s: a loaded CI box is slow)."""
    for step in steps:
        if isinstance(step, str):
            yield step + "\n"
        elif callable(step):
            start = time.perf_counter()
            while not step() and time.perf_counter() - start < 60:
                time.sleep(0.02)
        else:
            time.sleep(step)


def info_lines(out: io.StringIO, count: int):
    """A wait condition: ``count`` info lines written so far."""
    return lambda: out.getvalue().count("\ninfo ") >= count


@pytest.mark.parametrize("command, dialect", [("lz-analyze b 10", "lz"), ("analyze b interval 10", "sabaki"),
                                              ("kata-analyze 10 ownership true maxmoves 5", "kata")])
def test_analysis_streams_until_the_next_command(searching, command, dialect):
    """An analysis command answers ``=`` and streams info lines (parsed by the grammar) at the
    interval while the search grows, until the next command: then a blank line ends it and the
    next command is answered. Whose turn it is does not change."""
    ask(searching, "play b D4")
    out = io.StringIO()
    searching.run(slow_input(f"1 {command}", info_lines(out, 3), "2 name", "3 quit"), out)
    text = out.getvalue()
    head, rest = text.split("\n", 1)
    assert head == "=1"
    stream, after = rest.split("\n\n", 1)
    assert after == "=2 gonet\n\n=3\n\n"
    lines = stream.splitlines()
    assert len(lines) >= 3
    parsed = [parse_info(line, dialect) for line in lines]
    infos, sections = parsed[-1]
    assert ("ownership" in sections) == (dialect == "kata")
    assert sum(i["visits"] for i in parsed[-1][0]) >= sum(i["visits"] for i in parsed[0][0])  # it searched on
    if dialect == "kata":
        assert len(infos) <= 5
    assert searching.game.to_move == WHITE and searching.game.move_number == 1


def test_analysis_of_the_other_colour_keeps_the_turn(searching):
    """``lz-analyze w`` while Black is to move searches for White but leaves Black to move."""
    out = io.StringIO()
    searching.run(slow_input("lz-analyze w 5", info_lines(out, 1), "quit"), out)
    assert searching.game.to_move == BLACK and searching.game.move_number == 0
    assert "info move " in out.getvalue()


def test_minmoves_lists_unvisited_moves(searching):
    """minmoves N reports at least N moves, unvisited ones (visits 0) by prior."""
    out = io.StringIO()
    searching.run(slow_input("kata-analyze b 20 minmoves 30", info_lines(out, 1), "quit"), out)
    infos, _ = parse_info(out.getvalue().splitlines()[1], "kata")
    assert len(infos) >= 30 and infos[-1]["visits"] == 0


@pytest.mark.parametrize("command, dialect", [("lz-genmove_analyze b 5", "lz"), ("genmove_analyze b 5", "sabaki"),
                                              ("kata-genmove_analyze b 5 ownership true", "kata")])
def test_genmove_analyze_ends_with_play(searching, command, dialect):
    """genmove_analyze: info lines, then ``play <vertex>``; the move is played."""
    lines = ask(searching, command).rstrip("\n").splitlines()
    assert lines[0] == "=" and lines[-1].startswith("play ")
    parse_info(lines[-2], dialect)
    vertex = lines[-1].split()[1]
    assert searching.game.move_number == 1 and searching.game.board.colour_at(vertex_to_idx(vertex, 19)) == BLACK


def test_analysis_without_search_shows_the_policy(engine):
    """Search off: visits in proportion to the prior (so heat maps show the policy)."""
    out = io.StringIO()
    engine.run(slow_input("lz-analyze b 5", info_lines(out, 1), "quit"), out)
    infos, _ = parse_info(out.getvalue().splitlines()[1], "lz")
    assert len(infos) > 10
    for info in infos:
        assert abs(info["visits"] - info["prior"] / 10) <= 1


def test_analysis_lines_report_new_search_when_a_batch_outlasts_the_interval(searching, monkeypatch):
    """A search batch longer than the interval (a loaded box; Lizzie asks for 10 cs) delays the
    next line instead of a burst of identical lines to catch up (88% of Lizzie's lines were
    repeats before): lines follow fresh visits."""
    tree = searching.player.tree
    step = tree._step

    def slow_step(*args):
        time.sleep(0.3)  # six intervals of 5 cs
        return step(*args)

    monkeypatch.setattr(tree, "_step", slow_step)
    out = io.StringIO()
    searching.run(slow_input("1 lz-analyze b 5", info_lines(out, 8), "2 quit"), out)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("info ")]
    repeats = sum(a == b for a, b in zip(lines, lines[1:]))
    assert len(lines) >= 8 and repeats <= len(lines) // 4, (repeats, len(lines))


def test_genmove_analyze_lines_are_an_interval_apart_after_a_slow_step(model, monkeypatch):
    """After a slow first batch, genmove_analyze's info lines stay an interval apart: they
    used to be scheduled ``due += interval`` and burst one line per batch to catch up."""
    engine = GtpEngine(str(model), seed=1, search=SearchSettings(seconds=1.0))
    tree = engine.player.tree
    step, calls, written = tree._step, [], []

    def uneven_step(*args):
        """The first batch (the root's) outlasts six intervals; later ones are quick no-ops."""
        calls.append(1)
        time.sleep(0.6 if len(calls) == 1 else 0.01)
        return step(*args) if len(calls) == 1 else None

    info_line = engine._info_line
    monkeypatch.setattr(tree, "_step", uneven_step)
    monkeypatch.setattr(engine, "_info_line", lambda a: written.append(time.perf_counter()) or info_line(a))
    assert ask(engine, "lz-genmove_analyze b 10").rstrip().splitlines()[-1].startswith("play ")
    gaps = [b - a for a, b in itertools.pairwise(written[:-1])]  # the last line is the final tree's
    assert len(calls) > 10 and gaps and min(gaps) >= 0.1, gaps


EVERY_OPTION = ("rootInfo true pvVisits true pvEdgeVisits true ownership true ownershipStdev true "
                "movesOwnership true movesOwnershipStdev true noResultValue true")


def last_info_line(engine: GtpEngine, command: str, visits: int = 1) -> str:
    """The last info line streamed once the best move has ``visits`` (a loaded box is slow)."""
    out = io.StringIO()

    def searched() -> bool:
        found = re.findall(r"^info move \S+ visits (\d+)", out.getvalue(), re.MULTILINE)
        return bool(found) and int(found[-1]) >= visits

    engine.run(slow_input(command, searched), out)  # the end of input ends the analysis
    return [line for line in out.getvalue().splitlines() if line.startswith("info ")][-1]


def test_kata_analyze_honours_katagos_options(searching):
    """Every true/false option of KataGo's kata-analyze, in its grammar: pvVisits (= pvEdgeVisits
    in a tree) are the visits along each pv, falling from the move's own; noResultValue is 0;
    rootInfo holds at least the moves' visits and KataGo's utility; the ownership spread is
    real, and an unvisited move (minmoves) has no ownership of its own."""
    ask(searching, "play b D4")
    infos, sections = parse_info(last_info_line(searching, f"kata-analyze 5 {EVERY_OPTION} minmoves 40", 4), "kata")
    for i in infos:
        assert i["pvVisits"] == i["pvEdgeVisits"] and i["pvVisits"][0] == i["visits"] == i["edgeVisits"] == i["weight"]
        assert i["pvVisits"] == sorted(i["pvVisits"], reverse=True) and i["noResultValue"] == 0
        assert i["scoreMean"] == i["scoreLead"] == i["scoreSelfplay"]
        assert i["utilityLcb"] == pytest.approx(2 * i["lcb"] - 1, abs=1e-5)
    assert infos[0]["visits"] > 0 and any(infos[0]["movesOwnership"]) and any(infos[0]["movesOwnershipStdev"])
    assert infos[-1]["visits"] == 0 and not any(infos[-1]["movesOwnership"] + infos[-1]["movesOwnershipStdev"])
    root = sections["rootInfo"]
    assert set(root) == ROOT_KEYS and root["visits"] > sum(i["visits"] for i in infos)
    assert root["utility"] == pytest.approx(2 * root["winrate"] - 1, abs=1e-5) and 0 <= root["winrate"] <= 1
    assert max(sections["ownershipStdev"]) > 0 and any(sections["ownership"])


@pytest.mark.parametrize("dialect, command", [("lz", "lz-analyze"), ("sabaki", "analyze")])
def test_other_dialects_accept_katagos_options(searching, dialect, command):
    """lz-analyze and analyze take KataGo's options too (a GUI never gets an error for them)
    and print the sections in KataGo's grammar with their own numbers."""
    infos, sections = parse_info(last_info_line(searching, f"{command} b 5 {EVERY_OPTION}"), dialect)
    assert all(i["pvVisits"][0] == i["visits"] for i in infos) and "noResultValue" not in infos[0]
    assert set(sections) == {"rootInfo", "ownership", "ownershipStdev"}


def test_analysis_options_without_search(engine):
    """The raw policy: visits in proportion to the prior (1000 at the root), the ownership and its
    spread from single random playouts, no ownership for moves (nothing was searched below them)."""
    infos, sections = parse_info(last_info_line(engine, f"kata-analyze b 5 {EVERY_OPTION}"), "kata")
    assert sections["rootInfo"]["visits"] == 1000 and max(sections["ownershipStdev"]) > 0
    assert all(i["pvVisits"] == [i["visits"]] and not any(i["movesOwnership"]) for i in infos)


@pytest.mark.parametrize("line, check", [
    ("kata-analyze b 50 pvVisits TRUE rootInfo False", lambda a: a.show == {"pvVisits"} and a.interval == 0.5),
    ("kata-analyze 2.5 interval 20", lambda a: a.interval == 0.2),
    ("lz-analyze b interval 10 minmoves 0 maxmoves 0", lambda a: a.min_moves == a.max_moves == 0),
    ("lz-analyze w 10 avoid b D4,Q16 1 avoid black pass 3",
     lambda a: a.avoid[0, [vertex_to_idx("D4", 19), vertex_to_idx("Q16", 19), 361]].tolist() == [1, 1, 3]),
    ("analyze b 10 allow w D4,,Q16 2 avoid b D16 1",
     lambda a: (a.avoid[1] > 0).sum() == 360 and a.avoid[1, vertex_to_idx("D4", 19)] == 0 and a.avoid[0].sum() == 1),
])
def test_analysis_options_in_katagos_syntax(searching, line, check):
    """KataGo's value syntax: true/false in any case, decimal intervals, avoid/allow with a
    colour, a comma-separated vertex list (empty pieces skipped, pass allowed) and a depth."""
    assert ask(searching, line) == "=\n\n" and check(searching._analysis)


@pytest.mark.parametrize("options", ["allow b D4 1 allow b Q16 1", "avoid b D4 1 allow b Q16 1",
                                     "allow b D4 1 avoid b Q16 1", "avoid b D4 0", "avoid b Z99 1", "avoid b D4",
                                     "avoid x D4 1", "pvVisits maybe", "minmoves -1", "interval nan", "rootInfo",
                                     "interval 1e2"])
def test_analysis_options_outside_katagos_syntax_are_refused(searching, options):
    """One allow a colour and no avoid beside it, depths from 1, vertices of this board, true or
    false, plain non-negative numbers, a value for every key: else ``syntax error``, no change."""
    before = state_of(searching)
    assert ask(searching, f"kata-analyze b 10 {options}") == "? syntax error\n\n"
    assert state_of(searching) == before


@pytest.mark.parametrize("fixture", ["searching", "engine"])
def test_avoid_and_allow_keep_moves_out_of_analysis_and_play(fixture, request):
    """allow: only the allowed moves are reported (minmoves cannot add others) and played, with
    search or without; avoid: the moves the analysis liked best are no longer reported."""
    engine = request.getfixturevalue(fixture)
    allowed = {"C3", "Q4", "K10"}
    infos, _ = parse_info(last_info_line(engine, f"lz-analyze b 5 allow b {','.join(allowed)} 1 minmoves 10"), "lz")
    assert {i["move"] for i in infos} <= allowed
    liked = [i["move"] for i in parse_info(last_info_line(engine, "lz-analyze b 5"), "lz")[0][:3]]
    infos, _ = parse_info(last_info_line(engine, f"lz-analyze b 5 avoid b {','.join(liked)} 1"), "lz")
    assert not {i["move"] for i in infos} & set(liked)
    answer = ask(engine, "kata-genmove_analyze b 5 allow b K10 1").rstrip().splitlines()
    assert answer[-1] == "play K10" and engine.game.move_number == 1


def test_analysis_arguments_are_checked(searching):
    assert ask(searching, "lz-analyze b 10 bogus 3") == "? syntax error\n\n"
    assert ask(searching, "kata-analyze b ownership maybe") == "? syntax error\n\n"
    assert ask(searching, "lz-genmove_analyze 10") == "? syntax error\n\n"
    assert searching._analysis is None and searching.game.move_number == 0


def test_search_keeps_its_tree_between_genmoves(searching):
    """genmove, the opponent's reply, genmove: the second search starts with visits."""
    ask(searching, "genmove b")
    tree = searching.player.tree
    reply = tree._best_child(0)
    ask(searching, f"play w {idx_to_vertex(int(tree.links[MOVE, reply]), 19)}")
    kept = int(tree.links[VISITS, reply])
    searching.player.tree.run(searching.game, visits=1)
    assert tree.root_visits == kept >= 1


@pytest.mark.parametrize("settings, left, expected", [
    ((0, 0, 0), None, None),                   # no clock: the settings decide
    ((300, 0, 0), None, 0.8 * 300 / 126.35),   # main time only, nothing spent yet
    ((0, 30, 5), (30.0, 5), 0.8 * 6),          # byo-yomi: 5 stones in 30 s
    ((60, 30, 5), (2.0, 0), 0.8 * (2 / 126.35 + 6)),  # main time nearly gone, byo-yomi to come
    ((0, 10, 0), None, None),                  # GTP: byo-yomi time without stones = no limit
])
def test_time_per_move_from_the_clock(model, settings, left, expected):
    engine = GtpEngine(str(model), search=SearchSettings(seconds=10.0))
    ask(engine, "time_settings {} {} {}".format(*settings))
    if left:
        ask(engine, "time_left b {} {}".format(*left))
    seconds = engine._move_seconds(BLACK)
    assert seconds == expected if expected is None else abs(seconds - expected) < 1e-6


def test_run_loop_over_streams(model):
    """The stdin/stdout loop: an open lz-analyze is closed by the next command; quit ends it."""
    out = io.StringIO()
    GtpEngine(str(model)).run(io.StringIO("1 lz-analyze b 10\n2 name\n3 quit\n4 name\n"), out)
    text = out.getvalue()
    assert text.startswith("=1\n")
    assert text.endswith("\n\n=2 gonet\n\n=3\n\n")


def test_engine_starts_answering_fast(model):
    """Start-up to the first answer is quick: the model loads in the background. Under a
    strict UTF-8 stdin a non-UTF-8 byte is one unknown command, not the engine's end."""
    start = time.perf_counter()
    proc = gtp_process("--model", str(model), env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"})
    proc.stdin.write(b"protocol_version\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == b"= 2\n"
    elapsed = time.perf_counter() - start
    proc.stdin.write(b"\xe9t\xe9\nquit\n")
    proc.stdin.flush()
    assert proc.wait(timeout=30) == 0
    assert proc.stdout.read() == b"\n? unknown command\n\n=\n\n"
    assert elapsed < 10  # generous for a loaded CI box; typically well under 2 s
    proc.stdin.close()


@pytest.fixture(scope="module")
def nan_model(model, tmp_path_factory):
    """A well-formed model file (valid CRCs and checksum) whose weights hold NaN: only the
    full load in the background finds it."""
    blob = torch.load(model, weights_only=True)
    state = {**blob["state_dict"], "point_bias": torch.full_like(blob["state_dict"]["point_bias"], float("nan"))}
    path = tmp_path_factory.mktemp("nan") / "nan.pt"
    torch.save({**blob, "state_dict": state, "sha256": content_checksum(state)}, path)
    return path


def test_damaged_model_is_refused_at_construction(tmp_path, model):
    """Missing, garbage and byte-flipped files: ModelFileError at once, in one line."""
    flipped = bytearray(model.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    (tmp_path / "flipped.pt").write_bytes(bytes(flipped))
    (tmp_path / "garbage.pt").write_bytes(b"not a model")
    for name, message in [("missing.pt", "no such model file"), ("garbage.pt", "not a readable model file"),
                          ("flipped.pt", "CRC mismatch")]:
        with pytest.raises(ModelFileError, match=message) as error:
            GtpEngine(str(tmp_path / name))
        assert "\n" not in str(error.value)


def gtp_process(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gonet", "gtp", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


@pytest.mark.parametrize("kind", ["missing", "nan"])
def test_gonet_gtp_with_a_bad_model_exits_with_one_line(kind, tmp_path, nan_model):
    """`gonet gtp --model BAD` ends by itself (stdin left open, as a GUI does) with exit
    status 2, one line on stderr and nothing on stdout: a missing file before the first
    answer, NaN weights as soon as the background load fails."""
    path = tmp_path / "missing.pt" if kind == "missing" else nan_model
    proc = gtp_process("--model", str(path))
    try:
        assert proc.wait(timeout=60) == 2
    finally:
        proc.kill()
    err = proc.stderr.read().decode()
    assert err.count("\n") == 1 and err.startswith("gonet gtp: ") and str(path) in err, err
    assert proc.stdout.read() == b""
    proc.stdin.close()


def test_failing_model_load_answers_one_line_and_changes_nothing(nan_model):
    """In a library engine a failed load is every model command's error; genmove,
    lz-analyze and the rest fail without changing the side to move (or anything else)."""
    engine = GtpEngine(str(nan_model))
    assert ask(engine, "name") == "= gonet\n\n" and ask(engine, "play b D4") == "=\n\n"
    before = state_of(engine)
    for line in ("genmove b", "lz-analyze b 10", "lz-genmove_analyze b", "analyze b", "reg_genmove b",
                 "kgs-genmove_cleanup b", "final_score", "gonet-top_moves"):
        answer = ask(engine, line)
        assert re.fullmatch(r"\? cannot load the model: .*NaN.*\n\n", answer), (line, answer)
        assert state_of(engine) == before, line
    assert engine.game.to_move == WHITE


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_a_gpu_is_a_one_line_model_error(model):
    engine = GtpEngine(NetOptions(str(model), device="cuda"))
    assert ask(engine, "genmove b") == "? cannot load the model: device 'cuda': no CUDA GPU is available here; " \
                                       "use --device cpu\n\n"


def test_protocol_is_answered_at_once_while_the_model_loads(model, monkeypatch, tmp_path):
    """boardsize, name, clear_board, komi, play, loadsgf ... do not wait for the model."""
    import gonet.policy

    loading = threading.Event()
    real = gonet.policy.load_policy

    def slow_load(*args, **kwargs):
        loading.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(gonet.policy, "load_policy", slow_load)
    engine = GtpEngine(str(model))
    sgf = tmp_path / "g.sgf"
    sgf.write_text("(;GM[1]SZ[19];B[pd])")
    try:
        for line, answer in [("protocol_version", "= 2"), ("name", "= gonet"), ("boardsize 19", "="),
                             ("boardsize 26", "? unacceptable size"), ("clear_board", "="), ("komi 6.5", "="),
                             ("play b D4", "="), ("undo", "="), (f"loadsgf {sgf}", "= white"),
                             ("fixed_handicap 2", "? board not empty"), ("list_commands", "= ")]:
            assert ask(engine, line).startswith(answer), line
        assert not loading.is_set() and engine._load.is_alive()
    finally:
        loading.set()
    assert ask(engine, "genmove w").startswith("= ")


def state_of(engine) -> tuple:
    """Everything a GTP command can change, as a comparable value."""
    g = engine.game
    return (g.board.state.tobytes(), g.size, g.to_move, g.move_number, g.komi, engine.komi, g.handicap,
            len(g.setup), sorted(engine.time_left.items()), engine.time_settings, engine._analysis)


def test_non_finite_and_odd_numbers_are_syntax_errors(engine):
    """komi nan/inf (printsgf failed after them), time_left inf, and ints that Python's
    int() takes but GTP does not ("1_9", other scripts' digits) are refused."""
    before = state_of(engine)
    for line in ("komi nan", "komi inf", "komi -inf", "time_left b inf 0", "time_left b nan 0",
                 "boardsize 1_9", "boardsize \u0661\u0669", "fixed_handicap 0x3"):
        assert ask(engine, line) == "? syntax error\n\n", line
    assert state_of(engine) == before
    assert ask(engine, "komi 1e300") == "=\n\n" and ask(engine, "printsgf").startswith("= (;")
    assert ask(engine, "komi -6.5") == "=\n\n" and "KM[-6.5]" in ask(engine, "printsgf")


def test_input_is_read_as_bytes_and_never_fails_to_decode(model, tmp_path):
    """Non-UTF-8 bytes on stdin do not end the engine; a latin-1 file name still opens."""
    name = os.fsdecode(bytes(tmp_path) + b"/partie-\xe9t\xe9.sgf")  # latin-1 bytes, not UTF-8
    Path(name).write_text("(;GM[1]SZ[19];B[pd];W[dp])")
    stdin = io.BytesIO(b"1 known_command \xff\xfe\n2 loadsgf " + os.fsencode(name) + b"\n\xc3\x28 bad\n3 quit\n")
    out = io.StringIO()
    GtpEngine(str(model)).run(stdin, out)
    assert out.getvalue() == "=1 false\n\n=2 black\n\n? unknown command\n\n=3\n\n"


def test_loadsgf_and_printsgf_refuse_devices_folders_and_huge_files(engine, tmp_path):
    """loadsgf /dev/zero would never end and /dev/stdin would eat the protocol; printsgf
    /dev/stdout would write the SGF into it: all refused, the state unchanged."""
    huge = tmp_path / "huge.sgf"
    with huge.open("wb") as f:
        f.truncate((16 << 20) + 1)
    before = state_of(engine)
    for line, error in [("loadsgf /dev/zero", "cannot open file"), ("loadsgf /dev/stdin", "cannot open file"),
                        (f"loadsgf {tmp_path}", "cannot open file"),
                        (f"loadsgf {huge}", "cannot load file: over 16 MB"),
                        ("printsgf /dev/stdout", "cannot write file"), (f"printsgf {tmp_path}", "cannot write file")]:
        assert ask(engine, line) == f"? {error}\n\n", line
    assert state_of(engine) == before


def test_place_free_handicap_many_stones_is_quick(engine, monkeypatch):
    """300 free handicap stones: distinct points in 4 net calls (was one per stone: 48 s)."""
    calls = []
    real = engine.player.move_probabilities
    monkeypatch.setattr(engine.player, "move_probabilities", lambda g: calls.append(1) or real(g))
    stones = ask(engine, "place_free_handicap 300")[2:].split()
    assert len(stones) == 300 == len(set(stones)) and len(calls) == 4
    assert engine.game.handicap == 300 and engine.game.to_move == WHITE
    ask(engine, "clear_board")
    assert ask(engine, "place_free_handicap 361") == "? invalid number of stones\n\n"
    assert len(ask(engine, "place_free_handicap 360")[2:].split()) == 360


def test_wilson_interval():
    low, high = wilson_interval(5, 10)
    assert round(low, 3) == 0.237 and round(high, 3) == 0.763


@pytest.mark.skipif(GNUGO is None, reason="gnugo not installed (apt-get install gnugo)")
def test_game_against_gnugo_finishes_scored(model, tmp_path):
    """gonet (tiny net, the search at 2 visits a move) against GnuGo level 0 on 19x19: a legal game
    to the end, scored by GnuGo."""
    ours = GtpProcess(f"{sys.executable} -m gonet gtp --model {model} --visits 2 --time 0", "gonet")
    gnugo = GtpProcess(f"{GNUGO} --mode gtp --level 0", "gnugo")
    try:
        result = play_game(ours, gnugo, size=19, komi=7.5, max_moves=500)
    finally:
        ours.close()
        gnugo.close()
    assert result.result[:2] in ("B+", "W+") and result.moves > 20
    assert "F" not in result.result.split("+")[1]  # nobody forfeited by an illegal move
    assert result.sgf.startswith("(;FF[4]")


@pytest.fixture(scope="module")
def fuzz_engine(model, tmp_path_factory):
    """One engine for all fuzz examples, so state carries over between them, and the folder
    it works in (printsgf and loadsgf get only relative names there)."""
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "g.sgf").write_text("(;GM[1]SZ[19]KM[6.5];B[pd];W[dp];B[pp])")
    engine = GtpEngine(str(model), seed=0)
    engine.player.playouts = 20  # scoring and passing decisions: fewer playouts, same code paths
    return engine, folder


ARGUMENTS = st.one_of(
    st.sampled_from("b w black white B x D4 Q16 T19 A1 pass PASS I5 Z99 A0 a20 resign dead alive seki true 0 1 2 "
                    "3 9 19 -1 300 361 1e999 1_9 0x10 nan inf -inf 7.5 -0 g.sgf out.sgf . # \u0661".split()),
    st.integers(-10**20, 10**20).map(str),
    st.floats().map(repr),
    # no paths outside the folder; no lone surrogates, which a real byte stream cannot carry
    st.text(st.characters(blacklist_characters="/\\", blacklist_categories=("Cs",)), max_size=8),
)


def framing_problem(response: str) -> str | None:
    """What is wrong with one response's framing, or None: ``=``/``?``, an optional id,
    no blank line before the final one, errors in one line and never internal."""
    if not response.endswith("\n\n") or "\n\n" in response[:-2]:
        return "blank lines"
    if not re.match(r"[=?]\d*( |\n|$)", response):
        return "no = or ?"
    if response.startswith("?") and ("\n" in response[:-2] or "internal error" in response):
        return "error not one line, or internal"
    return None


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_command_lines_are_answered_in_protocol(fuzz_engine, data):
    """Random and mutated command lines (known and unknown commands, odd numbers, control
    characters, non-UTF-8 bytes): every answer is framed, every error one line and never
    internal, and a failing command leaves the engine's state as it was."""
    engine, folder = fuzz_engine
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        send_fuzzed_lines(engine, data)
    finally:
        os.chdir(cwd)


def send_fuzzed_lines(engine: GtpEngine, data) -> None:
    for _ in range(data.draw(st.integers(1, 4))):
        name = data.draw(st.sampled_from(sorted(engine.commands) + ["fly", "GENMOVE", "play\x00"]))
        words = [name] + data.draw(st.lists(ARGUMENTS, max_size=4))
        prefix = data.draw(st.sampled_from(["", "7 ", " 12\t", "x "]))
        raw = (prefix + " ".join(words)).encode("utf-8", "surrogateescape")
        cut = data.draw(st.integers(0, len(raw)))
        raw = raw[:cut] + data.draw(st.binary(max_size=3)) + raw[cut:]
        for line in protocol_lines(io.BytesIO(raw.replace(b"\n", b" ") + b"\n")):
            before = state_of(engine)
            response = engine.handle(line)
            if response is None:
                continue
            assert framing_problem(response) is None, (line, response)
            if response.startswith("?"):
                assert state_of(engine) == before, (line, response)


def test_match_client_times_out_and_refuses_non_gtp_output():
    """`gonet match --opponent cat` used to wait forever: an echo is refused at once as not
    GTP, and an engine that never answers is killed after the response timeout."""
    echo = GtpProcess("cat", timeout=30)
    start = time.perf_counter()
    with pytest.raises(EngineError, match="not a GTP response to 'boardsize 19'"):
        echo.send("boardsize 19")
    assert time.perf_counter() - start < 10
    echo.close()
    silent = GtpProcess("sleep 60", timeout=0.5)
    start = time.perf_counter()
    with pytest.raises(EngineError, match="no answer to 'name' within 0.5 s"):
        silent.send("name")
    assert time.perf_counter() - start < 10 and silent.proc.wait(timeout=10) != 0
    silent.close()


@pytest.mark.parametrize("threads", [1, None])
def test_threads_are_set_before_the_net_loads(model, monkeypatch, threads):
    """``--threads N`` sets torch's intra-op threads in the loading thread before the net
    loads (2 threads ran ~3x slower than 1 on a busy 2-core box); None keeps torch's default."""
    import gonet.policy

    events = []
    load_net = gonet.policy.load_net
    monkeypatch.setattr(torch, "set_num_threads", lambda n: events.append(("threads", n)))
    monkeypatch.setattr(gonet.policy, "load_net", lambda *a: events.append(("load",)) or load_net(*a))
    assert GtpEngine(NetOptions(str(model), threads=threads)).player is not None
    assert events == ([("threads", threads)] if threads else []) + [("load",)]
