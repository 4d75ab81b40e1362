"""``python -m companion``: command-line tools (today: ``check``, see :mod:`companion._check`)."""

from __future__ import annotations

import sys

from companion._check import main

if __name__ == "__main__":
    sys.exit(main())
