"""Game: turns, handicap placement, positional superko, undo, scoring, records."""

import numpy as np
import pytest

from gonet.coords import BLACK, WHITE, idx_to_vertex, vertex_to_idx
from gonet.game import Game, IllegalMove, check_record, fixed_handicap_points, margin, max_fixed_handicap
from gonet.sgf import GameRecord


def vertices(points, size=19):
    return [idx_to_vertex(p, size) for p in points]


@pytest.mark.parametrize("stones, expected", [
    (2, "D4 Q16"),
    (3, "D4 Q16 D16"),
    (4, "D4 Q16 D16 Q4"),
    (5, "D4 Q16 D16 Q4 K10"),
    (6, "D4 Q16 D16 Q4 D10 Q10"),
    (7, "D4 Q16 D16 Q4 D10 Q10 K10"),
    (8, "D4 Q16 D16 Q4 D10 Q10 K4 K16"),
    (9, "D4 Q16 D16 Q4 D10 Q10 K4 K16 K10"),
])
def test_fixed_handicap_19(stones, expected):
    """GTP spec fixed handicap points on 19x19, in the spec's order."""
    assert vertices(fixed_handicap_points(stones, 19)) == expected.split()


def test_fixed_handicap_small_boards():
    """9x9 uses the 3rd line; even sizes and 7x7 allow at most 4; below 7 none."""
    assert vertices(fixed_handicap_points(2, 9), 9) == ["C3", "G7"]
    assert vertices(fixed_handicap_points(5, 9), 9) == ["C3", "G7", "C7", "G3", "E5"]
    assert vertices(fixed_handicap_points(4, 13), 13) == ["D4", "K10", "D10", "K4"]
    assert [max_fixed_handicap(n) for n in (5, 7, 8, 9, 10, 19)] == [0, 4, 4, 9, 4, 9]
    with pytest.raises(ValueError):
        fixed_handicap_points(5, 10)
    with pytest.raises(ValueError):
        fixed_handicap_points(1, 19)


def test_handicap_game_white_moves_first():
    """Handicap stones are setup (not moves) and White plays next."""
    g = Game(19)
    g.place_handicap(fixed_handicap_points(4, 19))
    assert g.to_move == WHITE and g.handicap == 4 and g.moves == []
    assert g.board.colour_at(vertex_to_idx("Q4", 19)) == BLACK
    with pytest.raises(ValueError):
        g.place_handicap(fixed_handicap_points(2, 19))


def test_turns_alternate_and_illegal_move_keeps_state():
    """play() alternates colours; an illegal move raises with a message and changes nothing."""
    g = Game(9)
    g.play(vertex_to_idx("E5", 9))
    assert g.to_move == WHITE
    before = g.board.state.copy()
    with pytest.raises(IllegalMove, match=r"W E5 \(move 2\): point occupied"):
        g.play(vertex_to_idx("E5", 9))
    assert np.array_equal(g.board.state, before) and g.to_move == WHITE and len(g.moves) == 1


def test_undo_restores_captures_and_turn():
    """Undo after a capture puts the captured stone back and returns the turn."""
    g = Game(5)
    for vertex in ("B1", "A1", "E5", "A2"):
        g.play(vertex_to_idx(vertex, 5))  # B B1, W A1, B E5, W A2
    g.play(vertex_to_idx("B2", 5))  # the white pair A1-A2 keeps one liberty, A3
    g.play(vertex_to_idx("E4", 5))
    assert g.play(vertex_to_idx("A3", 5)) == 2
    assert g.board.captures(BLACK) == 2
    g.undo()
    assert g.board.colour_at(vertex_to_idx("A1", 5)) == WHITE
    assert g.board.captures(BLACK) == 0 and g.to_move == BLACK and len(g.moves) == 6
    with pytest.raises(IndexError):
        Game(5).undo()


def _ko_game(superko: bool) -> Game:
    """A game at a ko; the last move (Black C4) took White's B4."""
    g = Game(5, superko=superko)
    for vertex in ("B5", "C5", "A4", "B4", "B3", "D4", "E1", "C3", "C4"):
        g.play(vertex_to_idx(vertex, 5))
    assert g.board.captures(BLACK) == 1
    return g


def test_simple_ko_through_game():
    """After the ko capture White may not retake at once, but may after a threat exchange."""
    g = _ko_game(superko=False)
    b4 = vertex_to_idx("B4", 5)
    assert g.legality(b4) == "ko"
    g.play(vertex_to_idx("E2", 5))
    g.play(vertex_to_idx("E3", 5))
    assert g.legality(b4) is None


def test_positional_superko():
    """After both sides pass, White's retake of the ko recreates the position after move 8:
    legal under simple ko, refused under positional superko."""
    b4 = vertex_to_idx("B4", 5)
    for superko, expected in ((False, None), (True, "positional superko")):
        g = _ko_game(superko)
        g.play(25)
        g.play(25)
        assert g.legality(b4) == expected
        if expected:
            with pytest.raises(IllegalMove, match="superko"):
                g.play(b4)
            g.undo()  # undo keeps the history of positions consistent
            g.play(25)
            assert g.legality(b4) == expected


def test_legal_moves_mask():
    """legal_moves marks empty legal points and pass; occupied and ko points are off."""
    g = _ko_game(superko=False)
    mask = g.legal_moves()
    assert mask.shape == (26,) and mask[25]
    assert not mask[vertex_to_idx("B4", 5)]  # ko
    assert not mask[vertex_to_idx("C4", 5)]  # occupied
    assert mask[vertex_to_idx("E5", 5)]


def test_legal_moves_mask_includes_superko():
    """The Numba mask leaves out the retake that positional superko forbids."""
    g = _ko_game(superko=True)
    g.play(25)
    g.play(25)
    mask = g.legal_moves()
    assert not mask[vertex_to_idx("B4", 5)] and mask[vertex_to_idx("E5", 5)]


def test_legal_moves_mask_equals_move_by_move_legality():
    """Oracle: on random 5x5 games full of captures, kos and superko repeats, the mask
    equals ``legality`` asked point by point, for both colours, after every move and undo."""
    rng = np.random.default_rng(5)
    superko_seen = 0
    for _ in range(12):
        g = Game(5, superko=True)
        while not g.is_over() and g.move_number < 120:
            for colour in (BLACK, WHITE):
                expected = np.array([g.legality(i, colour) is None for i in range(26)])
                np.testing.assert_array_equal(g.legal_moves(colour), expected)
                superko_seen += sum(g.legality(i, colour) == "positional superko" for i in range(25))
            g.play(int(rng.choice(np.flatnonzero(g.legal_moves()))))
            if rng.random() < 0.2:
                g.undo()  # undo must take the position out of the superko history again
    assert superko_seen > 0


@pytest.mark.parametrize("superko", [True, False])
def test_legal_moves_kernel_matches_legality_in_random_games(superko):
    """The legal_moves kernel equals asking legality point by point (superko included), over
    random 5x5 games long enough for kos, captures and repeated positions; copies and
    undone games too."""
    rng = np.random.default_rng(7)
    for _ in range(15):
        g = Game(5, superko=superko)
        while not g.is_over() and g.move_number < 120:
            mask = g.legal_moves()
            assert (mask == [g.legality(i) is None for i in range(26)]).all()
            assert (g.copy().legal_moves() == mask).all()
            g.play(int(rng.choice(np.flatnonzero(mask))) if rng.random() > 0.05 else 25)
            if rng.random() < 0.1:
                g.undo()


def test_copy_is_independent_of_the_original():
    """Copies share history snapshots, so neither side may write them: a copy and its
    original each play and undo past the copy point without changing the other."""
    moves = [vertex_to_idx(v, 9) for v in ("E5", "D5", "E4", "D4", "E3")]
    g = Game(9, superko=True)
    for m in moves:
        g.play(m)
    c = g.copy()
    snapshot = g.board.state.copy(), list(g.moves)
    c.undo()
    c.undo()
    c.play(vertex_to_idx("J9", 9))
    assert (g.board.state == snapshot[0]).all() and g.moves == snapshot[1]
    g.undo()
    g.undo()
    g.play(vertex_to_idx("A1", 9))
    while c.moves:
        c.undo()
    assert not c.board.state[0].any()
    fresh = Game(9, superko=True)
    for m in moves[:3] + [vertex_to_idx("A1", 9)]:
        fresh.play(m)
    assert (g.board.state == fresh.board.state).all()


def test_score_and_result_with_komi():
    """Tromp-Taylor area with komi: Black owns the left 3 columns of 5x5, White the right 2."""
    g = Game(5, komi=0.5)
    for row in range(1, 6):
        g.play(vertex_to_idx(f"C{row}", 5), BLACK)
        g.play(vertex_to_idx(f"D{row}", 5), WHITE)
    assert g.score() == 15 - 10 - 0.5
    assert g.result() == "B+4.5"
    g.komi = 5.0
    assert g.result() == "0"


def test_two_passes_end_the_game():
    g = Game(9)
    g.play(81)
    assert not g.is_over()
    g.play(81)
    assert g.is_over()


def test_from_record_and_check_record():
    """A record replays into a Game; check_record names the first illegal move."""
    rec = GameRecord(size=9, komi=6.5, handicap=2, result="W+R",
                     setup=[(BLACK, vertex_to_idx("C3", 9)), (BLACK, vertex_to_idx("G7", 9))],
                     moves=[(WHITE, vertex_to_idx("E5", 9)), (BLACK, vertex_to_idx("C7", 9))],
                     name="t", player_to_move_first=WHITE)
    g = Game.from_record(rec)
    assert g.to_move == WHITE and g.komi == 6.5 and len(g.moves) == 2
    assert Game.from_record(rec, moves=1).to_move == BLACK
    assert check_record(rec) is None
    bad = GameRecord(**{**rec.__dict__, "moves": rec.moves + [(WHITE, vertex_to_idx("E5", 9))]})
    assert check_record(bad) == "W E5 (move 3): point occupied"
    clash = GameRecord(**{**rec.__dict__, "setup": rec.setup + [(WHITE, vertex_to_idx("C3", 9))]})
    assert "setup W C3" in check_record(clash)


def test_score_after_dead_stones_come_off_and_groups():
    """score(dead) is Tromp-Taylor after the dead stones are lifted (the rule of GTP
    final_score and the board); group lists a chain's stones."""
    g = Game(5, komi=0.5)
    for vertex in ("B2", "D4", "C2"):
        g.play(vertex_to_idx(vertex, 5))
    assert g.score() == 2 - 1 - 0.5  # the empty region touches both colours: nobody's
    d4 = vertex_to_idx("D4", 5)
    assert g.score([d4]) == 25 - 0.5 and g.result([d4]) == "B+24.5"
    assert g.board.colour_at(d4) != 0  # the game itself is untouched
    assert sorted(g.group(vertex_to_idx("B2", 5))) == sorted(vertex_to_idx(v, 5) for v in ("B2", "C2"))
    assert g.group(vertex_to_idx("A1", 5)) == []


@pytest.mark.parametrize("result, expected", [
    ("B+3.5", 3.5), ("W+0.5", -0.5), ("w+12", -12.0), ("0", 0.0), ("Draw", 0.0),
    ("W+R", None), ("B+T", None), ("B+F", None), ("B+", None), ("B+nan", None), ("", None), (None, None),
])
def test_margin_from_the_records_result(result, expected):
    assert margin(result) == expected
