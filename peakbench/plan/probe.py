"""The freshness probe: what every open shipment's customer view shows, read on a fixed period.

Customer views sample refresh latency where customers happen to look, so on a real store (which
keeps no change log for us) its resolution is hours and most samples are censored. The probe is
a low-rate reader of each shipped order's readout (the same request a customer view makes), from
its shipment to the end of the run, every ``period`` of store time. An event first shown by a
probe read was shown at most one period earlier, so the probe's refresh latency has a known
resolution: the period. Probe reads are schedule items of kind ``probe``: planned with the
rest, executed by the replay, journaled like views, and kept out of the customer figures
(views, staleness, complaints).

The request budget bounds the load: when the open shipments read every ``period`` would exceed
``max_reads_per_s`` (wall seconds, the store's load), the period is stretched until they do not,
and the run reports the period it used. Each shipment reads in a slot of its own within the period,
slots at least ``1 / max_reads_per_s`` wall seconds apart, so the load is flat rather than a
burst per period.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import Field

from peakbench.config.base import Duration, Spec
from peakbench.plan.schedule import Item


class ProbeSpec(Spec):
    """``probe:`` in a profile: read every open shipment's readout every ``period``."""

    period: Duration = Field(default=900.0, gt=0)
    """Store time between two reads of one shipment: the figure's resolution."""
    max_reads_per_s: float = Field(default=2.0, gt=0)
    """The most probe reads per wall second at any time; the period stretches to keep to it."""


@dataclass(frozen=True, slots=True)
class Shipment:
    """A planned shipment the probe reads: schedule ref, carrier, number, ship time (run s)."""

    ref: int
    carrier: str
    tracking_number: str
    t_ship: float


def effective_period(
    spec: ProbeSpec, shipments: Sequence[Shipment], end: float, scale: float
) -> float:
    """The period that keeps the probe within its budget: ``spec.period``, or longer when the
    most shipments open at once, each read once a period, would exceed ``max_reads_per_s``
    wall reads per second (store seconds per wall second: ``scale``)."""
    open_max = len([s for s in shipments if s.t_ship < end])  # all stay open until the end
    needed = open_max * scale / spec.max_reads_per_s
    return float(max(spec.period, math.ceil(needed)))


def probe_items(
    spec: ProbeSpec, shipments: Iterable[Shipment], end: float, scale: float
) -> tuple[list[Item], float]:
    """The probe's reads (``kind="probe"`` items, unsorted) and the period they use."""
    ships = [s for s in shipments if s.t_ship < end]
    period = effective_period(spec, ships, end, scale)
    # each shipment reads in a slot of its own, evenly spread over the period; the period is
    # long enough that slots are at least 1 / max_reads_per_s wall seconds apart
    slots = max(1, len(ships))
    items: list[Item] = []
    for index, s in enumerate(sorted(ships, key=lambda s: (s.t_ship, s.ref))):
        phase = (index % slots) * period / slots
        t = s.t_ship + period - (s.t_ship - phase) % period
        while t < end:
            items.append(Item(round(t, 3), "probe", s.ref, s.carrier, s.tracking_number))
            t += period
    return items, period
