"""Long fuzz runs against what gonet reads: ``python scripts/fuzz.py TARGET --inputs N --seed S``.

Targets (each lives in its own script, with its own options: ``fuzz.py TARGET --help``):

- ``sgf`` (``fuzz_sgf.py``): damaged records, collections and archives through the reader,
  the rules replay and ``prepare``: crashes, wrong answers, games lost.
- ``gtp`` and ``model`` (``fuzz_protocol.py``): fuzzed command lines through the GTP engine,
  damaged model files through the loader.

The exit status is 1 when a run found anything, 2 for a usage error. The suite's bounded
versions are in ``tests/test_sgf.py``, ``tests/test_gtp.py`` and ``tests/test_policy.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import fuzz_protocol
import fuzz_sgf

TARGETS: dict[str, Callable[[list[str]], int]] = {"sgf": fuzz_sgf.main, "gtp": fuzz_protocol.main,
                                                  "model": fuzz_protocol.main}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in TARGETS:
        print(f"usage: fuzz.py {{{','.join(TARGETS)}}} --inputs N --seed S [options]", file=sys.stderr)
        return 2
    return TARGETS[argv[0]](argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
