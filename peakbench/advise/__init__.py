"""``peakbench advise``: sweeps of runs that answer "tune or replace the plugin" (docs/advise.md).
May import ``run``, ``report``, ``measure``, ``plan``, ``config``; never the CLI.

space.py (what to run), runner.py (running it), metrics.py and verdict.py (what it means),
tables.py and page.py (showing it); the command itself is :mod:`peakbench.cli.advise`.
"""
