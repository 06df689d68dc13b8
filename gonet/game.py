"""A game: the board plus history, whose turn, komi, handicap, superko, scoring and undo.

:class:`Game` is what the GTP engine, the gym environment and the GUI hold. Bulk corpus work
(validating and featurising thousands of games) skips it and runs the Numba kernels over
whole records: see :func:`record_arrays` and :func:`check_record`.

``Game`` is the one door to a position: the modules above it read stones, groups, scores
and results through its methods and the conventions below, never the engine's state array
(``tests/test_layers.py`` keeps that so). :class:`IllegalMove` is imported from here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from gonet.board import (
    LEGAL,
    NEXT,
    REASONS,
    SETUP_AGE,
    STONE,
    Board,
    IllegalMove,
    legal_mask_into,
    legality,
    new_journal,
    no_journal,
    place,
    replay,
    undo_to,
)
from gonet.board import play as play_kernel
from gonet.coords import BLACK, DEFAULT_KOMI, WHITE, colour_name, idx_to_vertex, pass_idx

if TYPE_CHECKING:
    from gonet.sgf import GameRecord


def result_text(score: float) -> str:
    """SGF RE for an area score from Black's view: ``B+3.5``, ``W+0.5`` or ``0``."""
    return "0" if score == 0 else f"{'B' if score > 0 else 'W'}+{abs(score):g}"


def winner(result: str | None) -> int:
    """BLACK for ``B+…``, WHITE for ``W+…``, 0 otherwise (draw, void, unknown)."""
    text = (result or "").strip().upper()
    return BLACK if text.startswith("B+") else WHITE if text.startswith("W+") else 0


def margin(result: str | None) -> float | None:
    """Black's margin in points from an SGF RE (``B+3.5``: 3.5, ``W+0.5``: -0.5, ``0``: 0);
    None where RE gives no count (resignation, time, forfeit, unknown)."""
    text = (result or "").strip().upper()
    if text in ("0", "DRAW"):
        return 0.0
    try:
        points = float(text[2:])
    except ValueError:
        return None
    return points * winner(text) if winner(text) and math.isfinite(points) else None


HANDICAP_PATTERNS = ["00 22", "00 22 20", "00 22 20 02", "00 22 20 02 11", "00 22 20 02 10 12",
                     "00 22 20 02 10 12 11", "00 22 20 02 10 12 01 21", "00 22 20 02 10 12 01 21 11"]
"""GTP fixed handicap: row/col codes, 0 = near edge (bottom/left), 1 = middle, 2 = far edge."""


def max_fixed_handicap(size: int) -> int:
    """Most stones GTP's ``fixed_handicap`` allows on this board size."""
    if size < 7:
        return 0
    return 4 if size == 7 or size % 2 == 0 else 9


def fixed_handicap_points(stones: int, size: int) -> list[int]:
    """The GTP spec's handicap points (idx) for 2..9 stones, e.g. 2 on 19x19 = D4 Q16."""
    if not 2 <= stones <= max_fixed_handicap(size):
        raise ValueError(f"fixed handicap {stones} on {size}x{size}: allowed 2..{max_fixed_handicap(size)}")
    line = 2 if size < 13 else 3
    where = {"0": line, "1": (size - 1) // 2, "2": size - 1 - line}
    points = []
    for code in HANDICAP_PATTERNS[stones - 2].split():
        row_from_bottom, col = where[code[0]], where[code[1]]
        points.append((size - 1 - row_from_bottom) * size + col)
    return points


_NO_HASHES = np.zeros(0, dtype=np.int64)  # legal_mask_into's "no superko"


class Game:
    """A game in progress. ``play`` validates (including positional superko when on)."""

    def __init__(self, size: int = 19, komi: float = DEFAULT_KOMI, superko: bool = False):
        self.board = Board(size)
        self.size = size
        self.komi = komi
        self.superko = superko
        self.to_move = BLACK
        self.handicap = 0
        self.setup: list[tuple[int, int]] = []
        self.moves: list[tuple[int, int]] = []
        self.played_at = np.full(size * size, -SETUP_AGE, dtype=np.int64)
        self._history: list[tuple[np.ndarray, np.ndarray, int]] = []  # state, played_at, to_move
        self._seen = Counter([self.board.zobrist])  # positions so far, for superko
        self._seen_sorted = np.array([self.board.zobrist], dtype=np.int64)  # the same, for the mask kernel
        self.journal = new_journal()  # scratch for kernels that play and undo in place

    @property
    def pass_idx(self) -> int:
        return pass_idx(self.size)

    @property
    def move_number(self) -> int:
        return len(self.moves)

    @property
    def last_move(self) -> tuple[int, int] | None:
        return self.moves[-1] if self.moves else None

    @property
    def stones(self) -> np.ndarray:
        """``int8[N*N]``: BLACK, WHITE or EMPTY on each point (a copy)."""
        return self.board.state[STONE].astype(np.int8)

    def captures(self, colour: int) -> int:
        """Stones captured so far by ``colour``."""
        return self.board.captures(colour)

    def neighbours(self, idx: int) -> np.ndarray:
        """The idxs orthogonally next to point ``idx`` (2 to 4 of them)."""
        row = self.board.nbr[idx]
        return row[row >= 0]

    def __str__(self) -> str:
        """The board as text: X Black, O White, top row first, GTP column letters."""
        return str(self.board)

    def is_over(self) -> bool:
        """Two passes in a row end the game."""
        return len(self.moves) >= 2 and all(idx == self.pass_idx for _, idx in self.moves[-2:])

    def legality(self, idx: int, colour: int | None = None) -> str | None:
        """None if the move is legal, else the reason it is not."""
        colour = self.to_move if colour is None else colour
        if idx == self.pass_idx:
            return None
        if not 0 <= idx < self.pass_idx:
            return "off the board"
        state = self.board.state
        if not self.superko:
            why = legality(state, self.board.nbr, idx, colour)
            return None if why == LEGAL else REASONS[why]
        log, logn = self.journal
        logn[0] = 0
        result = play_kernel(state, self.board.nbr, idx, colour, log, logn)
        repeat = result >= 0 and self._seen[self.board.zobrist] > 0
        undo_to(state, log, logn, 0)
        if result < 0:
            return REASONS[result]
        return "positional superko" if repeat else None

    def group(self, idx: int) -> list[int]:
        """The idxs of the stones in the group at ``idx`` (empty for an empty point)."""
        state = self.board.state
        if state[0, idx] == 0:
            return []
        members, p = [], idx
        while True:  # the group's stones form a circular list (board.py's NEXT row)
            members.append(int(p))
            p = state[NEXT, p]
            if p == idx:
                return members

    def is_legal(self, idx: int, colour: int | None = None) -> bool:
        return self.legality(idx, colour) is None

    def legal_moves(self, colour: int | None = None) -> np.ndarray:
        """``bool[N*N + 1]``: legal points, and pass (always legal) last."""
        colour = self.to_move if colour is None else colour
        seen = self._seen_sorted if self.superko else _NO_HASHES
        mask = np.empty(self.pass_idx + 1, dtype=bool)
        legal_mask_into(self.board.state, self.board.nbr, colour, seen, mask)
        return mask

    def play(self, idx: int, colour: int | None = None) -> int:
        """Play (or pass); the other side moves next. Raises :class:`IllegalMove`."""
        colour = self.to_move if colour is None else colour
        why = self.legality(idx, colour)
        if why is not None:
            where = idx_to_vertex(idx, self.size) if 0 <= idx <= self.pass_idx else f"idx {idx}"
            raise IllegalMove(f"{colour_name(colour)} {where} (move {len(self.moves) + 1}): {why}")
        self._history.append((self.board.state.copy(), self.played_at.copy(), self.to_move))
        captured = self.board.play(idx, colour)
        if idx != self.pass_idx:
            self.played_at[idx] = len(self.moves)
        self.moves.append((colour, idx))
        self._remember(self.board.zobrist, +1)
        self.to_move = -colour
        return captured

    def undo(self) -> None:
        """Take back the last move; raises ``IndexError`` when there is none."""
        if not self.moves:
            raise IndexError("no move to undo")
        self._remember(self.board.zobrist, -1)
        state, played_at, self.to_move = self._history.pop()
        self.board.state[:] = state  # snapshots are never written: copies share them
        self.played_at = played_at.copy()
        self.moves.pop()

    def _remember(self, zobrist: int, change: int) -> None:
        """Count a position in (+1) or out (-1). ``_seen_sorted`` lists the positions with a
        count, sorted, for :func:`legal_mask_into`; it is replaced, never written in place,
        so copies of a game may share it."""
        self._seen[zobrist] += change
        if self._seen[zobrist] == (1 if change > 0 else 0):
            seen = self._seen_sorted
            at = int(np.searchsorted(seen, zobrist))
            parts = (seen[:at], np.array([zobrist], dtype=np.int64), seen[at:]) if change > 0 \
                else (seen[:at], seen[at + 1:])
            self._seen_sorted = np.concatenate(parts)

    def copy(self) -> Game:
        """An independent game at this position, cheap enough for search: 13 ms for a
        ``deepcopy`` of a 200-move game, well under 1 ms here (history snapshots are shared)."""
        other = Game.__new__(Game)
        other.__dict__.update(self.__dict__)
        other.board = self.board.copy()
        other.setup, other.moves = list(self.setup), list(self.moves)
        other.played_at = self.played_at.copy()
        other._history = list(self._history)
        other._seen = Counter(self._seen)
        other.journal = new_journal()
        return other

    def place_setup(self, stones: list[tuple[int, int]]) -> None:
        """Add setup stones (SGF AB/AW or handicap) before the first move."""
        if self.moves:
            raise ValueError("setup stones after the first move")
        for colour, idx in stones:
            self.board.setup(idx, colour)
            self.setup.append((colour, idx))
        self._seen = Counter([self.board.zobrist])
        self._seen_sorted = np.array([self.board.zobrist], dtype=np.int64)

    def place_handicap(self, points: list[int]) -> None:
        """Black's handicap stones on an empty board; White moves next."""
        if self.moves or self.setup:
            raise ValueError("handicap stones go on an empty board")
        if len(set(points)) != len(points) or len(points) < 2:
            raise ValueError("handicap needs 2 or more distinct points")
        self.place_setup([(BLACK, p) for p in points])
        self.handicap = len(points)
        self.to_move = WHITE

    def score(self, dead: Iterable[int] = ()) -> float:
        """Tromp-Taylor area score with komi, from Black's view (> 0: Black wins), after the
        ``dead`` stones come off: the one scoring rule of GTP ``final_score``, the board
        and the env (the callers differ only in who decides which stones are dead)."""
        dead = set(int(p) for p in dead)
        if not dead:
            return self.board.score(self.komi)
        alive = Board(self.size)
        for p in np.flatnonzero(self.board.state[0]):
            if int(p) not in dead:
                alive.setup(int(p), int(self.board.state[0, p]))
        return alive.score(self.komi)

    def result(self, dead: Iterable[int] = ()) -> str:
        """SGF-style result by :meth:`score`: ``B+3.5``, ``W+0.5`` or ``0``."""
        return result_text(self.score(dead))

    def to_record(self, name: str = "") -> GameRecord:
        """The game as a plain record (result by area score once two passes ended it)."""
        from gonet.sgf import GameRecord

        first = self.moves[0][0] if self.moves else self.to_move
        return GameRecord(self.size, self.komi, self.handicap, self.result() if self.is_over() else None,
                          list(self.setup), list(self.moves), name, first)

    @classmethod
    def from_ascii(cls, art: str, to_move: int = BLACK, komi: float = DEFAULT_KOMI, superko: bool = False) -> Game:
        """A game whose setup stones are :meth:`Board.from_ascii`'s art, ``to_move`` to play
        (test positions, built in a line)."""
        stones = Board.from_ascii(art).stones.reshape(-1)
        game = cls(int(round(len(stones) ** 0.5)), komi, superko)
        game.place_setup([(int(colour), int(idx)) for idx, colour in enumerate(stones) if colour])
        game.to_move = to_move
        return game

    @classmethod
    def from_record(cls, record: GameRecord, moves: int | None = None, superko: bool = False) -> Game:
        """The game after the record's setup and its first ``moves`` moves (all by default)."""
        game = cls(record.size, record.komi, superko)
        game.place_setup(record.setup)
        game.handicap = record.handicap
        game.to_move = record.player_to_move_first
        for colour, idx in record.moves[:moves]:
            game.play(idx, colour)
        return game


def record_arrays(record: GameRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(setup colours, setup idxs, move colours, move idxs) as int64 arrays for the kernels."""
    setup = np.array(record.setup, dtype=np.int64).reshape(-1, 2)
    moves = np.array(record.moves, dtype=np.int64).reshape(-1, 2)
    return setup[:, 0].copy(), setup[:, 1].copy(), moves[:, 0].copy(), moves[:, 1].copy()


def check_record(record: GameRecord) -> str | None:
    """Replay a record under the rules; None if every move is legal, else why not."""
    board = Board(record.size)
    setup_colours, setup_idxs, colours, idxs = record_arrays(record)
    log, logn = no_journal()
    for colour, idx in zip(setup_colours, setup_idxs):
        if board.state[0, idx] != 0:
            return f"setup {colour_name(int(colour))} {idx_to_vertex(int(idx), record.size)}: point occupied"
        place(board.state, board.nbr, idx, colour, log, logn)
    bad = replay(board.state, board.nbr, colours, idxs, log, logn)
    if bad < 0:
        return None
    colour, idx = record.moves[bad]
    why = REASONS[play_kernel(board.state, board.nbr, idx, colour, log, logn)]
    return f"{colour_name(colour)} {idx_to_vertex(idx, record.size)} (move {bad + 1}): {why}"
