"""The move-choice rules of ``Player.choose`` (gonet/player.py's docstring), pinned with a
fixed fake policy on settled 9x9 positions so the random playouts agree every time.

In ``SETTLED`` every empty point is a one-point eye except the dame E5, so the playouts give
E5 to the side to move and score exactly: Black to move, 37 to 44 before komi. With search
on, a fake judge pins the winrate resign rule (its streak, never as Black in handicap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from gonet import player as player_module
from gonet.coords import BLACK, WHITE, vertex_to_idx
from gonet.game import Game
from gonet.nets import PolicyConfig, PolicyNet
from gonet.player import RESIGN, Effort, Player
from gonet.policy import Policy
from gonet.search import SearchSettings, avoid_row, avoid_table

SETTLED = """
    . X . X O . O . O
    X X X X O O O O O
    . X . X O . O . O
    X X X X O O O O O
    . X . X . O O . O
    X X X X O O O O O
    . X . X O . O . O
    X X X X O O O O O
    . X . X O . O . O
"""
DEAD_STONE = """
    . X . X O . O . O
    X X X X O O O O O
    . X . X O . O . O
    X X X X O O O O O
    . X . X . O O . O
    X X X X O O O O O
    X X X X O . O . O
    . X X X O O O O O
    O . X X O . O . O
"""
"""SETTLED with a dead White stone on A1 in Black's corner (its liberties A2 and B1)."""


@dataclass
class FixedPolicy:
    """A stand-in for :class:`gonet.policy.Policy`: the same probabilities (pass last) every
    time, so the test sees only the player's rules."""

    probs: np.ndarray
    board_size: int = 9

    def evaluate(self, games: list[Game], symmetries: int = 1, planes: np.ndarray | None = None,
                 legal: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.probs[None].copy(), np.zeros(len(games))


def v(vertex: str) -> int:
    return vertex_to_idx(vertex, 9)


def policy(favourite: str = "A9") -> FixedPolicy:
    """Uniform over the board, with most of the mass on ``favourite``."""
    probs = np.full(82, 0.01)
    probs[v(favourite)] = 0.5
    return FixedPolicy(probs / probs.sum())


def position(art: str, to_move: int, komi: float = 7.5, opponent_move: str | None = None) -> Game:
    """A game whose stones are the ASCII art (X = Black) as setup stones, then the
    opponent's ``opponent_move`` (a vertex or "pass"), if any, with ``to_move`` to play."""
    game = Game.from_ascii(art, to_move, komi)
    if opponent_move is not None:
        game.play(game.pass_idx if opponent_move == "pass" else v(opponent_move), -to_move)
    return game


def test_plays_the_best_sensible_move_never_an_own_eye():
    """The policy's favourite A9 is Black's own eye: Black plays E5, the one sensible move,
    and top_moves lists only E5."""
    player = Player(policy("A9"), seed=0)
    game = position(SETTLED, BLACK)
    assert player.choose(game) == v("E5")
    assert [idx for idx, _ in player.top_moves(game)] == [v("E5")]


def test_passes_when_no_sensible_move_is_left():
    """With E5 filled, every point Black may play is its own eye: pass."""
    game = position(SETTLED.replace(". X . X . O", ". X . X X O"), BLACK)
    assert Player(policy(), seed=0).choose(game) == game.pass_idx


@pytest.mark.parametrize("komi, passes", [(7.5, False), (-6.5, False), (-7.5, True), (-20, True)])
def test_passes_after_the_opponent_passed_only_when_not_losing(komi, passes):
    """White passed; Black passes when its estimated score (37 - 44 - komi) is >= 0, else plays
    E5: losing by 14.5 or 0.5 plays on, a win by 0.5 or 13 passes."""
    game = position(SETTLED, BLACK, komi, opponent_move="pass")
    expected = game.pass_idx if passes else v("E5")
    assert Player(policy(), seed=0).choose(game) == expected


def test_passes_from_settle_after_when_nothing_is_contested():
    """From move ``settle_after`` on, pass when every sensible move lies where the playouts
    agree on the owner (E5: always the side to move's); before it (default: half the board's
    points), play on. White's move 1 fills its own eye H5, which changes no owner.
    ``settle_after=0`` means from the first move (it once fell back to the default)."""
    first = position(SETTLED, BLACK)
    assert Player(policy(), seed=0, settle_after=0).choose(first) == first.pass_idx
    game = position(SETTLED, BLACK, opponent_move="H5")
    assert Player(policy(), seed=0, settle_after=1).choose(game) == game.pass_idx
    assert Player(policy(), seed=0, settle_after=2).choose(game) == v("E5")
    assert Player(policy(), seed=0).choose(game) == v("E5")


def test_avoid_bans_the_policys_move_for_its_colour_only():
    """Without search, a move ``avoid`` bans for the side to move is never played (the next
    likeliest is); a ban for the other colour changes nothing; banning everything is ignored."""
    game = Game(9)
    bans = avoid_table(9)
    avoid_row(bans, WHITE)[v("E5")] = 1
    assert Player(policy("E5"), seed=0).choose(game, avoid=bans) == v("E5")
    avoid_row(bans, BLACK)[v("E5")] = 1
    assert Player(policy("E5"), seed=0).choose(game, avoid=bans) not in (v("E5"), game.pass_idx)
    avoid_row(bans, BLACK)[:] = 1
    assert Player(policy("E5"), seed=0).choose(game, avoid=bans) == v("E5")


def test_cleanup_plays_on_dead_stones_liberties():
    """kgs-genmove_cleanup: White passed and Black is ahead, yet with cleanup Black attacks
    the dead White stone A1 on a liberty (B1 or A2) instead of passing; without cleanup it
    passes. With no dead stones left, cleanup passes after the opponent's pass."""
    game = position(DEAD_STONE, BLACK, komi=-20, opponent_move="pass")
    player = Player(policy("E5"), seed=0)
    assert player.choose(game, cleanup=True) in (v("B1"), v("A2"))
    assert player.choose(game) == game.pass_idx
    clean = position(SETTLED, BLACK, komi=7.5, opponent_move="pass")
    assert player.choose(clean, cleanup=True) == clean.pass_idx


@pytest.mark.parametrize("resign_margin, resign_after, handicap, colour, resigns", [
    (None, 0, 0, BLACK, False),  # off by default
    (5.0, 0, 0, BLACK, True),  # Black estimates -14.5 < -5
    (20.0, 0, 0, BLACK, False),  # not behind by more than the margin
    (5.0, 100, 0, BLACK, False),  # too early: move 0 < resign_after
    (5.0, 0, 2, BLACK, False),  # never as Black in a handicap game
    (5.0, 0, 2, WHITE, True),  # White may resign in one (komi -30: White is 21 behind)
])
def test_resigns_only_when_enabled(resign_margin, resign_after, handicap, colour, resigns):
    """Resign only with ``resign_margin`` set, from move ``resign_after`` on, when the
    estimated score is worse than ``-resign_margin``; never as Black in a handicap game."""
    game = position(SETTLED, colour, komi=7.5 if colour == BLACK else -30)
    game.handicap = handicap
    player = Player(policy(), seed=0, resign_margin=resign_margin, resign_after=resign_after)
    assert player.choose(game) == (RESIGN if resigns else v("E5"))


def test_a_position_is_worked_out_once(work_count):
    """A genmove without search, and top moves, each compute the position's planes and legal
    mask once and run the net once: the view hands both to the net, which computed its own."""
    torch.manual_seed(0)
    player = Player(Policy(PolicyNet(PolicyConfig(filters=4, layers=2))), seed=0)
    game = Game(9)
    player.choose(game)
    assert work_count == {"planes": 1, "legal": 1, "passes": 1}
    work_count.clear()
    player.top_moves(game)
    assert work_count == {"planes": 1, "legal": 1, "passes": 1}


def test_a_moves_effort_is_passed_in_not_set_on_the_player(monkeypatch):
    """A move's own :class:`Effort` (GTP's when short of time) sets that move's playouts and
    symmetries; a move without one uses the player's, which never change."""
    asked = []
    fixed = policy()
    evaluate, score = fixed.evaluate, player_module.estimated_score
    monkeypatch.setattr(fixed, "evaluate", lambda games, symmetries, *rest:
                        asked.append(symmetries) or evaluate(games, symmetries, *rest))
    monkeypatch.setattr(player_module, "estimated_score", lambda game, playouts, seed:
                        asked.append(playouts) or score(game, playouts, seed))
    game = position(SETTLED, BLACK, komi=-6.5, opponent_move="pass")  # 0.5 behind: scores, plays on
    player = Player(fixed, seed=0, playouts=200, symmetries=8)
    assert player.choose(game, effort=Effort(symmetries=1, playouts=50)) == v("E5")
    assert player.choose(game) == v("E5")
    assert asked == [50, 1, 200, 8] and (player.symmetries, player.playouts) == (8, 200)


def test_temperature_samples_among_sensible_moves_only():
    """With ``temperature`` > 0 the move is drawn from the sensible moves (here A2, B1, E5),
    never an own eye, and not always the same one."""
    game = position(DEAD_STONE, BLACK)
    player = Player(policy("A9"), seed=0, temperature=1.0)
    moves = {player.choose(game) for _ in range(30)}
    assert moves <= {v("A2"), v("B1"), v("E5")} and len(moves) > 1


# ------------------------------------------------------------ with search


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
