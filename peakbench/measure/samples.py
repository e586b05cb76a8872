"""Per-order figures of a run, read back from its folder: what a comparison resamples.

The summary of a run holds percentiles; comparing two runs honestly needs the values behind them,
grouped by the unit that was sampled, the order (a customer's views of one parcel are not
independent of each other). Every figure here uses the definitions of
``peakbench.measure.freshness``, ``peakbench.measure.outages`` and ``peakbench.measure.patience``,
exactly as ``peakbench.measure.analysis`` does, so a
comparison's point estimates agree with the runs' summaries.

All times are store seconds; orders are keyed by their schedule reference, which is the same in
every run made from the same seed and plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peakbench.measure.analysis import RunFiles
from peakbench.measure.freshness import ViewFreshness, assess_view, refresh_latencies
from peakbench.measure.journals import (
    SkipCounter,
    carrier_records,
    replay_records,
    store_changes,
    store_shipments,
)
from peakbench.measure.outages import Outage, find_outages, hit_by
from peakbench.measure.patience import complaint_probability
from peakbench.measure.results import load_run
from peakbench.plan.schedule import read_schedule
from peakbench.plan.timeline import ScanEvent, journey


@dataclass(frozen=True, slots=True)
class OrderSample:
    """One scheduled order and everything measured about it."""

    ref: int
    carrier: str = ""
    tracking_number: str = ""
    done: bool = False
    """The order was placed (the denominator of complaints per 1,000 orders)."""
    shipped: bool = False
    staleness: tuple[float, ...] = ()
    """Staleness of each of its customer views, seconds."""
    apparent_stall: tuple[float, ...] = ()
    """Apparent stall of each of its customer views, seconds."""
    stale_views: int = 0
    """Views whose staleness exceeded the profile's ``slo.stale_after``."""
    refresh: tuple[float, ...] = ()
    """Refresh latency of each of its parcel's events that became visible during the run."""
    complaints: float = 0.0
    """Expected complaints: the highest complaint probability over its views (0..1)."""
    outage_s: float = 0.0
    """Seconds of its parcel's tracking window (shipment → last event visible, or run end) during
    which its carrier was refusing the plugin."""
    outage_hit: bool = False
    """One of its views was stale past ``stale_after`` because of an outage (as counted in the
    summary's ``orders_affected``)."""


@dataclass(frozen=True, slots=True)
class RunSamples:
    """A run folder reduced to per-order figures."""

    root: Path
    profile: str
    seed: int
    plan: str
    """Digest of the schedule file: equal digests mean the same orders, shipments and views."""
    end: float
    stale_after: float
    resolution_s: float
    """Staleness resolution: the loopback round trip of a view in store seconds."""
    orders: tuple[OrderSample, ...]
    outages: tuple[Outage, ...]
    valid: bool
    invalid_reasons: tuple[str, ...]
    has_summary: bool = True
    """The run wrote its ``summary.json`` (a crashed harness leaves none)."""
    slo_passed: bool = False
    """The run's own gate passed (its ``summary.json``'s ``slo.passed``)."""

    @property
    def refs(self) -> frozenset[int]:
        return frozenset(o.ref for o in self.orders)

    @property
    def name(self) -> str:
        return self.root.name


def overlap(start: float, end: float, outages: Sequence[Outage]) -> float:
    """Seconds of ``[start, end]`` covered by ``outages`` (which do not overlap each other)."""
    return sum(max(0.0, min(end, o.end) - max(start, o.start)) for o in outages)


def schedule_digest(path: Path) -> str:
    """A short digest of a schedule file ("" when there is none)."""
    if not path.exists():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _summary(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / "summary.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_samples(root: Path) -> RunSamples:
    """Read a run folder into per-order figures. Raises ``FileNotFoundError`` or ``ValueError``
    with a one-line message when the folder is not a readable run."""
    if not (root / "run.json").exists():
        raise FileNotFoundError(f"{root}: not a peakbench results folder (no run.json)")
    files = RunFiles(root)
    if not files.schedule.exists():
        raise FileNotFoundError(f"{root}: no schedule.csv, nothing to compare")
    try:
        profile, clock, _ = load_run(root)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{root}/run.json is unreadable: {exc}") from None
    summary = _summary(root)
    end = float(summary.get("clock", {}).get("end") or profile.clock.duration)
    stale_after = profile.slo.stale_after
    start_epoch = clock.start_epoch
    fleet = profile.fleet
    models = {c.name: fleet.timeline_model(c) for c in fleet.carriers}

    refs: list[int] = []
    parcel: dict[int, tuple[str, str, float]] = {}
    for item in read_schedule(files.schedule):
        if item.kind == "order":
            refs.append(item.ref)
        elif item.kind == "ship":
            parcel[item.ref] = (item.carrier, item.tracking_number, item.t)
    ref_of = {number: ref for ref, (_, number, _) in parcel.items()}
    events: dict[str, tuple[ScanEvent, ...]] = {}

    def journey_of(carrier: str, number: str) -> tuple[ScanEvent, ...]:
        if number not in events:
            events[number] = journey(models[carrier], number) if carrier in models else ()
        return events[number]

    done: set[int] = set()
    shipped: set[int] = set()
    views: dict[int, list[ViewFreshness]] = {}
    skipped = SkipCounter()
    for rec in replay_records(files.replay, skipped):
        if not rec.ok:
            continue
        if rec.kind == "order":
            done.add(rec.ref)
        elif rec.kind == "ship":
            shipped.add(rec.ref)
        elif rec.kind == "view" and rec.shown is not None and rec.ref in parcel:
            carrier, number, due = parcel[rec.ref]
            evs = journey_of(carrier, number)
            if evs:
                view = assess_view(evs, start_epoch, rec.start, rec.shown, due, number)
                views.setdefault(rec.ref, []).append(view)

    refresh: dict[int, list[float]] = {}
    changes = store_changes(files.store_db)
    shipped_t: dict[int, float] = {}
    for shipment in store_shipments(files.store_db):
        ref = ref_of.get(shipment.tracking_number)
        if ref is None or shipment.carrier not in models:
            continue
        shipped_t[ref] = shipment.shipped_t
        evs = journey_of(shipment.carrier, shipment.tracking_number)
        refresh[ref] = [
            r.latency
            for r in refresh_latencies(
                evs, start_epoch, changes.get(shipment.tracking_number, []), end
            )
        ]

    outages = tuple(find_outages(carrier_records(files.journals), end))
    by_carrier: dict[str, list[Outage]] = {}
    for o in outages:
        by_carrier.setdefault(o.carrier, []).append(o)

    orders = []
    for ref in sorted(refs):
        carrier, number, due = parcel.get(ref, ("", "", 0.0))
        vs = views.get(ref, [])
        mine = by_carrier.get(carrier, [])
        exposure = 0.0
        if ref in shipped_t and number:
            evs = journey_of(carrier, number)
            last = evs[-1].visible_at - start_epoch if evs else end
            exposure = overlap(shipped_t[ref], min(end, last), mine)
        orders.append(
            OrderSample(
                ref=ref,
                carrier=carrier,
                tracking_number=number,
                done=ref in done,
                shipped=ref in shipped_t or ref in shipped,
                staleness=tuple(v.staleness for v in vs),
                apparent_stall=tuple(v.apparent_stall for v in vs),
                stale_views=sum(v.staleness > stale_after for v in vs),
                refresh=tuple(refresh.get(ref, ())),
                complaints=max(
                    (complaint_probability(profile.patience, v.apparent_stall) for v in vs),
                    default=0.0,
                ),
                outage_s=exposure,
                outage_hit=any(hit_by(o, carrier, v, stale_after) for o in mine for v in vs),
            )
        )
    return RunSamples(
        root=root,
        profile=profile.name,
        seed=profile.seed,
        plan=schedule_digest(files.schedule),
        end=end,
        stale_after=stale_after,
        resolution_s=float(summary.get("distortion", {}).get("view_round_trip_p50_s") or 0.0),
        orders=tuple(orders),
        outages=outages,
        valid=bool(summary.get("valid", False)),
        invalid_reasons=tuple(summary.get("invalid_reasons", ())),
        has_summary=bool(summary),
        slo_passed=bool((summary.get("slo") or {}).get("passed", False)),
    )
