"""Turn a run's journals into its summary: the figures of DESIGN.md's results contract.

Pure over the run folder: the same folder always gives the same summary, so a summary can be
recomputed (``peakbench report``) and checked against the journals.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peakbench.config.evidence import refresh_caveat
from peakbench.config.profile import Profile
from peakbench.measure.distortion import distortion
from peakbench.measure.explain import explain
from peakbench.measure.faults import apply_faults, read_faults
from peakbench.measure.freshness import (
    ViewFreshness,
    assess_view,
    refresh_latencies,
    sampled_refresh_latencies,
)
from peakbench.measure.histogram import Distribution
from peakbench.measure.journals import (
    SkipCounter,
    carrier_records,
    push_records,
    queue_samples,
    replay_records,
    store_changes,
    store_shipments,
)
from peakbench.measure.outages import Outage, find_outages, hit_by
from peakbench.measure.patience import complaint_probability
from peakbench.measure.probe_figures import probe_summary
from peakbench.measure.probe_queue import queue_summary
from peakbench.measure.resources import resources_summary
from peakbench.measure.shopify_figures import shopify_summary
from peakbench.measure.slo import evaluate
from peakbench.measure.support import support_figures
from peakbench.measure.validity import invalid_reasons, push_summary
from peakbench.plan.clock import ClockSpec, iso
from peakbench.plan.schedule import read_schedule
from peakbench.plan.timeline import TimelineModel, journey

KINDS = ("order", "ship", "view")


@dataclass(frozen=True, slots=True)
class RunFiles:
    """Where a run folder keeps what the analysis reads."""

    root: Path

    @property
    def schedule(self) -> Path:
        return self.root / "schedule.csv"

    @property
    def journals(self) -> Path:
        return self.root / "journals"

    @property
    def replay(self) -> Path:
        return self.journals / "replay.jsonl"

    @property
    def store_db(self) -> Path:
        return self.root / "store.sqlite"


def _counts(
    scheduled: Counter[str],
    done: Counter[str],
    late: Counter[str],
    failed: Counter[str],
    dropped: Counter[str],
    kind: str,
) -> dict[str, int]:
    return {
        "scheduled": scheduled[kind],
        "done": done[kind],
        "late": late[kind],
        "failed": failed[kind],
        "dropped": dropped[kind],
    }


def analyse(
    profile: Profile, clock: ClockSpec, root: Path, end: float, partial: bool = False
) -> dict[str, Any]:
    """Compute ``summary.json`` for the run in ``root`` whose store time ran to ``end``."""
    files = RunFiles(root)
    fleet = profile.fleet
    models = {c.name: fleet.timeline_model(c) for c in fleet.carriers}
    start_epoch = clock.start_epoch
    skipped = SkipCounter()

    scheduled: Counter[str] = Counter()
    carrier_of: dict[str, str] = {}
    ship_due: dict[str, float] = {}
    if files.schedule.exists():
        for item in read_schedule(files.schedule):
            scheduled[item.kind] += 1
            if item.kind == "ship":
                carrier_of[item.tracking_number] = item.carrier
                ship_due[item.tracking_number] = item.t

    done: Counter[str] = Counter()
    late: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    """Items the replay could not start within ``replay.drop_after`` (k6's dropped iterations):
    never sent, so neither done nor failed."""
    unreachable = 0
    view_round_trips = Distribution()
    views: list[tuple[str, ViewFreshness]] = []
    observed: dict[str, list[tuple[float, int]]] = {}
    """Per parcel, ``(t, shown)`` of each view: the samples of refresh latency on a real store."""
    probed: dict[str, list[tuple[float, int]]] = {}
    """Per parcel, ``(t, shown)`` of each freshness probe read (peakbench/plan/probe.py)."""
    for rec in replay_records(files.replay, skipped):
        late[rec.kind] += rec.late
        if rec.dropped:
            dropped[rec.kind] += 1
            continue
        if not rec.ok:
            failed[rec.kind] += 1
            unreachable += rec.status == 0
            continue
        done[rec.kind] += 1
        if rec.kind == "probe" and rec.shown is not None:
            probed.setdefault(rec.tracking_number, []).append((rec.start, rec.shown))
        if rec.kind == "view" and rec.shown is not None and rec.tracking_number in carrier_of:
            view_round_trips.record(rec.end - rec.start)
            observed.setdefault(rec.tracking_number, []).append((rec.start, rec.shown))
            events = journey(models[carrier_of[rec.tracking_number]], rec.tracking_number)
            views.append(
                (
                    carrier_of[rec.tracking_number],
                    assess_view(
                        events,
                        start_epoch,
                        rec.start,
                        rec.shown,
                        ship_due[rec.tracking_number],
                        rec.tracking_number,
                    ),
                )
            )

    sandbox = profile.target.kind == "sandbox"  # a real store keeps no store.sqlite for us
    if sandbox:
        refresh, censored = _exact_refresh(files.store_db, models, start_epoch, end)
    else:  # a real store keeps no change log for us: the views sample it
        refresh, censored = _sampled_refresh(observed, models, carrier_of, ship_due, clock, end)

    resolution = view_round_trips.percentile(50) or 0.0
    staleness = Distribution(resolution_s=round(resolution, 3))
    apparent = Distribution(resolution_s=round(resolution, 3))
    stale_after = profile.slo.stale_after
    per_order: dict[str, tuple[float, bool]] = {}
    stale_views = 0
    for _, v in views:
        staleness.record(v.staleness)
        apparent.record(v.apparent_stall)
        stale_views += v.staleness > stale_after
        p = complaint_probability(profile.patience, v.apparent_stall)
        if p > per_order.get(v.tracking_number, (-1.0, False))[0]:
            per_order[v.tracking_number] = (p, v.display_lag)

    records = list(carrier_records(files.journals, skipped))
    outages = find_outages(records, end)
    carriers: dict[str, dict[str, int]] = {c.name: _carrier_counts() for c in fleet.carriers}
    for r in records:
        row = carriers.setdefault(r.carrier, _carrier_counts())
        row["requests"] += 1
        row["errors" if r.outcome == "error" else r.outcome] += 1

    expected = sum(p for p, _ in per_order.values())
    lag = sum(p for p, d in per_order.values() if d)
    orders_done = done["order"]
    complaints = {
        "expected": round(expected, 3),
        "expected_per_1000_orders": round(1000 * expected / orders_done, 3) if orders_done else 0.0,
        "display_lag_share": round(lag / expected, 4) if expected else 0.0,
        "transport_delay_share": round(1 - lag / expected, 4) if expected else 0.0,
        "patience": {
            "model": "logistic",
            "midpoint_s": profile.patience.midpoint,
            "width_s": profile.patience.width,
            "max_probability": profile.patience.max_probability,
            "assumption": True,
        },
    }
    samples = queue_samples(files.store_db)
    summary: dict[str, Any] = {
        "profile": profile.name,
        "target": profile.target.kind,
        "plugin": profile.target.plugin.model_dump(mode="json")
        if sandbox
        else _real_plugin(profile),
        "seed": profile.seed,
        "clock": {
            "mode": "virtual" if profile.virtual else "wall",
            "scale": None if profile.virtual else clock.scale,
            "start": 0.0,
            "end": round(end, 3),
            "start_iso": iso(start_epoch),
            "end_iso": iso(start_epoch + end),
        },
        "orders": _counts(scheduled, done, late, failed, dropped, "order"),
        "ships": _counts(scheduled, done, late, failed, dropped, "ship"),
        "views": _counts(scheduled, done, late, failed, dropped, "view"),
        "refresh_latency_s": {
            **refresh.summary(),
            "censored": censored,
            "method": "exact" if sandbox else "sampled",
        },
        "staleness_s": dict(staleness.summary()),
        "apparent_stall_s": dict(apparent.summary()),
        "stale_views_share": round(stale_views / len(views), 4) if views else 0.0,
        "stale_after_s": stale_after,
        "outages": [_outage_row(o, views, stale_after) for o in outages],
        "longest_outage_s": round(max((o.duration for o in outages), default=0.0), 3),
        "carriers": carriers,
        "push": push_summary(push_records(files.journals, skipped)),
        "complaints": complaints,
        "support": support_figures(profile.support, complaints),
        "queue": {
            "samples": len(samples),
            "max_pending": max((s[1] for s in samples), default=0),
            "max_due": max((s[2] for s in samples), default=0),
        }
        if sandbox
        else queue_summary(files.journals),
        "distortion": distortion(profile.virtual, resolution, files.journals),
        "probe": probe_summary(
            profile.probe,
            probed,
            _counts(scheduled, done, late, failed, dropped, "probe"),
            models,
            carrier_of,
            ship_due,
            clock,
            profile.clock.duration,
            end,
        )
        if profile.probe is not None
        else None,
        "shopify": shopify_summary(root),
        "skipped_journal_lines": skipped.lines,
        "resources": resources_summary(root, profile.resources),
        "partial": partial,
    }
    faults = read_faults(root)
    reasons = invalid_reasons(profile, summary, unreachable, partial, faults)
    summary["valid"] = not reasons
    summary["invalid_reasons"] = reasons
    summary["refresh_latency_s"]["caveat"] = refresh_caveat(summary)
    summary["slo"] = evaluate(profile.slo, summary)
    summary = apply_faults(summary, faults)  # docs/faults.md
    return {**summary, "explanation": explain(summary)}  # peakbench/measure/explain.py


def _real_plugin(profile: Profile) -> dict[str, str] | None:
    """A real store's logistics plugins as its run found them (system status), or ``None``."""
    plugins = getattr(profile.target, "plugins", None)
    return {"strategy": ", ".join(plugins)} if plugins else None


def _exact_refresh(
    db: Path, models: dict[str, TimelineModel], start_epoch: float, end: float
) -> tuple[Distribution, int]:
    """Refresh latency exact from the sandbox store's change log; and how many are censored."""
    refresh = Distribution(resolution_s=0.001)
    censored = 0
    changes = store_changes(db)
    for shipment in store_shipments(db):
        model = models.get(shipment.carrier)
        if model is None:
            continue
        events = journey(model, shipment.tracking_number)
        for refreshed in refresh_latencies(
            events, start_epoch, changes.get(shipment.tracking_number, []), end
        ):
            refresh.record(refreshed.latency)
            censored += refreshed.censored
    return refresh, censored


def _sampled_refresh(
    observed: dict[str, list[tuple[float, int]]],
    models: dict[str, TimelineModel],
    carrier_of: dict[str, str],
    ship_due: dict[str, float],
    clock: ClockSpec,
    end: float,
) -> tuple[Distribution, int]:
    """Refresh latency as the views sampled it; its resolution is the median gap between a
    parcel's views (an event may have appeared anywhere in the gap before the view showing it)."""
    samples = []
    for number, seen in observed.items():
        events = journey(models[carrier_of[number]], number)
        samples += sampled_refresh_latencies(
            events, clock.start_epoch, sorted(seen), ship_due[number], end
        )
    gaps = sorted(s.gap for s in samples if s.gap is not None)
    resolution = gaps[len(gaps) // 2] if gaps else 0.0
    refresh = Distribution(resolution_s=round(resolution, 3))
    for s in samples:
        refresh.record(s.latency)
    return refresh, sum(s.censored for s in samples)


def _carrier_counts() -> dict[str, int]:
    return {"requests": 0, "ok": 0, "throttled": 0, "blocked": 0, "errors": 0}


def _outage_row(o: Outage, views: list[tuple[str, ViewFreshness]], stale_after: float) -> dict:
    hit = [v for carrier, v in views if hit_by(o, carrier, v, stale_after)]
    return {
        "carrier": o.carrier,
        "start": round(o.start, 3),
        "end": round(o.end, 3),
        "duration": round(o.duration, 3),
        "cause": o.cause,
        "first_cause": o.first_cause,
        "causes": [{"cause": c, "from": round(t, 3), "refused": n} for c, t, n in o.causes],
        "refused": o.refused,
        "open": o.open,
        "orders_affected": len({v.tracking_number for v in hit}),
        "views_affected": len(hit),
    }
