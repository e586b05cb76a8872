"""The command line's consoles: wide when nobody reads them on a terminal, and safe to close.

Output with no terminal (a CI log, a pipe into ``tee`` or ``grep``) gets a wide console, so
tables keep one row per item instead of wrapping at rich's default of 80 columns; a ``COLUMNS``
variable still wins. Standard output wrapped in :class:`GuardedOutput` survives its reader going
away (``peakbench run … | head -1``): the broken pipe is noted, later output is dropped, and the
listeners registered with :func:`on_closed` (a run's :class:`peakbench.run.watch.Stop`) are told,
so the run stops, still writes ``summary.json``, and says why it is invalid.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console

WIDE = 300
"""Columns of a console that writes to no terminal: room for a results list row with a
profile name of 61 characters (tables take only the width they need)."""

_listeners: list[Callable[[], None]] = []


def on_closed(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` once when a guarded standard output breaks; returns the unsubscriber."""
    _listeners.append(listener)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            _listeners.remove(listener)

    return remove


def _broken(exc: OSError) -> bool:
    return isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.EINVAL)


class GuardedOutput:
    """A text stream whose reader may go away: a broken pipe closes it quietly (``closed_at``)
    and points its file descriptor at ``/dev/null`` so nothing fails at exit either."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.closed_at: float | None = None
        """``time.time()`` when the reader went away, ``None`` while it reads."""

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        return self.closed_at is None and self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def write(self, text: str) -> int:
        if self.closed_at is None:
            try:
                self.stream.write(text)
            except OSError as exc:
                if not _broken(exc):
                    raise
                self._close()
        return len(text)

    def flush(self) -> None:
        if self.closed_at is None:
            try:
                self.stream.flush()
            except OSError as exc:
                if not _broken(exc):
                    raise
                self._close()

    def _close(self) -> None:
        self.closed_at = time.time()
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self.stream.fileno())
            os.close(null)
        for listener in list(_listeners):
            listener()


def closed(console: Console) -> bool:
    """Whether ``console`` writes to a guarded output whose reader went away."""
    file = console.file
    return isinstance(file, GuardedOutput) and file.closed_at is not None


def make_console(stream: TextIO | GuardedOutput, stderr: bool = False) -> Console:
    """A console on ``stream``: the terminal's width on a terminal, :data:`WIDE` columns
    otherwise (unless ``COLUMNS`` says)."""
    wide = not stream.isatty() and not os.environ.get("COLUMNS")
    return Console(file=stream, stderr=stderr, width=WIDE if wide else None)  # type: ignore[arg-type]
