"""Renderers of a run's summary (console, HTML, markdown, junit, figures, comparisons, history).
Imports ``measure``, ``plan``, ``config``; never run, advise or the CLI."""
