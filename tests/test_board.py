"""Rules engine: captures, suicide, ko, scoring, and incremental state against a rebuild."""

import numpy as np
import pytest

from gonet.board import HEAD, STONE, Board, IllegalMove, lib_count
from gonet.coords import BLACK, WHITE, idx_to_vertex, vertex_to_idx


def v(vertex: str, size: int = 9) -> int:
    return vertex_to_idx(vertex, size)


def test_single_capture_counts_and_clears_point():
    """A stone with its last liberty filled is removed and counted for the captor."""
    b = Board.from_ascii("""
        . . . . .
        . . X . .
        . X O X .
        . . . . .
        . . . . .
    """)
    assert b.liberties(v("C3", 5)) == 1
    assert b.play(v("C2", 5), BLACK) == 1
    assert b.colour_at(v("C3", 5)) == 0
    assert b.captures(BLACK) == 1
    assert b.liberties(v("C2", 5)) == 4  # the captured point is a liberty again


def test_capture_of_a_three_stone_group():
    """Filling the last liberty of a 3-stone group removes all three."""
    b = Board.from_ascii("""
        . X X X .
        X O O O X
        . X X . .
        . . . . .
        . . . . .
    """)
    assert b.liberties(v("B4", 5)) == 1
    assert b.play(v("D3", 5), BLACK) == 3
    assert [b.colour_at(v(x, 5)) for x in ("B4", "C4", "D4")] == [0, 0, 0]
    assert b.captures(BLACK) == 3


def test_one_move_captures_two_groups():
    """A move that is the last liberty of two separate groups removes both."""
    b = Board.from_ascii("""
        . . . . .
        . X . X .
        X O . O X
        . X . X .
        . . . . .
    """)
    assert b.play(v("C3", 5), BLACK) == 2
    assert b.colour_at(v("B3", 5)) == 0 and b.colour_at(v("D3", 5)) == 0


def test_suicide_refused_single_and_multi_stone():
    """Suicide of one stone or of a whole group is illegal and changes nothing."""
    b = Board.from_ascii("""
        . X . . .
        X . . . .
        . . . . .
        . . . . .
        . . . . .
    """)
    before = b.state.copy()
    with pytest.raises(IllegalMove, match="suicide"):
        b.play(v("A5", 5), WHITE)
    assert np.array_equal(b.state, before)
    b = Board.from_ascii("""
        O O X . .
        . X . . .
        X . . . .
        . . . . .
        . . . . .
    """)
    with pytest.raises(IllegalMove, match="suicide"):
        b.play(v("A4", 5), WHITE)  # joins A5-B5 and leaves the three with no liberty


def test_capture_beats_suicide():
    """A move with no liberty of its own is legal when it captures."""
    b = Board.from_ascii("""
        . X O . .
        X O . . .
        . . . . .
        . . . . .
        . . . . .
    """)
    assert b.play(v("A5", 5), WHITE) == 1
    assert b.colour_at(v("B5", 5)) == 0
    assert b.liberties(v("A5", 5)) == 1


KO_SHAPE = """
    . X O . .
    X O . O .
    . X O . .
    . . . . .
    . . . . .
"""


def test_simple_ko_and_its_lifting():
    """Retaking a ko at once is illegal for the opponent; a move elsewhere lifts the ban."""
    b = Board.from_ascii(KO_SHAPE)
    assert b.play(v("C4", 5), BLACK) == 1  # takes B4
    assert b.ko == v("B4", 5)
    with pytest.raises(IllegalMove, match="ko"):
        b.play(v("B4", 5), WHITE)
    assert b.is_legal(v("B4", 5), BLACK)  # the ban binds only the capturer's opponent
    b.play(v("E1", 5), WHITE)
    assert b.ko == -1
    b.play(v("E2", 5), BLACK)
    assert b.play(v("B4", 5), WHITE) == 1  # the retake is legal now, and is a ko itself
    assert b.ko == v("C4", 5)


def test_pass_lifts_ko():
    """A pass ends the ko ban."""
    b = Board.from_ascii(KO_SHAPE)
    b.play(v("C4", 5), BLACK)
    assert not b.is_legal(v("B4", 5), WHITE)
    b.play(25, WHITE)
    assert b.ko == -1 and b.is_legal(v("B4", 5), WHITE)


def test_snapback_is_not_ko():
    """White throws in at A1; Black takes it at B1; White retakes at A1 capturing three."""
    b = Board.from_ascii("""
        . . . . .
        . . . . .
        O O . . .
        X X O . .
        . . O . .
    """)
    assert b.play(v("A1", 5), WHITE) == 0
    assert b.liberties(v("A1", 5)) == 1
    assert b.play(v("B1", 5), BLACK) == 1
    assert b.ko == -1  # the capturing group has 3 stones: no ko
    assert b.liberties(v("B1", 5)) == 1
    assert b.play(v("A1", 5), WHITE) == 3
    assert [b.colour_at(v(x, 5)) for x in ("A2", "B2", "B1")] == [0, 0, 0]


def test_score_tromp_taylor():
    """Area scoring: stones plus regions that reach only one colour, komi subtracted."""
    b = Board.from_ascii("""
        . X O .
        X X O .
        . X O O
        X X O .
    """)
    # black: 6 stones + A4, A2 = 8; white: 5 stones + D4, D3 ... D4 touches C4(O), D3(.) -> D4,D3 region
    # touches only white (C4, C3, D2) = 2; D1 touches C1(O), D2(O) = 1 -> white 8
    assert b.score() == 0
    assert b.score(komi=0.5) == -0.5


def test_incremental_state_matches_rebuild():
    """After random legal play, every group's liberties equal a flood-fill count from scratch."""
    rng = np.random.default_rng(7)
    b = Board(9)
    played = 0
    for _ in range(400):
        colour = BLACK if played % 2 == 0 else WHITE
        empties = np.flatnonzero(b.state[STONE] == 0)
        rng.shuffle(empties)
        for idx in empties:
            if b.is_legal(int(idx), colour):
                b.play(int(idx), colour)
                break
        else:
            b.play(81, colour)
        played += 1
        stones = b.stones.reshape(-1)
        for p in np.flatnonzero(stones):
            assert lib_count(b.state, b.state[HEAD, p], 1000) == _flood_liberties(stones, p, 9), (
                f"{idx_to_vertex(int(p), 9)} after {played} moves\n{b}")


def _flood_liberties(stones: np.ndarray, p: int, size: int) -> int:
    colour = stones[p]
    group, libs, todo = {p}, set(), [p]
    while todo:
        q = todo.pop()
        r, c = divmod(q, size)
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= rr < size and 0 <= cc < size:
                n = rr * size + cc
                if stones[n] == 0:
                    libs.add(n)
                elif stones[n] == colour and n not in group:
                    group.add(n)
                    todo.append(n)
    return len(libs)


def test_large_board_liberty_words():
    """25x25 boards use several liberty words; a long group counts liberties across them."""
    b = Board(25)
    for col in range(25):
        b.play(12 * 25 + col, BLACK)
    assert b.liberties(12 * 25) == 50


def test_from_ascii_rejects_bad_rows():
    with pytest.raises(ValueError):
        Board.from_ascii("X .\n. . .\n. . .")
