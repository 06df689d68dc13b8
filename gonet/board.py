"""One position's rules: captures, suicide, simple ko, Zobrist hash, play and undo in place.

The hot paths (replaying games, feature planes, ladder reading) run millions of moves, so
the position lives in one ``int64`` array and the rules are Numba kernels over it:

    state[STONE, p]   BLACK, WHITE or EMPTY
    state[HEAD, p]    the group's representative point (valid only where a stone is)
    state[NEXT, p]    next stone of the same group, a circular list
    state[SIZE, h]    stones in the group whose head is h
    state[LIB0 + w, h] liberty bitset of group h, 64 points per word
    state[META, KO]   ``c * (p + 1)`` when colour c may not play p because of simple ko, else 0
    state[META, HASH] Zobrist hash of the stones (for positional superko)
    state[META, CAPS_BLACK / CAPS_WHITE] stones captured by each side

Every write goes through ``_set``, which can journal the old value: ladder reading plays
and undoes moves in place (``undo_to``) instead of copying boards. :class:`Board` wraps the
kernels for callers that want an object.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from gonet.coords import BLACK, EMPTY, WHITE, check_size, colour_name, idx_to_vertex

STONE, HEAD, NEXT, SIZE, META, LIB0 = 0, 1, 2, 3, 4, 5
KO, HASH, CAPS_BLACK, CAPS_WHITE = 0, 1, 2, 3

# play() results: >= 0 is the number of stones captured
LEGAL = 0
OCCUPIED = -1
SUICIDE = -2
KO_BANNED = -3
REASONS = {OCCUPIED: "point occupied", SUICIDE: "suicide", KO_BANNED: "ko"}

JOURNAL_OFF = -1
SETUP_AGE = 1 << 30  # "played" long ago: setup and handicap stones land in plane 11
_MAX_POINTS = 25 * 25
ZOBRIST = np.random.default_rng(20161).integers(1, 2**63 - 1, size=(2, _MAX_POINTS), dtype=np.int64)


class IllegalMove(ValueError):
    """A move the rules forbid; the message names the move and the reason."""


@lru_cache(maxsize=None)
def neighbours(size: int) -> np.ndarray:
    """``int64[N*N, 4]``: the orthogonal neighbours of each point, -1 off the board."""
    return _adjacent(size, ((-1, 0), (1, 0), (0, -1), (0, 1)))


@lru_cache(maxsize=None)
def diagonals(size: int) -> np.ndarray:
    """``int64[N*N, 4]``: the diagonal neighbours of each point, -1 off the board."""
    return _adjacent(size, ((-1, -1), (-1, 1), (1, -1), (1, 1)))


def _adjacent(size: int, steps: tuple[tuple[int, int], ...]) -> np.ndarray:
    table = np.full((size * size, 4), -1, dtype=np.int64)
    for row in range(size):
        for col in range(size):
            for k, (dr, dc) in enumerate(steps):
                r, c = row + dr, col + dc
                if 0 <= r < size and 0 <= c < size:
                    table[row * size + col, k] = r * size + c
    return table


def new_state(size: int) -> np.ndarray:
    """An empty board's state array."""
    nn = check_size(size) * size
    words = (nn + 63) // 64
    return np.zeros((LIB0 + words, nn), dtype=np.int64)


def new_journal(capacity: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
    """A journal for in-place undo: (entries ``int64[cap, 3]``, count ``int64[1]``)."""
    return np.zeros((capacity, 3), dtype=np.int64), np.zeros(1, dtype=np.int64)


def no_journal() -> tuple[np.ndarray, np.ndarray]:
    """The journal argument for plain play without undo."""
    return np.zeros((1, 3), dtype=np.int64), np.full(1, JOURNAL_OFF, dtype=np.int64)


# ---------------------------------------------------------------- kernels


@njit(cache=True, inline="always")
def _set(s, log, logn, row, col, value):
    n = logn[0]
    if n != JOURNAL_OFF:
        log[n, 0] = row
        log[n, 1] = col
        log[n, 2] = s[row, col]
        logn[0] = n + 1
    s[row, col] = value


@njit(cache=True)
def undo_to(s, log, logn, mark):
    """Restore every write journaled after ``mark`` (a value of ``logn[0]``)."""
    n = logn[0]
    while n > mark:
        n -= 1
        s[log[n, 0], log[n, 1]] = log[n, 2]
    logn[0] = n


@njit(cache=True, inline="always")
def lib_bit(p):
    return np.int64(1) << np.int64(p & 63)


@njit(cache=True)
def lib_count(s, h, cap):
    """Liberties of the group headed at ``h``, counted up to ``cap``."""
    n = 0
    for w in range(LIB0, s.shape[0]):
        x = s[w, h]
        while x != 0:
            x &= x - 1
            n += 1
            if n >= cap:
                return n
    return n


@njit(cache=True)
def liberties_into(s, h, out):
    """Write up to ``len(out)`` liberty points of group ``h`` into ``out``; returns how many."""
    n = 0
    for w in range(s.shape[0] - LIB0):
        x = s[LIB0 + w, h]
        b = 0
        while x != 0:
            if x & 1:
                out[n] = w * 64 + b
                n += 1
                if n == out.shape[0]:
                    return n
            x = (x >> 1) & 0x7FFFFFFFFFFFFFFF
            b += 1
    return n


@njit(cache=True)
def legality(s, nbr, p, c, libc=None):
    """LEGAL or the reason colour ``c`` may not play point ``p`` (no superko).

    ``libc[h]``, when given, holds each group's liberties counted up to at least 2 (the
    feature kernels count them once per position).
    """
    if s[STONE, p] != EMPTY:
        return OCCUPIED
    if s[META, KO] == c * (p + 1):
        return KO_BANNED
    for k in range(4):
        q = nbr[p, k]
        if q < 0:
            continue
        v = s[STONE, q]
        if v == EMPTY:
            return LEGAL
        libs = lib_count(s, s[HEAD, q], 2) if libc is None else libc[s[HEAD, q]]
        if (v == c and libs >= 2) or (v == -c and libs == 1):
            return LEGAL
    return SUICIDE


@njit(cache=True)
def legal_mask_into(s, nbr, c, seen, out):
    """``out[p]``: may colour ``c`` play point ``p``; ``out[N*N]`` (pass) is always True.

    Occupied points, simple ko and suicide are ruled out as in :func:`legality`; with
    ``seen`` (the sorted Zobrist hashes of earlier positions; empty for no superko) so is
    every move whose resulting position was seen before. The hash after a move is worked
    out from the stone and the groups it would capture, without playing it: the env asks
    for this mask every step, and a play/undo per point cost 90% of a step.
    """
    nn = s.shape[1]
    mine = 0 if c == BLACK else 1
    heads = np.empty(4, dtype=np.int64)
    for p in range(nn):
        ok = legality(s, nbr, p, c) == LEGAL
        if ok and seen.shape[0] > 0:
            h = s[META, HASH] ^ ZOBRIST[mine, p]
            n = 0
            for k in range(4):
                q = nbr[p, k]
                if q < 0 or s[STONE, q] != -c:
                    continue
                g = s[HEAD, q]
                if lib_count(s, g, 2) != 1:
                    continue
                fresh = True
                for i in range(n):
                    fresh = fresh and heads[i] != g
                if not fresh:
                    continue
                heads[n] = g
                n += 1
                r = g
                while True:  # its stones come off the hash
                    h ^= ZOBRIST[1 - mine, r]
                    r = s[NEXT, r]
                    if r == g:
                        break
            i = np.searchsorted(seen, h)
            ok = not (i < seen.shape[0] and seen[i] == h)
        out[p] = ok
    out[nn] = True


@njit(cache=True)
def _merge(s, log, logn, a, b):
    """Join groups headed at a and b; the larger keeps its head."""
    if s[SIZE, a] < s[SIZE, b]:
        a, b = b, a
    r = b
    while True:
        _set(s, log, logn, HEAD, r, a)
        r = s[NEXT, r]
        if r == b:
            break
    na = s[NEXT, a]
    _set(s, log, logn, NEXT, a, s[NEXT, b])
    _set(s, log, logn, NEXT, b, na)
    _set(s, log, logn, SIZE, a, s[SIZE, a] + s[SIZE, b])
    for w in range(LIB0, s.shape[0]):
        if s[w, b] & ~s[w, a]:
            _set(s, log, logn, w, a, s[w, a] | s[w, b])


@njit(cache=True)
def place(s, nbr, p, c, log, logn):
    """Put a stone of colour c on empty point p and join it to its groups; no captures."""
    _set(s, log, logn, STONE, p, c)
    _set(s, log, logn, HEAD, p, p)
    _set(s, log, logn, NEXT, p, p)
    _set(s, log, logn, SIZE, p, 1)
    for w in range(LIB0, s.shape[0]):
        if s[w, p] != 0:
            _set(s, log, logn, w, p, 0)
    zi = 0 if c == BLACK else 1
    _set(s, log, logn, META, HASH, s[META, HASH] ^ ZOBRIST[zi, p])
    word = LIB0 + (p >> 6)
    bit = lib_bit(p)
    for k in range(4):
        q = nbr[p, k]
        if q < 0:
            continue
        v = s[STONE, q]
        if v == EMPTY:
            w = LIB0 + (q >> 6)
            _set(s, log, logn, w, p, s[w, p] | lib_bit(q))
        else:
            h = s[HEAD, q]
            if s[word, h] & bit:
                _set(s, log, logn, word, h, s[word, h] & ~bit)
    for k in range(4):
        q = nbr[p, k]
        if q >= 0 and s[STONE, q] == c and s[HEAD, q] != s[HEAD, p]:
            _merge(s, log, logn, s[HEAD, p], s[HEAD, q])


@njit(cache=True)
def _remove_group(s, nbr, h, log, logn):
    """Take the group headed at h off the board; its points become liberties of the captor."""
    owner = s[STONE, h]
    zi = 0 if owner == BLACK else 1
    n = 0
    r = h
    while True:
        _set(s, log, logn, STONE, r, EMPTY)
        _set(s, log, logn, META, HASH, s[META, HASH] ^ ZOBRIST[zi, r])
        word = LIB0 + (r >> 6)
        bit = lib_bit(r)
        for k in range(4):
            t = nbr[r, k]
            if t >= 0 and s[STONE, t] == -owner:
                ht = s[HEAD, t]
                if not s[word, ht] & bit:
                    _set(s, log, logn, word, ht, s[word, ht] | bit)
        n += 1
        r = s[NEXT, r]
        if r == h:
            break
    return n


@njit(cache=True)
def play(s, nbr, p, c, log, logn):
    """Colour c plays idx p (``N*N`` = pass). Returns stones captured, or a negative reason."""
    nn = s.shape[1]
    if p == nn:
        if s[META, KO] != 0:
            _set(s, log, logn, META, KO, 0)
        return 0
    why = legality(s, nbr, p, c)
    if why != LEGAL:
        return why
    place(s, nbr, p, c, log, logn)
    captured = 0
    last = -1
    for k in range(4):
        q = nbr[p, k]
        if q >= 0 and s[STONE, q] == -c and lib_count(s, s[HEAD, q], 1) == 0:
            captured += _remove_group(s, nbr, s[HEAD, q], log, logn)
            last = q
    ko = 0
    h = s[HEAD, p]
    if captured == 1 and s[SIZE, h] == 1 and lib_count(s, h, 2) == 1:
        ko = -c * (last + 1)
    if s[META, KO] != ko:
        _set(s, log, logn, META, KO, ko)
    if captured:
        slot = CAPS_BLACK if c == BLACK else CAPS_WHITE
        _set(s, log, logn, META, slot, s[META, slot] + captured)
    return captured


@njit(cache=True)
def replay(s, nbr, colours, idxs, log, logn):
    """Play a sequence of moves; returns the index of the first illegal one, or -1."""
    for i in range(idxs.shape[0]):
        if play(s, nbr, idxs[i], colours[i], log, logn) < 0:
            return i
    return -1


@njit(cache=True)
def area_owner_into(s, nbr, owner):
    """Tromp-Taylor owner of each point into ``owner``: the stone's colour, or for an empty
    region the one colour it reaches (0 if it reaches both or neither)."""
    nn = s.shape[1]
    seen = np.zeros(nn, dtype=np.bool_)
    stack = np.empty(nn, dtype=np.int64)
    region = np.empty(nn, dtype=np.int64)
    for p in range(nn):
        v = s[STONE, p]
        if v != EMPTY:
            owner[p] = v
            continue
        if seen[p]:
            continue
        seen[p] = True
        stack[0] = p
        top = 1
        size = 0
        borders = 0  # bit 1: touches black, bit 2: touches white
        while top:
            top -= 1
            r = stack[top]
            region[size] = r
            size += 1
            for k in range(4):
                t = nbr[r, k]
                if t < 0:
                    continue
                tv = s[STONE, t]
                if tv == BLACK:
                    borders |= 1
                elif tv == WHITE:
                    borders |= 2
                elif not seen[t]:
                    seen[t] = True
                    stack[top] = t
                    top += 1
        colour = BLACK if borders == 1 else WHITE if borders == 2 else EMPTY
        for i in range(size):
            owner[region[i]] = colour


@njit(cache=True)
def area_score(s, nbr):
    """Tromp-Taylor area: Black's stones and territory minus White's (no komi)."""
    owner = np.empty(s.shape[1], dtype=np.int64)
    area_owner_into(s, nbr, owner)
    return owner.sum()


# ---------------------------------------------------------------- object API


class Board:
    """A position with rules; ``play`` validates, the kernels above are for hot loops."""

    def __init__(self, size: int = 19):
        self.size = size
        self.state = new_state(size)
        self.nbr = neighbours(size)
        self._log, self._logn = no_journal()

    @classmethod
    def from_ascii(cls, text: str) -> Board:
        """Board from rows of ``X`` (black), ``O`` (white), ``.``/``+`` (empty), top row first."""
        rows = [line.split() if " " in line.strip() else list(line.strip())
                for line in text.strip().splitlines() if line.strip()]
        board = cls(len(rows))
        for row, cells in enumerate(rows):
            if len(cells) != board.size:
                raise ValueError(f"row {row + 1} has {len(cells)} points, expected {board.size}")
            for col, cell in enumerate(cells):
                colour = {"X": BLACK, "O": WHITE, ".": EMPTY, "+": EMPTY}.get(cell)
                if colour is None:
                    raise ValueError(f"row {row + 1}: {cell!r} is not X, O, . or +")
                if colour:
                    board.setup(row * board.size + col, colour)
        return board

    def copy(self) -> Board:
        other = Board.__new__(Board)
        other.size, other.nbr = self.size, self.nbr
        other.state = self.state.copy()
        other._log, other._logn = self._log, self._logn
        return other

    @property
    def stones(self) -> np.ndarray:
        """``int8[N, N]`` of BLACK, WHITE, EMPTY (a copy)."""
        return self.state[STONE].astype(np.int8).reshape(self.size, self.size)

    @property
    def ko(self) -> int:
        """The idx the side to move may not play because of simple ko, or -1."""
        return abs(int(self.state[META, KO])) - 1

    @property
    def zobrist(self) -> int:
        return int(self.state[META, HASH])

    def captures(self, colour: int) -> int:
        """Stones captured so far by ``colour``."""
        return int(self.state[META, CAPS_BLACK if colour == BLACK else CAPS_WHITE])

    def colour_at(self, idx: int) -> int:
        return int(self.state[STONE, idx])

    def liberties(self, idx: int) -> int:
        """Liberties of the group at ``idx`` (0 for an empty point)."""
        if self.state[STONE, idx] == EMPTY:
            return 0
        return int(lib_count(self.state, self.state[HEAD, idx], 1 << 30))

    def is_legal(self, idx: int, colour: int) -> bool:
        return idx == self.size * self.size or legality(self.state, self.nbr, idx, colour) == LEGAL

    def play(self, idx: int, colour: int) -> int:
        """Play a move (pass = ``N*N``); returns stones captured; raises :class:`IllegalMove`."""
        if not 0 <= idx <= self.size * self.size:
            raise IllegalMove(f"{colour_name(colour)} idx {idx}: off the board")
        result = play(self.state, self.nbr, idx, colour, self._log, self._logn)
        if result < 0:
            raise IllegalMove(f"{colour_name(colour)} {idx_to_vertex(idx, self.size)}: {REASONS[result]}")
        return int(result)

    def setup(self, idx: int, colour: int) -> None:
        """Put a setup stone (SGF AB/AW, handicap) on an empty point: no capture, lifts ko."""
        if self.state[STONE, idx] != EMPTY:
            raise IllegalMove(f"setup {colour_name(colour)} {idx_to_vertex(idx, self.size)}: point occupied")
        place(self.state, self.nbr, idx, colour, self._log, self._logn)
        self.state[META, KO] = 0

    def score(self, komi: float = 0.0) -> float:
        """Tromp-Taylor area score from Black's view, komi subtracted."""
        return float(area_score(self.state, self.nbr)) - komi

    def __str__(self) -> str:
        cols = "ABCDEFGHJKLMNOPQRSTUVWXYZ"[: self.size]
        lines = ["   " + " ".join(cols)]
        stones = self.stones
        for row in range(self.size):
            cells = " ".join(".XO"[v] for v in stones[row])
            lines.append(f"{self.size - row:2d} {cells}")
        return "\n".join(lines)
