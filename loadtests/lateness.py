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
    """Start − due of executed (or dropped) arrivals, in milliseconds to 3 significant digits."""

    def __init__(self) -> None:
        self._h = HdrHistogram(1, _MAX_MS, 3)

    def record(self, lag_s: float) -> None:
        self._h.record_value(min(_MAX_MS, max(0, round(lag_s * 1000.0))))

    @property
    def count(self) -> int:
        return int(self._h.get_total_count())

    def encode(self) -> str:
        """The histogram as HdrHistogram's compressed base64 text ('' when empty)."""
        return self._h.encode().decode() if self.count else ""

    def add_encoded(self, text: str) -> None:
        """Add a histogram sent by :meth:`encode` (from another process)."""
        if text:
            self._h.add(HdrHistogram.decode(text.encode()))

    def merged(self, other: Lateness) -> Lateness:
        out = Lateness()
        out._h.add(self._h)
        out._h.add(other._h)
        return out

    def summary(self) -> LatenessDoc:
        if not self.count:
            return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}
        pct = {p: self._h.get_value_at_percentile(p) / 1000.0 for p in (50, 90, 99)}
        return {
            "count": self.count,
            "p50": pct[50],
            "p90": pct[90],
            "p99": pct[99],
            "max": self._h.get_max_value() / 1000.0,
        }
