"""The bootstrap's per-order columns: weighted totals and quantiles of resampled orders, fast.

Used by :mod:`peakbench.report.compare` and :mod:`peakbench.report.replicated`; a resample
draws orders with :func:`_weights` and every figure is a weighted pass over the exceptions only."""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import mul

from peakbench.measure.samples import RunSamples


@dataclass(frozen=True, slots=True)
class _Column:
    """A per-order figure kept as its most common value plus the orders that differ from it:
    most orders share a value (no stale view, no outage), so a weighted total costs a pass
    over the exceptions only."""

    base: float
    index: list[int]
    delta: list[float]

    @classmethod
    def build(cls, values: Sequence[float]) -> _Column:
        base = Counter(values).most_common(1)[0][0] if values else 0.0
        index = [i for i, v in enumerate(values) if v != base]
        return cls(base, index, [values[i] - base for i in index])

    def total(self, w: Sequence[int], drawn: int) -> float:
        """``sum(w[i] * value[i])`` where ``drawn == sum(w)``."""
        return self.base * drawn + sum(map(mul, map(w.__getitem__, self.index), self.delta))


@dataclass(frozen=True, slots=True)
class _Arrays:
    """A run's per-order figures over an order index (the bootstrap's view of a run)."""

    staleness: _Sorted
    refresh: _Sorted
    done: _Column
    shipped: _Column
    views: _Column
    stale: _Column
    complaints: _Column
    outage_s: _Column
    hit: _Column

    @classmethod
    def build(cls, run: RunSamples, index: dict[int, int]) -> _Arrays:
        n = len(index)
        done, shipped, views, stale, hit = ([0.0] * n for _ in range(5))
        complaints, outage_s = [0.0] * n, [0.0] * n
        stal: list[tuple[float, int]] = []
        refr: list[tuple[float, int]] = []
        for o in run.orders:
            i = index[o.ref]
            done[i], shipped[i], hit[i] = o.done, o.shipped, o.outage_hit
            views[i], stale[i] = len(o.staleness), o.stale_views
            complaints[i], outage_s[i] = o.complaints, o.outage_s
            stal.extend((v, i) for v in o.staleness)
            refr.extend((v, i) for v in o.refresh)
        col = _Column.build
        return cls(
            _Sorted.build(stal, n),
            _Sorted.build(refr, n),
            *(col(x) for x in (done, shipped, views, stale, complaints, outage_s, hit)),
        )

    def stats(self, w: Sequence[int]) -> tuple[float, ...]:
        """Every metric of :data:`METRICS` with order ``i`` counted ``w[i]`` times (NaN when a
        metric has no samples)."""
        drawn = sum(w)
        views = self.views.total(w, drawn)
        done = self.done.total(w, drawn)
        shipped = self.shipped.total(w, drawn)
        return (
            self.staleness.percentile(w, 50, drawn),
            self.staleness.percentile(w, 95, drawn),
            self.refresh.percentile(w, 95, drawn),
            self.stale.total(w, drawn) / views if views else math.nan,
            1000 * self.complaints.total(w, drawn) / done if done else math.nan,
            self.outage_s.total(w, drawn) / shipped if shipped else math.nan,
            self.hit.total(w, drawn) / shipped if shipped else math.nan,
        )


@dataclass(frozen=True, slots=True)
class _Sorted:
    """Sample values in ascending order, each owned by an order (its weight in a resample)."""

    values: list[float]
    owner: list[int]
    per_order: _Column
    """How many values each order owns."""

    @classmethod
    def build(cls, pairs: list[tuple[float, int]], n: int) -> _Sorted:
        pairs.sort()
        per_order = [0.0] * n
        for _, i in pairs:
            per_order[i] += 1
        return cls([v for v, _ in pairs], [i for _, i in pairs], _Column.build(per_order))

    def percentile(self, w: Sequence[int], p: float, drawn: int) -> float:
        """Nearest-rank percentile with value ``j`` counted ``w[owner[j]]`` times.

        High percentiles walk down from the top, usually through a small tail only: the rank
        from the top is known from the total weight, which costs one pass over the orders."""
        values = self.values
        total = round(self.per_order.total(w, drawn))
        if not total:
            return math.nan
        target = max(1, math.ceil(p * total / 100))
        if p > 50:
            room = total - target  # weight that may lie above the answer
            k = min(len(values), math.ceil(len(values) * (100 - p) / 50) + 64)
            top = [0, *accumulate(map(w.__getitem__, reversed(self.owner[-k:])))]
            j = bisect_right(top, room) - 1
            if j < k:
                return values[len(values) - 1 - j]
        cum = list(accumulate(map(w.__getitem__, self.owner)))
        return values[bisect_left(cum, target)]


def _weights(rng: random.Random, n: int) -> list[int]:
    """How often each of ``n`` orders is drawn in one resample of size ``n``."""
    # n random 32-bit words, reduced modulo n: all in C, and the bias is below n / 2**32
    words = array("I", rng.randbytes(4 * n))
    counts = Counter(map(n.__rmod__, words))
    return list(map(counts.get, range(n), repeat(0)))
