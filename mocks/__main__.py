"""``python -m mocks serve ...``: the mock carriers' process entry (the composition root).

The only place in ``mocks`` that reads ``sys.argv`` and ``os.environ``.
"""

from __future__ import annotations

import os
import sys

from mocks.serve import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
