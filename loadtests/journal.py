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
from typing import Literal, NotRequired, TypedDict

from peakbench.segments import DEFAULT_SEGMENT_BYTES, SegmentWriter


class JournalLine(TypedDict):
    """One executed item. Times are run seconds (store time since the run's start)."""

    kind: Literal["order", "ship", "view", "probe"]
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
    """Views (and probe reads, which carry the same fields) only, from the schedule item."""
    shown: NotRequired[int | None]
    """Views only: how many events the tracking page showed (null when the view failed)."""
    newest: NotRequired[str | None]
    """Views only: ``occurred_at`` of the newest event shown."""
    page_status: NotRequired[str | None]
    """Views only: the status the page headlined."""
    dropped: NotRequired[bool]
    """Present (true) when the item was not sent: it could not start within ``drop_after``."""


def _json_str(text: str) -> str:
    """``json.dumps(text)``, without the encoder for the usual plain ASCII text."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


def _json_opt(text: str | None) -> str:
    return "null" if text is None else _json_str(text)


View = tuple[str, int | None, str | None, str | None]
"""What a view showed: ``(tracking_number, shown, newest, page_status)``."""
Row = tuple[str, int, float, float, float, bool, int, bool, str | None, View | None, bool]
"""The arguments of :func:`line_text` for one line, as :meth:`Journal.write_row` buffers them."""


def line_text(
    kind: str,
    ref: int,
    due: float,
    start: float,
    end: float,
    ok: bool,
    status: int,
    late: bool,
    error: str | None,
    view: View | None = None,
    dropped: bool = False,
) -> str:
    """One :class:`JournalLine` as compact JSON, byte for byte what ``json.dumps(line,
    separators=(",", ":"))`` writes, at a fraction of its cost (it runs once per request).

    Times are rounded to 3 decimals here; ``view`` is ``(tracking_number, shown, newest,
    page_status)`` for views.
    """
    text = (
        f'{{"kind":"{kind}","ref":{ref},"due":{round(due, 3)!r},"start":{round(start, 3)!r},'
        f'"end":{round(end, 3)!r},"ok":{"true" if ok else "false"},"status":{status},'
        f'"late":{"true" if late else "false"},"error":{_json_opt(error)}'
    )
    if view is not None:
        number, shown, newest, page_status = view
        text += (
            f',"tracking_number":{_json_str(number)},"shown":{"null" if shown is None else shown},'
            f'"newest":{_json_opt(newest)},"page_status":{_json_opt(page_status)}'
        )
    return text + (',"dropped":true}' if dropped else "}")


def lines_text(buffered: list[str | Row]) -> list[str]:
    """The lines of a buffer of rows (:data:`Row`) and lines already formatted."""
    return [x if isinstance(x, str) else line_text(*x) for x in buffered]


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
