"""The run profile: everything a run needs, in store time (loaded by ``config.loader``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, Field, field_validator, model_validator

from peakbench.config.base import Duration, Probability, Spec
from peakbench.config.fleet import CarrierSpec, FleetSpec, TruthSpec
from peakbench.config.store import SandboxTarget
from peakbench.slo import check_relative, split_relative


class ClockConfig(Spec):
    start: AwareDatetime = datetime.fromisoformat("2026-11-27T00:00:00-05:00")
    """Store-calendar instant of run second 0 (Black Friday 2026, midnight US Eastern)."""
    scale: float = Field(default=1200.0, gt=0, le=100_000)
    """Store seconds per wall second (1 for a real staging store)."""
    duration: Duration = Field(default=48 * 3600.0, gt=0)
    """How much store time the run covers, the post-peak tracking phase included."""


class PeakSpec(Spec):
    """Order arrivals: a named day curve (reference/peaks.md) scaled to the store's peak hour."""

    curve: Literal["black-friday", "cyber-monday", "flat"] = "black-friday"
    timezone: str = "America/New_York"
    """The customers' time zone: a curve's hours are local hours."""
    peak_orders_per_hour: float = Field(default=300.0, gt=0)
    """Orders per hour at the busiest hour of the curve."""
    order_window: Duration | None = Field(default=24 * 3600.0, gt=0)
    """Orders arrive during the first part of the run only; the rest replays the tracking wave.
    ``null`` keeps orders coming for the whole run."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like 'America/New_York'"
            ) from None
        return value


class FulfilmentSpec(Spec):
    """Delay from order to shipment (label created); lognormal. [G] assumption."""

    median: Duration = 4 * 3600.0
    p90: Duration = 16 * 3600.0


class ViewsSpec(Spec):
    """Customer tracking-page views per shipped order.

    ``per_order`` maps a range of views to the share of customers (survey figures in
    reference/peaks.md: 30% check once or twice, 21% 3–5 times, 30% 6+). Views cluster after the
    shipping email and after carrier status changes; the rest spread until delivery.
    """

    per_order: dict[str, Probability] = Field(
        default_factory=lambda: {"0": 0.19, "1-2": 0.30, "3-5": 0.21, "6-10": 0.30}
    )
    first_view_median: Duration = 2 * 3600.0
    """Median delay from shipment to the first view (the shipping confirmation email)."""
    after_event_share: Probability = 0.5
    """Share of later views that follow a carrier status change."""

    @field_validator("per_order")
    @classmethod
    def _buckets(cls, value: dict[str, float]) -> dict[str, float]:
        for key in value:
            lo, _, hi = key.partition("-")
            if not lo.isdigit() or (hi and (not hi.isdigit() or int(hi) < int(lo))):
                raise ValueError(f"bucket {key!r} must look like '3' or '3-5'")
        total = sum(value.values())
        if not 0.999 <= total <= 1.001:
            raise ValueError(f"shares must add up to 1, they add up to {total:.3f}")
        return value


class PatienceSpec(Spec):
    """How apparent stalls turn into complaints: a logistic curve of the probability that a
    customer contacts support, given how long the tracking page has shown no movement.
    [G] assumption from reference/peaks.md ("rises steeply between 24 h and 72 h")."""

    midpoint: Duration = 36 * 3600.0
    width: Duration = 8 * 3600.0
    max_probability: Probability = 0.79


class SloSpec(Spec):
    """Readiness thresholds; omitted ones are not checked (peakbench/slo.py, docs/gate.md).

    A field takes an absolute bound (``1h``), a change from a baseline run (``+10%``, ``+5m``)
    or both (``{max: 1h, baseline: +10%}``); relative bounds are collected in ``baseline``.
    """

    refresh_latency_p50: Duration | None = None
    refresh_latency_p95: Duration | None = None
    refresh_latency_p99: Duration | None = None
    staleness_p50: Duration | None = None
    staleness_p95: Duration | None = None
    staleness_p99: Duration | None = None
    stale_after: Duration = 3600.0
    """A view is *stale* (and counts towards an outage's impact) when its staleness exceeds this."""
    stale_views_share: Probability | None = None
    longest_outage: Duration | None = None
    complaints_per_1000_orders: float | None = Field(default=None, ge=0)
    baseline: dict[str, str] = Field(default_factory=dict)
    """Bounds relative to a baseline run's figures: ``{staleness_p95: '+10%'}``."""
    baseline_run: str | None = None
    """The baseline run folder (``--baseline RUN`` overrides it)."""

    @model_validator(mode="before")
    @classmethod
    def _split_relative(cls, data: object) -> object:
        return split_relative(data)

    @field_validator("baseline")
    @classmethod
    def _relative_known(cls, value: dict[str, str]) -> dict[str, str]:
        return check_relative(value)


class ReplaySpec(Spec):
    users: int = Field(default=48, gt=0, le=10_000)
    """Locust users executing the open-model schedule (enough to never wait for a free one)."""
    late_after: Duration = 300.0
    """An arrival is late when it starts more than this (store time) after its due time."""
    max_late_share: Probability = 0.05
    """Above this share of late arrivals the run is invalid (exit 3)."""
    warmup_wall_s: float = Field(default=6.0, ge=1.0, le=120.0)
    """Wall seconds between launching the children and run second 0."""


class Profile(Spec):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$")
    description: str = ""
    seed: int = 20261127
    clock: ClockConfig = ClockConfig()
    target: SandboxTarget = SandboxTarget()
    peak: PeakSpec = PeakSpec()
    fulfilment: FulfilmentSpec = FulfilmentSpec()
    views: ViewsSpec = ViewsSpec()
    truth: TruthSpec = TruthSpec()
    carriers: tuple[CarrierSpec, ...] = Field(min_length=1)
    patience: PatienceSpec = PatienceSpec()
    slo: SloSpec = SloSpec()
    replay: ReplaySpec = ReplaySpec()

    @model_validator(mode="after")
    def _unique_carriers(self) -> Profile:
        names = [c.name for c in self.carriers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"carrier names must be unique, repeated: {', '.join(dupes)}")
        return self

    @property
    def fleet(self) -> FleetSpec:
        return FleetSpec(seed=self.seed, truth=self.truth, carriers=self.carriers)

    @property
    def start_epoch(self) -> float:
        return self.clock.start.timestamp()


ExitCode = Literal[0, 1, 2, 3]
