"""``python -m mocks.virtual --run RUN``: a run folder's sandbox world in virtual store time."""

from __future__ import annotations

import os
import sys

from mocks.virtual.world import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
