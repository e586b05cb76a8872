"""The freshness probe's figures (``summary.json`` → ``probe``), from its journaled reads.

Refresh latency as the probe sampled it, with the same definition as the customer views'
sampled figure (:func:`peakbench.measure.freshness.sampled_refresh_latencies`: from an event
becoming
visible at the carrier to the first read that shows it or a later event), but with a known
resolution: the probe's period, since each open shipment is read once a period.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from peakbench.measure.freshness import sampled_refresh_latencies
from peakbench.measure.histogram import Distribution
from peakbench.plan.clock import ClockSpec
from peakbench.plan.probe import ProbeSpec, Shipment, effective_period
from peakbench.plan.timeline import TimelineModel, journey


def probe_summary(
    spec: ProbeSpec,
    reads: Mapping[str, list[tuple[float, int]]],
    counts: Mapping[str, int],
    models: Mapping[str, TimelineModel],
    carrier_of: Mapping[str, str],
    ship_due: Mapping[str, float],
    clock: ClockSpec,
    duration: float,
    end: float,
) -> dict[str, Any]:
    """``reads``: per tracking number, ``(t, shown)`` of each successful probe read; ``counts``:
    the probe items' ``scheduled``/``done``/``failed`` tallies; ``duration``: the profile's
    (the plan's period is a function of it), ``end``: where the run's store time stopped."""
    ships = [Shipment(0, carrier_of[n], n, t) for n, t in ship_due.items()]
    period = effective_period(spec, ships, duration, clock.scale)
    refresh = Distribution(resolution_s=round(period, 3))
    censored = 0
    for number, seen in reads.items():
        if number not in carrier_of:
            continue
        events = journey(models[carrier_of[number]], number)
        for s in sampled_refresh_latencies(
            events, clock.start_epoch, sorted(seen), ship_due[number], end
        ):
            refresh.record(s.latency)
            censored += s.censored
    return {
        "period_s": round(period, 3),
        "requested_period_s": spec.period,
        "max_reads_per_s": spec.max_reads_per_s,
        "reads": dict(counts),
        "refresh_latency_s": {**refresh.summary(), "censored": censored, "method": "probe"},
    }
