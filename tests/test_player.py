"""Player rules with search: the winrate resign rule (streak, never as Black in handicap)."""

from __future__ import annotations

import numpy as np
import pytest

from gonet.coords import BLACK
from gonet.game import Game
from gonet.player import RESIGN, Player
from gonet.search import SearchSettings


class Judge:
    """Uniform priors over legal points; Black's value is ``black_value`` whoever is to move."""

    has_value = True
    board_size = 9

    def __init__(self, black_value: float):
        self.black_value = black_value

    def evaluate(self, games: list[Game], symmetries: int = 1) -> tuple[np.ndarray, np.ndarray]:
        legal = np.stack([g.legal_moves() for g in games]).astype(np.float64)
        legal[:, -1] = 0.0
        values = np.array([self.black_value * g.to_move for g in games])
        return legal / legal.sum(axis=1, keepdims=True), values


def moves_until_resign(black_value: float, handicap: int = 0, turns: int = 5) -> int | None:
    """Black's turn number (1-based) at which the player resigns, or None."""
    player = Player(Judge(black_value), resign_winrate=0.05, resign_after=0, settle_after=10_000,
                    search=SearchSettings(visits=8, seconds=None), seed=0)
    game = Game(9, komi=0.0, superko=True)
    game.handicap = handicap
    for turn in range(1, turns + 1):
        move = player.choose(game)
        if move == RESIGN:
            return turn
        game.play(move)
        game.play(int(np.flatnonzero(game.legal_moves()[:-1])[0]))  # White replies
    return None


@pytest.mark.parametrize("black_value, handicap, resigns_at", [
    (-0.98, 0, 3),       # winrate about 1%: resigns on the third low move in a row
    (-0.98, 2, None),    # never as Black in a handicap game
    (0.0, 0, None),      # an even game: plays on
])
def test_resign_rule_on_winrate(black_value, handicap, resigns_at):
    assert moves_until_resign(black_value, handicap) == resigns_at


def test_search_player_plays_legal_moves():
    """The searching player's moves are legal points (no early pass), its tree at the position."""
    player = Player(Judge(0.0), search=SearchSettings(visits=16, seconds=None), seed=1)
    game = Game(9, komi=7.5, superko=True)
    for _ in range(3):
        move = player.choose(game)
        assert game.is_legal(move) and move != game.pass_idx
        game.play(move)
        game.play(int(np.flatnonzero(game.legal_moves()[:-1])[-1]))
    assert player.tree.game.to_move == BLACK and player.tree.root_visits > 1
