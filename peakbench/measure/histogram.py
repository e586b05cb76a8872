"""Distributions of store-time durations in mergeable HDR histograms.

Values are recorded in milliseconds with 3 significant digits, so percentiles are exact to 0.1%
and histograms from several workers merge exactly. ``count`` always travels with the figures.
"""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np
from hdrh.histogram import HdrHistogram

_MAX_MS = 10**11  # ~3 years of store time
_MAX_S = _MAX_MS / 1000.0


def record_all(h: HdrHistogram, values: list[int]) -> None:
    """``h.record_value(v)`` for every ``v`` of ``values`` (each in ``h``'s range), in one
    vectorised pass. hdrh records in Python, a few microseconds a value: an analysis records
    tens of thousands. The bucket of a value is hdrh's own arithmetic (``_counts_index_for``)
    in numpy, where ``64 - clz(v)`` is ``v``'s bit length; tests/test_definitions_histogram.py
    checks the counts against hdrh's on every bucket boundary."""
    if not values:
        return
    v = np.asarray(values, dtype=np.int64)
    # bit length of v | mask: the exponent of frexp, exact for integers below 2**53
    pow2ceiling = np.frexp((v | h.sub_bucket_mask).astype(np.float64))[1].astype(np.int64)
    bucket = pow2ceiling - h.unit_magnitude - (h.sub_bucket_half_count_magnitude + 1)
    sub_bucket = v >> (bucket + h.unit_magnitude)
    index = (
        ((bucket + 1) << h.sub_bucket_half_count_magnitude) + sub_bucket - h.sub_bucket_half_count
    )
    counts = np.ctypeslib.as_array(h.counts)[: h.counts_len]
    counts += np.bincount(index, minlength=h.counts_len).astype(counts.dtype)
    h.total_count += len(values)
    h.min_value = min(h.min_value, int(v.min()))
    h.max_value = max(h.max_value, int(v.max()))


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
        self._hdr = HdrHistogram(1, _MAX_MS, 3)
        self._max = -math.inf
        self.resolution_s = resolution_s
        self._nonempty: list[tuple[int, int]] | None = None
        """:meth:`_buckets` until the next record or merge."""
        self._pending: list[int] = []
        """Milliseconds recorded since the histogram was last read (:attr:`_h`)."""

    def record(self, seconds: float) -> None:
        """Record one duration, clamped to 0 .. ~3 years (the max is clamped alike, so it never
        disagrees with the percentiles)."""
        seconds = min(_MAX_S, max(0.0, seconds))
        self._pending.append(round(seconds * 1000.0))
        if seconds > self._max:
            self._max = seconds
        self._nonempty = None

    @property
    def _h(self) -> HdrHistogram:
        """The HDR histogram with every recorded value in it."""
        if self._pending:
            pending, self._pending = self._pending, []
            record_all(self._hdr, pending)
        return self._hdr

    @property
    def count(self) -> int:
        return int(self._h.get_total_count())

    def percentile(self, p: float) -> float | None:
        if not self.count:
            return None
        return self._percentile(self._buckets(), p)

    def _buckets(self) -> list[tuple[int, int]]:
        """``(index, count)`` of the non-empty buckets in value order. hdrh walks every one of
        the ~29,000 buckets in Python for each percentile and the mean; this finds the few
        non-empty ones in one vectorised pass (numpy over hdrh's counts array), and the figures
        stay hdrh's to the bit."""
        if self._nonempty is None:
            counts = np.ctypeslib.as_array(self._h.counts)[: self._h.counts_len]
            index = np.flatnonzero(counts)
            self._nonempty = list(zip(index.tolist(), counts[index].tolist(), strict=True))
        return self._nonempty

    def _percentile(self, buckets: list[tuple[int, int]], p: float) -> float:
        """hdrh's ``get_value_at_percentile`` over ``buckets``, in seconds."""
        h = self._h
        target = h.get_target_count_at_percentile(p)
        total = 0
        for index, count in buckets:
            total += count
            if total >= target:
                value = h.get_value_from_index(index)
                edge = h.get_highest_equivalent_value if p else h.get_lowest_equivalent_value
                return float(edge(value)) / 1000.0
        return 0.0

    def _mean(self, buckets: list[tuple[int, int]]) -> float:
        """hdrh's ``get_mean_value`` (each bucket at its median equivalent value), in seconds."""
        h = self._h
        total = sum(
            count
            * h._hdr_median_equiv_value(h.get_highest_equivalent_value(h.get_value_from_index(i)))
            for i, count in buckets
        )
        return float(total) / self.count / 1000.0

    def merge(self, other: Distribution) -> None:
        self._h.add(other._h)
        self._max = max(self._max, other._max)
        self._nonempty = None

    def encode(self) -> str:
        return self._h.encode().decode() if self.count else ""

    def summary(self) -> DistributionSummary:
        n = self.count
        buckets = self._buckets() if n else []
        pct = {p: self._percentile(buckets, p) if n else None for p in (50, 90, 95, 99)}
        return DistributionSummary(
            count=n,
            p50=pct[50],
            p90=pct[90],
            p95=pct[95],
            p99=pct[99],
            max=round(self._max, 3) if n else None,
            mean=round(self._mean(buckets), 3) if n else None,
            resolution_s=self.resolution_s,
        )
