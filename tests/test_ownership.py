"""The playouts behind dead stones, score estimates and the search's score lead: they keep a
seki and answer ataris."""

import numpy as np
import pytest

from gonet.board import LIB0
from gonet.coords import BLACK, WHITE, vertex_to_idx
from gonet.game import Game
from gonet.ownership import _urgent_reply, dead_stones, estimated_score, ownership

# Top edge: Black's chain (5 stones, eye A7) and White's (6 stones, eye G7) share the liberty
# D7; each is walled in by the other's living group below. Whoever fills D7 is captured.
SEKI = """
    . X X . O O .
    X X X O O O O
    O O O X X X X
    O . O X . X .
    O O O X X X X
    O . O X . X .
    O O O X X X X
"""


@pytest.mark.parametrize("to_move", [BLACK, WHITE])
def test_seki_stays_seki(to_move):
    """Neither side fills the shared liberty (it would leave a big chain in atari): no stone
    is dead, the seki chains stay their owners', D7 is nobody's. Uniformly random playouts
    filled it at once and killed the chain of whoever moved first."""
    game = Game.from_ascii(SEKI, to_move)
    assert len(dead_stones(game, 64)) == 0
    own = ownership(game, 64, seed=3)
    stones = game.stones
    assert np.all(own[stones != 0] == stones[stones != 0])
    assert own[vertex_to_idx("D7", 7)] == 0
    # area: Black 5 + eye A7 + 20 below, White 6 + eye G7 + 15 below; D7 and the komi aside
    assert estimated_score(game, 64) == 26 - 22 - 7.5


def reply(black: str, white: str, last: str) -> str | None:
    """The playouts' answer (a vertex; None: a random move) to White's ``last`` on a 9x9
    board with these Black and White stones, Black to move."""
    game = Game(9)
    game.place_setup([(colour, vertex_to_idx(v, 9)) for colour, stones in ((BLACK, black), (WHITE, white))
                      for v in stones.split()])
    game.to_move = WHITE
    game.play(vertex_to_idx(last, 9))
    acc = np.zeros(game.board.state.shape[0] - LIB0, dtype=np.int64)
    idx = _urgent_reply(game.board.state, game.board.nbr, game.last_move[1], BLACK, acc, np.zeros(1, dtype=np.int64))
    return None if idx < 0 else "ABCDEFGHJ"[idx % 9] + str(9 - idx // 9)


@pytest.mark.parametrize("black, white, last, answer", [
    ("D5 F5 E6", "", "E5", "E4"),                        # White's stone in atari: capture it
    ("D5 E5", "D6 E6 C5 E4", "D4", "F5"),                # D5-E5 in atari: extend to three liberties
    ("D5 E5", "D6 E6 C5 E4 F6 G5", "D4", None),          # F5 would still be in atari: no rescue
    ("D5 E5", "D6 E6 C5 E4", "A1", None),                # nothing in atari next to the move
])
def test_playouts_answer_ataris_next_to_the_last_move(black, white, last, answer):
    assert reply(black, white, last) == answer
