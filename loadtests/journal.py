"""The replay journal: one JSON line per executed schedule item, buffered.

Freshness is measured from these lines, never from Locust's stats (which round response times
above 100 ms to two significant digits). Writes stay in memory and reach the file at least once a
second (wall) and at shutdown, so a hot replay loop does not pay a syscall per item.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Literal, NotRequired, TypedDict


class JournalLine(TypedDict):
    """One executed item. Times are run seconds (store time since the run's start)."""

    kind: Literal["order", "ship", "view"]
    ref: int
    due: float
    start: float
    end: float
    ok: bool
    status: int
    """HTTP status, 0 when the request never got a response (refused, reset, timeout)."""
    late: bool
    """The item started more than ``late_after`` store seconds after ``due``."""
    error: str | None
    tracking_number: NotRequired[str]
    """Views only, from the schedule item."""
    shown: NotRequired[int | None]
    """Views only: how many events the tracking page showed (null when the view failed)."""
    newest: NotRequired[str | None]
    """Views only: ``occurred_at`` of the newest event shown."""
    page_status: NotRequired[str | None]
    """Views only: the status the page headlined."""
    dropped: NotRequired[bool]
    """Present (true) when the item was not sent: it could not start within ``drop_after``."""


class Journal:
    """Append-only JSONL file with a bounded write buffer."""

    def __init__(
        self,
        path: Path,
        flush_every_s: float = 1.0,
        max_buffered: int = 5000,
        time_fn: Callable[[], float] = time.monotonic,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh: IO[str] | None = path.open("w", encoding="utf-8")
        self._buffer: list[str] = []
        self._flush_every = flush_every_s
        self._max_buffered = max_buffered
        self._time = time_fn
        self._last_flush = time_fn()
        self.lines = 0
        """How many lines were written (buffered or on disk)."""

    def write(self, line: JournalLine) -> None:
        """Buffer one line; flush when the buffer is old or large."""
        self._buffer.append(json.dumps(line, separators=(",", ":")))
        self.lines += 1
        if (
            len(self._buffer) >= self._max_buffered
            or self._time() - self._last_flush >= self._flush_every
        ):
            self.flush()

    def flush(self) -> None:
        """Write the buffer to the file and hand it to the OS."""
        self._last_flush = self._time()
        if self._fh is None or not self._buffer:
            return
        self._fh.write("\n".join(self._buffer) + "\n")
        self._buffer.clear()
        self._fh.flush()

    def close(self) -> None:
        """Flush and close; later writes are kept in memory only (the run is over)."""
        self.flush()
        if self._fh is not None:
            self._fh.close()
            self._fh = None
