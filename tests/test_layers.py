"""The seal around the engine: above it, modules ask ``Game`` and the ``features`` face for a
position and never read the engine's state array, its row constants, neighbour tables or
journals (issue 14). A grep is enough: a leak is a line of source."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ENGINE = {"gonet/board.py", "gonet/game.py", "gonet/features.py", "gonet/ownership.py"}
"""The engine's floor: the kernels, the one door (Game), the planes, and the playouts (Numba
kernels on the state array, like the planes)."""

LEAK = re.compile(r"board\.state|state\[|board\.nbr|\b(?:game|g|trial)\.board\b|from gonet\.board|from \.board"
                  r"|import gonet\.board|(?<![.\w])neighbours\(|(?<![.\w])diagonals\(|\.journal\b")
"""What a module above the engine must not write: the state array and its rows, the
``Board`` behind a ``Game``, the engine module itself, its neighbour tables and journals."""


def upper_modules() -> list[str]:
    """Every Python module of the package outside the engine's floor."""
    return sorted(name for f in ROOT.glob("gonet/**/*.py") if (name := f.relative_to(ROOT).as_posix()) not in ENGINE)


@pytest.mark.parametrize("module", upper_modules())
def test_upper_modules_do_not_read_the_engine(module):
    """No line of a module above the engine reads its layout or imports ``gonet.board``."""
    leaks = [f"{module}:{n}: {line.strip()}" for n, line in enumerate((ROOT / module).read_text().splitlines(), 1)
             if LEAK.search(line)]
    assert not leaks, "\n".join(leaks)


def test_the_check_sees_a_leak():
    """The pattern catches the leaks issue 14 found and lets the faces pass."""
    for line in ["stones = g.board.state[0]", "from gonet.board import IllegalMove", "q in game.board.nbr[p]",
                 "g.board.captures(BLACK)", "trial.board.colour_at(p)", "nbr = neighbours(19)",
                 "log, logn = game.journal", "state[STONE, p]"]:
        assert LEAK.search(line), line
    for line in ["stones = game.stones", "group = game.group(idx)", "attack[game.neighbours(p)] = True",
                 "point = layout.board.to_point(x, y)"]:
        assert not LEAK.search(line), line
