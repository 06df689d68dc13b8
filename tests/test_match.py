"""``gonet match``: openings that keep deterministic engines from replaying one game, and
a cut-off match that resumes from the games it finished."""

import json
import sys

import pytest

from gonet.coords import BLACK, WHITE, vertex_to_idx
from gonet.match import read_openings, run_match
from gonet.sgf import parse_game

RECORDS = {
    "a.sgf": "(;GM[1]SZ[19]KM[7.5];B[pd];W[dp];B[pq];W[dd];B[fc])",
    "b.sgf": "(;GM[1]SZ[19]AB[dd]AB[pp];W[pd];B[dp];W[qf])",  # setup stones: not an opening
    "c.sgf": "(;GM[1]SZ[19];B[pd];W[];B[dp];W[qf])",          # a pass among the moves
    "d.sgf": "(;GM[1]SZ[19];B[pd];W[dp])",                    # too short
    "e.sgf": "(;GM[1]SZ[19];B[pd];W[dp];B[pq];W[dd];B[cf])",  # the same first four as a.sgf
    "f.sgf": "(;GM[1]SZ[19];B[qd];W[dc];B[pq];W[oc];B[cp])",
}


@pytest.fixture
def records(tmp_path):
    for name, text in RECORDS.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_openings_are_distinct_prefixes_of_usable_records(records):
    openings = read_openings(records, 2, 4)
    first = [(BLACK, vertex_to_idx("Q16", 19)), (WHITE, vertex_to_idx("D4", 19)),
             (BLACK, vertex_to_idx("Q3", 19)), (WHITE, vertex_to_idx("D16", 19))]
    assert openings[0] == first and openings[1][0] == (BLACK, vertex_to_idx("R16", 19))
    with pytest.raises(ValueError, match="2 usable openings of 4 moves, 3 needed"):
        read_openings(records, 3, 4)


def engine(model, extra=""):
    return f"{sys.executable} -m gonet gtp --model {model} --no-search --resign-winrate 0 {extra}"


def test_each_pair_of_games_starts_from_its_opening_and_a_rerun_resumes(tiny_model, records, tmp_path):
    """Two greedy engines play game pairs from two openings, colours swapped; the SGFs start
    with those moves. Run again with more games, the finished ones are read back: the engine
    command of the rerun cannot start, so only the new game may need it."""
    openings = read_openings(records, 2, 4)
    out = tmp_path / "out"
    first = run_match(engine(tiny_model), engine(tiny_model), 3, out, names=("a", "b"), openings=openings, parallel=3,
                      max_moves=30)
    assert first["games"] == 3
    for i, opening in enumerate([openings[0], openings[0], openings[1]]):
        record = parse_game((out / f"game-{i:03d}.sgf").read_bytes())
        assert record.moves[:4] == opening and len(record.moves) > 4
    names = [json.loads((out / f"game-{i:03d}.json").read_text())["black"] for i in range(3)]
    assert names == ["a", "b", "a"]
    again = run_match("false", "false", 3, out, names=("a", "b"), openings=openings)
    assert again == first


CRASHER = """
import sys
for line in sys.stdin:
    if line.startswith("genmove"):
        sys.exit(1)  # a crash at its first move
    print("= \\n", flush=True)
"""


def test_an_engine_that_exits_mid_game_forfeits_it_and_the_match_goes_on(tiny_model, tmp_path):
    """GnuGo 3.8 crashed in a genmove of a 50-game match, which used to stop the match. Now
    the engine that exits loses that game by forfeit (B+F / W+F), the SGF keeps the moves
    played, and the next game starts with fresh engines."""
    crasher = tmp_path / "crasher.py"
    crasher.write_text(CRASHER)
    out = tmp_path / "out"
    summary = run_match(engine(tiny_model), f"{sys.executable} {crasher}", 2, out, names=("a", "crash"),
                        max_moves=30)
    assert summary["results"] == ["B+F", "W+F"] and summary["wins"] == {"a": 2, "crash": 0}
    record = parse_game((out / "game-000.sgf").read_bytes())
    assert len(record.moves) == 1 and record.result == "B+F"  # Black's move; then White's engine died
    assert len(parse_game((out / "game-001.sgf").read_bytes()).moves) == 0
