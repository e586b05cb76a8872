"""The push journal of one carrier: one JSON line per webhook delivery attempt.

Line format (``RUN/journals/push-<carrier>.jsonl``)::

    {"t": 7212.5, "carrier": "trackship", "number": "PBD…", "event_id": "PBD…:4",
     "attempt": 1, "status": 500, "error": "http", "latency_s": 0.012, "next_t": 7512.5}

``t``: run second the attempt started; ``event_id``: ``<number>:<events in the body>`` (the
state pushed, so the analyser can match pushes to visible events); ``attempt``: 1 for the first
try of a push; ``status``: the store's HTTP status, null when none came; ``error``: null on 2xx,
else ``http`` (non-2xx), ``timeout``, ``connect``, ``transport`` or ``no_url``; ``latency_s``:
store seconds the attempt took; ``next_t``: run second of the retry, null when the push is done.
A line with an ``error`` and a null ``next_t`` is a push given up.

Buffered like the request journal: bounded memory, flushed by the runner every wall second and
on close; written in segments (``push-<carrier>.jsonl``, ``push-<carrier>.1.jsonl``…, see
:mod:`peakbench.measure.segments`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from peakbench.measure.segments import DEFAULT_SEGMENT_BYTES, LineBuffer, SegmentWriter


@dataclass(slots=True)
class PushCounters:
    """Attempts of one carrier's pushes since start."""

    attempts: int = 0
    delivered: int = 0
    """Pushes that got a 2xx."""
    failed: int = 0
    """Attempts without a 2xx (each retry counts)."""
    gave_up: int = 0
    """Pushes abandoned after the last try of the schedule."""

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class PushJournal:
    """Buffered JSONL journal of the pushes of ``carrier`` at ``path`` (None: count only), in
    segments of ``segment_bytes``, keeping the newest ``keep`` (None: all)."""

    def __init__(
        self,
        carrier: str,
        path: Path | None,
        max_lines: int = 4096,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        keep: int | None = None,
    ) -> None:
        self.carrier = carrier
        self.counters = PushCounters()
        file = SegmentWriter(path, segment_bytes, keep=keep) if path is not None else None
        self._lines = LineBuffer(file, max_lines)

    def record(
        self,
        t: float,
        number: str,
        event_id: str,
        attempt: int,
        status: int | None,
        error: str | None,
        latency_s: float,
        next_t: float | None,
    ) -> None:
        """Count one attempt and queue its line (``t``, ``latency_s``, ``next_t`` store time)."""
        counters = self.counters
        counters.attempts += 1
        if error is None:
            counters.delivered += 1
        else:
            counters.failed += 1
            if next_t is None:
                counters.gave_up += 1
        if self._lines.file is None:
            return
        line = {
            "t": round(t, 3),
            "carrier": self.carrier,
            "number": number,
            "event_id": event_id,
            "attempt": attempt,
            "status": status,
            "error": error,
            "latency_s": round(latency_s, 3),
            "next_t": None if next_t is None else round(next_t, 3),
        }
        self._lines.add(json.dumps(line, separators=(",", ":")) + "\n")

    @property
    def dropped(self) -> int:
        """Lines lost because the file could not be written."""
        return self._lines.dropped

    def flush(self) -> None:
        """Write the pending lines; on an I/O error count them as dropped and go on."""
        self._lines.flush()

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        self._lines.close()
