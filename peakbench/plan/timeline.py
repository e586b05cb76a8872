"""Parcel journeys: the truth every process computes the same way.

A journey is a pure function of (fleet seed, tracking number). The tracking number itself carries
the ship time and the lane, so a carrier mock can serve any number of parcels without keeping any
per-parcel state, and the analyser recomputes exactly what the carrier knew at any moment.

Defaults follow ``reference/peaks.md`` ("Parcels after the peak"): domestic ground 8–12 events over
2–6 days with 1–6 h gaps inside facilities and 12–48 h on linehaul (×1.5 in peak, plus a tail
with no update for over 72 h); cross-border postal 10–20 events over 7–20 days with multi-day silent
gaps. Each event becomes visible in the carrier's API after an ingestion lag.
"""

from __future__ import annotations

import bisect
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from peakbench.plan._random import lognormal

HOUR = 3600.0
_ALPHABET = string.digits + string.ascii_uppercase
LANES = {"D": "domestic", "X": "cross-border"}
LANE_CODES = {v: k for k, v in LANES.items()}

STATUSES = (
    "info_received",
    "in_transit",
    "out_for_delivery",
    "failed_attempt",
    "delivered",
    "exception",
)
"""The neutral status vocabulary; personalities map it to each vendor's."""


@dataclass(frozen=True, slots=True)
class TimelineModel:
    """Parameters of the truth model shared by the carriers and the analyser (store time)."""

    seed: int = 1
    ingestion_lag_median_s: float = 15 * 60
    ingestion_lag_p90_s: float = 45 * 60
    peak_linehaul_factor: float = 1.5
    stuck_share: float = 0.05
    stuck_extra_min_s: float = 72 * HOUR
    stuck_extra_max_s: float = 120 * HOUR


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """One carrier scan. Times are Unix seconds on the store calendar."""

    index: int
    status: str
    code: str
    message: str
    city: str
    state: str
    country: str
    utc_offset_s: int
    occurred_at: float
    visible_at: float


@dataclass(frozen=True, slots=True)
class ParcelKey:
    shipped_at: int
    lane: str
    seq: int


# -- tracking numbers -----------------------------------------------------------------------------


def _b36(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        out.append(_ALPHABET[digit])
    if value:
        raise ValueError("value does not fit")
    return "".join(reversed(out))


def _check_char(body: str) -> str:
    return _ALPHABET[sum((i + 1) * _ALPHABET.index(c) for i, c in enumerate(body)) % 36]


def make_tracking_number(shipped_at: float, lane: str, seq: int) -> str:
    """Build a 16-character number ``PB`` + lane + ship time + sequence + check character."""
    body = "PB" + LANE_CODES.get(lane, lane) + _b36(int(shipped_at), 6) + _b36(seq, 6)
    return body + _check_char(body)


def parse_tracking_number(number: str) -> ParcelKey | None:
    """Decode a number made by :func:`make_tracking_number`; ``None`` for anything else."""
    if len(number) != 16 or not number.startswith("PB") or number[2] not in LANES:
        return None
    body, check = number[:15], number[15]
    if any(c not in _ALPHABET for c in number) or _check_char(body) != check:
        return None
    return ParcelKey(int(body[3:9], 36), LANES[body[2]], int(body[9:15], 36))


# -- journeys -------------------------------------------------------------------------------------

_US = (
    ("Los Angeles", "CA", "US", -8),
    ("Ontario", "CA", "US", -8),
    ("Phoenix", "AZ", "US", -7),
    ("Denver", "CO", "US", -7),
    ("Dallas", "TX", "US", -6),
    ("Chicago", "IL", "US", -6),
    ("Memphis", "TN", "US", -6),
    ("Louisville", "KY", "US", -5),
    ("Atlanta", "GA", "US", -5),
    ("Newark", "NJ", "US", -5),
)
_CN = (("Shenzhen", "GD", "CN", 8), ("Guangzhou", "GD", "CN", 8), ("Shanghai", "SH", "CN", 8))


def _uniform_h(rng: random.Random, lo: float, hi: float) -> float:
    return rng.uniform(lo, hi) * HOUR


def _domestic(rng: random.Random, m: TimelineModel, start: float) -> list[tuple]:
    origin, hub, dest = rng.sample(_US, 3)
    linehaul = m.peak_linehaul_factor
    steps: list[tuple] = [("info_received", "LC", "Shipping label created", origin, 0.0)]
    steps.append(("in_transit", "PU", "Picked up", origin, lognormal(rng, 5 * HOUR, 20 * HOUR)))
    steps.append(("in_transit", "AR", "Arrived at origin facility", origin, _uniform_h(rng, 1, 6)))
    if rng.random() < 0.5:
        steps.append(
            ("in_transit", "PR", "Processed at origin facility", origin, _uniform_h(rng, 1, 6))
        )
    steps.append(("in_transit", "DP", "Departed origin facility", origin, _uniform_h(rng, 1, 6)))
    if rng.random() < 0.5:
        steps.append(
            ("in_transit", "AR", "Arrived at hub", hub, _uniform_h(rng, 12, 48) * linehaul)
        )
        if rng.random() < 0.5:
            steps.append(("in_transit", "PR", "Processed at hub", hub, _uniform_h(rng, 1, 6)))
        steps.append(("in_transit", "DP", "Departed hub", hub, _uniform_h(rng, 1, 6)))
    steps.append(
        (
            "in_transit",
            "AR",
            "Arrived at destination facility",
            dest,
            _uniform_h(rng, 12, 48) * linehaul,
        )
    )
    steps.append(
        ("in_transit", "PR", "Processed at destination facility", dest, _uniform_h(rng, 1, 6))
    )
    steps.append(("out_for_delivery", "OD", "Out for delivery", dest, _uniform_h(rng, 4, 12)))
    steps.append(("delivered", "DL", "Delivered", dest, _uniform_h(rng, 2, 8)))
    return steps


def _cross_border(rng: random.Random, m: TimelineModel, start: float) -> list[tuple]:
    origin = rng.choice(_CN)
    gateway, dest = rng.sample(_US, 2)
    f = m.peak_linehaul_factor
    return [
        ("info_received", "EMA", "Electronic information received", origin, 0.0),
        ("in_transit", "EMA", "Accepted by origin post", origin, _uniform_h(rng, 6, 48)),
        ("in_transit", "EMB", "Arrived at export sorting center", origin, _uniform_h(rng, 2, 12)),
        ("in_transit", "EMC", "Departed export sorting center", origin, _uniform_h(rng, 4, 24)),
        ("in_transit", "EXC", "Export customs cleared", origin, _uniform_h(rng, 6, 24)),
        ("in_transit", "EXD", "Handed over to airline", origin, _uniform_h(rng, 48, 168) * f),
        (
            "in_transit",
            "EMD",
            "Arrived in destination country",
            gateway,
            _uniform_h(rng, 24, 96) * f,
        ),
        ("in_transit", "EDA", "Held by import customs", gateway, _uniform_h(rng, 2, 24)),
        ("in_transit", "EDC", "Released by import customs", gateway, _uniform_h(rng, 6, 48)),
        ("in_transit", "EMF", "Handed over to last-mile carrier", gateway, _uniform_h(rng, 2, 24)),
        ("in_transit", "AR", "Arrived at destination facility", dest, _uniform_h(rng, 12, 48) * f),
        ("in_transit", "PR", "Processed at destination facility", dest, _uniform_h(rng, 1, 6)),
        ("out_for_delivery", "OD", "Out for delivery", dest, _uniform_h(rng, 4, 12)),
        ("delivered", "DL", "Delivered", dest, _uniform_h(rng, 2, 8)),
    ]


def journey(model: TimelineModel, tracking_number: str) -> tuple[ScanEvent, ...]:
    """Every scan of a parcel, oldest first, including ones that have not happened yet.

    ``visible_at`` never decreases along the journey, so what a carrier returns at any moment is a
    prefix (see :func:`visible_count`). Raises ValueError for a number this model did not make.
    """
    return _journey(model, tracking_number)


@lru_cache(maxsize=16384)
def _journey(model: TimelineModel, tracking_number: str) -> tuple[ScanEvent, ...]:
    key = parse_tracking_number(tracking_number)
    if key is None:
        raise ValueError(f"unknown tracking number {tracking_number!r}")
    rng = random.Random(f"{model.seed}:{tracking_number}")
    build = _cross_border if key.lane == "cross-border" else _domestic
    steps = build(rng, model, float(key.shipped_at))
    stuck_at = -1
    if rng.random() < model.stuck_share:
        stuck_at = rng.randrange(2, len(steps))
    events: list[ScanEvent] = []
    occurred = float(key.shipped_at)
    visible = occurred
    for i, (status, code, message, (city, state, country, offset_h), gap) in enumerate(steps):
        occurred += gap
        if i == stuck_at:
            occurred += rng.uniform(model.stuck_extra_min_s, model.stuck_extra_max_s)
        lag = lognormal(rng, model.ingestion_lag_median_s, model.ingestion_lag_p90_s)
        visible = max(occurred + lag, visible)
        events.append(
            ScanEvent(
                i,
                status,
                code,
                message,
                city,
                state,
                country,
                offset_h * 3600,
                round(occurred, 3),
                round(visible, 3),
            )
        )
    return tuple(events)


def visible_count(events: Sequence[ScanEvent], epoch: float) -> int:
    """How many of a journey's events the carrier's API returns at Unix time ``epoch``."""
    return bisect.bisect_right([e.visible_at for e in events], epoch)
