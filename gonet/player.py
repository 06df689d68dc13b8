"""Game → planes → net → a legal move: how gonet chooses moves without search.

Rules, in order:
1. **Pass** when the opponent just passed and passing does not lose: the area score after
   the playouts' dead stones come off, komi included, is not against us. Also pass when no
   sensible move (legal, not filling our own eye) is left, and, from move ``settle_after``
   on (default half the board's points), when every sensible move lies where the playouts
   agree who owns the point (no contested point left to fight for).
2. **Resign** only when ``resign_margin`` is set (off by default): after ``resign_after``
   moves, if the playouts' estimated score is worse than ``-resign_margin`` points for us.
   Never as Black in a handicap game (GUIs and servers treat that as rude).
3. **Cleanup** (``kgs-genmove_cleanup``): while the opponent has dead stones on the board,
   play on their liberties instead of passing, so Tromp-Taylor scoring counts them off.
4. Otherwise the policy's most likely sensible move, or with ``temperature`` > 0 a sample
   from probabilities ** (1 / temperature). ``symmetries`` averages the net over that many
   board symmetries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gonet.coords import BLACK
from gonet.features import SENSIBLE, position_planes
from gonet.game import Game
from gonet.ownership import dead_stones, estimated_score, ownership
from gonet.policy import Policy

RESIGN = -1


@dataclass
class Player:
    policy: Policy
    symmetries: int = 1
    temperature: float = 0.0
    resign_margin: float | None = None
    resign_after: int = 100
    playouts: int = 200
    settle_after: int | None = None
    settled: float = 0.7
    seed: int | None = None

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)

    def sensible_mask(self, game: Game) -> np.ndarray:
        """bool[N*N + 1]: legal moves that do not fill the mover's own eye (pass excluded)."""
        mask = game.legal_moves()
        mask[: game.pass_idx] &= position_planes(game)[SENSIBLE].reshape(-1).astype(bool)
        mask[game.pass_idx] = False
        return mask

    def move_probabilities(self, game: Game) -> np.ndarray:
        """The policy's probabilities (N*N + 1) renormalised over sensible moves only."""
        probs = self.policy.predict(game, self.symmetries)
        probs[~self.sensible_mask(game)] = 0.0
        total = probs.sum()
        return probs / total if total > 0 else probs

    def _seed(self) -> int:
        return int(self.rng.integers(1 << 30))

    def score_for(self, game: Game, colour: int) -> float:
        """Estimated final score from ``colour``'s view, dead stones removed, komi included."""
        return colour * estimated_score(game, self.playouts, self._seed())

    def choose(self, game: Game, cleanup: bool = False) -> int:
        """An idx to play, the pass idx, or :data:`RESIGN`."""
        me = game.to_move
        last = game.last_move
        opponent_passed = last is not None and last[1] == game.pass_idx and last[0] == -me
        probs = self.move_probabilities(game)
        if cleanup:
            dead = [p for p in dead_stones(game, self.playouts, self._seed()) if game.board.colour_at(p) == -me]
            attack = np.zeros_like(probs, dtype=bool)
            for p in dead:
                attack[[q for q in game.board.nbr[p] if q >= 0]] = True
            if dead and (probs * attack).sum() > 0:
                probs = probs * attack
            elif not dead and opponent_passed:
                return game.pass_idx
        elif opponent_passed and self.score_for(game, me) >= 0:
            return game.pass_idx
        elif game.move_number >= (self.settle_after or game.pass_idx // 2):
            own = ownership(game, self.playouts // 2, self._seed())
            if not (probs[: game.pass_idx] > 0)[np.abs(own) < self.settled].any():
                return game.pass_idx
        if self.resign_margin is not None and game.move_number >= self.resign_after:
            in_handicap = game.handicap > 0 and me == BLACK
            if not in_handicap and self.score_for(game, me) < -self.resign_margin:
                return RESIGN
        if probs.sum() == 0:
            return game.pass_idx
        if self.temperature > 0:
            weights = probs ** (1.0 / self.temperature)
            return int(self.rng.choice(len(probs), p=weights / weights.sum()))
        return int(np.argmax(probs))

    def top_moves(self, game: Game, count: int = 10) -> list[tuple[int, float]]:
        """The policy's ``count`` most likely sensible moves with their probabilities."""
        probs = self.move_probabilities(game)
        order = np.argsort(-probs)[:count]
        return [(int(i), float(probs[i])) for i in order if probs[i] > 0]


def self_play(player: Player, komi: float = 7.5, max_moves: int = 400) -> Game:
    """A game of the player against itself until two passes, a resignation or ``max_moves``."""
    game = Game(player.policy.board_size, komi, superko=True)
    while not game.is_over() and game.move_number < max_moves:
        move = player.choose(game)
        if move == RESIGN:
            break
        game.play(move)
    return game
