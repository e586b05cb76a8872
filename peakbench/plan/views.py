"""Customer tracking-page views of one parcel, planned from its journey (the truth timeline).

How many: the survey distribution (peaks.md: 30% of customers check once or twice, 21% 3–5
times, 30% 6+), times ``cross_border_factor`` for cross-border parcels (peaks.md [G]: 3–5 views
per domestic order, 6–10 cross-border). When: the first after the shipping email; each later
one after a carrier status change (the status email), on the expected delivery day, or anywhere
until a day after delivery. Then every view that would find the page stuck (no new event for
``stuck_after``) draws repeat refreshes minutes apart: at plan time the planner knows each
parcel's journey, so "stuck" is judged from the carrier's truth (the store may show even less:
the run measures that; the plan only approximates the customer's reaction to it).
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from peakbench.config.profile import ViewsSpec
from peakbench.plan.timeline import ScanEvent

_LN2 = math.log(2)
_DAYTIME = (8 * 3600.0, 22 * 3600.0)
"""Local hours in which customers look on the expected delivery day [G]."""


def survey_count(rng: random.Random, buckets: Mapping[str, float]) -> int:
    """Views of one customer: a bucket by its share, then uniform inside ``'3-5'``."""
    pick = rng.random()
    acc = 0.0
    for key, share in buckets.items():
        acc += share
        if pick <= acc:
            lo, _, hi = key.partition("-")
            return rng.randint(int(lo), int(hi or lo))
    return 0


def _stochastic_round(rng: random.Random, value: float) -> int:
    whole = math.floor(value)
    return whole + (1 if rng.random() < value - whole else 0)


def _expected_day(t_ship: float, promise: float, start_epoch: float, zone: ZoneInfo) -> float:
    """Run second of local midnight of the promised delivery day."""
    due = datetime.fromtimestamp(start_epoch + t_ship + promise, UTC).astimezone(zone)
    midnight = due.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    return midnight.replace(tzinfo=zone).timestamp() - start_epoch


def view_times(
    rng: random.Random,
    spec: ViewsSpec,
    lane: str,
    t_ship: float,
    events: Sequence[ScanEvent],
    start_epoch: float,
    zone: ZoneInfo,
) -> list[float]:
    """Run seconds of a parcel's views (unsorted; the caller cuts at the run's end).

    ``events`` is the parcel's journey (``peakbench.plan.timeline.journey``); epochs in it are
    converted to run seconds with ``start_epoch``.
    """
    n = survey_count(rng, spec.per_order)
    if lane == "cross-border":
        n = _stochastic_round(rng, n * spec.cross_border_factor)
    if n == 0:
        return []
    visible = [e.visible_at - start_epoch for e in events]
    occurred = [e.occurred_at - start_epoch for e in events]
    changes = [
        visible[i] for i in range(1, len(events)) if events[i].status != events[i - 1].status
    ]
    done = visible[-1]
    promise = spec.promised_transit.get(lane, 3 * 86400.0)
    day0 = _expected_day(t_ship, promise, start_epoch, zone)
    base = [t_ship + rng.expovariate(_LN2 / spec.first_view_median)]
    for _ in range(n - 1):
        pick = rng.random()
        if pick < spec.after_event_share and changes:
            t = rng.choice(changes) + rng.expovariate(_LN2 / spec.after_event_median)
        elif pick < spec.after_event_share + spec.expected_day_share:
            t = day0 + rng.uniform(*_DAYTIME)
        else:
            t = rng.uniform(t_ship, done + 86400.0)
        base.append(t)
    out = list(base)
    for t in base:
        shown = bisect.bisect_right(visible, t)
        newest = occurred[shown - 1] if shown else t_ship
        if t - newest > spec.stuck_after and spec.stuck_refreshes > 0:
            # geometric number of repeats with the configured mean
            p_more = spec.stuck_refreshes / (1.0 + spec.stuck_refreshes)
            gap = _LN2 / spec.refresh_gap_median
            while rng.random() < p_more and len(out) < 10 * (n + 10):
                t += rng.expovariate(gap)
                out.append(t)
    return out


def phase_of(t: float, order_end: float) -> str:
    """``peak`` while orders arrive, then ``wave``: the post-peak tracking wave."""
    return "peak" if t < order_end else "wave"
