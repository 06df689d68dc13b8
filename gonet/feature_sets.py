"""Named subsets of AlphaGo's 48 input planes, for ablations.

Apart from :mod:`gonet.features` so that :mod:`gonet.nets` can size a net's first layer
without loading the rules engine and Numba (the MNIST and speech models share nets.py).
"""

from __future__ import annotations

NUM_PLANES = 48

FEATURE_SETS: dict[str, tuple[int, ...]] = {
    "full": tuple(range(NUM_PLANES)),
    "board": tuple(range(4)),
    "board_history": tuple(range(12)),
    "board_history_liberties": tuple(range(20)),
    "board_liberties": tuple(range(4)) + tuple(range(12, 20)),
}
"""Named plane subsets for ablations: the paper's 4/12/20/48 plus board + liberties."""


def feature_planes(name: str) -> tuple[int, ...]:
    """Plane indices of a named feature set; raises ``ValueError`` for an unknown name."""
    try:
        return FEATURE_SETS[name]
    except KeyError:
        raise ValueError(f"unknown feature set {name!r}; choose from {', '.join(FEATURE_SETS)}") from None
