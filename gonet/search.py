"""PUCT Monte-Carlo tree search over a :class:`Game`: the policy proposes, the value judges.

Rules, in order:
1. **Candidates.** A node's children are its sensible moves: superko-legal
   (``Game.legal_moves``, through the evaluator's legal-masked probabilities) and not
   filling the mover's own eye; the net's probabilities over them are the priors, and
   moves under ``PRUNE`` times the best prior are left out (as Leela Zero does: they would
   not be visited at these budgets, and they fill memory in long analyses). Pass is
   a child only when no sensible move is left; two passes end the game and the
   Tromp-Taylor score is the value. (When to pass earlier is the player's rule: player.py.)
2. **Selection** (AlphaGo Zero): from the root, the child maximising
   Q + c_puct · P · √N / (1 + n), with Q the mean value for the side playing the move.
   An unvisited child counts as Q = parent's Q − ``fpu_reduction`` · √(prior mass of the
   visited children) (Leela Zero's first-play urgency): the search widens only when the
   favourites disappoint. Moves an ``avoid`` table bans (KataGo's ``avoid``/``allow``: for
   one colour, up to a ply depth; :func:`ban`) are not selected, unless every child of the
   node is banned. At the root, as KataGo does for a wider analysis: the priors are raised to
   1/``root_temperature`` and renormalised, then raised to 1/(4·``wide_root_noise`` + 1);
   with ``wide_root_noise`` each child's Q gets, at every selection and with probability ½, a
   bonus of ``wide_root_noise``·|N(0, 1)|; ``root_fpu_reduction`` replaces ``fpu_reduction``.
3. **Evaluation.** Up to ``batch`` leaves go through the net in one forward pass; a
   pending visit counts as a loss (virtual loss) so that they spread over the tree. Each
   leaf also gets ``playouts`` random playouts (ownership.py): their mean area score backs
   up as the score lead, their ownership as the ownership map. (Their majority score, each
   point to the side owning it in most, tracks final margins better late in the game but
   swings far more early: on the empty board 58 points sd a 16-playout leaf against 18;
   docs/benchmarks.md.) Late in the game their judgement is mixed into the value as AlphaGo
   mixed its rollouts' outcome, V = (1 − λ)·v + λ·z, with z = tanh(majority score /
   ``MIX_SIGMA``) for the side to move (``mix_playouts`` playouts at the leaf), once
   ``mix_from`` of the board's points have been played at the root (move 145 on 19x19): on
   kgs/val positions the playouts' count corrects the head from move 150 on and not before
   (``scripts/bench_value_mix.py``). λ (``mix``) is 0 by default; docs/benchmarks.md has the
   matches. With a policy-only model the value is 0 everywhere and the search follows the
   prior. The playouts' ownership maps are summed for the root and for each root child
   (ownership.py's ``OwnershipStats``).
4. **Backup** of V along the path, the sign flipping at each level.
5. **Budget**: ``visits`` (at the root, reused ones included) and/or ``seconds``, whichever
   ends first, or a ``stop`` callback (called between batches, so it can also report the tree
   on a :class:`Schedule`); a visit budget also ends once the runner-up cannot catch the most
   visited move in the visits left.
6. **Choice**: the most visited root child not banned at the root (ties: higher Q, then higher
   prior), or with a temperature a sample from visits ** (1 / T).
7. **Reuse**: a search at a position that follows from the root by moves in the tree (our
   move, the opponent's reply) starts from that subtree with its statistics; a search with
   other bans than the last one starts afresh (the old tree explored what is now banned).

The tree lives in two arrays indexed by node (``links`` int32, ``stats`` float64, rows
named below; 60 bytes a node); a node's children are contiguous. Selection and backup are
Numba kernels.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Protocol

import numpy as np
from numba import njit

from gonet.coords import BLACK
from gonet.features import sensible_points
from gonet.game import Game
from gonet.ownership import OwnershipStats, majority_score, ownership

# links rows
MOVE, FIRST, COUNT, VISITS, VLOSS = range(5)  # no parent links: selection records its path
# stats rows: VALUE* from the view of the side that played the node's move; SCORE* from Black's
PRIOR, VALUE, VALUE_SQ, SCORE, SCORE_SQ = range(5)
ROOT = 0
PRUNE = 1e-3            # children with a prior under this times the best one are not made
LCB_Z = 1.96            # lcb: winrate minus 1.96 standard errors
UNLIMITED = 1 << 40     # a visit budget that never ends a search (analysis: time and ``stop`` do)
MIX_SIGMA = 5.0         # points: a lead this size is judged tanh(1) = 0.76 by the playouts (rule 3)


class Evaluator(Protocol):
    """What the search needs from a net: ``Policy`` with a value head is one."""

    has_value: bool

    def evaluate(self, games: list[Game], symmetries: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(B, N*N+1) legal-masked probabilities, (B,) values in [-1, 1] for the side to move."""


@dataclass(frozen=True)
class SearchSettings:
    """How a search runs; the defaults are gonet's GTP defaults (about 1 s a move on 2 cores)."""

    visits: int | None = None       # root visits to reach (None: no limit)
    seconds: float | None = 0.9     # wall-clock budget per search (None: no limit); genmove ≈ 1 s
    c_puct: float = 1.25            # exploration weight of the prior
    fpu_reduction: float = 0.25     # unvisited children: parent's Q minus this · √(visited prior)
    batch: int = 4                  # leaves per forward pass (virtual loss); 8 is faster but misreads ladders
    mix: float = 0.0                # λ: playout weight in the leaf value, V = (1 − λ)·v + λ·z (rule 3)
    mix_from: float = 0.4           # λ applies once this share of the board's points is played at the root
    mix_playouts: int = 64          # playouts a leaf where λ applies (their majority score is z)
    playouts: int = 1               # random playouts per leaf elsewhere (score lead, ownership)
    max_nodes: int = 2_000_000      # the tree stops growing here (120 MB; a long analysis)
    # a wider root for analysis (KataGo's rootPolicyTemperature, wideRootNoise, rootFpuReductionMax; rule 2)
    root_temperature: float = 1.0   # > 1 flattens the root's priors
    wide_root_noise: float = 0.0    # flattens the root's priors and jitters its children's Q
    root_fpu_reduction: float | None = None  # None: fpu_reduction

    def __post_init__(self):
        if self.visits is None and self.seconds is None:
            raise ValueError("a search needs a budget: visits or seconds")
        if self.batch < 1 or (self.visits is not None and self.visits < 1):
            raise ValueError("batch and visits must be at least 1")
        if self.root_temperature <= 0 or self.wide_root_noise < 0:
            raise ValueError("root_temperature must be positive and wide_root_noise not negative")
        if self.mix > 0 and self.mix_playouts < 1:
            raise ValueError("mixing playouts into the value (mix > 0) needs mix_playouts of at least 1")


def avoid_table(size: int) -> np.ndarray:
    """An empty ban table for :meth:`Search.run`: int32[2, N*N+1], row 0 Black's moves, row 1
    White's, each the ply up to which the move is banned (KataGo's ``untilDepth``: 1 bans it at
    the root only, 3 also two plies later; 0 never)."""
    return np.zeros((2, size * size + 1), dtype=np.int32)


def avoid_row(avoid: np.ndarray, colour: int) -> np.ndarray:
    """``colour``'s row of an :func:`avoid_table` (a view: writing to it bans moves)."""
    return avoid[0 if colour == BLACK else 1]


def ban(avoid: np.ndarray, colour: int, moves: list[int], depth: int, allow: bool = False) -> None:
    """KataGo's ``avoid``: ban ``moves`` (idxs) for ``colour`` in an :func:`avoid_table` up to
    ply ``depth``; its ``allow``: ban all other moves, pass included."""
    row = avoid_row(avoid, colour)
    if allow:
        row[:] = depth
        row[moves] = 0
    else:
        row[moves] = depth


def root_bans(avoid: np.ndarray | None, to_move: int) -> np.ndarray | None:
    """bool[N*N+1]: the moves ``avoid`` bans for ``to_move`` at the root (None: no table)."""
    return None if avoid is None else avoid_row(avoid, to_move) > 0


class Schedule:
    """When the next report of a running search is due: one interval after the last one was
    written, so that a slow search step delays the next report instead of a burst of them to
    catch up."""

    def __init__(self, interval: float, first: float | None = None):
        self.interval = interval
        self.due = time.perf_counter() + (interval if first is None else first)

    def left(self) -> float:
        """Seconds until the next report is due (0 when it is)."""
        return max(self.due - time.perf_counter(), 0.0)

    def written(self) -> None:
        """A report was written now: the next one is due an interval from now."""
        self.due = time.perf_counter() + self.interval


def warm_up(evaluator: Evaluator, settings: SearchSettings = SearchSettings(), symmetries: int = 1) -> None:
    """A few visits on an empty 9x9 board: compiles (or loads from Numba's cache) the rules,
    features, playout and tree kernels, so that an engine's first timed search is not spent
    compiling (on a fresh 2-core machine that took more than a 5 s budget)."""
    Search(evaluator, replace(settings, visits=2 * settings.batch + 1, seconds=None), symmetries, seed=0).run(Game(9))


@dataclass
class NodeInfo:
    """A node's visits as analysis reports them (KataGo's ``rootInfo``); rates and scores from
    the view of the root's side to move."""

    visits: int
    winrate: float
    lcb: float
    score_lead: float   # the playouts' mean area score minus komi
    score_stdev: float

    @property
    def utility(self) -> float:
        """KataGo's utility with no score term: the winrate on [-1, 1]."""
        return 2.0 * self.winrate - 1.0

    @property
    def utility_lcb(self) -> float:
        """The lcb on the utility's scale."""
        return 2.0 * self.lcb - 1.0


@dataclass
class MoveInfo(NodeInfo):
    """One root child as analysis reports it."""

    move: int
    prior: float
    pv: list[int]
    pv_visits: list[int]  # the visits of the node each pv move leads to (a tree: also the edge's)


@dataclass
class Report:
    """What an analysis reports of a tree: the moves, the root, and the playouts' ownership
    (+1 Black), in all and below one root move."""

    moves: list[MoveInfo]
    root: NodeInfo
    ownership: OwnershipStats
    move_ownership: Callable[[int], OwnershipStats]


@njit(cache=True)
def _select(links, stats, c_puct, fpu_reduction, path, bans, root_prior, root_bonus, root_fpu):
    """Walk from the root to a leaf by PUCT, adding a virtual loss on the way; the path length.
    A walk as long as ``path`` ends there (the node is then evaluated again, not expanded).
    ``bans[side, move]``: the ply up to which a move is skipped (side 0: the root's side to
    move; ply 0: the root's children), unless all of a node's children are. At the root, the
    i-th child's prior is ``root_prior[i]``, its Q gains ``root_bonus[i]``, and ``root_fpu``
    is the fpu reduction (rule 2)."""
    node = ROOT
    links[VLOSS, node] += 1
    path[0] = node
    length = 1
    while links[COUNT, node] > 0 and length < path.shape[0]:
        first = links[FIRST, node]
        end = first + links[COUNT, node]
        at_root = node == ROOT
        visited_mass = 0.0
        for c in range(first, end):
            if links[VISITS, c] + links[VLOSS, c] > 0:
                visited_mass += root_prior[c - first] if at_root else stats[PRIOR, c]
        n_parent = links[VISITS, node]
        parent_q = -stats[VALUE, node] / n_parent if n_parent > 0 else 0.0
        fpu = parent_q - (root_fpu if at_root else fpu_reduction) * math.sqrt(visited_mass)
        scale = c_puct * math.sqrt(n_parent + links[VLOSS, node])
        ply = length - 1
        best = -np.inf
        best_allowed = -np.inf
        chosen = first
        allowed = -1
        for c in range(first, end):
            n = links[VISITS, c] + links[VLOSS, c]
            q = (stats[VALUE, c] - links[VLOSS, c]) / n if n > 0 else fpu
            prior = stats[PRIOR, c]
            if at_root:
                prior = root_prior[c - first]
                q += root_bonus[c - first]
            u = q + scale * prior / (1 + n)
            if u > best:
                best = u
                chosen = c
            if u > best_allowed and bans[ply % 2, links[MOVE, c]] <= ply:
                best_allowed = u
                allowed = c
        node = allowed if allowed >= 0 else chosen
        links[VLOSS, node] += 1
        path[length] = node
        length += 1
    return length


@njit(cache=True)
def _backup(links, stats, path, length, value, score):
    """Add a leaf's value (its side to move's view) and score (Black's) along the path."""
    v = -value  # the leaf's stats belong to the side that moved into it
    for i in range(length - 1, -1, -1):
        node = path[i]
        links[VISITS, node] += 1
        links[VLOSS, node] -= 1
        stats[VALUE, node] += v
        stats[VALUE_SQ, node] += v * v
        stats[SCORE, node] += score
        stats[SCORE_SQ, node] += score * score
        v = -v


@njit(cache=True)
def _revert(links, path, length):
    """Take back the virtual loss of a path that will not be evaluated."""
    for i in range(length):
        links[VLOSS, path[i]] -= 1


@njit(cache=True)
def _compact(links, stats, root, new_links, new_stats):
    """Copy ``root``'s subtree into the new arrays (breadth first, root at 0); its size."""
    old_of = np.empty(new_links.shape[1], dtype=np.int64)
    old_of[0] = root
    new_links[:, 0] = links[:, root]
    new_stats[:, 0] = stats[:, root]
    size = 1
    head = 0
    while head < size:
        old = old_of[head]
        count = links[COUNT, old]
        if count > 0:
            first = links[FIRST, old]
            new_links[FIRST, head] = size
            for j in range(count):
                new_links[:, size + j] = links[:, first + j]
                new_stats[:, size + j] = stats[:, first + j]
                old_of[size + j] = first + j
            size += count
        head += 1
    return size


class Search:
    """A search tree that lives across moves; :meth:`run` grows it at a position."""

    def __init__(self, evaluator: Evaluator, settings: SearchSettings = SearchSettings(), symmetries: int = 1,
                 seed: int | None = None):
        self.evaluator = evaluator
        self.settings = settings
        self.symmetries = symmetries
        self.rng = np.random.default_rng(seed)
        self.net_seconds = 0.0  # inside evaluator.evaluate, summed over runs (benchmarks)
        self.run_seconds = 0.0
        self.game: Game | None = None
        self.avoid: np.ndarray | None = None  # the last run's bans (avoid_table), for reading the tree
        self.mixing = False  # does the last run mix the playouts' judgement into the value (rule 3)
        self._reset(None)

    # ------------------------------------------------------------ the tree

    def _reset(self, game: Game | None) -> None:
        capacity = 1 << 14
        self.links = np.zeros((5, capacity), dtype=np.int32)
        self.stats = np.zeros((5, capacity), dtype=np.float64)
        self.links[FIRST, ROOT] = -1
        self.links[MOVE, ROOT] = -1
        self.size = 1
        self.game = None if game is None else game.copy()
        self._new_root_ownership()

    def _new_root_ownership(self) -> None:
        self.root_ownership = OwnershipStats(0 if self.game is None else self.game.size ** 2)
        self.child_ownership: dict[int, OwnershipStats] = {}  # by root child node

    def _grow(self, needed: int) -> None:
        capacity = self.links.shape[1]
        if self.size + needed <= capacity:
            return
        capacity = max(2 * capacity, self.size + needed)
        self.links = np.concatenate([self.links, np.zeros((5, capacity - self.links.shape[1]), np.int32)], axis=1)
        self.stats = np.concatenate([self.stats, np.zeros((5, capacity - self.stats.shape[1]))], axis=1)

    def _child(self, node: int, move: int) -> int:
        first, count = self.links[FIRST, node], self.links[COUNT, node]
        hits = np.flatnonzero(self.links[MOVE, first:first + count] == move) if count > 0 else []
        return int(first + hits[0]) if len(hits) else -1

    def _move_root(self, game: Game) -> None:
        """Re-root at ``game`` if it follows from the current root by moves in the tree."""
        old = self.game
        same = (old is not None and old.size == game.size and old.komi == game.komi
                and old.setup == game.setup and game.moves[:len(old.moves)] == old.moves)
        node, to_move = ROOT, None if old is None else old.to_move
        if same:
            for colour, idx in game.moves[len(old.moves):]:
                node = self._child(node, idx) if colour == to_move else -1
                if node < 0:
                    break
                to_move = -to_move
        if not same or node < 0 or to_move != game.to_move or self.links[VISITS, node] == 0:
            self._reset(game)
            return
        if node != ROOT:
            links = np.zeros_like(self.links)
            stats = np.zeros_like(self.stats)
            self.size = _compact(self.links, self.stats, node, links, stats)
            self.links, self.stats = links, stats
            self.game = game.copy()
            self._new_root_ownership()

    def _expand(self, node: int, probs: np.ndarray, sensible: np.ndarray, pass_idx: int) -> None:
        priors = np.where(sensible, probs, 0.0)
        moves = np.flatnonzero(priors > PRUNE * priors.max())
        if len(moves) == 0:
            moves, priors = np.array([pass_idx]), np.ones(pass_idx + 1)
        moves = moves[np.argsort(-priors[moves], kind="stable")]  # ties in selection go to the prior
        p = priors[moves] / priors[moves].sum()
        self._grow(len(moves))
        start, end = self.size, self.size + len(moves)
        self.links[:, start:end] = 0
        self.stats[:, start:end] = 0.0
        self.links[MOVE, start:end] = moves
        self.links[FIRST, start:end] = -1
        self.stats[PRIOR, start:end] = p
        self.links[FIRST, node] = start
        self.links[COUNT, node] = len(moves)
        self.size = end

    # ------------------------------------------------------------ running

    def run(self, game: Game, visits: int | None = None, seconds: float | None = None,
            stop: Callable[[], bool] | None = None, avoid: np.ndarray | None = None) -> None:
        """Grow the tree at ``game``'s position until the budget (settings unless given) ends,
        never into the moves ``avoid`` (an :func:`avoid_table`) bans."""
        start = time.perf_counter()
        if not np.array_equal(avoid, self.avoid):
            self._reset(None)
        self.avoid = avoid
        self._move_root(game)
        self.mixing = (self.settings.mix > 0
                       and self.game.move_number >= self.settings.mix_from * self.game.size ** 2)
        table = avoid_table(self.game.size) if avoid is None else avoid
        bans = np.stack([avoid_row(table, self.game.to_move), avoid_row(table, -self.game.to_move)])
        visits = visits if visits is not None else self.settings.visits
        seconds = seconds if seconds is not None else self.settings.seconds
        deadline = None if seconds is None else start + seconds
        slots = [self.game.copy() for _ in range(self.settings.batch)]
        path = np.zeros(self.game.size ** 2 * 4 + 16, dtype=np.int64)
        paths = [path.copy() for _ in slots]
        step = 0.0  # the last batch's wall time: a batch that would end far past the deadline waits
        try:
            while True:
                done = int(self.links[VISITS, ROOT])
                if done > 0 and (self._decided((visits if visits is not None else UNLIMITED) - done)
                                 or visits is not None and done >= visits
                                 or deadline is not None and time.perf_counter() + step / 2 >= deadline
                                 or stop is not None and stop() or self.size >= self.settings.max_nodes):
                    break
                batch = 1 if done == 0 else min(len(slots), visits - done if visits is not None else len(slots))
                began = time.perf_counter()
                self._step(slots[:batch], paths, bans)
                if done > 0:  # the root's expansion may include compiling kernels: no guide to a batch
                    step = time.perf_counter() - began
        except BaseException:
            self._reset(None)  # pending virtual losses would skew every later search
            raise
        finally:
            self.run_seconds += time.perf_counter() - start

    def _decided(self, left: int) -> bool:
        """Nothing to choose, or the runner-up cannot catch the top root child in ``left`` visits."""
        first, count = self.links[FIRST, ROOT], self.links[COUNT, ROOT]
        if count < 2:
            return True
        top = np.sort(self.links[VISITS, first:first + count])[-2:]
        return top[1] - top[0] > left

    def _step(self, slots: list[Game], paths: list[np.ndarray], bans: np.ndarray) -> None:
        """Select up to ``len(slots)`` leaves, evaluate them in one batch, back them up."""
        s = self.settings
        root_fpu = s.fpu_reduction if s.root_fpu_reduction is None else s.root_fpu_reduction
        root_prior = self._root_priors()
        leaves: list[tuple[int, int, Game]] = []  # (path index, length, game at the leaf)
        seen = set()
        for i, game in enumerate(slots):
            length = _select(self.links, self.stats, s.c_puct, s.fpu_reduction, paths[i], bans, root_prior,
                             self._root_bonus(len(root_prior)), root_fpu)
            leaf = int(paths[i][length - 1])
            if leaf in seen:  # another path already waits on this leaf: evaluate what we have
                _revert(self.links, paths[i], length)
                break
            seen.add(leaf)
            for node in paths[i][1:length]:
                game.play(int(self.links[MOVE, node]))
            leaves.append((i, length, game))
        try:
            open_games = [g for _, _, g in leaves if not g.is_over()]
            if open_games:
                t = time.perf_counter()
                probs, values = self.evaluator.evaluate(open_games, self.symmetries)
                self.net_seconds += time.perf_counter() - t
            k = 0
            for i, length, game in leaves:
                leaf = int(paths[i][length - 1])
                if game.is_over():
                    score = game.score()
                    value = float(np.sign(score * game.to_move))
                else:
                    if self.links[COUNT, leaf] == 0:
                        self._expand(leaf, probs[k], sensible_points(game), game.pass_idx)
                    value, score, own = self._judge(game, float(values[k]))
                    k += 1
                    if own is not None:
                        self.root_ownership.add(own)
                        if length > 1:
                            child = int(paths[i][1])
                            self.child_ownership.setdefault(child, OwnershipStats(len(own))).add(own)
                _backup(self.links, self.stats, paths[i], length, value, score)
        finally:
            for i, length, game in leaves:
                for _ in range(length - 1):
                    game.undo()

    def _root_priors(self) -> np.ndarray:
        """The root children's priors as selection reads them (rule 2; KataGo's order of the
        two powers, the second not renormalised)."""
        first, count = self.links[FIRST, ROOT], self.links[COUNT, ROOT]
        prior = self.stats[PRIOR, first:first + count].copy() if count > 0 else np.zeros(0)
        s = self.settings
        if s.root_temperature != 1.0 and len(prior):
            prior = np.exp((np.log(prior) - np.log(prior.max())) / s.root_temperature)  # stable p ** (1/T)
            prior /= prior.sum()
        return prior ** (1.0 / (4.0 * s.wide_root_noise + 1.0))

    def _root_bonus(self, count: int) -> np.ndarray:
        """Fresh wide-root-noise bonuses for one selection (rule 2): w·|N(0, 1)| with probability ½."""
        noise = self.settings.wide_root_noise
        if noise == 0.0:
            return np.zeros(count)
        return np.where(self.rng.random(count) < 0.5, noise * np.abs(self.rng.standard_normal(count)), 0.0)

    def _judge(self, game: Game, value: float) -> tuple[float, float, np.ndarray | None]:
        """(V for the side to move: the value, or where this run mixes (rule 3) (1 − λ)·v + λ·z;
        the playouts' mean area score from Black's view; their ownership map (None without playouts))."""
        s = self.settings
        playouts = max(s.playouts, s.mix_playouts) if self.mixing else s.playouts
        if playouts == 0:
            return value, 0.0, None
        own = ownership(game, playouts, int(self.rng.integers(1 << 30)))
        if self.mixing:
            z = math.tanh(majority_score(own, game.komi) * game.to_move / MIX_SIGMA)
            value = (1.0 - s.mix) * value + s.mix * z
        return value, float(own.sum()) - game.komi, own

    # ------------------------------------------------------------ reading the tree

    @property
    def root_visits(self) -> int:
        return int(self.links[VISITS, ROOT])

    def _children(self, node: int = ROOT) -> np.ndarray:
        """``node``'s children; at the root those the last run's bans allow, if any are."""
        first = self.links[FIRST, node]
        children = np.arange(first, first + self.links[COUNT, node]) if first >= 0 else np.zeros(0, dtype=np.int64)
        bans = root_bans(self.avoid, self.game.to_move) if node == ROOT and len(children) else None
        banned = None if bans is None else bans[self.links[MOVE, children]]
        return children[~banned] if banned is not None and not banned.all() else children

    def _ranked(self, node: int = ROOT) -> np.ndarray:
        """``node``'s children, best first: by visits, then Q, then prior (so that with no
        visits below a node, as after a budget spent on the root alone, the prior decides)."""
        children = self._children(node)
        visits = self.links[VISITS, children]
        q = np.where(visits > 0, self.stats[VALUE, children] / np.maximum(visits, 1), -2.0)
        return children[np.lexsort((self.stats[PRIOR, children], q, visits))[::-1]]

    def _best_child(self, node: int) -> int:
        return int(self._ranked(node)[0])

    def best_move(self, temperature: float = 0.0) -> int:
        """The idx to play: most visited root child, or a sample at ``temperature``."""
        children = self._children()
        if len(children) == 0:
            return self.game.pass_idx
        if temperature > 0:
            weights = self.links[VISITS, children].astype(np.float64) ** (1.0 / temperature)
            if weights.sum() > 0:
                return int(self.links[MOVE, self.rng.choice(children, p=weights / weights.sum())])
        return int(self.links[MOVE, self._best_child(ROOT)])

    def winrate(self) -> float:
        """The root's winrate for its side to move (0.5 before any visit)."""
        return self.root_info().winrate

    def score_lead(self) -> float:
        """The playouts' mean area score at the root, from its side to move's view."""
        return self.root_info().score_lead

    def ownership(self) -> np.ndarray:
        """float[N*N]: mean owner of each point over the leaves' playouts (+1 Black)."""
        return self.root_ownership.mean()

    def ownership_stats(self, move: int | None = None) -> OwnershipStats:
        """The ownership maps of the leaves' playouts since this root (+1 Black): all of them,
        or those below the root's child ``move`` (none for an unvisited move)."""
        if move is None:
            return self.root_ownership
        child = self._child(ROOT, move)
        return self.child_ownership.get(child, OwnershipStats(self.game.size ** 2))

    def _pv(self, node: int) -> list[int]:
        """``node``, then its most visited child, and so on while visited."""
        pv = [node]
        while self.links[COUNT, node] > 0:
            node = self._best_child(node)
            if self.links[VISITS, node] == 0:
                break
            pv.append(node)
        return pv

    def infos(self, min_moves: int = 0, max_moves: int | None = None) -> list[MoveInfo]:
        """Root children as analysis reports them: visited ones by visits (then Q), then the
        best unvisited by prior until ``min_moves``; at most ``max_moves``."""
        order = self._ranked()
        keep = max(int((self.links[VISITS, order] > 0).sum()), min_moves)
        if max_moves is not None:
            keep = min(keep, max_moves)
        return [self._info(int(c)) for c in order[:keep]]

    def report(self, min_moves: int = 0, max_moves: int | None = None) -> Report:
        """The tree as analysis reports it: :meth:`infos`, the root, the ownership statistics."""
        return Report(self.infos(min_moves, max_moves), self.root_info(), self.ownership_stats(), self.ownership_stats)

    def root_info(self) -> NodeInfo:
        """The root's visits, winrate and score (KataGo's ``rootInfo``)."""
        return self._node_info(ROOT)

    def _node_info(self, node: int) -> NodeInfo:
        """``node``'s statistics from the root's side to move's view: its children's VALUE rows
        are that side's, the root's own the other side's (it counts the move into the root)."""
        n = int(self.links[VISITS, node])
        s = self.stats[:, node]
        if n == 0:  # the root before any visit is even; an unvisited move reads as the root
            root = NodeInfo(0, 0.5, 0.0, 0.0, 0.0) if node == ROOT else self.root_info()
            return NodeInfo(0, root.winrate, 0.0, root.score_lead, 0.0)
        mean = (-1 if node == ROOT else 1) * s[VALUE] / n
        winrate = (1.0 + mean) / 2.0
        spread = math.sqrt(max(s[VALUE_SQ] / n - mean * mean, 0.0)) / 2.0
        lcb = winrate - LCB_Z * spread / math.sqrt(n) if n > 1 else 0.0
        lead = self.game.to_move * s[SCORE] / n
        stdev = math.sqrt(max(s[SCORE_SQ] / n - (s[SCORE] / n) ** 2, 0.0))
        return NodeInfo(n, winrate, min(max(lcb, 0.0), 1.0), lead, stdev)

    def _info(self, node: int) -> MoveInfo:
        pv = self._pv(node)
        return MoveInfo(**vars(self._node_info(node)), move=int(self.links[MOVE, node]),
                        prior=float(self.stats[PRIOR, node]), pv=[int(self.links[MOVE, p]) for p in pv],
                        pv_visits=[int(self.links[VISITS, p]) for p in pv])
