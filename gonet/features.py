"""AlphaGo's 48 input planes (Silver et al. 2016, Extended Data Table 2), ablation subsets
and the 8 board symmetries.

The contract is ``../shared/REFERENCE.md`` section 1; plane order:

    0-2 stone colour (player, opponent, empty)   3 ones          4-11 turns since
    12-19 liberties        20-27 capture size    28-35 self-atari size
    36-43 liberties after move   44 ladder capture   45 ladder escape
    46 sensibleness        47 zeros

All planes are from the view of the side to move. The kernels work on a
:mod:`gonet.board` state plus ``played_at`` (the move number at which each stone was
played); ladder reading plays and undoes moves in place through the board's journal.

The Python face (:func:`position_planes` for a :class:`Game`, :func:`record_planes` for a
replayed record, :func:`batch_planes` for a batch of prepared games, :func:`sensible_moves`
for the players) owns the neighbour tables and the ladder budget, so the modules above
never touch the engine's arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from gonet.board import (
    HEAD,
    KO,
    LEGAL,
    LIB0,
    META,
    NEXT,
    SETUP_AGE,
    SIZE,
    STONE,
    diagonals,
    legality,
    lib_bit,
    lib_count,
    liberties_into,
    neighbours,
    new_journal,
    new_state,
    place,
    play,
    undo_to,
)
from gonet.coords import EMPTY
from gonet.feature_sets import NUM_PLANES, feature_planes

if TYPE_CHECKING:
    from gonet.game import Game

LADDER_BUDGET = 200  # plies a ladder read may play (REFERENCE.md); corner to far corner on 19x19 is 66
LADDER_NODE_LIMIT = 20000

PLAYER, OPPONENT, EMPTY_PLANE, ONES = 0, 1, 2, 3
TURNS_SINCE, LIBERTIES, CAPTURE_SIZE, SELF_ATARI, LIBERTIES_AFTER = 4, 12, 20, 28, 36
LADDER_CAPTURE, LADDER_ESCAPE, SENSIBLE, ZEROS = 44, 45, 46, 47


# ---------------------------------------------------------------- kernels


@njit(cache=True)
def is_own_eye(s, nbr, diag, p, c):
    """Empty p with only c's stones orthogonally and at most one (0 on the edge) enemy diagonal."""
    on_board = 0
    for k in range(4):
        q = nbr[p, k]
        if q < 0:
            continue
        on_board += 1
        if s[STONE, q] != c:
            return False
    enemy = 0
    for k in range(4):
        q = diag[p, k]
        if q >= 0 and s[STONE, q] == -c:
            enemy += 1
    return enemy <= (1 if on_board == 4 else 0)


@njit(cache=True, inline="always")
def _add_unique(items, n, value):
    """Append ``value`` to ``items[:n]`` unless present; returns the new length."""
    for j in range(n):
        if items[j] == value:
            return n
    items[n] = value
    return n + 1


@njit(cache=True)
def _ladder_candidates(s, nbr, prey, attacker_to_move, out):
    """Moves tried at a ladder node: the attacker's ataris on the prey's two liberties; the
    defender's extension on its liberty or captures of touching attacker groups in atari."""
    h = s[HEAD, prey]
    if attacker_to_move:
        return liberties_into(s, h, out[:2])
    defender = s[STONE, prey]
    n = liberties_into(s, h, out[:1])
    one = np.empty(1, dtype=np.int64)
    r = h
    while True:
        for k in range(4):
            t = nbr[r, k]
            if t >= 0 and s[STONE, t] == -defender and lib_count(s, s[HEAD, t], 2) == 1:
                liberties_into(s, s[HEAD, t], one)
                if n < out.shape[0]:
                    n = _add_unique(out, n, one[0])
        r = s[NEXT, r]
        if r == h:
            break
    return n


LADDER_WIDTH = 64  # candidates kept per ladder node
LOST, WON, DESCEND = 0, 1, 2  # outcomes of a ladder node for its side to move
_COUNT, _NEXT_TRY, _MARK, _PLIES = LADDER_WIDTH, LADDER_WIDTH + 1, LADDER_WIDTH + 2, LADDER_WIDTH + 3


@njit(cache=True)
def ladder_captures(s, nbr, prey, attacker_to_move, plies_left, log, logn, stack):
    """Does the attacker capture the group at point ``prey`` in a ladder?

    The defender (prey's owner) moves first when the prey has 1 liberty, the attacker when
    it has 2. ``plies_left`` counts every move still allowed; a side to move with none left,
    or a search over ``LADDER_NODE_LIMIT`` nodes, counts as "not captured". ``stack`` is an
    ``int64[plies_left + 1, LADDER_WIDTH + 4]`` workspace, one row per ply. It walks an
    explicit stack because Numba cannot cache recursive kernels; ``s`` is left as it was.
    """
    start = logn[0]
    defender = s[STONE, prey]
    depth = 0
    stack[0, _PLIES] = plies_left
    stack[0, _COUNT] = _ladder_candidates(s, nbr, prey, attacker_to_move, stack[0, :_COUNT])
    stack[0, _NEXT_TRY] = 0
    nodes = 1
    while True:
        attacker = attacker_to_move == (depth % 2 == 0)
        outcome = LOST
        if stack[depth, _PLIES] <= 0:
            outcome = LOST if attacker else WON
        while stack[depth, _PLIES] > 0 and stack[depth, _NEXT_TRY] < stack[depth, _COUNT]:
            move = stack[depth, stack[depth, _NEXT_TRY]]
            stack[depth, _NEXT_TRY] += 1
            stack[depth, _MARK] = logn[0]
            if play(s, nbr, move, -defender if attacker else defender, log, logn) < 0:
                undo_to(s, log, logn, stack[depth, _MARK])
                continue
            libs = lib_count(s, s[HEAD, prey], 3)
            if (attacker and libs == 1) or (not attacker and libs == 2):
                nodes += 1
                if nodes > LADDER_NODE_LIMIT:
                    undo_to(s, log, logn, start)
                    return False
                stack[depth + 1, _PLIES] = stack[depth, _PLIES] - 1
                stack[depth + 1, _COUNT] = _ladder_candidates(s, nbr, prey, not attacker, stack[depth + 1, :_COUNT])
                stack[depth + 1, _NEXT_TRY] = 0
                outcome = DESCEND
                break
            undo_to(s, log, logn, stack[depth, _MARK])
            if not attacker and libs >= 3:
                outcome = WON
                break
        if outcome == DESCEND:
            depth += 1
            continue
        won = outcome == WON
        while True:  # report the decided node upwards
            if depth == 0:
                undo_to(s, log, logn, start)
                return won == attacker_to_move
            depth -= 1
            undo_to(s, log, logn, stack[depth, _MARK])
            if won:
                break  # the child won: this try failed, go on with the next one
            won = True  # the child lost: this node won



@njit(cache=True)
def _look_ahead(s, nbr, libc, p, c, friends, enemies, tmp):
    """(captured stones, liberties after, new group size) for legal move c at p.

    ``libc[h]``: liberties of the group headed at h, counted up to 8.
    """
    nf = 0
    ne = 0
    for k in range(4):
        q = nbr[p, k]
        if q < 0 or s[STONE, q] == EMPTY:
            continue
        hq = s[HEAD, q]
        if s[STONE, q] == c:
            nf = _add_unique(friends, nf, hq)
        elif libc[hq] == 1:
            ne = _add_unique(enemies, ne, hq)
    words = s.shape[0] - LIB0
    for w in range(words):
        tmp[w] = 0
    for k in range(4):
        q = nbr[p, k]
        if q >= 0 and s[STONE, q] == EMPTY:
            tmp[q >> 6] |= lib_bit(q)
    size = 1
    for j in range(nf):
        size += s[SIZE, friends[j]]
        for w in range(words):
            tmp[w] |= s[LIB0 + w, friends[j]]
    captured = 0
    for j in range(ne):
        h = enemies[j]
        captured += s[SIZE, h]
        r = h
        while True:
            touches = False
            for k in range(4):
                t = nbr[r, k]
                if t == p:
                    touches = True
                elif t >= 0 and s[STONE, t] == c:
                    for i in range(nf):
                        touches |= s[HEAD, t] == friends[i]
            if touches:
                tmp[r >> 6] |= lib_bit(r)
            r = s[NEXT, r]
            if r == h:
                break
    tmp[p >> 6] &= ~lib_bit(p)
    libs = 0
    for w in range(words):
        x = tmp[w]
        while x != 0:
            x &= x - 1
            libs += 1
    return captured, libs, size


@njit(cache=True, inline="always")
def _is_legal(s, nbr, libc, p, c):
    return legality(s, nbr, p, c, libc) == LEGAL


@njit(cache=True)
def compute_planes(s, nbr, diag, played_at, move_number, c, out, log, logn, budget, prefilter=True):
    """Fill ``out`` (uint8[48, N*N], zeroed by the caller) for colour ``c`` to move.

    ``played_at[p]`` is the move number that put the stone on p; ``log``/``logn`` must be
    a recording journal (ladders play and undo on ``s``, which is left as it was).
    ``prefilter=False`` runs the ladder search even where :func:`_surely_escapes` says it
    need not: the same planes, slower (``scripts/check_ladders.py`` checks that).
    """
    nn = s.shape[1]
    libc = np.zeros(nn, dtype=np.int64)
    for p in range(nn):
        if s[STONE, p] != EMPTY and s[HEAD, p] == p:
            libc[p] = lib_count(s, p, 8)
    friends = np.empty(4, dtype=np.int64)
    enemies = np.empty(4, dtype=np.int64)
    tmp = np.empty(s.shape[0] - LIB0, dtype=np.int64)
    legal = np.zeros(nn, dtype=np.bool_)
    for p in range(nn):
        out[ONES, p] = 1
        v = s[STONE, p]
        if v != EMPTY:
            out[PLAYER if v == c else OPPONENT, p] = 1
            age = min(move_number - played_at[p], 8)
            out[TURNS_SINCE + age - 1, p] = 1
            out[LIBERTIES + libc[s[HEAD, p]] - 1, p] = 1
            continue
        out[EMPTY_PLANE, p] = 1
        open_sides = 0
        sides = 0
        for k in range(4):
            q = nbr[p, k]
            if q >= 0:
                sides += 1
                open_sides += s[STONE, q] == EMPTY
        if open_sides == sides:  # open point: legal, captures nothing, no eye
            legal[p] = True
            out[CAPTURE_SIZE, p] = 1
            out[LIBERTIES_AFTER + sides - 1, p] = 1
            out[SENSIBLE, p] = 1
            continue
        if not _is_legal(s, nbr, libc, p, c):
            continue
        legal[p] = True
        captured, libs, size = _look_ahead(s, nbr, libc, p, c, friends, enemies, tmp)
        out[CAPTURE_SIZE + min(captured, 7), p] = 1
        out[LIBERTIES_AFTER + min(libs, 8) - 1, p] = 1
        if libs == 1:
            out[SELF_ATARI + min(size, 8) - 1, p] = 1
        if not is_own_eye(s, nbr, diag, p, c):
            out[SENSIBLE, p] = 1
    _ladder_planes(s, nbr, libc, c, legal, out, log, logn, budget, prefilter)


@njit(cache=True)
def _surely_escapes(s, nbr, libc, p, h):
    """Cheap exact filter: after the attacker plays p, the group h (2 liberties, one is p)
    extends on its other liberty to 3+ liberties, so no ladder can take it.

    It judges the extension on the board before p, which is exact only when p captures
    nothing: stones p takes can free an attacker group in atari on the extension point, so
    that the extension no longer captures it and may fail (issue 14). Without a capture, p
    takes one liberty (subtracted below), and an attacker group in atari on the extension
    point does not touch p, so it stays in atari; p can only put more attacker groups in
    atari, so the answer errs towards searching, never towards "escapes"."""
    defender = s[STONE, h]
    for k in range(4):
        q = nbr[p, k]
        if q >= 0 and s[STONE, q] == defender and libc[s[HEAD, q]] == 1:
            return False  # p captures: let the search play it
    two = np.empty(2, dtype=np.int64)
    liberties_into(s, h, two)
    other = two[1] if two[0] == p else two[0]
    if not _is_legal(s, nbr, libc, other, defender):
        return False
    friends = np.empty(4, dtype=np.int64)
    enemies = np.empty(4, dtype=np.int64)
    tmp = np.empty(s.shape[0] - LIB0, dtype=np.int64)
    libs = _look_ahead(s, nbr, libc, other, defender, friends, enemies, tmp)[1]
    if tmp[p >> 6] & lib_bit(p):
        libs -= 1  # the attacker's stone on p takes that one
    return libs >= 3


@njit(cache=True)
def _ladder_planes(s, nbr, libc, c, legal, out, log, logn, budget, prefilter):
    nn = s.shape[1]
    stack = np.empty((budget + 1, LADDER_WIDTH + 4), dtype=np.int64)
    # player groups in atari, by head: the prey of ladder escapes
    in_atari = np.zeros(nn, dtype=np.bool_)
    prey = np.empty(nn, dtype=np.int64)
    n_prey = 0
    for p in range(nn):
        if s[STONE, p] == c and s[HEAD, p] == p and libc[p] == 1:
            in_atari[p] = True
            prey[n_prey] = p
            n_prey += 1
    for p in range(nn):
        if not legal[p]:
            continue
        chase = False  # touches an opponent group with 2 liberties that might not escape
        rescue = False  # touches a prey group, or captures something
        for k in range(4):
            q = nbr[p, k]
            if q < 0:
                continue
            v = s[STONE, q]
            if v == -c:
                libs = libc[s[HEAD, q]]
                chase |= libs == 2 and not (prefilter and _surely_escapes(s, nbr, libc, p, s[HEAD, q]))
                rescue |= libs == 1 and n_prey > 0
            elif v == c:
                rescue |= in_atari[s[HEAD, q]]
        if not (chase or rescue):
            continue
        mark = logn[0]
        play(s, nbr, p, c, log, logn)
        if chase:
            for k in range(4):
                q = nbr[p, k]
                if q >= 0 and s[STONE, q] == -c and lib_count(s, s[HEAD, q], 2) == 1:
                    if ladder_captures(s, nbr, q, False, budget - 1, log, logn, stack):
                        out[LADDER_CAPTURE, p] = 1
                        break
        if rescue:
            for i in range(n_prey):
                libs = lib_count(s, s[HEAD, prey[i]], 3)
                if libs >= 3 or (
                    libs == 2 and not ladder_captures(s, nbr, prey[i], True, budget - 1, log, logn, stack)
                ):
                    out[LADDER_ESCAPE, p] = 1
                    break
        undo_to(s, log, logn, mark)


@njit(cache=True)
def game_planes(nbr, diag, setup_colours, setup_idxs, colours, idxs, wanted, out, budget, prefilter=True):
    """Replay a game and write the planes of the position before each move ``wanted[i]``
    (ascending) into ``out[i]`` (uint8[len(wanted), 48, N*N], zeroed). Moves after the
    last wanted position are not replayed; ``prefilter`` as in :func:`compute_planes`.

    Returns the index of the first illegal move, or -1.
    """
    nn = nbr.shape[0]
    s = np.zeros((LIB0 + (nn + 63) // 64, nn), dtype=np.int64)
    log = np.empty((1 << 16, 3), dtype=np.int64)
    logn = np.zeros(1, dtype=np.int64)
    off = np.full(1, -1, dtype=np.int64)
    played_at = np.full(nn, -SETUP_AGE, dtype=np.int64)
    for i in range(setup_idxs.shape[0]):
        if s[STONE, setup_idxs[i]] != EMPTY:
            return 0
        place(s, nbr, setup_idxs[i], setup_colours[i], log, off)
    j = 0
    for m in range(idxs.shape[0]):
        while j < wanted.shape[0] and wanted[j] == m:
            logn[0] = 0
            compute_planes(s, nbr, diag, played_at, m, colours[m], out[j], log, logn, budget, prefilter)
            j += 1
        if j == wanted.shape[0]:
            return -1
        if play(s, nbr, idxs[m], colours[m], log, off) < 0:
            return m
        if idxs[m] < nn:
            played_at[idxs[m]] = m
    return -1


@njit(cache=True)
def _batch_planes(nbr, diag, setup_colours, setup, setup_offsets, colours, moves, game_offsets, rows, out, budget):
    """Planes of the positions before the moves at ``rows`` (ascending rows of concatenated
    games) into ``out[i]`` (uint8[len(rows), 48, N*N], need not be zeroed), in one call for
    a whole batch: each game is replayed once, up to its last wanted position.

    Returns the first row of a game with an illegal move, or -1.
    """
    i = 0
    while i < rows.shape[0]:
        game = np.searchsorted(game_offsets, rows[i], side="right") - 1
        first, stop = game_offsets[game], game_offsets[game + 1]
        j = i + 1
        while j < rows.shape[0] and rows[j] < stop:
            j += 1
        last = rows[j - 1] + 1
        a, b = setup_offsets[game], setup_offsets[game + 1]
        out[i:j] = 0  # here rather than by the caller: the memory is written while in cache
        if game_planes(nbr, diag, setup_colours[a:b], setup[a:b], colours[first:last], moves[first:last],
                       rows[i:j] - first, out[i:j], budget) != -1:
            return rows[i]
        i = j
    return -1


# ---------------------------------------------------------------- Python API


def position_planes(game: Game, feature_set: str = "full") -> np.ndarray:
    """The input planes (uint8[C, N, N]) of ``game``'s current position, for the side to move."""
    nn = game.size * game.size
    out = np.zeros((NUM_PLANES, nn), dtype=np.uint8)
    log, logn = game.journal
    logn[0] = 0
    compute_planes(game.board.state, game.board.nbr, diagonals(game.size), game.played_at,
                   len(game.moves), game.to_move, out, log, logn, LADDER_BUDGET)
    return out[list(feature_planes(feature_set))].reshape(-1, game.size, game.size)


def record_planes(arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], size: int,
                  wanted: np.ndarray, prefilter: bool = True) -> np.ndarray:
    """uint8[len(wanted), 48, N*N]: the planes before each move ``wanted[i]`` (ascending) of
    a record given as :func:`gonet.game.record_arrays`, replayed once; ``prefilter`` as in
    :func:`compute_planes`. Raises ``ValueError`` at an illegal move (check records first)."""
    setup_colours, setup_idxs, colours, idxs = arrays
    out = np.zeros((len(wanted), NUM_PLANES, size * size), dtype=np.uint8)
    bad = game_planes(neighbours(size), diagonals(size), setup_colours, setup_idxs, colours, idxs,
                      np.asarray(wanted, dtype=np.int64), out, LADDER_BUDGET, prefilter)
    if bad != -1:
        raise ValueError(f"illegal move {bad + 1} in a replayed record")
    return out


def batch_planes(size: int, setup_colours: np.ndarray, setup: np.ndarray, setup_offsets: np.ndarray,
                 colours: np.ndarray, moves: np.ndarray, game_offsets: np.ndarray, rows: np.ndarray,
                 out: np.ndarray) -> int:
    """Planes of the positions before the moves at ``rows`` (ascending) of concatenated games
    (moves and setup stones of game g at ``offsets[g]:offsets[g + 1]``, int64 arrays) into
    ``out`` (uint8[len(rows), 48, N*N], need not be zeroed), each game replayed once: a whole
    batch in one Numba call. Returns the first row of a game with an illegal move, or -1."""
    return _batch_planes(neighbours(size), diagonals(size), setup_colours, setup, setup_offsets, colours, moves,
                         game_offsets, rows, out, LADDER_BUDGET)


def sensible_points(game: Game, planes: np.ndarray | None = None) -> np.ndarray:
    """bool[N*N + 1]: the points where the side to move may play by the simple rules without
    filling its own eye (plane 46); pass excluded. Superko is :meth:`Game.legal_moves`'s.
    ``planes``: the position's 48, when already worked out (not worked out again)."""
    planes = position_planes(game) if planes is None else planes
    mask = np.zeros(game.pass_idx + 1, dtype=bool)
    mask[: game.pass_idx] = planes[SENSIBLE].reshape(-1) > 0
    return mask


def sensible_moves(game: Game) -> np.ndarray:
    """bool[N*N + 1]: legal moves (superko included) that do not fill the mover's own eye;
    pass excluded. What the players choose from."""
    return game.legal_moves() & sensible_points(game)


def side_komi(komi: float | np.ndarray, to_move: int | np.ndarray) -> float | np.ndarray:
    """The value head's komi input: what the side to move receives (+komi when White is to
    move, -komi when Black is), since the planes themselves do not say who is Black."""
    return -to_move * komi


def value_target(winner: int | np.ndarray, to_move: int | np.ndarray) -> int | np.ndarray:
    """The value target z: +1 if the side to move won, -1 if it lost, 0 for an unknown
    result (``winner`` 0), which the value loss masks out."""
    return winner * to_move


def planes_from_arrays(stones: np.ndarray, ages: np.ndarray, to_move: int, ko: int = -1,
                       budget: int = LADDER_BUDGET) -> np.ndarray:
    """The 48 planes (uint8[48, N, N]) of a position given as arrays.

    ``stones``: int8[N, N] of BLACK/WHITE/EMPTY; ``ages``: moves since each stone was
    played (1 = last move, anything >= 8 for setup stones); ``ko``: the idx ``to_move``
    may not play because of simple ko, or -1. The stones' groups are not checked for
    liberties.
    """
    size = stones.shape[0]
    nn = size * size
    s = new_state(size)
    nbr = neighbours(size)
    log, logn = new_journal()
    off = np.full(1, -1, dtype=np.int64)
    flat = np.asarray(stones).reshape(nn)
    for p in np.flatnonzero(flat):
        place(s, nbr, int(p), int(flat[p]), log, off)
    if ko >= 0:
        s[META, KO] = to_move * (ko + 1)
    ages = np.asarray(ages, dtype=np.int64).reshape(nn)
    if np.any(ages[flat != EMPTY] < 1):
        raise ValueError("every stone needs an age of at least 1 (1 = the last move)")
    played_at = -np.minimum(ages, SETUP_AGE)
    out = np.zeros((NUM_PLANES, nn), dtype=np.uint8)
    compute_planes(s, nbr, diagonals(size), played_at, 0, to_move, out, log, logn, budget)
    return out.reshape(NUM_PLANES, size, size)


def symmetry_planes(planes: np.ndarray, k: int) -> np.ndarray:
    """Apply symmetry k (0..7) to the last two axes: k % 4 quarter turns after a transpose if k >= 4."""
    if k >= 4:
        planes = np.swapaxes(planes, -1, -2)
    return np.rot90(planes, k % 4, axes=(-2, -1))


def symmetry_idx(idx: int | np.ndarray, size: int, k: int) -> int | np.ndarray:
    """Where symmetry k sends move idx (the pass idx stays put)."""
    table = symmetry_table(size)[k]
    return table[idx]


_SYMMETRY_TABLES: dict[int, np.ndarray] = {}


def symmetry_table(size: int) -> np.ndarray:
    """``int64[8, N*N+1]``: new idx of each old idx under each symmetry."""
    table = _SYMMETRY_TABLES.get(size)
    if table is None:
        nn = size * size
        table = np.empty((8, nn + 1), dtype=np.int64)
        grid = np.arange(nn).reshape(size, size)
        for k in range(8):
            moved = symmetry_planes(grid, k).reshape(nn)  # moved[new] = old
            table[k, moved] = np.arange(nn)
            table[k, nn] = nn
        _SYMMETRY_TABLES[size] = table
    return table
