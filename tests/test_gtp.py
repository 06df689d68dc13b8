"""GTP engine: a scripted session over every command and error path; a game against GnuGo."""

import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gonet.coords import BLACK, WHITE, idx_to_vertex, vertex_to_idx
from gonet.gtp import GTP_VERSION, GtpEngine, clean_line, percent_label
from gonet.match import GtpProcess, play_game, wilson_interval
from gonet.nets import PolicyConfig, PolicyNet
from gonet.policy import save_model
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
                        ("komi seven", "syntax error"), ("boardsize 13", "unacceptable size"),
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
    assert ask(engine, "set_free_handicap C3 Q17") == "=\n\n"
    assert engine.game.board.colour_at(vertex_to_idx("C3", 19)) == BLACK
    ask(engine, "clear_board")
    stones = ask(engine, "place_free_handicap 11")[2:].split()
    assert len(stones) == 11 and len(set(stones)) == 11
    assert stones[:9] == "D4 Q16 D16 Q4 D10 Q10 K4 K16 K10".split()


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
        "kata": {"visits": int, "utility": float, "winrate": float, "scoreMean": float, "scoreStdev": float,
                 "scoreLead": float, "prior": float, "lcb": float, "order": int},
        "sabaki": {"visits": int, "winrate": int, "prior": int, "lcb": int, "scoreLead": float, "order": int}}


def parse_info(line: str, dialect: str, size: int = 19) -> tuple[list[dict], list[float] | None]:
    """An info line by the grammar of KataGo's GTP extensions (and Leela Zero's, which Sabaki's
    analysis guide follows): ``info move V (key value)* pv V+`` repeated, then optionally
    ``ownership`` and N*N floats. Raises on anything else; checks each number's format."""
    words = line.split()
    ownership = None
    if "ownership" in words:
        at = words.index("ownership")
        ownership = [float(x) for x in words[at + 1:]]
        assert len(ownership) == size * size and all(-1 <= x <= 1 for x in ownership)
        words = words[:at]
    infos, i = [], 0
    while i < len(words):
        assert words[i] == "info" and words[i + 1] == "move", words[i:i + 2]
        info = {"move": words[i + 2]}
        vertex_to_idx(info["move"], size)
        i += 3
        while words[i] != "pv":
            key, value = words[i], words[i + 1]
            kind = KEYS[dialect][key]
            if kind is int:
                assert value.lstrip("-").isdigit(), (key, value)
            info[key] = kind(value)
            i += 2
        pv = []
        i += 1
        while i < len(words) and words[i] != "info":
            pv.append(words[i])
            vertex_to_idx(words[i], size)
            i += 1
        assert pv and pv[0] == info["move"]
        assert set(KEYS[dialect]) <= set(info), set(KEYS[dialect]) - set(info)
        top = 10000 if dialect != "kata" else 1
        assert all(0 <= info[k] <= top for k in ("winrate", "prior", "lcb"))
        infos.append(info)
    assert [info["order"] for info in infos] == list(range(len(infos)))
    return infos, ownership


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
    infos, ownership = parsed[-1]
    assert (ownership is not None) == (dialect == "kata")
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
    """Start-up to the first answer is quick: the model loads in the background."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "gonet", "gtp", "--model", str(model)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdin.write("protocol_version\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == "= 2\n"
    elapsed = time.perf_counter() - start
    proc.stdin.write("quit\n")
    proc.stdin.flush()
    assert proc.wait(timeout=30) == 0
    assert proc.stdout.read() == "\n=\n\n"
    assert elapsed < 10  # generous for a loaded CI box; typically well under 2 s
    proc.stdin.close()


def test_corrupt_model_is_reported_as_gtp_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    engine = GtpEngine(str(bad))
    assert ask(engine, "name") == "= gonet\n\n"
    assert ask(engine, "genmove b").startswith("? cannot load the model")


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
