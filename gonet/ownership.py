"""Who owns each point at the end: random playouts for dead stones and score estimates.

GTP scoring (``final_score``, ``final_status_list``), the pass decision and the resign
rule need to know which stones are dead, and the search's leaves a score. gonet asks
playouts: both sides play random legal moves until two passes, except that each captures
the last move's chain when it is in atari, or saves its own chain the move put in atari
(extending to two liberties), and neither fills its own eye nor leaves a chain of 4 stones
or more in atari (so a seki stays a seki; smaller chains may, to kill a big eye from
inside). A point's ownership is its average Tromp-Taylor owner (+1 Black, -1 White);
stones owned by the other side in most playouts are dead. Against the final margins of
kgs/val games after move 100, the mean score of 64 such playouts is off by about 15 points
on average, 20 with uniformly random moves (docs/benchmarks.md, "Playouts that answer ataris").

The playouts are Numba kernels on the engine's state array, so this module sits on the
engine's floor beside :mod:`gonet.features`; its callers pass a :class:`Game`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from gonet.board import (HEAD, LEGAL, LIB0, SIZE, STONE, area_owner_into, diagonals, legality, lib_bit,
                         lib_count, liberties_into, play)
from gonet.features import is_own_eye

if TYPE_CHECKING:
    from gonet.game import Game


SELF_ATARI_STONES = 4  # a random move may not leave a chain this big in atari; smaller ones fill eyes (nakade)


@njit(cache=True)
def _chain_after(s, nbr, p, c, acc):
    """(liberties counted up to 2, stones) of the chain ``c`` would form by playing empty ``p``;
    a move that captures counts 2 liberties. ``acc``: scratch, one int64 per liberty word."""
    for w in range(acc.shape[0]):
        acc[w] = 0
    stones = 1
    captures = False
    for k in range(4):
        q = nbr[p, k]
        if q < 0:
            continue
        v = s[STONE, q]
        if v == 0:
            acc[q >> 6] |= lib_bit(q)
        elif v == c:
            h = s[HEAD, q]
            seen = False
            for j in range(k):
                r = nbr[p, j]
                seen = seen or (r >= 0 and s[STONE, r] == c and s[HEAD, r] == h)
            if not seen:
                stones += s[SIZE, h]
                for w in range(acc.shape[0]):
                    acc[w] |= s[LIB0 + w, h]
        elif lib_count(s, s[HEAD, q], 2) == 1:
            captures = True
    acc[p >> 6] &= ~lib_bit(p)
    libs = 0
    for w in range(acc.shape[0]):
        x = acc[w]
        while x != 0 and libs < 2:
            x &= x - 1
            libs += 1
    return (2 if captures else libs), stones


@njit(cache=True, inline="always")
def _big_self_atari(s, nbr, p, c, acc):
    """Would ``c`` at ``p`` leave a chain of SELF_ATARI_STONES or more in atari?"""
    libs, stones = _chain_after(s, nbr, p, c, acc)
    return libs < 2 and stones >= SELF_ATARI_STONES


@njit(cache=True)
def _urgent_reply(s, nbr, last, c, acc, one):
    """The reply to the move at ``last`` that no player misses, or -1: capture the moved
    stone's chain if it is in atari, else save a chain of ``c``'s the move put in atari by
    extending when that gives two liberties."""
    if s[STONE, last] == -c and lib_count(s, s[HEAD, last], 2) == 1:
        liberties_into(s, s[HEAD, last], one)
        if legality(s, nbr, one[0], c) == LEGAL:
            return one[0]
    for k in range(4):
        q = nbr[last, k]
        if q >= 0 and s[STONE, q] == c and lib_count(s, s[HEAD, q], 2) == 1:
            liberties_into(s, s[HEAD, q], one)
            if legality(s, nbr, one[0], c) == LEGAL and _chain_after(s, nbr, one[0], c, acc)[0] == 2:
                return one[0]
    return -1


@njit(cache=True)
def _collect_empties(s, empties, where):
    """The empty points into ``empties`` (``where[p]``: p's index there); returns how many."""
    n = 0
    for q in range(s.shape[1]):
        if s[STONE, q] == 0:
            empties[n] = q
            where[q] = n
            n += 1
    return n


@njit(cache=True, inline="always")
def _swap(empties, where, i, j):
    a, b = empties[i], empties[j]
    empties[i], empties[j] = b, a
    where[b], where[a] = i, j


@njit(cache=True)
def _playout(s, nbr, diag, to_move, last, owner):
    """Play to the end, owners into ``owner``: each side answers the last move's ataris
    (:func:`_urgent_reply`), else plays a random legal move that neither fills its own eye
    nor leaves a big chain in atari, else passes; two passes (or a move cap) end it. ``last``:
    the point of the move before, -1 for none or a pass. The empty points are kept in a list
    (the first ``m`` of ``empties``), collected again only after a capture."""
    nn = s.shape[1]
    log = np.zeros((1, 3), dtype=np.int64)
    off = np.full(1, -1, dtype=np.int64)
    empties = np.empty(nn, dtype=np.int64)
    where = np.empty(nn, dtype=np.int64)
    m = _collect_empties(s, empties, where)
    acc = np.zeros(s.shape[0] - LIB0, dtype=np.int64)
    one = np.zeros(1, dtype=np.int64)
    colour = to_move
    passes = 0
    moves = 0
    while passes < 2 and moves < 3 * nn:
        p = _urgent_reply(s, nbr, last, colour, acc, one) if last >= 0 else -1
        n = m if p < 0 else 0
        while n > 0:  # draw without replacement: a refused point moves past the window's end
            i = np.random.randint(n)
            q = empties[i]
            n -= 1
            _swap(empties, where, i, n)
            if (legality(s, nbr, q, colour) == LEGAL and not is_own_eye(s, nbr, diag, q, colour)
                    and not _big_self_atari(s, nbr, q, colour, acc)):
                p = q
                break
        if p >= 0:
            if play(s, nbr, p, colour, log, off) > 0:
                m = _collect_empties(s, empties, where)
            else:
                m -= 1
                _swap(empties, where, where[p], m)
            passes = 0
        else:
            play(s, nbr, nn, colour, log, off)
            passes += 1
        last = p
        colour = -colour
        moves += 1
    area_owner_into(s, nbr, owner)


@njit(cache=True, nogil=True)  # the board runs playouts in a worker thread: let the UI thread draw
def _ownership(s, nbr, diag, to_move, last, playouts, seed):
    np.random.seed(seed)
    nn = s.shape[1]
    total = np.zeros(nn, dtype=np.float64)
    owner = np.zeros(nn, dtype=np.int64)
    for _ in range(playouts):
        work = s.copy()
        _playout(work, nbr, diag, to_move, last, owner)
        total += owner
    return total / playouts


class OwnershipStats:
    """Running mean and standard deviation of ownership maps (+1 Black), one map a playout or
    a search leaf: KataGo's ``ownership`` and ``ownershipStdev``. With none added both are 0
    everywhere, as KataGo reports a move with nothing evaluated below it."""

    def __init__(self, points: int):
        self.sum = np.zeros(points, dtype=np.float64)
        self.sum_sq = np.zeros(points, dtype=np.float64)
        self.count = 0

    def add(self, own: np.ndarray) -> None:
        self.sum += own
        self.sum_sq += own * own
        self.count += 1

    def mean(self) -> np.ndarray:
        return self.sum / max(self.count, 1)

    def stdev(self) -> np.ndarray:
        mean = self.mean()
        return np.sqrt(np.maximum(self.sum_sq / max(self.count, 1) - mean * mean, 0.0))


def ownership_stats(game: Game, playouts: int = 200, seed: int = 0) -> OwnershipStats:
    """The spread of single random playouts' owners (:func:`ownership` is their mean)."""
    stats = OwnershipStats(game.size ** 2)
    for i in range(playouts):
        stats.add(ownership(game, 1, seed + i))
    return stats


def ownership(game: Game, playouts: int = 200, seed: int = 0) -> np.ndarray:
    """float[N*N] in [-1, 1]: average owner of each point (+1 Black) over random playouts."""
    last = -1 if game.last_move is None or game.last_move[1] == game.pass_idx else game.last_move[1]
    return _ownership(game.board.state, game.board.nbr, diagonals(game.size), game.to_move, last, playouts, seed)


def dead_stones(game: Game, playouts: int = 200, seed: int = 0) -> np.ndarray:
    """Idxs of stones that the other side owns in most playouts."""
    own = ownership(game, playouts, seed)
    stones = game.stones
    return np.flatnonzero((stones != 0) & (own * stones < 0))


def majority_score(own: np.ndarray, komi: float) -> float:
    """Black's area score minus komi when each point goes to the side that owns it in most
    playouts of the mean ownership ``own`` (dead stones come off, dame count for nobody)."""
    return float(np.sign(np.round(own, 6)).sum()) - komi


def estimated_score(game: Game, playouts: int = 200, seed: int = 0) -> float:
    """Black's expected area score minus komi after the dead stones come off (> 0: Black wins)."""
    return majority_score(ownership(game, playouts, seed), game.komi)
