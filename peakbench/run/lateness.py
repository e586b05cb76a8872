"""Lateness of arrivals (start − due, store seconds) in a mergeable HDR histogram.

Each Locust process tallies its own arrivals; a distributed run's master decodes the workers'
encoded histograms and adds them, so its percentiles are exactly those of one process that had
executed every arrival (to the histogram's 3 significant digits).
"""

from __future__ import annotations

from typing import TypedDict

from hdrh.histogram import HdrHistogram

_MAX_MS = 10**11  # ~3 years of store time


class LatenessDoc(TypedDict):
    """Store seconds; ``count`` arrivals were measured (early starts count as 0)."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None


class Lateness:
    """Start − due of executed (or dropped) arrivals, in milliseconds to 3 significant digits.

    :meth:`record` runs once per request, so it only counts the whole millisecond in a dict; the
    counts go into the HDR histogram in one batch whenever it is read (a few hundred distinct
    values a second at most, against thousands of records).
    """

    def __init__(self) -> None:
        self._h = HdrHistogram(1, _MAX_MS, 3)
        self._pending: dict[int, int] = {}

    def record(self, lag_s: float) -> None:
        ms = round(lag_s * 1000.0)
        pending = self._pending
        pending[ms] = pending.get(ms, 0) + 1

    def _fold(self) -> HdrHistogram:
        """The histogram with every pending record in it."""
        if self._pending:
            pending, self._pending = self._pending, {}
            for ms, n in pending.items():
                self._h.record_value(min(_MAX_MS, max(0, ms)), n)
        return self._h

    @property
    def count(self) -> int:
        return int(self._fold().get_total_count())

    def encode(self) -> str:
        """The histogram as HdrHistogram's compressed base64 text ('' when empty)."""
        return self._fold().encode().decode() if self.count else ""

    def add_encoded(self, text: str) -> None:
        """Add a histogram sent by :meth:`encode` (from another process)."""
        if text:
            self._fold().add(HdrHistogram.decode(text.encode()))

    def merged(self, other: Lateness) -> Lateness:
        out = Lateness()
        out._h.add(self._fold())
        out._h.add(other._fold())
        return out

    def summary(self) -> LatenessDoc:
        if not self.count:
            return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}
        h = self._fold()
        pct = {p: h.get_value_at_percentile(p) / 1000.0 for p in (50, 90, 99)}
        return {
            "count": self.count,
            "p50": pct[50],
            "p90": pct[90],
            "p99": pct[99],
            "max": h.get_max_value() / 1000.0,
        }
