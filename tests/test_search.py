"""PUCT search: it reads tactics the prior gets wrong, keeps its tree across moves, obeys
its budgets, and its kernels agree with a plain-Python walk of the tree."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gonet.coords import BLACK, WHITE, idx_to_vertex, vertex_to_idx
from gonet.game import Game
from gonet.search import (COUNT, FIRST, MIX_SIGMA, MOVE, PRIOR, VALUE, VISITS, VLOSS, Search, SearchSettings,
                          avoid_table, ban)


def board(art: str, to_move: int = BLACK) -> Game:
    """A game from ASCII art (X black, O white, . empty; top row first), no komi, superko on."""
    return Game.from_ascii(art, to_move, komi=0.0, superko=True)


def neighbours(idx: int, size: int) -> list[int]:
    row, col = divmod(idx, size)
    return [r * size + c for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1))
            if 0 <= r < size and 0 <= c < size]


class Tactics:
    """A deterministic stand-in for the net. Prior: weight 1 per legal point, +20 for each of
    capturing, putting a touching enemy group in atari, and lifting an own group out of
    atari; ``trap`` (when legal) takes ``trap_share`` of the prior, so it is the raw policy's
    first choice. Value: tanh(stone balance / 4) for the side to move."""

    has_value = True

    def __init__(self, trap: str | None = None, trap_share: float = 0.6):
        self.trap = trap
        self.trap_share = trap_share
        self.calls = 0

    def evaluate(self, games: list[Game], symmetries: int = 1) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        probs = np.zeros((len(games), games[0].pass_idx + 1))
        values = np.zeros(len(games))
        for b, game in enumerate(games):
            legal = np.flatnonzero(game.legal_moves()[:-1])
            weights = np.zeros(game.pass_idx + 1)
            for m in legal:
                weights[m] = 1.0 + 20.0 * self._tactics(game, int(m))
            trap = vertex_to_idx(self.trap, game.size) if self.trap else -1
            if trap in legal:
                weights[trap] = 0.0
                weights[trap] = weights.sum() * self.trap_share / (1.0 - self.trap_share)
            probs[b] = weights / weights.sum() if weights.sum() > 0 else np.eye(game.pass_idx + 1)[-1]
            values[b] = math.tanh(game.to_move * game.board.stones.sum() / 4.0)
        return probs, values

    @staticmethod
    def _tactics(game: Game, m: int) -> int:
        me, board = game.to_move, game.board
        mine = [p for p in neighbours(m, game.size) if board.colour_at(p) == me]
        in_atari = any(board.liberties(p) == 1 for p in mine)
        captured = game.play(m)
        try:
            ataris = any(board.colour_at(p) == -me and board.liberties(p) == 1 for p in neighbours(m, game.size))
            saved = in_atari and board.liberties(m) >= 2
        finally:
            game.undo()
        return int(captured > 0) + int(ataris) + int(saved)


def raw_choice(evaluator, game: Game) -> str:
    probs, _ = evaluator.evaluate([game])
    return idx_to_vertex(int(np.argmax(probs[0])), game.size)


def searched(evaluator, game: Game, visits: int, **settings) -> Search:
    search = Search(evaluator, SearchSettings(visits=visits, seconds=None, **settings), seed=0)
    search.run(game)
    return search


ATARI = """
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . O . . . .
. . . O X O . . .
. . . . . . . . .
. . X . . . . . .
. . . . . . . . .
. . . . . . . . X
"""  # Black E5 in atari (liberty E4); Black has two stones elsewhere, material even

RACE = """
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
X X X X . . . . .
O O O X . . . . .
X X O X . . . . .
. X O . . . . . .
"""  # White's A3-C1 group has one liberty (D1), Black's A2-B1 group one (A1): who fills first wins

LADDER = """
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. . . . . . . . .
. X O . . . . . .
. . X X . . . O O
. . . . . . . . .
"""  # White C3 has two liberties; Black C4 starts a ladder that runs to the top edge and works

@pytest.mark.parametrize("art, trap, best", [(ATARI, "J9", {"E4"}), (RACE, "H8", {"D1"})],
                         ids=["save-group-in-atari", "capture-race"])
def test_search_finds_the_move_the_prior_gets_wrong(art, trap, best):
    """The raw prior's first choice (the trap) loses stones; 200 visits find the move that does not."""
    game = board(art)
    evaluator = Tactics(trap)
    assert raw_choice(evaluator, game) == trap
    search = searched(evaluator, game, 200)
    assert idx_to_vertex(search.best_move(), 9) in best
    assert search.winrate() > 0.5  # Black is not losing after the right move


def test_search_reads_a_ladder():
    """Black C4 captures White C3 in a ladder (D3 lets it out). The prior prefers A9, after
    which White escapes; the search reads the ladder to its end and plays C4."""
    game = board(LADDER)
    evaluator = Tactics("A9", trap_share=0.5)
    assert raw_choice(evaluator, game) == "A9"
    search = searched(evaluator, game, 400)
    assert idx_to_vertex(search.best_move(), 9) == "C4"


def test_a_root_without_visited_children_plays_the_prior():
    """A budget spent on the root alone (one visit: a slow net, a tight clock) plays the
    prior's first choice, not whichever child happens to sort last."""
    game = board(LADDER)
    search = searched(Tactics("A9", trap_share=0.5), game, 1)
    assert search.root_visits == 1 and idx_to_vertex(search.best_move(), 9) == "A9"
    priors = [i.prior for i in search.infos(min_moves=5)]
    assert priors == sorted(priors, reverse=True)


def test_tree_is_kept_across_moves():
    """After our move and the opponent's reply, the next search starts from that reply's
    subtree: its visits and value are still there, and no new evaluation is needed to read them."""
    game = board(ATARI)
    evaluator = Tactics()
    search = searched(evaluator, game, 120)
    ours = search.best_move()
    child = search._child(0, ours)
    reply = search._best_child(child)
    kept_visits = int(search.links[VISITS, reply])
    kept_value = float(search.stats[VALUE, reply])
    assert kept_visits > 1
    game.play(ours)
    game.play(int(search.links[MOVE, reply]))
    calls = evaluator.calls
    search.run(game, visits=kept_visits)  # already there: nothing to add
    assert evaluator.calls == calls
    assert search.root_visits == kept_visits and float(search.stats[VALUE, 0]) == kept_value
    search.run(game, visits=kept_visits + 20)
    assert search.root_visits >= kept_visits + 20 - 1  # may stop early once decided
    game.undo()
    search.run(game, visits=10)  # a position not below the root: a fresh tree
    assert search.root_visits == 10


def test_tree_statistics_are_consistent():
    """Every expanded node's visits are 1 + its children's (virtual losses all taken back);
    priors of each node's children sum to 1."""
    search = searched(Tactics(), board(ATARI), 150, batch=8)
    links, stats = search.links, search.stats
    assert (links[VLOSS, : search.size] == 0).all()
    for node in range(search.size):
        first, count = links[FIRST, node], links[COUNT, node]
        if count > 0:
            children = slice(first, first + count)
            assert links[VISITS, node] == 1 + links[VISITS, children].sum()
            assert abs(stats[PRIOR, children].sum() - 1.0) < 1e-9


def test_budgets_and_batches():
    """Visits stop the search (batch 1 exactly, larger batches within a batch); seconds too."""
    game = board(ATARI)
    assert searched(Tactics(), game, 33, batch=1).root_visits <= 33
    assert searched(Tactics(), game, 33, batch=8).root_visits <= 33
    search = Search(Tactics(), SearchSettings(seconds=0.3), seed=0)
    search.run(game)
    assert search.run_seconds < 2.0 and search.root_visits > 1


def test_passes_only_without_sensible_moves_and_scores_the_end():
    """Pass is a child only when every legal point fills our own eye; two passes end the
    game in the tree, valued by the Tromp-Taylor score."""
    game = board("""
X X X X X X X X X
X . X X X X X X X
X X X X X X X X X
X X X X X X X X X
X X X X X X X X X
X X X X X X X X X
X X X X X X X X X
X X X X X X X X X
X X X X X X X . X
""")
    search = searched(Tactics(), game, 10)
    assert search.best_move() == game.pass_idx
    assert search.winrate() == 1.0  # Black owns the board, komi 0


def test_analysis_infos():
    """Infos: visited moves first by visits, pv starts with the move, rates in 0..1, lcb
    below the winrate; min_moves adds unvisited moves, max_moves caps."""
    search = searched(Tactics(), board(ATARI), 80)
    infos = search.infos()
    assert infos and all(i.visits > 0 for i in infos)
    assert [i.visits for i in infos] == sorted((i.visits for i in infos), reverse=True)
    for i in infos:
        assert i.pv[0] == i.move and 0 <= i.lcb <= i.winrate <= 1 and 0 < i.prior <= 1
    assert len(search.infos(min_moves=len(infos) + 3)) == len(infos) + 3
    assert len(search.infos(max_moves=2)) == 2
    assert search.ownership().shape == (81,)


def bans(*entries: tuple[int, str, int]) -> np.ndarray:
    """An avoid table from (colour, "V,V,...", depth) entries on 9x9."""
    table = avoid_table(9)
    for colour, vertices, depth in entries:
        ban(table, colour, [vertex_to_idx(v, 9) for v in vertices.split(",")], depth)
    return table


def test_avoided_moves_are_not_searched_to_their_depth():
    """KataGo's avoid: Black's saving move E4 banned at the root gets no visit and is neither
    played nor listed (even as an unvisited move); White's replies banned to depth 2 get no
    visit one ply down; a search with new bans starts afresh, one with the same bans reuses
    its tree. A node whose children are all banned searches them anyway."""
    game = board(ATARI)
    search = searched(Tactics(), game, 150)
    assert idx_to_vertex(search.best_move(), 9) == "E4"
    white = "E4,D6,C5,F4,E6,D4"
    table = bans((BLACK, "E4", 1), (WHITE, white, 2))
    search.run(game, visits=150, avoid=table)
    e4 = vertex_to_idx("E4", 9)
    assert search.links[VISITS, search._child(0, e4)] == 0 and search.root_visits >= 100
    assert search.best_move() != e4 and e4 not in [i.move for i in search.infos(min_moves=100)]
    banned = {vertex_to_idx(v, 9) for v in white.split(",")}
    for child in search._children(0):
        for reply in search._children(child):
            if int(search.links[MOVE, reply]) in banned:
                assert search.links[VISITS, reply] == 0
    visits = search.root_visits
    search.run(game, visits=visits + 10, avoid=table.copy())
    assert search.root_visits >= visits  # the same bans: the tree is kept
    everything = avoid_table(9)
    ban(everything, BLACK, [], 1, allow=True)
    search.run(game, visits=20, avoid=everything)
    assert search.root_visits == 20 and search.best_move() != game.pass_idx


def test_ownership_and_pv_visits_split_by_root_move():
    """The root's ownership statistics hold every leaf's playout map: the root's own first
    evaluation plus those below each root move; a move's ``pv_visits`` are the visits of the
    nodes along its pv, falling; an unvisited move has no ownership maps (0 everywhere)."""
    search = searched(Tactics(), board(ATARI), 120)
    root = search.ownership_stats()
    infos = search.infos(min_moves=30)
    below = [search.ownership_stats(i.move) for i in infos]
    assert root.count == search.root_visits == 1 + sum(b.count for b in below)
    assert [b.count for b in below] == [i.visits for i in infos]
    first = root.sum - sum(b.sum for b in below)  # the root's own leaf: one playout map, owners +-1 or 0
    assert np.allclose(np.abs(first) * (np.abs(first) - 1), 0)
    assert ((0 <= root.stdev()) & (root.stdev() <= 1)).all() and root.stdev().max() > 0
    assert not below[-1].count and not below[-1].mean().any() and not below[-1].stdev().any()
    for i in infos:
        assert i.pv_visits[0] == i.visits and i.pv_visits == sorted(i.pv_visits, reverse=True)
        assert len(i.pv_visits) == len(i.pv) and (i.visits == 0 or min(i.pv_visits) > 0)
    root_info = search.root_info()
    assert root_info.visits == search.root_visits and root_info.winrate == search.winrate()
    assert root_info.score_lead == pytest.approx(search.score_lead()) and root_info.score_stdev >= 0


@pytest.mark.parametrize("settings", [{"root_temperature": 4.0}, {"wide_root_noise": 1.0},
                                      {"root_fpu_reduction": 0.0}])
def test_root_settings_widen_the_root_only(settings):
    """KataGo's rootPolicyTemperature, wideRootNoise and rootFpuReductionMax: the same budget
    visits more root moves than the plain search, and the root's children keep the net's
    priors (only selection reads them flattened)."""
    game = board(ATARI)
    plain = searched(Tactics(), game, 150)
    wide = searched(Tactics(), game, 150, **settings)
    assert len(wide.infos()) > len(plain.infos())
    assert {i.move: i.prior for i in wide.infos(min_moves=81)} == {i.move: i.prior for i in plain.infos(min_moves=81)}


def test_settings_need_a_budget():
    with pytest.raises(ValueError):
        SearchSettings(visits=None, seconds=None)
    with pytest.raises(ValueError):
        SearchSettings(root_temperature=0.0)
    with pytest.raises(ValueError, match="playouts"):
        SearchSettings(mix=0.5, mix_playouts=0)


SETTLED = """
X X X X X O O O O
X . X X X O O . O
X X X X X O O O O
X . X X X O O . O
X X X X X O O O O
X . X X X O O . O
X X X X X O O O O
X . X X X O O . O
X X X X X O O O O
"""  # every point decided: Black's area 45, White's 36; no playout changes anything


@pytest.mark.parametrize("komi", [8.5, 5.5, 12.5])
def test_mixed_playouts_judge_by_the_margin_not_only_the_sign(komi):
    """With λ = 1 a leaf's value is the playouts' judgement alone: tanh(margin / MIX_SIGMA)
    for the side to move, so a half-point lead counts for little and a 3.5-point one for more
    (a sign would call both certain wins)."""
    game = board(SETTLED)
    game.komi = komi
    search = searched(Tactics(), game, 1, mix=1.0, mix_from=0.0, mix_playouts=4)
    margin = 45 - 36 - komi
    assert search.winrate() == pytest.approx((1 + math.tanh(margin / MIX_SIGMA)) / 2, abs=1e-6)
    assert search.score_lead() == pytest.approx(margin)


def test_playouts_mix_in_only_from_the_late_game():
    """λ applies once ``mix_from`` of the board's points are played at the root: after one
    move (a pass) on 9x9, from 0.01 (0.81 moves) on and not from 0.02 (1.62). Before, the
    value alone judges, whatever λ, and a leaf gets only ``playouts``."""
    game = board(SETTLED)
    game.play(game.pass_idx)
    value_only = searched(Tactics(), game, 1, playouts=0)
    early = searched(Tactics(), game, 1, mix=1.0, mix_from=0.02, mix_playouts=4, playouts=0)
    assert not early.mixing and early.winrate() == value_only.winrate() and early.ownership_stats().count == 0
    late = searched(Tactics(), game, 1, mix=1.0, mix_from=0.01, mix_playouts=4, playouts=0)
    assert late.mixing and late.winrate() != value_only.winrate() and late.ownership_stats().count == 1
