import sys

from peakbench.cli.main import main

sys.exit(main())
