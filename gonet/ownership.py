"""Who owns each point at the end: random playouts for dead stones and score estimates.

GTP scoring (``final_score``, ``final_status_list``), the pass decision and the resign
rule need to know which stones are dead. With no value net and no search, gonet asks
random playouts: both sides play uniformly random legal moves that do not fill their own
eyes until two passes; a point's ownership is its average Tromp-Taylor owner (+1 Black,
-1 White). Stones owned by the other side in most playouts are dead.

The playouts are Numba kernels on the engine's state array, so this module sits on the
engine's floor beside :mod:`gonet.features`; its callers pass a :class:`Game`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from gonet.board import LEGAL, STONE, area_owner_into, diagonals, legality, play
from gonet.features import is_own_eye

if TYPE_CHECKING:
    from gonet.game import Game


@njit(cache=True)
def _playout(s, nbr, diag, to_move, owner):
    """Random non-eye-filling moves until two passes (or a move cap); owners into ``owner``."""
    nn = s.shape[1]
    log = np.zeros((1, 3), dtype=np.int64)
    off = np.full(1, -1, dtype=np.int64)
    empties = np.empty(nn, dtype=np.int64)
    colour = to_move
    passes = 0
    moves = 0
    while passes < 2 and moves < 3 * nn:
        n = 0
        for p in range(nn):
            if s[STONE, p] == 0:
                empties[n] = p
                n += 1
        played = False
        while n > 0:
            i = np.random.randint(n)
            p = empties[i]
            empties[i] = empties[n - 1]
            n -= 1
            if legality(s, nbr, p, colour) == LEGAL and not is_own_eye(s, nbr, diag, p, colour):
                play(s, nbr, p, colour, log, off)
                played = True
                break
        passes = 0 if played else passes + 1
        if not played:
            play(s, nbr, nn, colour, log, off)
        colour = -colour
        moves += 1
    area_owner_into(s, nbr, owner)


@njit(cache=True, nogil=True)  # the board runs playouts in a worker thread: let the UI thread draw
def _ownership(s, nbr, diag, to_move, playouts, seed):
    np.random.seed(seed)
    nn = s.shape[1]
    total = np.zeros(nn, dtype=np.float64)
    owner = np.zeros(nn, dtype=np.int64)
    for _ in range(playouts):
        work = s.copy()
        _playout(work, nbr, diag, to_move, owner)
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
    return _ownership(game.board.state, game.board.nbr, diagonals(game.size), game.to_move, playouts, seed)


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
