"""Order-rate curves over a day, from the published figures in reference/peaks.md.

A curve gives a multiplier per local hour, with the day's mean at 1.0. Scaled so the busiest hour
equals the store's ``peak_orders_per_hour``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# Black Friday: reference/peaks.md "Hour shapes" [G]: 02–06 0.3, 06–10 0.9, 10–14 1.5, 14–18 1.1,
# 18–23 1.1. The hours it leaves open (00–02, 23–24) take 1.1 so the day's mean is exactly 1.0.
_BLACK_FRIDAY = (1.1, 1.1) + (0.3,) * 4 + (0.9,) * 4 + (1.5,) * 4 + (1.1,) * 4 + (1.1,) * 5 + (1.1,)
# Cyber Monday / Thanksgiving: 00–07 0.3, 07–18 0.9, 18–20 1.3, 20–22 1.7, 22–24 1.4 [G]. Those
# average 0.87, so they are normalised to a day mean of 1.0 (the shape is what the source gives).
_CM_RAW = (0.3,) * 7 + (0.9,) * 11 + (1.3,) * 2 + (1.7,) * 2 + (1.4,) * 2
_CYBER_MONDAY = tuple(round(m * 24 / sum(_CM_RAW), 4) for m in _CM_RAW)
_FLAT = (1.0,) * 24

CURVES: dict[str, tuple[float, ...]] = {
    "black-friday": _BLACK_FRIDAY,
    "cyber-monday": _CYBER_MONDAY,
    "flat": _FLAT,
}


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of run time with a constant order rate (orders per store second)."""

    start: float
    end: float
    rate: float


def hourly_multipliers(name: str) -> tuple[float, ...]:
    return CURVES[name]


def segments(
    name: str, peak_per_hour: float, start: datetime, duration: float, timezone: str
) -> Iterator[Segment]:
    """Split ``[0, duration)`` run seconds at local hour boundaries, each with its order rate."""
    mult = CURVES[name]
    scale = peak_per_hour / max(mult) / 3600.0
    zone = ZoneInfo(timezone)
    origin = start.astimezone(UTC)
    t = 0.0
    while t < duration:
        local = (origin + timedelta(seconds=t)).astimezone(zone)
        next_hour = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        end = min(duration, (next_hour.astimezone(UTC) - origin).total_seconds())
        if end <= t:  # DST fold or rounding: advance at least a second
            end = min(duration, t + 1.0)
        yield Segment(t, end, mult[local.hour] * scale)
        t = end


def expected_orders(name: str, peak_per_hour: float, hours: float = 24.0) -> float:
    """Orders a whole-day replay of the curve is expected to produce."""
    mult = CURVES[name]
    return sum(mult) / 24.0 * hours * peak_per_hour / max(mult)
