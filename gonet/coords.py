"""Coordinate systems of a Go board and conversions between them.

- ``point``: ``(row, col)``, row 0 at the *top* of the board (as SGF and images draw it).
- ``idx``: ``row * size + col``; the pass move is ``size * size`` (see :func:`pass_idx`).
- ``vertex``: GTP text, letters A–Z without I for columns, numbers from the *bottom*,
  e.g. ``"D4"``; ``"pass"`` for the pass move.
- ``sgf_point``: two lower-case letters, column then row from the top, e.g. ``"dp"``;
  ``""`` (or ``"tt"`` on boards up to 19×19) for a pass.
"""

from __future__ import annotations

BLACK = 1
WHITE = -1
EMPTY = 0

DEFAULT_KOMI = 7.5  # the usual area-scoring komi; here, not in game.py, so the CLI loads without Numba

MIN_SIZE = 2
MAX_SIZE = 25

GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
SGF_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def pass_idx(size: int) -> int:
    """The idx of the pass move on a board of this size."""
    return size * size


def check_size(size: int) -> int:
    """Return ``size`` if gonet supports it, else raise ``ValueError``."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"board size {size}: must be between {MIN_SIZE} and {MAX_SIZE}")
    return size


def colour_name(colour: int) -> str:
    """``"B"`` or ``"W"``."""
    return "B" if colour == BLACK else "W"


def parse_colour(text: str) -> int:
    """GTP/SGF colour text (``b``, ``black``, ``W`` ...) to BLACK or WHITE."""
    t = text.strip().lower()
    if t in ("b", "black"):
        return BLACK
    if t in ("w", "white"):
        return WHITE
    raise ValueError(f"{text!r}: not a colour")


def idx_to_point(idx: int, size: int) -> tuple[int, int]:
    return divmod(idx, size)


def point_to_idx(point: tuple[int, int], size: int) -> int:
    row, col = point
    return row * size + col


def idx_to_vertex(idx: int, size: int) -> str:
    """idx to GTP vertex: ``0`` on 19×19 is ``"A19"``; the pass idx is ``"pass"``."""
    if idx == pass_idx(size):
        return "pass"
    if not 0 <= idx < size * size:
        raise ValueError(f"idx {idx}: off a {size}x{size} board")
    row, col = divmod(idx, size)
    return f"{GTP_COLUMNS[col]}{size - row}"


def vertex_to_idx(vertex: str, size: int) -> int:
    """GTP vertex (any case) to idx; raises ``ValueError`` for text that is no vertex on this board."""
    v = vertex.strip().upper()
    if v == "PASS":
        return pass_idx(size)
    if len(v) < 2 or v[0] not in GTP_COLUMNS or not v[1:].isdigit():
        raise ValueError(f"{vertex!r}: not a vertex")
    col = GTP_COLUMNS.index(v[0])
    number = int(v[1:])
    if col >= size or not 1 <= number <= size:
        raise ValueError(f"{vertex!r}: off a {size}x{size} board")
    return (size - number) * size + col


def sgf_to_idx(sgf_point: str, size: int) -> int:
    """SGF point to idx; ``""`` and, up to 19×19, ``"tt"`` are passes."""
    if sgf_point == "" or (sgf_point == "tt" and size <= 19):
        return pass_idx(size)
    if len(sgf_point) != 2:
        raise ValueError(f"{sgf_point!r}: not an SGF point")
    col = SGF_LETTERS.find(sgf_point[0])
    row = SGF_LETTERS.find(sgf_point[1])
    if not (0 <= col < size and 0 <= row < size):
        raise ValueError(f"{sgf_point!r}: off a {size}x{size} board")
    return row * size + col


def idx_to_sgf(idx: int, size: int) -> str:
    """idx to SGF point; the pass idx becomes ``""``."""
    if idx == pass_idx(size):
        return ""
    row, col = divmod(idx, size)
    return SGF_LETTERS[col] + SGF_LETTERS[row]
