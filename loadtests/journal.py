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

from peakbench.measure.segments import DEFAULT_SEGMENT_BYTES, SegmentWriter
from peakbench.run.replaylog import JournalLine, Row, line_text, lines_text

__all__ = ["Journal", "JournalLine", "RowBuffer", "line_text", "lines_text"]


class RowBuffer:
    """Where the replay's executed items go (a :class:`Journal` file, or a worker's link to its
    master): journal lines held in memory until :meth:`flush` writes or sends them: rows
    (:meth:`write_row`, formatted only then, in one batch, away from the request path) or lines
    (:meth:`write`). Flushes by itself when it holds ``max_buffered`` lines."""

    def __init__(self, max_buffered: int) -> None:
        self._buffer: list[str | Row] = []
        self._max_buffered = max_buffered
        self.lines = 0
        """How many lines were written (buffered or flushed)."""

    def write(self, line: JournalLine) -> None:
        """Buffer one line."""
        self._append(json.dumps(line, separators=(",", ":")))

    def write_row(self, row: Row) -> None:
        """Buffer one line as the arguments of :func:`line_text`."""
        self._append(row)

    def _append(self, entry: str | Row) -> None:
        self._buffer.append(entry)
        self.lines += 1
        if len(self._buffer) >= self._max_buffered or self._due():
            self.flush()

    def _due(self) -> bool:
        """Flush now although the buffer is not full."""
        return False

    def take(self) -> list[str]:
        """The buffered lines, formatted; the buffer starts over."""
        out, self._buffer = self._buffer, []
        return lines_text(out)

    def flush(self) -> None:
        """Write or send what is buffered."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush what is left."""
        self.flush()


class Journal(RowBuffer):
    """Append-only JSONL file (in segments) with a bounded write buffer, written at least once
    ``flush_every_s``."""

    def __init__(
        self,
        path: Path,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        flush_every_s: float = 1.0,
        max_buffered: int = 5000,
        time_fn: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(max_buffered)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh: SegmentWriter | None = SegmentWriter(path, segment_bytes, mode="w")
        self._flush_every = flush_every_s
        self._time = time_fn
        self._last_flush = time_fn()

    def _due(self) -> bool:
        return self._time() - self._last_flush >= self._flush_every

    def flush(self) -> None:
        """Write the buffer to the file and hand it to the OS."""
        self._last_flush = self._time()
        if self._fh is None or not self._buffer:
            return
        self._fh.write("\n".join(self.take()) + "\n")
        self._fh.flush()

    def close(self) -> None:
        """Flush and close; later writes are kept in memory only (the run is over)."""
        self.flush()
        if self._fh is not None:
            self._fh.close()
            self._fh = None
