"""Time series read from a run folder: what the report's figures plot.

Pure functions of the folder (``run.json``, ``summary.json``, ``schedule.csv``, the journals and
the store's database), built with the same readers (``peakbench.measure.journals``) and the same
definitions (``peakbench.measure.freshness``, ``peakbench.measure.patience``) as the summary, so a
plot never
disagrees with the table next to it. Times are run seconds (store time since the run start);
rates are per store hour.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peakbench.config.profile import PatienceSpec, Profile
from peakbench.measure.analysis import RunFiles
from peakbench.measure.freshness import ViewFreshness, assess_view, refresh_latencies
from peakbench.measure.histogram import Distribution
from peakbench.measure.journals import (
    CarrierRecord,
    carrier_records,
    queue_samples,
    replay_records,
    store_changes,
    store_shipments,
)
from peakbench.measure.patience import complaint_probability
from peakbench.measure.probe_queue import queue_tuples
from peakbench.measure.results import load_run
from peakbench.plan.schedule import read_schedule
from peakbench.plan.timeline import journey

OUTCOMES = ("ok", "throttled", "blocked", "errors")
# bin widths people read easily, in store seconds: 1 min … 1 day
NICE_BINS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
TARGET_BINS = 120


def bin_width(duration_s: float, target: int = TARGET_BINS) -> float:
    """The smallest nice bin width that cuts ``duration_s`` into at most ``target`` bins."""
    for width in NICE_BINS:
        if duration_s / width <= target:
            return float(width)
    return float(NICE_BINS[-1])


@dataclass(frozen=True, slots=True)
class Bins:
    """Equal store-time bins ``[start, start + width)`` covering ``[0, end]``."""

    width: float
    count: int

    @classmethod
    def covering(cls, end: float) -> Bins:
        width = bin_width(end)
        return cls(width, max(1, math.ceil(end / width)))

    @property
    def end(self) -> float:
        return self.width * self.count

    @property
    def starts(self) -> tuple[float, ...]:
        return tuple(i * self.width for i in range(self.count))

    def index(self, t: float) -> int:
        """Bin of run second ``t``; times outside the run are counted in the first/last bin."""
        return min(self.count - 1, max(0, int(t // self.width)))


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Per-bin percentiles of one figure (``None`` where a bin has no samples)."""

    count: tuple[int, ...]
    censored: tuple[int, ...]
    """Events of the bin never shown by the end: their latency is a lower bound (end − visible)."""
    p50: tuple[float | None, ...]
    p95: tuple[float | None, ...]
    p99: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class OutageWindow:
    carrier: str
    start: float
    end: float
    cause: str
    refused: int
    open: bool
    story: str = ""
    """Its causes in order, ``quota:1d → ban`` (just ``cause`` when there was one)."""


@dataclass(frozen=True, slots=True)
class Stall:
    """One customer view: how long the page had shown no movement, and whose fault it was."""

    apparent_stall: float
    display_lag: bool


@dataclass(frozen=True, slots=True)
class RunSeries:
    """Everything the run report plots. Times in run seconds, rates per store hour."""

    end: float
    """Store time the replay ran to; ``bins`` may run past it while the plugin drained."""
    start_epoch: float
    """Unix time of run second 0: plots label their time axes in store calendar time."""
    bins: Bins
    order_rate: tuple[float, ...]
    view_rate: tuple[float, ...]
    refresh: Percentiles
    staleness: tuple[float, ...]
    """Every view's staleness, sorted ascending: the empirical CDF."""
    carriers: dict[str, dict[str, tuple[int, ...]]]
    """Per carrier, per outcome (``OUTCOMES``), requests per bin."""
    outages: tuple[OutageWindow, ...]
    queue: tuple[tuple[float, int, int, int], ...]
    """``(t, pending, due, running)`` of the store plugin's queue at each tick (sandbox only)."""
    stalls: tuple[Stall, ...]
    patience: PatienceSpec


def read_series(run_dir: Path) -> RunSeries:
    """Build every series of the run in ``run_dir`` from the folder alone."""
    profile, clock, _ = load_run(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    files = RunFiles(run_dir)
    end = float(summary["clock"]["end"])
    records = list(carrier_records(files.journals))
    queue = tuple(queue_samples(files.store_db)) or tuple(queue_tuples(files.journals))
    # the plugin goes on polling while the run drains: cover those requests too, never clamp them
    span = max([end, *(r.t for r in records), *(q[0] for q in queue)])
    bins = Bins.covering(span)
    orders, views, seen = _replay_series(profile, clock.start_epoch, files, bins)
    return RunSeries(
        end=end,
        start_epoch=clock.start_epoch,
        bins=bins,
        order_rate=orders,
        view_rate=views,
        refresh=_refresh_series(profile, clock.start_epoch, files, bins, end),
        staleness=tuple(sorted(v.staleness for v in seen)),
        carriers=carrier_outcomes(records, bins, (c.name for c in profile.carriers)),
        outages=outage_windows(summary),
        queue=queue,
        stalls=tuple(Stall(v.apparent_stall, v.display_lag) for v in seen),
        patience=profile.patience,
    )


def _replay_series(
    profile: Profile, start_epoch: float, files: RunFiles, bins: Bins
) -> tuple[tuple[float, ...], tuple[float, ...], list[ViewFreshness]]:
    """Orders and views placed per store hour, and the freshness of every view, as analysed."""
    models = {c.name: profile.fleet.timeline_model(c) for c in profile.fleet.carriers}
    carrier_of: dict[str, str] = {}
    ship_due: dict[str, float] = {}
    if files.schedule.exists():
        for item in read_schedule(files.schedule):
            if item.kind == "ship":
                carrier_of[item.tracking_number] = item.carrier
                ship_due[item.tracking_number] = item.t
    orders = [0] * bins.count
    views = [0] * bins.count
    seen: list[ViewFreshness] = []
    for rec in replay_records(files.replay):
        if not rec.ok:
            continue
        if rec.kind == "order":
            orders[bins.index(rec.start)] += 1
        elif rec.kind == "view":
            views[bins.index(rec.start)] += 1
            number = rec.tracking_number
            if rec.shown is not None and number in carrier_of:
                events = journey(models[carrier_of[number]], number)
                seen.append(
                    assess_view(events, start_epoch, rec.start, rec.shown, ship_due[number], number)
                )
    per_hour = 3600.0 / bins.width
    return (
        tuple(n * per_hour for n in orders),
        tuple(n * per_hour for n in views),
        seen,
    )


def _refresh_series(
    profile: Profile, start_epoch: float, files: RunFiles, bins: Bins, end: float
) -> Percentiles:
    """Refresh latency percentiles per bin of the time each event became visible.

    Events not shown by the end are counted with their lower bound (end − visible), as in the
    summary.
    """
    models = {c.name: profile.fleet.timeline_model(c) for c in profile.fleet.carriers}
    dists = [Distribution() for _ in range(bins.count)]
    censored = [0] * bins.count
    changes = store_changes(files.store_db)
    for shipment in store_shipments(files.store_db):
        model = models.get(shipment.carrier)
        if model is None:
            continue
        events = journey(model, shipment.tracking_number)
        for r in refresh_latencies(
            events, start_epoch, changes.get(shipment.tracking_number, []), end
        ):
            dists[bins.index(r.visible)].record(r.latency)
            censored[bins.index(r.visible)] += r.censored
    return Percentiles(
        count=tuple(d.count for d in dists),
        censored=tuple(censored),
        p50=tuple(d.percentile(50) for d in dists),
        p95=tuple(d.percentile(95) for d in dists),
        p99=tuple(d.percentile(99) for d in dists),
    )


def carrier_outcomes(
    records: Iterable[CarrierRecord], bins: Bins, carriers: Iterable[str] = ()
) -> dict[str, dict[str, tuple[int, ...]]]:
    """Requests per bin and outcome for every carrier, from the mock journals' records.

    Every journal line lands in exactly one bin, so the totals equal the summary's counts.
    """
    counts: dict[str, dict[str, list[int]]] = {
        name: {o: [0] * bins.count for o in OUTCOMES} for name in carriers
    }
    for r in records:
        row = counts.setdefault(r.carrier, {o: [0] * bins.count for o in OUTCOMES})
        row["errors" if r.outcome == "error" else r.outcome][bins.index(r.t)] += 1
    return {name: {o: tuple(v) for o, v in row.items()} for name, row in counts.items()}


def outage_windows(summary: dict[str, Any]) -> tuple[OutageWindow, ...]:
    """The outages the summary found, as plot windows."""
    return tuple(
        OutageWindow(
            carrier=str(o["carrier"]),
            start=float(o["start"]),
            end=float(o["end"]),
            cause=str(o["cause"]),
            refused=int(o["refused"]),
            open=bool(o.get("open", False)),
            story=" → ".join(str(c["cause"]) for c in o.get("causes") or []) or str(o["cause"]),
        )
        for o in summary.get("outages", [])
    )


def cdf(values: Sequence[float]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(x, share ≤ x)`` of sorted ``values``, one point per distinct value."""
    xs: list[float] = []
    ys: list[float] = []
    n = len(values)
    for i, v in enumerate(values):
        if xs and xs[-1] == v:
            ys[-1] = (i + 1) / n
        else:
            xs.append(v)
            ys.append((i + 1) / n)
    return tuple(xs), tuple(ys)


def patience_curve(spec: PatienceSpec, upto_s: float, points: int = 200) -> tuple[tuple, tuple]:
    """``(stall seconds, complaint probability)`` along the profile's patience curve."""
    xs = tuple(upto_s * i / (points - 1) for i in range(points))
    return xs, tuple(complaint_probability(spec, x) for x in xs)
