"""``peakbench advise``: tune the plugin or replace it, answered with numbers (docs/advise.md).

space.py (what to run), runner.py (running it), metrics.py and verdict.py (what it means),
tables.py and page.py (showing it), command.py (the composition root and the CLI command).
"""
