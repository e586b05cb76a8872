"""Build a run's schedule from a profile: deterministic from the seed, an open model.

Orders arrive as a Poisson process under the peak curve (peakbench/plan/arrivals.py); each ships
after a fulfilment delay with a carrier (by share) and a lane (the carrier's cross-border share);
its journey is the truth timeline (peakbench/plan/timeline.py), and its customer's views are planned
from that journey (peakbench/plan/views.py). Every item carries its phase: ``peak`` while orders
arrive, ``wave`` after (the post-peak tracking wave: shipments and views of peak orders).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from peakbench.config.fleet import CarrierSpec
from peakbench.config.profile import Profile
from peakbench.plan._random import lognormal
from peakbench.plan.arrivals import OrderRate, order_rate, poisson_arrivals
from peakbench.plan.probe import Shipment, probe_items
from peakbench.plan.schedule import Item
from peakbench.plan.timeline import journey, make_tracking_number
from peakbench.plan.views import phase_of, view_times


@dataclass(frozen=True, slots=True)
class Plan:
    """A run's schedule and its tallies."""

    items: tuple[Item, ...]
    orders: int
    shipments: int
    views: int
    phases: dict[str, dict[str, int]] = field(default_factory=dict)
    """Items per phase and kind: ``{"peak": {"order": …, "ship": …, "view": …}, "wave": {…}}``."""
    order_end: float = 0.0
    """Run second where orders stop and the tracking wave begins."""
    probe_period: float | None = None
    """Store seconds between two probe reads of a shipment (``None``: no probe)."""


def order_window(profile: Profile) -> float:
    """Run seconds during which orders arrive (the peak phase)."""
    window = profile.clock.duration
    if profile.peak.order_window is not None:
        window = min(window, profile.peak.order_window)
    return window


def rate_of(profile: Profile) -> OrderRate:
    """The profile's order rate over its order window."""
    return order_rate(profile.peak, profile.clock.start, order_window(profile))


def arrivals(profile: Profile, rng: random.Random) -> list[float]:
    """Order times (run seconds): a non-homogeneous Poisson process under the curve."""
    return poisson_arrivals(rate_of(profile), rng)


def _carrier(rng: random.Random, carriers: Sequence[CarrierSpec]) -> CarrierSpec:
    return rng.choices(carriers, weights=[c.share for c in carriers])[0]


def build_plan(profile: Profile) -> Plan:
    """The full schedule of a run, sorted by time."""
    rng = random.Random(profile.seed)
    fleet = profile.fleet
    models = {c.name: fleet.timeline_model(c) for c in fleet.carriers}
    end = profile.clock.duration
    order_end = order_window(profile)
    start_epoch = profile.start_epoch
    zone = ZoneInfo(profile.peak.timezone)
    items: list[Item] = []
    shipments: list[Shipment] = []
    order_times = arrivals(profile, rng)
    for ref, t_order in enumerate(order_times, start=1):
        items.append(Item(round(t_order, 3), "order", ref))
        t_ship = t_order + lognormal(rng, profile.fulfilment.median, profile.fulfilment.p90)
        carrier = _carrier(rng, fleet.carriers)
        lane = "cross-border" if rng.random() < carrier.cross_border_share else "domestic"
        if t_ship >= end:
            continue
        number = make_tracking_number(start_epoch + t_ship, lane, ref)
        # the number carries whole seconds; ship no earlier than the carrier's label time
        t_ship = max(t_ship, math.ceil(start_epoch + t_ship) - start_epoch)
        items.append(Item(round(t_ship, 3), "ship", ref, carrier.name, number))
        shipments.append(Shipment(ref, carrier.name, number, round(t_ship, 3)))
        events = journey(models[carrier.name], number)
        for t_view in view_times(rng, profile.views, lane, t_ship, events, start_epoch, zone):
            if t_ship < t_view < end:
                items.append(Item(round(t_view, 3), "view", ref, carrier.name, number))
    probe_period = None
    if profile.probe is not None:  # no random draws: the rest of the plan stays the same
        reads, probe_period = probe_items(profile.probe, shipments, end, profile.clock.scale)
        items += reads
    items.sort(key=lambda it: (it.t, it.ref, it.kind))
    phased = tuple(
        Item(i.t, i.kind, i.ref, i.carrier, i.tracking_number, phase_of(i.t, order_end))
        for i in items
    )
    tally: dict[str, Counter[str]] = {}
    for item in phased:
        tally.setdefault(item.phase, Counter())[item.kind] += 1
    kinds = Counter(i.kind for i in phased)
    return Plan(
        phased,
        len(order_times),
        kinds["ship"],
        kinds["view"],
        {p: dict(c) for p, c in tally.items()},
        order_end,
        probe_period,
    )
