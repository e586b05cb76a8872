"""The curve library: relative order rates over local time, from reference/peaks.md.

A :class:`Curve` is a step function of *local* time: seconds since local midnight of the curve's
first day, in the customers' time zone. Values are relative rates in "ordinary days": an ordinary
day has a mean of 1.0, so levels are comparable between curves (Cyber Monday's mean is 3.6). The
planner (``peakbench/plan/arrivals.py``) shifts a curve onto store time per customer zone, adds
spikes, and scales it so the busiest hour equals the store's own ``peak_orders_per_hour``; only
the shape and the relative levels inside one curve matter for a run.

Sources (tags as in peaks.md: [P] primary, [S] secondary, [C] computed, [G] assumed, configurable):

- Hour shapes [P: Akamai 2012, Hitwise 2016 — BF peaks midday, Thanksgiving and CM around 21:00;
  multipliers G]: Black Friday 02–06 0.3, 06–10 0.9, 10–14 1.5, 14–18 1.1, 18–23 1.1 (10–14 is
  25% of the day, as Adobe's figures give); Thanksgiving / Cyber Monday 00–07 0.3, 07–18 0.9,
  18–20 1.3, 20–22 1.7, 22–24 1.4 (normalised to a day mean of 1).
- Cyber Week day shares [C from Adobe 2025: $6.4B / $11.8B / $11.8B (Sat+Sun) / $14.25B]:
  14.5% / 26.7% / 13.35% / 13.35% / 32.2%; Cyber Monday ≈ 3.6× an ordinary day [C: 3.4–3.8].
- Singles Day: 37% of the day's orders in the first 64 minutes [C from Xinhua 2019]; the day
  ≈ 2.4× an ordinary day [C from parcel volume 1.8–3×].
- Flash sale: a single store spikes 10–20× its baseline for 5–15 minutes after a campaign email
  or a midnight launch [G]; default 15× for 10 minutes at 20:00 on an ordinary day.
- Prime Day: two days; peaks.md gives only a level (100,000 items a minute [S]), so both days
  take the ordinary evening shape at 3× an ordinary day, with equal shares [G].
- Ordinary day [G]: the evening shape of Thanksgiving / Cyber Monday (people shop after work),
  mean 1.0.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal, get_args

from peakbench.durations import parse_duration

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True, slots=True)
class Curve:
    """A step function of local seconds since the curve's origin (local midnight of its day).

    ``starts[i]`` is where ``values[i]`` begins; the last value lasts until ``end``. A curve with
    a ``period`` repeats forever (day curves: every 24 h); otherwise it is 0 outside
    ``[starts[0], end)``.
    """

    name: str
    starts: tuple[float, ...]
    values: tuple[float, ...]
    end: float
    period: float | None = None

    def value(self, offset: float) -> float:
        """Relative rate at ``offset`` local seconds from the origin (right-continuous)."""
        if self.period is not None:
            offset = self.starts[0] + (offset - self.starts[0]) % self.period
        if offset < self.starts[0] or offset >= self.end:
            return 0.0
        return self.values[bisect.bisect_right(self.starts, offset) - 1]

    def boundaries(self) -> tuple[float, ...]:
        """Offsets where the value may change, within one span (or one period)."""
        return (*self.starts, self.end)

    def mean(self) -> float:
        """Mean relative rate over the span (one period for periodic curves)."""
        edges = (*self.starts, self.end)
        area = sum(v * (edges[i + 1] - edges[i]) for i, v in enumerate(self.values))
        return area / (self.end - self.starts[0])

    @property
    def span(self) -> float:
        return self.end - self.starts[0]


def _normalised(raw: Sequence[float], mean: float = 1.0) -> tuple[float, ...]:
    total = sum(raw)
    return tuple(v * mean * len(raw) / total for v in raw)


# -- hour shapes (day mean 1.0) -------------------------------------------------------------------

# Black Friday [G]: the hours peaks.md leaves open (00–02, 23–24) take 1.1 so the mean is 1.0.
BLACK_FRIDAY_HOURS: tuple[float, ...] = (
    (1.1, 1.1) + (0.3,) * 4 + (0.9,) * 4 + (1.5,) * 4 + (1.1,) * 4 + (1.1,) * 5 + (1.1,)
)
EVENING_HOURS: tuple[float, ...] = _normalised(
    (0.3,) * 7 + (0.9,) * 11 + (1.3,) * 2 + (1.7,) * 2 + (1.4,) * 2
)
"""Thanksgiving / Cyber Monday (and, assumed, an ordinary day): the evening peak around 21:00."""
FLAT_HOURS: tuple[float, ...] = (1.0,) * 24

CYBER_MONDAY_LEVEL = 3.6
"""Cyber Monday's day mean in ordinary days [C: 3.4–3.8]."""
CYBER_WEEK_SHARES: tuple[float, ...] = (0.145, 0.267, 0.1335, 0.1335, 0.322)
"""Thanksgiving, Black Friday, Saturday, Sunday, Cyber Monday [C from Adobe 2025]."""
SINGLES_DAY_BURST = (0.37, 64 * 60.0)
"""Share of the day's orders and the length of the opening burst [C from Xinhua 2019]."""
SINGLES_DAY_LEVEL = 2.4
PRIME_DAY_SHARES: tuple[float, ...] = (0.5, 0.5)
PRIME_DAY_LEVEL = 3.0
FLASH_SALE = ("20:00", 15.0, 600.0)
"""Default flash-sale spike: local time, factor over the baseline, duration in seconds [G]."""


def _days(
    name: str, shapes: Sequence[Sequence[float]], levels: Sequence[float], period: float | None
) -> Curve:
    starts: list[float] = []
    values: list[float] = []
    for day, (shape, level) in enumerate(zip(shapes, levels, strict=True)):
        for hour, mult in enumerate(shape):
            starts.append(day * DAY + hour * HOUR)
            values.append(mult * level)
    return Curve(name, tuple(starts), tuple(values), len(shapes) * DAY, period)


def _levels(shares: Sequence[float], last_level: float) -> list[float]:
    """Day means in ordinary days from day shares, anchored on the last day's level."""
    return [s / shares[-1] * last_level for s in shares]


def _singles_day(hours: Sequence[float]) -> Curve:
    share, burst = SINGLES_DAY_BURST
    rest = _days("singles-day", [hours], [1.0], None)
    # the rest of the day keeps its hour shape, scaled to carry the remaining share
    rest_area = sum(
        rest.value(s) * (min(e, DAY) - max(s, burst))
        for s, e in zip(rest.starts, (*rest.starts[1:], DAY), strict=True)
        if e > burst
    )
    level = SINGLES_DAY_LEVEL * DAY
    starts = [0.0, burst]
    values = [share * level / burst, rest.value(burst) * (1 - share) * level / rest_area]
    for s in rest.starts:
        if s > burst:
            starts.append(s)
            values.append(rest.value(s) * (1 - share) * level / rest_area)
    return Curve("singles-day", tuple(starts), tuple(values), DAY, DAY)


CurveName = Literal[
    "black-friday",
    "cyber-monday",
    "thanksgiving",
    "cyber-week",
    "singles-day",
    "prime-day",
    "flash-sale",
    "ordinary-day",
    "flat",
]
"""The named curves (``peak.curve`` in a profile, docs/curves.md)."""
NAMES: tuple[str, ...] = get_args(CurveName)
"""Every named curve."""


def named(
    name: str, hours: Sequence[float] | None = None, day_shares: Sequence[float] | None = None
) -> Curve:
    """A named curve. ``hours`` overrides a day curve's 24 hour multipliers (for multi-day curves:
    every day's); ``day_shares`` overrides a multi-day curve's share of orders per day."""
    bf = tuple(hours) if hours else BLACK_FRIDAY_HOURS
    evening = tuple(hours) if hours else EVENING_HOURS
    if name == "black-friday":
        level = CYBER_WEEK_SHARES[1] / CYBER_WEEK_SHARES[-1] * CYBER_MONDAY_LEVEL
        return _days(name, [bf], [level], DAY)
    if name == "cyber-monday":
        return _days(name, [evening], [CYBER_MONDAY_LEVEL], DAY)
    if name == "thanksgiving":
        level = CYBER_WEEK_SHARES[0] / CYBER_WEEK_SHARES[-1] * CYBER_MONDAY_LEVEL
        return _days(name, [evening], [level], DAY)
    if name == "cyber-week":
        shares = tuple(day_shares) if day_shares else CYBER_WEEK_SHARES
        if len(shares) != 5:
            raise ValueError("cyber-week takes 5 day shares (Thursday to Monday)")
        # Thanksgiving and Cyber Monday peak in the evening, Black Friday at midday; the weekend
        # takes the evening shape too [G]
        shapes = [evening, bf, evening, evening, evening]
        return _days(name, shapes, _levels(shares, CYBER_MONDAY_LEVEL), None)
    if name == "singles-day":
        return _singles_day(evening)
    if name == "prime-day":
        shares = tuple(day_shares) if day_shares else PRIME_DAY_SHARES
        levels = [s * len(shares) * PRIME_DAY_LEVEL / sum(shares) for s in shares]
        return _days(name, [evening] * len(shares), levels, None)
    if name in ("ordinary-day", "flash-sale"):
        return _days(name, [evening], [1.0], DAY)  # flash-sale: its spike is added in arrivals
    if name == "flat":
        return _days(name, [tuple(hours) if hours else FLAT_HOURS], [1.0], DAY)
    raise ValueError(f"unknown curve {name!r}; known: {', '.join(NAMES)}")


def from_points(name: str, points: Sequence[tuple[float, float]]) -> Curve:
    """A custom curve from ``(offset seconds, relative rate)`` rows, each rate lasting until the
    next row; the last row lasts as long as the step before it."""
    if len(points) < 2:
        raise ValueError(f"{name}: a curve needs at least two rows")
    starts = tuple(p[0] for p in points)
    step = starts[-1] - starts[-2]
    return Curve(name, starts, tuple(p[1] for p in points), starts[-1] + step, None)


def spike_shape(curve: Curve, duration: float) -> Curve:
    """A curve shaped for adding on top of another: max 1.0, starting at 0, cut at ``duration``
    (a ``flash-sale`` spike is a plain rectangle)."""
    if curve.name == "flash-sale":
        return Curve("spike", (0.0,), (1.0,), duration)
    top = max(curve.values) or 1.0
    first = curve.starts[0]
    starts = [s - first for s in curve.starts if s - first < duration]
    values = [curve.value(first + s) / top for s in starts]
    return Curve(f"spike:{curve.name}", tuple(starts), tuple(values), min(duration, curve.span))


def hour_means(curve: Curve, hours: int) -> list[float]:
    """Mean value of each local hour from the origin (for plots and checks)."""
    out = []
    for h in range(hours):
        lo, hi = h * HOUR, (h + 1) * HOUR
        edges = sorted({lo, hi, *(b for b in _edges(curve, lo, hi))})
        area = sum(curve.value(a) * (b - a) for a, b in itertools.pairwise(edges))
        out.append(area / HOUR)
    return out


def _edges(curve: Curve, lo: float, hi: float) -> list[float]:
    if curve.period is None:
        return [b for b in curve.boundaries() if lo < b < hi]
    out = []
    first = math.floor((lo - curve.starts[0]) / curve.period)
    for k in range(first, first + int((hi - lo) // curve.period) + 2):
        out += [b + k * curve.period for b in curve.boundaries() if lo < b + k * curve.period < hi]
    return out


@dataclass(frozen=True, slots=True)
class At:
    """When a spike starts, as written in a profile (see :func:`parse_at`)."""

    offset: float | None = None
    """Local seconds from the curve's origin (``'18:00'``, ``'+42h'``)."""
    local: datetime | None = None
    """A wall-clock time (naive: in the store's zone; aware: that instant)."""


def parse_at(text: str) -> At:
    """Parse ``'18:00'``, ``'+42h'`` or an ISO date-time; raise ValueError with a hint."""
    value = text.strip()
    try:
        if value.startswith("+"):
            return At(offset=parse_duration(value[1:]))
        if len(value) <= 8 and ":" in value:
            clock = time.fromisoformat(value)
            return At(offset=clock.hour * HOUR + clock.minute * 60.0 + clock.second)
        return At(local=datetime.fromisoformat(value))
    except ValueError:
        raise ValueError(
            f"expected a time like '18:00', '2026-11-27T18:00' or '+42h', got {text!r}"
        ) from None
