"""Order arrivals: a curve in local time, shifted onto store time and drawn as a Poisson process.

Steps (docs/curves.md): build the profile's curve (peakbench/plan/curves.py); for each customer
zone,
map its local hours onto run seconds (DST included: zoneinfo), weighted by the zone's share; add
the spikes at their instants, each ``factor`` times the mixed rate at its start; scale so the
busiest 60 minutes of the curve carry ``peak_orders_per_hour``. The result is a piecewise-constant
rate in orders per store second, and arrivals are a non-homogeneous Poisson process under it,
drawn exactly by exponential gaps inside each constant segment (memorylessness makes restarting
at a segment boundary exact).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from peakbench.config.peak import CurveSpec, PeakSpec, SpikeSpec
from peakbench.plan.curves import (
    DAY,
    FLASH_SALE,
    HOUR,
    Curve,
    from_points,
    named,
    parse_at,
    spike_shape,
)


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of run time with a constant order rate (orders per store second)."""

    start: float
    end: float
    rate: float


@dataclass(frozen=True, slots=True)
class OrderRate:
    """The order rate of a run over ``[0, window)`` run seconds, piecewise constant."""

    segments: tuple[Segment, ...]
    busiest_hour: float
    """Orders in the busiest 60 minutes of the whole curve (the profile's peak_orders_per_hour)."""

    def expected(self, t0: float, t1: float) -> float:
        """Expected orders in ``[t0, t1)`` run seconds."""
        return sum(
            s.rate * (min(t1, s.end) - max(t0, s.start))
            for s in self.segments
            if s.end > t0 and s.start < t1
        )

    def rate_at(self, t: float) -> float:
        """Orders per store second at run second ``t``."""
        starts = [s.start for s in self.segments]
        i = bisect.bisect_right(starts, t) - 1
        return self.segments[i].rate if i >= 0 and t < self.segments[i].end else 0.0


def build_curve(spec: CurveSpec) -> Curve:
    """The local-time curve a spec names (a CSV's rows, or a named curve with its parameters)."""
    if spec.csv is not None:
        return from_points(spec.csv, spec.points)
    return named(spec.base, spec.hours, spec.day_shares)


def spikes(spec: CurveSpec) -> tuple[SpikeSpec, ...]:
    """The spikes on top of the base: ``add``, plus the flash sale's own for ``flash-sale``."""
    if spec.csv is None and spec.base == "flash-sale":
        at, factor, duration = FLASH_SALE
        own = spec.flash or SpikeSpec.model_validate({"at": at, "factor": factor, "for": duration})
        return (own, *spec.add)
    return spec.add


class _Mapper:
    """Local seconds since the curve's origin in a zone ↔ run seconds."""

    def __init__(self, start: datetime, zone: ZoneInfo, day: date) -> None:
        self.start = start.astimezone(UTC)
        self.zone = zone
        self.origin = datetime.combine(day, dtime())

    def local(self, t: float) -> float:
        wall = (self.start + timedelta(seconds=t)).astimezone(self.zone).replace(tzinfo=None)
        return (wall - self.origin).total_seconds()

    def run(self, offset: float) -> float:
        wall = (self.origin + timedelta(seconds=offset)).replace(tzinfo=self.zone)
        return (wall.astimezone(UTC) - self.start).total_seconds()


def _spike_start(spike: SpikeSpec, store: _Mapper) -> float:
    at = parse_at(spike.at)
    if at.offset is not None:
        return store.run(at.offset)
    assert at.local is not None
    if at.local.tzinfo is None:
        return store.run((at.local - store.origin).total_seconds())
    return (at.local - store.start).total_seconds()


def _boundaries(curve: Curve, mapper: _Mapper, horizon: float) -> list[float]:
    lo, hi = mapper.local(0.0) - DAY, mapper.local(horizon) + DAY
    marks = curve.boundaries()
    if curve.period is None:
        return [mapper.run(b) for b in marks if lo <= b <= hi]
    out = []
    k = math.floor((lo - curve.starts[0]) / curve.period)
    while curve.starts[0] + k * curve.period <= hi:
        out += [mapper.run(b + k * curve.period) for b in marks]
        k += 1
    return out


def order_rate(peak: PeakSpec, start: datetime, window: float) -> OrderRate:
    """The profile's order rate over ``[0, window)`` run seconds from the instant ``start``."""
    spec = peak.curve_spec
    curve = build_curve(spec)
    store_zone = ZoneInfo(peak.timezone)
    day = spec.day or start.astimezone(store_zone).date()
    zones = peak.customer_zones or {peak.timezone: 1.0}
    mappers = [(_Mapper(start, ZoneInfo(z), day), share) for z, share in zones.items()]
    store = _Mapper(start, store_zone, day)
    # scale on the whole curve, not just the window: a short window replays part of the same day
    span_end = store.run(curve.starts[0] + (curve.period or curve.span))
    horizon = max(window, span_end)
    marks = {0.0, horizon, *(h * HOUR for h in range(int(horizon // HOUR) + 1))}
    for mapper, _ in mappers:
        marks.update(_boundaries(curve, mapper, horizon))

    def base(t: float) -> float:
        return sum(share * curve.value(m.local(t)) for m, share in mappers)

    added: list[tuple[float, float, Curve]] = []
    for spike in spikes(spec):
        t_at = _spike_start(spike, store)
        shape = spike_shape(named(spike.curve), spike.duration)
        added.append((t_at, (spike.factor - 1.0) * base(t_at), shape))
        marks.update(t_at + b for b in shape.boundaries())
    edges = sorted(m for m in marks if 0.0 <= m <= horizon)
    raw: list[Segment] = []
    for a, b in itertools.pairwise(edges):
        mid = (a + b) / 2
        value = base(mid) + sum(h * shape.value(mid - t0) for t0, h, shape in added)
        raw.append(Segment(a, b, value))
    top = _busiest_hour(raw)
    if top <= 0:
        raise ValueError("the curve has no orders in the run")
    scale = peak.peak_orders_per_hour / top
    kept = tuple(
        Segment(s.start, min(s.end, window), s.rate * scale)
        for s in raw
        if s.start < window and s.rate > 0
    )
    return OrderRate(kept, peak.peak_orders_per_hour)


def _busiest_hour(segments: list[Segment]) -> float:
    """The largest integral of the rate over any 60 minutes (the whole span if shorter)."""
    edges = [s.start for s in segments] + [segments[-1].end]
    cum = [0.0]
    for s in segments:
        cum.append(cum[-1] + s.rate * (s.end - s.start))
    length = min(HOUR, edges[-1] - edges[0])

    def integral(x: float) -> float:
        i = min(max(bisect.bisect_right(edges, x) - 1, 0), len(segments) - 1)
        return cum[i] + segments[i].rate * (x - edges[i])

    best = 0.0
    for x in (*edges, *(e - length for e in edges)):
        x = min(max(x, edges[0]), edges[-1] - length)
        best = max(best, integral(x + length) - integral(x))
    return best


def poisson_arrivals(rate: OrderRate, rng: random.Random) -> list[float]:
    """Order times (run seconds), sorted: a non-homogeneous Poisson process under ``rate``."""
    times: list[float] = []
    for seg in rate.segments:
        t = seg.start + rng.expovariate(seg.rate)
        while t < seg.end:
            times.append(t)
            t += rng.expovariate(seg.rate)
    return times
