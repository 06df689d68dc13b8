"""A slow, plain-Python reference ("oracle") for gonet's 48 AlphaGo input planes.

Written from ``/work/shared/REFERENCE.md`` section 1 alone, without looking at
``gonet.board`` or ``gonet.features``, so that the fast implementation can be
checked against an independent reading of the spec. Clarity beats speed here:
every move copies the board, every group is found by flood fill, and the ladder
search is a direct transcription of the spec's two rules (defender to move /
attacker to move) with no caching.

Vocabulary (as in ``gonet.coords``): ``BLACK = 1``, ``WHITE = -1``, ``EMPTY = 0``;
``idx = row * size + col`` with row 0 at the *top*; the pass idx is ``size * size``.
Internally a board is a flat Python list ``cells`` of length ``size * size``.

Public API
----------
- :func:`parse_ascii` -- ASCII art to an int8 ``(N, N)`` board.
- :func:`oracle_play` -- the rules: one move, captures, suicide, simple ko.
- :func:`oracle_planes` -- the 48 planes, uint8 ``(48, N, N)``.
- :func:`oracle_replay` -- every position of a game record, ready for ``oracle_planes``.
- :func:`oracle_transform` / :func:`oracle_transform_idx` -- the 8 dihedral symmetries.

What isn't checked: positions are not checked for groups without liberties
(``oracle_planes`` simply reports them with no liberty plane set).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from gonet.coords import BLACK, EMPTY, WHITE, colour_name, idx_to_vertex

N_PLANES = 48
LADDER_BUDGET = 200
SETUP_AGE = 10**6  # the age given to stones that were never played (setup, handicap)

# First plane of each feature (see REFERENCE.md section 1).
COLOUR = 0  # 0: player, 1: opponent, 2: empty
ONES = 3
TURNS_SINCE = 4
LIBERTIES = 12
CAPTURE_SIZE = 20
SELF_ATARI = 28
LIBERTIES_AFTER = 36
LADDER_CAPTURE = 44
LADDER_ESCAPE = 45
SENSIBLENESS = 46
ZEROS = 47

_ASCII = {"X": BLACK, "O": WHITE, ".": EMPTY, "+": EMPTY}


# ---------------------------------------------------------------------------
# Boards and ASCII art


def parse_ascii(text: str) -> np.ndarray:
    """ASCII art to an int8 ``(N, N)`` board, first line = top row (row 0).

    ``X`` is BLACK, ``O`` is WHITE, ``.`` or ``+`` is empty; whitespace inside a
    line is ignored, blank lines before and after the board are ignored.
    Raises ``ValueError`` for other characters, blank lines inside the board, or
    a board that is not square.
    """
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ValueError("empty board")
    rows = []
    for number, line in enumerate(lines, 1):
        chars = "".join(line.split())
        if not chars:
            raise ValueError(f"line {number}: blank line inside the board")
        bad = sorted(set(chars) - set(_ASCII))
        if bad:
            raise ValueError(f"line {number} {line!r}: unknown characters {bad}")
        rows.append([_ASCII[c] for c in chars])
    size = len(rows)
    for number, row in enumerate(rows, 1):
        if len(row) != size:
            raise ValueError(f"line {number}: {len(row)} points, expected {size} (boards are square)")
    return np.array(rows, dtype=np.int8)  # (N, N)


def to_ascii(stones: np.ndarray) -> str:
    """The inverse of :func:`parse_ascii` (for failure messages)."""
    chars = {BLACK: "X", WHITE: "O", EMPTY: "."}
    return "\n".join(" ".join(chars[int(v)] for v in row) for row in np.asarray(stones))


@lru_cache(maxsize=None)
def _tables(size: int) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
    """(orthogonal neighbours, diagonal neighbours) of every idx, on-board only."""
    orth, diag = [], []
    for idx in range(size * size):
        r, c = divmod(idx, size)
        orth.append(tuple((r + dr) * size + c + dc for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                          if 0 <= r + dr < size and 0 <= c + dc < size))
        diag.append(tuple((r + dr) * size + c + dc for dr, dc in ((-1, -1), (-1, 1), (1, -1), (1, 1))
                          if 0 <= r + dr < size and 0 <= c + dc < size))
    return tuple(orth), tuple(diag)


def neighbours(idx: int, size: int) -> tuple[int, ...]:
    return _tables(size)[0][idx]


def diagonals(idx: int, size: int) -> tuple[int, ...]:
    return _tables(size)[1][idx]


def group(cells: list[int], size: int, idx: int) -> tuple[set[int], set[int]]:
    """(stones, liberties) of the group at ``idx`` (flood fill)."""
    colour = cells[idx]
    assert colour != EMPTY, "group() of an empty point"
    stones, libs, todo = {idx}, set(), [idx]
    while todo:
        p = todo.pop()
        for q in neighbours(p, size):
            if cells[q] == EMPTY:
                libs.add(q)
            elif cells[q] == colour and q not in stones:
                stones.add(q)
                todo.append(q)
    return stones, libs


# ---------------------------------------------------------------------------
# Rules


def play_cells(cells: list[int], size: int, idx: int, colour: int, ko: int = -1):
    """One move on a flat board; returns ``(new_cells, captured, new_ko)`` or ``None`` if illegal.

    - The pass idx (``size * size``) is always legal, captures nothing and lifts the ko.
    - Illegal: an occupied point, the ko point (``ko`` binds ``colour``), suicide of any size.
    - Opponent groups left without liberties are removed first, then the mover's group is checked.
    - ``captured`` is the sorted list of removed idx (all opponent groups together).
    - ``new_ko`` is the point the *next* player (``-colour``) may not play: the captured point
      when exactly one stone was captured by a single stone that now has exactly one liberty
      (so retaking would capture exactly one stone); otherwise -1.
    """
    if idx == size * size:
        return list(cells), [], -1
    if cells[idx] != EMPTY or idx == ko:
        return None
    new = list(cells)
    new[idx] = colour
    captured: list[int] = []
    for q in neighbours(idx, size):
        if new[q] == -colour:
            stones, libs = group(new, size, q)
            if not libs:
                for s in stones:
                    new[s] = EMPTY
                captured.extend(stones)
    stones, libs = group(new, size, idx)
    if not libs:
        return None  # suicide
    new_ko = captured[0] if len(captured) == 1 and len(stones) == 1 and len(libs) == 1 else -1
    return new, sorted(captured), new_ko


def oracle_play(stones: np.ndarray, idx: int, colour: int, ko: int = -1):
    """:func:`play_cells` on an ``(N, N)`` array: ``(new_stones, captured, new_ko)`` or ``None``.

    ``stones`` is not modified; ``new_stones`` is a new int8 ``(N, N)`` array.
    """
    stones = np.asarray(stones)
    size = stones.shape[0]
    res = play_cells([int(v) for v in stones.flat], size, idx, colour, ko)
    if res is None:
        return None
    new, captured, new_ko = res
    return np.array(new, dtype=np.int8).reshape(size, size), captured, new_ko


def is_own_eye(cells: list[int], size: int, idx: int, colour: int) -> bool:
    """REFERENCE 'own eye': empty, all on-board orthogonal neighbours are ``colour``,
    and the opponent holds at most one on-board diagonal if the point has 4 neighbours,
    none if it is on the edge or in a corner. Empty diagonals never count against."""
    if cells[idx] != EMPTY:
        return False
    orth = neighbours(idx, size)
    if any(cells[q] != colour for q in orth):
        return False
    enemy_diagonals = sum(1 for q in diagonals(idx, size) if cells[q] == -colour)
    return enemy_diagonals <= (1 if len(orth) == 4 else 0)


# ---------------------------------------------------------------------------
# Ladders
#
# Ply counting: ``used`` is the number of plies already played on the current line,
# the judged move being ply 1. A node whose side to move would play ply ``used + 1``
# may move only if ``used < budget``. The defender's last (failing) try is a move
# and is counted; the attacker's final capture of a 1-liberty prey is implied and
# never played. A defender to move with no plies left is "not captured"; so is an
# attacker to move with no plies left (it cannot put the prey back in atari).


def defender_loses(cells: list[int], size: int, prey: int, ko: int, used: int, budget: int) -> bool:
    """Defender to move, the prey (group at ``prey``) has 1 liberty: is it captured?

    Candidates: the prey's liberty, and the liberty of every attacker group touching the
    prey that is itself in atari. After a legal candidate the prey escapes with 3+ liberties,
    escapes with 2 unless :func:`attacker_wins`, and that candidate fails with 1.
    """
    if used >= budget:
        return False  # no plies left: not captured
    defender = cells[prey]
    attacker = -defender
    stones, libs = group(cells, size, prey)
    assert len(libs) == 1, "defender_loses() needs a prey in atari"
    candidates = set(libs)
    for s in stones:
        for q in neighbours(s, size):
            if cells[q] == attacker:
                _, attacker_libs = group(cells, size, q)
                if len(attacker_libs) == 1:
                    candidates |= attacker_libs
    for move in sorted(candidates):
        res = play_cells(cells, size, move, defender, ko)
        if res is None:
            continue
        new, _, new_ko = res
        _, prey_libs = group(new, size, prey)
        if len(prey_libs) >= 3:
            return False
        if len(prey_libs) == 2 and not attacker_wins(new, size, prey, new_ko, used + 1, budget):
            return False
    return True  # every candidate failed, or none was legal


def attacker_wins(cells: list[int], size: int, prey: int, ko: int, used: int, budget: int) -> bool:
    """Attacker to move, the prey has 2 liberties: can an atari on one of them capture it?

    A try is a legal attacker move on one of the prey's liberties that leaves the prey
    with exactly 1 liberty and a defender who loses. Nets are not tried.
    """
    if used >= budget:
        return False
    attacker = -cells[prey]
    _, libs = group(cells, size, prey)
    for move in sorted(libs):
        res = play_cells(cells, size, move, attacker, ko)
        if res is None:
            continue
        new, _, new_ko = res
        _, prey_libs = group(new, size, prey)
        if len(prey_libs) == 1 and defender_loses(new, size, prey, new_ko, used + 1, budget):
            return True
    return False


# ---------------------------------------------------------------------------
# The 48 planes


def _check_inputs(stones: np.ndarray, ages: np.ndarray, to_move: int, ko: int) -> int:
    if stones.ndim != 2 or stones.shape[0] != stones.shape[1]:
        raise ValueError(f"stones of shape {stones.shape}: expected (N, N)")
    if ages.shape != stones.shape:
        raise ValueError(f"ages of shape {ages.shape}: expected {stones.shape}")
    if to_move not in (BLACK, WHITE):
        raise ValueError(f"to_move {to_move!r}: expected BLACK (1) or WHITE (-1)")
    size = stones.shape[0]
    if not -1 <= ko < size * size:
        raise ValueError(f"ko {ko}: expected -1 or an idx on a {size}x{size} board")
    if not np.isin(stones, (BLACK, WHITE, EMPTY)).all():
        raise ValueError("stones: values other than BLACK, WHITE, EMPTY")
    if (ages[stones != EMPTY] < 1).any():
        raise ValueError("ages: a stone with age < 1 (the last move has age 1)")
    return size


def oracle_planes(stones: np.ndarray, ages: np.ndarray, to_move: int, ko: int = -1,
                  budget: int = LADDER_BUDGET) -> np.ndarray:
    """The 48 AlphaGo planes of one position, uint8 ``(48, N, N)``.

    ``stones``: int ``(N, N)``; ``ages``: int ``(N, N)``, moves since each stone was played
    (1 = last move, >= 8 incl. setup stones = plane 11), ignored at empty points;
    ``to_move``: BLACK or WHITE; ``ko``: idx that ``to_move`` may not play, or -1;
    ``budget``: ladder search budget in plies (the judged move is ply 1).
    """
    stones = np.asarray(stones)
    ages = np.asarray(ages)
    size = _check_inputs(stones, ages, to_move, ko)
    n = size * size
    cells = [int(v) for v in stones.flat]
    age = [int(v) for v in ages.flat]
    player, opponent = to_move, -to_move
    out = np.zeros((N_PLANES, n), dtype=np.uint8)  # (48, N*N)

    # The player's groups in atari before the move (for ladder escape): one stone each.
    in_atari: list[int] = []
    seen: set[int] = set()
    for p in range(n):
        if cells[p] == player and p not in seen:
            g, libs = group(cells, size, p)
            seen |= g
            if len(libs) == 1:
                in_atari.append(p)

    for p in range(n):
        c = cells[p]
        out[COLOUR + (0 if c == player else 1 if c == opponent else 2), p] = 1
        out[ONES, p] = 1
        if c != EMPTY:
            out[TURNS_SINCE + min(age[p], 8) - 1, p] = 1
            _, libs = group(cells, size, p)
            if libs:  # a group without liberties (invalid position) sets no plane
                out[LIBERTIES + min(len(libs), 8) - 1, p] = 1
            continue
        res = play_cells(cells, size, p, player, ko)
        if res is None:
            continue  # illegal: every look-ahead plane stays 0
        new, captured, new_ko = res
        g, libs = group(new, size, p)
        out[CAPTURE_SIZE + min(len(captured), 7), p] = 1
        if len(libs) == 1:
            out[SELF_ATARI + min(len(g), 8) - 1, p] = 1
        out[LIBERTIES_AFTER + min(len(libs), 8) - 1, p] = 1
        if ladder_capture_after(new, size, p, new_ko, budget):
            out[LADDER_CAPTURE, p] = 1
        if ladder_escape_after(new, size, in_atari, new_ko, budget):
            out[LADDER_ESCAPE, p] = 1
        if not is_own_eye(cells, size, p, player):
            out[SENSIBLENESS, p] = 1
    return out.reshape(N_PLANES, size, size)  # (48, N, N)


def ladder_capture_after(new: list[int], size: int, move: int, ko: int, budget: int) -> bool:
    """After the judged move (ply 1) at ``move``: does some opponent group touching it have
    exactly 1 liberty and a defender who loses? (A group captured outright is gone.)"""
    opponent = -new[move]
    for q in neighbours(move, size):
        if new[q] == opponent:
            _, libs = group(new, size, q)
            if len(libs) == 1 and defender_loses(new, size, q, ko, 1, budget):
                return True
    return False


def ladder_escape_after(new: list[int], size: int, in_atari: list[int], ko: int, budget: int) -> bool:
    """After the judged move (ply 1): does some player group that had 1 liberty before it
    now have 3+ liberties, or 2 liberties and an attacker who does not win?"""
    for s in in_atari:
        _, libs = group(new, size, s)
        if len(libs) >= 3:
            return True
        if len(libs) == 2 and not attacker_wins(new, size, s, ko, 1, budget):
            return True
    return False


# ---------------------------------------------------------------------------
# Game records


def oracle_replay(size: int, setup, moves, stop_on_illegal: bool = False):
    """Every position of a record: a list of ``(stones, ages, to_move, ko, move)``,
    one per move, each being the position *before* that move.

    ``setup``: ``(colour, idx)`` pairs placed before the first move (``EMPTY`` clears a point);
    ``moves``: ``(colour, idx)`` pairs, the pass being ``size * size``; the side to move is the
    colour of each move as written (no alternation assumed).
    ``stones`` int8 ``(N, N)``; ``ages`` int64 ``(N, N)``: a stone placed by move j (0-based)
    seen before move m is ``m - j`` old (passes count as moves), setup stones are
    ``SETUP_AGE``, empty points 0; ``ko``: the point ``to_move`` may not play (simple ko binds
    only the capturer's opponent, on the very next move) or -1.
    An illegal move raises ``ValueError``; with ``stop_on_illegal`` the list ends with the
    position before it instead.
    """
    n = size * size
    cells = [EMPTY] * n
    born: list[int | None] = [None] * n  # move number that placed the stone, None = setup
    for colour, idx in setup:
        cells[idx] = colour
        born[idx] = None
    ko, ko_binds = -1, 0
    out = []
    for m, (colour, idx) in enumerate(moves):
        stones = np.array(cells, dtype=np.int8).reshape(size, size)  # (N, N)
        ages = np.array([0 if cells[p] == EMPTY else SETUP_AGE if born[p] is None else m - born[p]
                         for p in range(n)], dtype=np.int64).reshape(size, size)  # (N, N)
        position_ko = ko if ko_binds == colour else -1
        out.append((stones, ages, colour, position_ko, idx))
        res = play_cells(cells, size, idx, colour, position_ko)
        if res is None:
            if stop_on_illegal:
                break
            raise ValueError(f"{colour_name(colour)} {idx_to_vertex(idx, size)} (move {m + 1}): illegal move")
        cells, _, ko = res
        ko_binds = -colour
        if idx != n:
            born[idx] = m
    return out


# ---------------------------------------------------------------------------
# Symmetries


def oracle_transform(board: np.ndarray, k: int) -> np.ndarray:
    """The k-th of the 8 dihedral symmetries, applied to the last two axes.

    k = 0..3: ``np.rot90(board, k)`` (k quarter turns counter-clockwise as printed, row 0 on top);
    k = 4..7: the transpose (``board[..., j, i]``) first, then ``np.rot90(., k - 4)``.
    So k=4 is the transpose (main-diagonal reflection), k=5 an up-down flip (``np.flipud``),
    k=6 the anti-diagonal reflection, k=7 a left-right flip (``np.fliplr``).
    """
    if not 0 <= k < 8:
        raise ValueError(f"symmetry {k}: expected 0..7")
    board = np.asarray(board)
    if k >= 4:
        board = np.swapaxes(board, -1, -2)
    return np.ascontiguousarray(np.rot90(board, k % 4, axes=(-2, -1)))


def oracle_transform_idx(idx: int, size: int, k: int) -> int:
    """Where ``idx`` lands under :func:`oracle_transform` ``k``; the pass idx stays the pass idx."""
    if idx == size * size:
        return idx
    one_hot = np.zeros(size * size, dtype=np.int8)
    one_hot[idx] = 1
    return int(np.flatnonzero(oracle_transform(one_hot.reshape(size, size), k))[0])


def oracle_inverse(k: int) -> int:
    """The symmetry that undoes ``k`` (rotations by 90 and 270 degrees swap; the rest are involutions)."""
    return {1: 3, 3: 1}.get(k, k)
