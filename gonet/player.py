"""Game → a move: the rules around the net and the search.

Rules, in order:
1. **Pass** when the opponent just passed and passing does not lose: the area score after
   the playouts' dead stones come off, komi included, is not against us. Also pass when no
   sensible move (legal, not filling our own eye) is left, and, from move ``settle_after``
   on (default half the board's points), when every sensible move lies where the playouts
   agree who owns the point (no contested point left to fight for).
2. **Cleanup** (``kgs-genmove_cleanup``): while the opponent has dead stones on the board,
   play the policy's likeliest move on their liberties instead of passing, so Tromp-Taylor
   scoring counts them off (no search needed to take stones off the board).
3. **Search** (when ``search`` settings are given; see search.py): the most visited move,
   or with ``temperature`` > 0 a sample from visits ** (1 / temperature). The tree is kept
   for the next move. ``seconds`` (from the GTP clock) can shorten the budget; ``avoid``
   (GTP ``avoid``/``allow``) keeps banned moves out of the search.
4. **Resign** after ``resign_after`` moves, never as Black in a handicap game (GUIs and
   servers treat that as rude): with search, when the root winrate has stayed under
   ``resign_winrate`` for ``resign_moves`` of our moves in a row; without search, when
   ``resign_margin`` is set and the playouts' estimated score is worse than
   ``-resign_margin`` points for us. Both are off unless set.
5. Without search: the policy's most likely sensible move, or with ``temperature`` > 0 a
   sample from probabilities ** (1 / temperature), never a move ``avoid`` bans now (unless
   it bans all). ``symmetries`` averages the net over that many board symmetries (also
   inside the search).

A move may be given an :class:`Effort` of its own (symmetries and playouts; GTP asks for
less when its clock runs short): it is passed in, the player is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from gonet.coords import BLACK
from gonet.features import position_planes, sensible_points
from gonet.game import DEFAULT_KOMI, Game
from gonet.ownership import dead_stones, estimated_score, ownership
from gonet.policy import Policy
from gonet.search import Search, SearchSettings, root_bans

RESIGN = -1


class PositionView:
    """One position worked out once: its 48 planes and legal moves, hence its sensible moves;
    then, only when asked (a search needs just the sensible moves), one forward pass on those
    planes for the net's probabilities and value. genmove, top moves, heat maps and analysis
    with search off read it instead of asking the rules and the net again."""

    def __init__(self, policy: Policy, game: Game, symmetries: int = 1):
        self.policy, self.game, self.symmetries = policy, game, symmetries
        self.planes = position_planes(game)  # (48, N, N)
        self.legal = game.legal_moves()  # bool[N*N + 1], pass last
        self.sensible = self.legal & sensible_points(game, self.planes)  # pass excluded

    @cached_property
    def evaluation(self) -> tuple[np.ndarray, float]:
        """The net's one pass: (probabilities over legal moves, N*N + 1; value in [-1, 1] for
        the side to move, 0 without a value head)."""
        probs, values = self.policy.evaluate([self.game], self.symmetries, self.planes[None], self.legal[None])
        return probs[0], float(values[0])

    @cached_property
    def probs(self) -> np.ndarray:
        """The policy's probabilities (N*N + 1) renormalised over sensible moves only."""
        probs = self.evaluation[0].copy()
        probs[~self.sensible] = 0.0
        total = probs.sum()
        return probs / total if total > 0 else probs

    def top_moves(self, count: int = 10) -> list[tuple[int, float]]:
        """The ``count`` most likely sensible moves with their probabilities."""
        order = np.argsort(-self.probs)[:count]
        return [(int(i), float(self.probs[i])) for i in order if self.probs[i] > 0]


@dataclass(frozen=True)
class Effort:
    """What one move may spend beside the search's own budget: the board symmetries the net
    averages over (the search keeps the player's) and the random playouts that score a
    position and find its owners."""

    symmetries: int
    playouts: int


@dataclass
class Player:
    policy: Policy
    symmetries: int = 1
    temperature: float = 0.0
    resign_margin: float | None = None
    resign_after: int = 100
    resign_winrate: float | None = None
    resign_moves: int = 3          # low winrates in a row before resigning: one bad read is not enough
    playouts: int = 200
    settle_after: int | None = None
    settled: float = 0.7
    search: SearchSettings | None = None
    seed: int | None = None

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)
        self.tree = None if self.search is None else Search(self.policy, self.search, self.symmetries, self.seed)
        self._low = 0  # our moves in a row with the root winrate under resign_winrate
        self._last_move_number = -1

    @property
    def effort(self) -> Effort:
        """The player's own effort, for every move not given another."""
        return Effort(self.symmetries, self.playouts)

    def view(self, game: Game) -> PositionView:
        """The position worked out once, with this player's symmetries."""
        return PositionView(self.policy, game, self.symmetries)

    def move_probabilities(self, game: Game) -> np.ndarray:
        """The policy's probabilities (N*N + 1) renormalised over sensible moves only."""
        return self.view(game).probs

    def _seed(self) -> int:
        return int(self.rng.integers(1 << 30))

    def score_for(self, game: Game, colour: int, playouts: int) -> float:
        """Estimated final score from ``colour``'s view, dead stones removed, komi included."""
        return colour * estimated_score(game, playouts, self._seed())

    def choose(self, game: Game, cleanup: bool = False, seconds: float | None = None,
               stop: Callable[[], bool] | None = None, avoid: np.ndarray | None = None,
               effort: Effort | None = None) -> int:
        """An idx to play, the pass idx, or :data:`RESIGN`. ``seconds`` replaces the search's
        time budget; ``stop`` is called between batches (True ends the search early); ``avoid``
        is a :func:`gonet.search.avoid_table` of banned moves; ``effort`` replaces the
        player's own for this move."""
        effort = effort or self.effort
        me = game.to_move
        last = game.last_move
        opponent_passed = last is not None and last[1] == game.pass_idx and last[0] == -me
        view = PositionView(self.policy, game, effort.symmetries)
        sensible = view.sensible
        if cleanup:
            probs = view.probs
            stones = game.stones
            dead = [p for p in dead_stones(game, effort.playouts, self._seed()) if stones[p] == -me]
            attack = np.zeros_like(probs, dtype=bool)
            for p in dead:
                attack[game.neighbours(p)] = True
            if dead and (probs * attack).sum() > 0:
                return self._pick(probs * attack)
            if not dead and opponent_passed:
                return game.pass_idx
        elif opponent_passed and self.score_for(game, me, effort.playouts) >= 0:
            return game.pass_idx
        elif game.move_number >= (game.pass_idx // 2 if self.settle_after is None else self.settle_after):
            own = ownership(game, effort.playouts // 2, self._seed())
            if not sensible[: game.pass_idx][np.abs(own) < self.settled].any():
                return game.pass_idx
        if not sensible.any():
            return game.pass_idx
        may_resign = game.move_number >= self.resign_after and not (game.handicap > 0 and me == BLACK)
        if self.tree is not None:
            self.tree.run(game, seconds=seconds, stop=stop, avoid=avoid)
            low = self.resign_winrate is not None and self.tree.winrate() < self.resign_winrate
            self._low = self._low + 1 if low and game.move_number > self._last_move_number else int(low)
            self._last_move_number = game.move_number
            if may_resign and self._low >= self.resign_moves:
                return RESIGN
            return self.tree.best_move(self.temperature)
        if (may_resign and self.resign_margin is not None
                and self.score_for(game, me, effort.playouts) < -self.resign_margin):
            return RESIGN
        probs = view.probs
        banned = root_bans(avoid, me)
        if banned is not None and probs[~banned].sum() > 0:
            probs = np.where(banned, 0.0, probs)
        return self._pick(probs)

    def _pick(self, probs: np.ndarray) -> int:
        """The likeliest move, or a sample at the player's temperature."""
        if self.temperature > 0:
            weights = probs ** (1.0 / self.temperature)
            return int(self.rng.choice(len(probs), p=weights / weights.sum()))
        return int(np.argmax(probs))

    def top_moves(self, game: Game, count: int = 10) -> list[tuple[int, float]]:
        """The policy's ``count`` most likely sensible moves with their probabilities."""
        return self.view(game).top_moves(count)


def self_play(player: Player, komi: float = DEFAULT_KOMI, max_moves: int = 400) -> Game:
    """A game of the player against itself until two passes, a resignation or ``max_moves``."""
    game = Game(player.policy.board_size, komi, superko=True)
    while not game.is_over() and game.move_number < max_moves:
        move = player.choose(game)
        if move == RESIGN:
            break
        game.play(move)
    return game
