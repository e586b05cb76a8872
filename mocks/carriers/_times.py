"""Timestamp styles carriers print scan times in, from a Unix time and the scan's UTC offset.

Real feeds disagree: some print the local time with its offset (FedEx, DHL), some the local time
with no offset at all (USPS v3, AfterShip ``checkpoint_time``), some split compact ``YYYYMMDD``
and ``HHMMSS`` fields (UPS), some only a date for some event types, some a zone abbreviation
(Canada Post ``EST``). A cross-border parcel jumps from UTC+8 to UTC−5/−8 on the way, so a
client that sorts offset-less local times naively sees "delivered before shipped": reproducing
that is the point.

Every function takes ``epoch`` (Unix seconds, store calendar) and ``utc_offset_s`` (the scan's
offset east of UTC in seconds, :attr:`peakbench.plan.timeline.ScanEvent.utc_offset_s`) and prints to
second precision. :data:`STYLES` names them for personalities configured by data.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from peakbench.durations import parse_duration

_HOUR = 3600

ZONE_ABBREVIATIONS: dict[int, str] = {
    -10 * _HOUR: "HST",
    -9 * _HOUR: "AKST",
    -8 * _HOUR: "PST",
    -7 * _HOUR: "MST",
    -6 * _HOUR: "CST",
    -5 * _HOUR: "EST",
    -4 * _HOUR: "AST",
    -(3 * _HOUR + 1800): "NST",
    0: "GMT",
    1 * _HOUR: "CET",
    2 * _HOUR: "EET",
    # China Standard Time prints as "CST" too: the ambiguity with US Central is real
    8 * _HOUR: "CST",
    9 * _HOUR: "JST",
}
"""UTC offset (seconds) → the standard-time abbreviation carriers print; the journey model's
offsets are fixed per place, so daylight time never appears."""


def _local(epoch: float, utc_offset_s: int) -> tuple[int, ...]:
    return tuple(time.gmtime(int(epoch) + utc_offset_s)[:6])


def offset_suffix(utc_offset_s: int, colon: bool = True) -> str:
    """``-05:00`` (or ``-0500`` without ``colon``) for an offset in seconds east of UTC."""
    sign = "-" if utc_offset_s < 0 else "+"
    hours, minutes = divmod(abs(utc_offset_s) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" if colon else f"{sign}{hours:02d}{minutes:02d}"


def utc_iso(epoch: float) -> str:
    """ISO-8601 UTC with ``Z``: ``2026-11-27T05:00:00Z``."""
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % time.gmtime(int(epoch))[:6]  # noqa: UP031


def local_iso(epoch: float, utc_offset_s: int) -> str:
    """Local wall time WITHOUT an offset: ``2026-11-27T10:15:00`` (USPS v3 ``eventTimestamp``)."""
    return "%04d-%02d-%02dT%02d:%02d:%02d" % _local(epoch, utc_offset_s)  # noqa: UP031


def offset_iso(epoch: float, utc_offset_s: int) -> str:
    """Local wall time with its offset: ``2026-11-27T10:15:00-05:00`` (FedEx, DHL)."""
    return local_iso(epoch, utc_offset_s) + offset_suffix(utc_offset_s)


def local_date(epoch: float, utc_offset_s: int) -> str:
    """The local calendar date only: ``2026-11-27`` (date-only events)."""
    return "%04d-%02d-%02d" % _local(epoch, utc_offset_s)[:3]  # noqa: UP031


def compact_date(epoch: float, utc_offset_s: int) -> str:
    """Local date as ``YYYYMMDD`` (UPS ``date``; ``utc_offset_s=0`` gives ``gmtDate`` style)."""
    return "%04d%02d%02d" % _local(epoch, utc_offset_s)[:3]  # noqa: UP031


def compact_time(epoch: float, utc_offset_s: int) -> str:
    """Local time as ``HHMMSS`` (UPS ``time``)."""
    return "%02d%02d%02d" % _local(epoch, utc_offset_s)[3:6]  # noqa: UP031


def zone_abbreviation(utc_offset_s: int) -> str:
    """``EST``, ``PST``, ``CST``...; ``UTC+05:30`` where no abbreviation is in use."""
    return ZONE_ABBREVIATIONS.get(utc_offset_s) or "UTC" + offset_suffix(utc_offset_s)


def zoned(epoch: float, utc_offset_s: int) -> str:
    """Local time and a zone abbreviation: ``2026-11-27 10:15:00 EST`` (Canada Post style)."""
    local = "%04d-%02d-%02d %02d:%02d:%02d" % _local(epoch, utc_offset_s)  # noqa: UP031
    return f"{local} {zone_abbreviation(utc_offset_s)}"


STYLES: dict[str, Callable[[float, int], str]] = {
    "offset": offset_iso,
    "local": local_iso,
    "date": local_date,
    "compact-date": compact_date,
    "compact-time": compact_time,
    "zone": zoned,
    "utc": lambda epoch, _offset: utc_iso(epoch),
}
"""Style name → ``f(epoch, utc_offset_s) -> str``."""


def stamp(style: str, epoch: float, utc_offset_s: int) -> str:
    """``epoch`` printed in ``style`` (a key of :data:`STYLES`); KeyError for unknown styles."""
    return STYLES[style](epoch, utc_offset_s)


def quota_period(cause: str) -> float | None:
    """The window of a journal cause ``quota:<per>`` in seconds (``quota:1d`` → 86400.0);
    None for other causes. Vendors word daily and burst limits differently."""
    if not cause.startswith("quota:"):
        return None
    try:
        return parse_duration(cause[6:])
    except ValueError:
        return None


def is_daily(cause: str) -> bool:
    """Whether ``cause`` is a quota over a day or longer (reset at 00:00 GMT by the vendors)."""
    period = quota_period(cause)
    return period is not None and period >= 86400.0
