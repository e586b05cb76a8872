"""The request journal of one mock carrier: one JSON line per request, plus running counters.

Line format (``RUN/journals/carrier-<name>.jsonl``), the input of outage analysis::

    {"t": 12.345, "carrier": "acme", "route": "track", "key": "k0", "ip": "127.0.0.1",
     "numbers": 1, "status": 200, "outcome": "ok", "cause": null, "delay": 0.3}

``t`` is the run second of arrival and ``delay`` the injected latency (store seconds, 3
decimals); ``key`` is the index of the caller's API key (``k0``…) or ``anon``, never the key.
Lines are buffered in memory and written when ``max_lines`` are pending, by :meth:`Journal.flush`
(the server calls it every wall second) and on :meth:`Journal.close`: memory stays bounded.
The file is a segmented journal (:mod:`peakbench.measure.segments`): ``carrier-<name>.jsonl``, then
``carrier-<name>.1.jsonl``… of at most ``segment_bytes`` each; a restarted server appends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from peakbench.measure.segments import (
    DEFAULT_SEGMENT_BYTES,
    LineBuffer,
    Position,
    SegmentWriter,
    read_lines,
)

OK, THROTTLED, BLOCKED, ERROR = "ok", "throttled", "blocked", "error"
"""Journal outcomes: 2xx; a quota's 429; a ban's refusal; any other non-2xx."""


@dataclass(slots=True)
class Counters:
    """Requests of one carrier since start, by outcome."""

    requests: int = 0
    ok: int = 0
    throttled: int = 0
    blocked: int = 0
    errors: int = 0
    recovery: str | None = None
    """What the server did with the journal it found at start (one line, see
    :mod:`mocks.recovery`); None when nobody asked."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


MAX_MIDDLES = 4096
"""Most distinct (route, key, ip, numbers, status, outcome, cause) combinations kept formatted."""


class Journal:
    """Buffered JSONL journal of ``carrier`` at ``path`` (None: count only, write nothing),
    in segments of ``segment_bytes``, keeping the newest ``keep`` segments (None: all)."""

    def __init__(
        self,
        carrier: str,
        path: Path | None,
        max_lines: int = 4096,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        keep: int | None = None,
    ) -> None:
        self.carrier = carrier
        self.path = path
        self.counters = Counters()
        self._carrier_json = json.dumps(carrier)
        self._middles: dict[tuple[str, str, str, int, int, str, str | None], str] = {}
        """Everything of a line between ``t`` and ``delay``, by its fields: requests repeat a
        handful of combinations, so a line costs two number formats and a join."""
        file = SegmentWriter(path, segment_bytes, keep=keep) if path is not None else None
        self._lines = LineBuffer(file, max_lines)

    def record(
        self,
        t: float,
        route: str,
        key: str,
        ip: str,
        numbers: int,
        status: int,
        outcome: str,
        cause: str | None,
        delay: float,
    ) -> None:
        """Count one request and queue its journal line (``t``, ``delay`` in store seconds)."""
        counters = self.counters
        counters.requests += 1
        if outcome == OK:
            counters.ok += 1
        elif outcome == THROTTLED:
            counters.throttled += 1
        elif outcome == BLOCKED:
            counters.blocked += 1
        else:
            counters.errors += 1
        lines = self._lines
        if lines.file is None:
            return
        fields = (route, key, ip, numbers, status, outcome, cause)
        middle = self._middles.get(fields)
        if middle is None:
            if len(self._middles) >= MAX_MIDDLES:  # a flood of addresses must not grow it
                self._middles.clear()
            cause_json = "null" if cause is None else json.dumps(cause)
            middle = self._middles[fields] = (
                f'"carrier":{self._carrier_json},"route":{json.dumps(route)},'
                f'"key":{json.dumps(key)},"ip":{json.dumps(ip)},"numbers":{numbers},'
                f'"status":{status},"outcome":"{outcome}","cause":{cause_json},"delay":'
            )
        lines.add(f'{{"t":{t:.3f},{middle}{"0.000" if delay == 0 else f"{delay:.3f}"}}}\n')

    @property
    def dropped(self) -> int:
        """Lines lost because the file could not be written (disk full, folder removed)."""
        return self._lines.dropped

    def flush(self) -> None:
        """Write the pending lines; on an I/O error count them as dropped and go on."""
        self._lines.flush()

    def move_to(self, path: Path) -> None:
        """Go on writing at ``path``, a copy of this journal made after a :meth:`flush`
        (:meth:`~peakbench.measure.segments.SegmentWriter.move_to`)."""
        file = self._lines.file
        if file is not None:
            file.move_to(path)
            self.path = path

    def reset_counters(self) -> None:
        """Start the counters over (the admin API's reset); the journal file is kept whole."""
        self.counters = Counters(recovery=self.counters.recovery)

    def position(self) -> Position:
        """Where the next written line goes (segment, byte offset), pending lines flushed."""
        return self._lines.position

    def export(self, since: float | None = None, chunk_bytes: int = 1 << 16) -> Iterator[bytes]:
        """The journal written so far (flushed first), as chunks of whole JSONL lines; only
        lines with ``t >= since`` (run seconds) when given. Memory stays near ``chunk_bytes``."""
        self.flush()
        if self.path is None:
            return
        out: list[bytes] = []
        size = 0
        for line in read_lines(self.path):
            if since is not None and line_t(line) < since:
                continue
            out.append(line)
            size += len(line)
            if size >= chunk_bytes:
                yield b"".join(out)
                out, size = [], 0
        if out:
            yield b"".join(out)

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        self._lines.close()


def line_t(line: bytes) -> float:
    """``t`` of a journal line (every line starts ``{"t":<t>,``); -inf when unreadable."""
    try:
        return float(line[5 : line.index(b",")])
    except ValueError:
        return float("-inf")
