"""Distributions of store-time durations in mergeable HDR histograms.

Values are recorded in milliseconds with 3 significant digits, so percentiles are exact to 0.1%
and histograms from several workers merge exactly. ``count`` always travels with the figures.
"""

from __future__ import annotations

import math
from typing import TypedDict

from hdrh.histogram import HdrHistogram

_MAX_MS = 10**11  # ~3 years of store time


class DistributionSummary(TypedDict):
    count: int
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    max: float | None
    mean: float | None
    resolution_s: float


class Distribution:
    """Durations in seconds; percentiles in seconds."""

    def __init__(self, resolution_s: float = 0.001) -> None:
        self._h = HdrHistogram(1, _MAX_MS, 3)
        self._max = -math.inf
        self.resolution_s = resolution_s

    def record(self, seconds: float) -> None:
        """Record one duration, clamped to 0 .. ~3 years (the max is clamped alike, so it never
        disagrees with the percentiles)."""
        seconds = min(_MAX_MS / 1000.0, max(0.0, seconds))
        self._h.record_value(round(seconds * 1000.0))
        self._max = max(self._max, seconds)

    @property
    def count(self) -> int:
        return int(self._h.get_total_count())

    def percentile(self, p: float) -> float | None:
        if not self.count:
            return None
        return float(self._h.get_value_at_percentile(p)) / 1000.0

    def merge(self, other: Distribution) -> None:
        self._h.add(other._h)
        self._max = max(self._max, other._max)

    def encode(self) -> str:
        return self._h.encode().decode() if self.count else ""

    def summary(self) -> DistributionSummary:
        n = self.count
        pct = {p: self.percentile(p) for p in (50, 90, 95, 99)}
        return DistributionSummary(
            count=n,
            p50=pct[50],
            p90=pct[90],
            p95=pct[95],
            p99=pct[99],
            max=round(self._max, 3) if n else None,
            mean=round(float(self._h.get_mean_value()) / 1000.0, 3) if n else None,
            resolution_s=self.resolution_s,
        )
