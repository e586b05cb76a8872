"""Build a run's schedule from a profile: deterministic from the seed, an open model.

Orders arrive as a Poisson process under the peak curve; each ships after a fulfilment delay with
a carrier and lane drawn from the fleet; its customer views the tracking page a number of times
drawn from the survey distribution, soon after the shipping email, after carrier status changes,
and spread until delivery.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from peakbench._random import lognormal
from peakbench.config.fleet import CarrierSpec
from peakbench.config.profile import Profile
from peakbench.curves import segments
from peakbench.schedule import Item
from peakbench.timeline import journey, make_tracking_number


@dataclass(frozen=True, slots=True)
class Plan:
    items: tuple[Item, ...]
    orders: int
    shipments: int
    views: int


def arrivals(profile: Profile, rng: random.Random) -> list[float]:
    """Order times (run seconds): a non-homogeneous Poisson process under the curve."""
    peak = profile.peak
    window = profile.clock.duration
    if peak.order_window is not None:
        window = min(window, peak.order_window)
    times: list[float] = []
    for seg in segments(
        peak.curve, peak.peak_orders_per_hour, profile.clock.start, window, peak.timezone
    ):
        if seg.rate <= 0:
            continue
        t = seg.start + rng.expovariate(seg.rate)
        while t < seg.end:
            times.append(t)
            t += rng.expovariate(seg.rate)
    return times


def _views_count(rng: random.Random, buckets: dict[str, float]) -> int:
    pick = rng.random()
    acc = 0.0
    for key, share in buckets.items():
        acc += share
        if pick <= acc:
            lo, _, hi = key.partition("-")
            return rng.randint(int(lo), int(hi or lo))
    return 0


def _carrier(rng: random.Random, carriers: Sequence[CarrierSpec]) -> CarrierSpec:
    return rng.choices(carriers, weights=[c.share for c in carriers])[0]


def build_plan(profile: Profile) -> Plan:
    """The full schedule of a run, sorted by time."""
    rng = random.Random(profile.seed)
    fleet = profile.fleet
    models = {c.name: fleet.timeline_model(c) for c in fleet.carriers}
    end = profile.clock.duration
    start_epoch = profile.start_epoch
    items: list[Item] = []
    shipments = views = 0
    order_times = arrivals(profile, rng)
    for ref, t_order in enumerate(order_times, start=1):
        items.append(Item(round(t_order, 3), "order", ref))
        t_ship = t_order + lognormal(rng, profile.fulfilment.median, profile.fulfilment.p90)
        carrier = _carrier(rng, fleet.carriers)
        lane = "cross-border" if rng.random() < carrier.cross_border_share else "domestic"
        n_views = _views_count(rng, profile.views.per_order)
        if t_ship >= end:
            continue
        number = make_tracking_number(start_epoch + t_ship, lane, ref)
        # the number carries whole seconds; ship no earlier than the carrier's label time
        t_ship = max(t_ship, math.ceil(start_epoch + t_ship) - start_epoch)
        items.append(Item(round(t_ship, 3), "ship", ref, carrier.name, number))
        shipments += 1
        events = journey(models[carrier.name], number)
        done_at = events[-1].visible_at - start_epoch
        for i in range(n_views):
            if i == 0:
                t_view = t_ship + rng.expovariate(math.log(2) / profile.views.first_view_median)
            elif rng.random() < profile.views.after_event_share:
                event = rng.choice(events[1:])
                t_view = event.visible_at - start_epoch + rng.expovariate(1 / 3600.0)
            else:
                t_view = rng.uniform(t_ship, done_at + 12 * 3600.0)
            if t_ship < t_view < end:
                items.append(Item(round(t_view, 3), "view", ref, carrier.name, number))
                views += 1
    items.sort(key=lambda it: (it.t, it.ref))
    return Plan(tuple(items), len(order_times), shipments, views)
