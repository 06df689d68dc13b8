"""``python -m gonet``: the same as the ``gonet`` command."""

import sys

from gonet.cli import main

sys.exit(main())
