"""The run profile: everything a run needs, in store time (loaded by ``config.loader``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import (
    AwareDatetime,
    Field,
    field_validator,
    model_validator,
)

from peakbench.config.advise import AdviseSpec
from peakbench.config.base import Duration, Probability, Spec
from peakbench.config.fleet import CarrierSpec, FleetSpec, ListenSpec, TruthSpec
from peakbench.config.gauges import check_relative, split_relative
from peakbench.config.peak import PeakSpec
from peakbench.config.resources import ResourcesSpec
from peakbench.config.shopify_replay import ShopifyReplaySpec
from peakbench.config.store import Candidates, SandboxTarget
from peakbench.config.support import SupportSpec
from peakbench.config.targets import Target
from peakbench.plan.probe import ProbeSpec


class ClockConfig(Spec):
    start: AwareDatetime = datetime.fromisoformat("2026-11-27T00:00:00-05:00")
    """Store-calendar instant of run second 0 (Black Friday 2026, midnight US Eastern), or
    ``now``: the moment the profile is loaded, which is also the default at ``scale: 1`` (a
    real store ships on the real date, so its carrier events must be stamped on it too)."""
    scale: float = Field(default=1200.0, gt=0, le=100_000)
    """Store seconds per wall second (1 for a real staging store)."""
    duration: Duration = Field(default=48 * 3600.0, gt=0)
    """How much store time the run covers, the post-peak tracking phase included."""
    mode: Literal["virtual", "wall"] | None = None
    """Which clock drives the run (DESIGN.md "Time"). ``virtual``: the sandbox world in one
    process, store time jumping to whatever is due; the same seed gives the same figures on any
    machine, and ``scale`` does not apply. ``wall``: real processes, sockets and Locust at
    ``scale``. Default: virtual for the sandbox, wall for a real store (which needs it)."""

    @model_validator(mode="before")
    @classmethod
    def _start_now(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        start = data.get("start")
        real_time = "start" not in data and data.get("scale") in (1, 1.0)
        if real_time or (isinstance(start, str) and start.strip().lower() == "now"):
            return {**data, "start": datetime.now(UTC).replace(microsecond=0)}
        return data


class FulfilmentSpec(Spec):
    """Delay from order to shipment (label created); lognormal. [G] assumption."""

    median: Duration = 4 * 3600.0
    p90: Duration = 16 * 3600.0


class ViewsSpec(Spec):
    """Customer tracking-page views per shipped order.

    ``per_order`` maps a range of views to the share of customers (survey figures in
    reference/peaks.md: 30% check once or twice, 21% 3–5 times, 30% 6+). Views cluster after the
    shipping email, after carrier status changes and on the expected delivery day; the rest
    spread until delivery; a page that looks stuck draws repeat refreshes (peakbench/plan/views.py).
    Every default below but ``per_order`` is [G], an assumption.
    """

    per_order: dict[str, Probability] = Field(
        default_factory=lambda: {"0": 0.19, "1-2": 0.30, "3-5": 0.21, "6-10": 0.30}
    )
    cross_border_factor: float = Field(default=2.0, ge=0)
    """Cross-border customers look this many times as often (peaks.md [G]: 3–5 views per
    domestic order, 6–10 cross-border; applied to the survey draw, rounded at random)."""
    first_view_median: Duration = 2 * 3600.0
    """Median delay from shipment to the first view (the shipping confirmation email)."""
    after_event_share: Probability = 0.5
    """Share of later views that follow a carrier status change."""
    after_event_median: Duration = 3600.0
    """Median delay from a status change becoming visible to the view it prompts."""
    expected_day_share: Probability = 0.2
    """Share of later views on the expected delivery day (08:00–22:00 local)."""
    promised_transit: dict[str, Duration] = Field(
        default_factory=lambda: {"domestic": 3 * 86400.0, "cross-border": 10 * 86400.0}
    )
    """Transit the store promises per lane: the expected delivery day is the shipping day plus
    this (peaks.md medians: US ground 3 d, China→US postal 9–11 d)."""
    stuck_after: Duration = 24 * 3600.0
    """A view whose page shows no movement for longer than this looks stuck ..."""
    stuck_refreshes: float = Field(default=1.5, ge=0)
    """... and draws this many repeat refreshes on average (geometric) ..."""
    refresh_gap_median: Duration = 600.0
    """... each this long (median) after the previous one."""

    @field_validator("promised_transit")
    @classmethod
    def _lanes(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - {"domestic", "cross-border"})
        if unknown:
            raise ValueError(f"lanes are 'domestic' and 'cross-border', got {', '.join(unknown)}")
        return value

    @model_validator(mode="after")
    def _shares_fit(self) -> ViewsSpec:
        if self.after_event_share + self.expected_day_share > 1.0001:
            raise ValueError("after_event_share + expected_day_share must be at most 1")
        return self

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
    """Readiness thresholds; omitted ones are not checked (peakbench/measure/slo.py, docs/gate.md).

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
    """How Locust executes the schedule. The pool of users sizes itself (``users: auto``, the
    default): Little's law on the schedule's upcoming arrival rate × the measured response time,
    × ``headroom``, plus users for any queue of late arrivals, between ``min_users`` and
    ``max_users`` (loadtests/sizing.py, docs/scale.md). ``users: N`` keeps a fixed pool of N."""

    users: int = Field(default=48, gt=0, le=10_000)
    """The fixed pool when ``sizing`` is ``fixed`` (``users: N`` in YAML); unused by ``auto``."""
    sizing: Literal["auto", "fixed"] = "auto"
    """``auto`` (``users: auto`` or no ``users``): the pool follows the schedule; ``fixed``
    (``users: N``): N users from start to end, as before."""
    min_users: int = Field(default=4, gt=0, le=10_000)
    """``auto``: never fewer users in total (and never fewer than one per Locust process): a
    spare user keeps a slow or hung request from holding up the next arrival."""
    max_users: int = Field(default=1000, gt=0, le=10_000)
    """``auto``: never more users in total (a ceiling against a target that slows under load)."""
    headroom: float = Field(default=1.5, ge=1.0, le=10.0)
    """``auto``: users = headroom × arrival rate × response time (+ 3√ of it for Poisson bursts)."""
    late_after: Duration = 300.0
    """An arrival is late when it starts more than this (store time) after its due time."""
    max_late_share: Probability = 0.05
    """Above this share of late arrivals the run is invalid (exit 3)."""
    drop_after: Duration | None = None
    """Drop (do not send, count as ``dropped``) an arrival that cannot start within this (store
    time) after its due time, like k6's dropped iterations; ``None`` never drops."""
    warmup_wall_s: float = Field(default=6.0, ge=1.0, le=120.0)
    """Wall seconds between launching the children and run second 0."""
    shopify: ShopifyReplaySpec = ShopifyReplaySpec()
    """Shopify targets: create orders on schedule or before the window (config/shopify_replay)."""

    @model_validator(mode="before")
    @classmethod
    def _users_or_auto(cls, data: object) -> object:
        # `users: auto` picks the self-sizing pool; a number given without `sizing` keeps the
        # fixed pool every profile before the shape meant (so existing profiles run unchanged).
        if isinstance(data, dict):
            if data.get("users") == "auto":
                if data.get("sizing", "auto") != "auto":
                    raise ValueError("users: auto contradicts sizing: fixed")
                data = {k: v for k, v in data.items() if k != "users"} | {"sizing": "auto"}
            elif "users" in data and "sizing" not in data:
                data = {**data, "sizing": "fixed"}
        return data

    @model_validator(mode="after")
    def _bounds(self) -> ReplaySpec:
        if self.min_users > self.max_users:
            raise ValueError(f"min_users ({self.min_users}) exceeds max_users ({self.max_users})")
        return self


class Profile(Spec):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$")
    description: str = ""
    seed: int = 20261127
    replications: int = Field(default=1, ge=1, le=100)
    """Runs per candidate, with seeds ``seed``, ``seed + 1``, …: comparisons then rest on
    seed-to-seed variation (peakbench/report/replicated.py), not on one seed's orders."""
    clock: ClockConfig = ClockConfig()
    target: Target = SandboxTarget()
    candidates: Candidates = Field(default_factory=dict)
    """Sandbox plugin presets to compare on this peak: one run each, then a comparison."""
    peak: PeakSpec = PeakSpec()
    fulfilment: FulfilmentSpec = FulfilmentSpec()
    views: ViewsSpec = ViewsSpec()
    truth: TruthSpec = TruthSpec()
    carriers: tuple[CarrierSpec, ...] = Field(min_length=1)
    listen: ListenSpec = ListenSpec()
    """How the mock fleet listens (a fixed shared port for a real store's plugin to call)."""
    patience: PatienceSpec = PatienceSpec()
    support: SupportSpec = SupportSpec()
    """What a complaint costs the support team (peakbench/config/support.py)."""
    slo: SloSpec = SloSpec()
    replay: ReplaySpec = ReplaySpec()
    probe: ProbeSpec | None = None
    """The freshness probe (``peakbench/plan/probe.py``): off unless given."""
    resources: ResourcesSpec = ResourcesSpec()
    """Resource sampling of the run's processes and the leak limits (docs/soak.md)."""
    advise: AdviseSpec | None = None
    """The space ``peakbench advise`` searches (docs/advise.md); None: its defaults."""

    @model_validator(mode="after")
    def _unique_carriers(self) -> Profile:
        names = [c.name for c in self.carriers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"carrier names must be unique, repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _clock_fits_target(self) -> Profile:
        if self.clock.mode == "virtual" and self.target.kind != "sandbox":
            raise ValueError(
                f"clock.mode: virtual runs the sandbox store only; a {self.target.kind} store "
                "runs in wall time (clock.mode: wall)"
            )
        return self

    @property
    def virtual(self) -> bool:
        """Whether the run executes in virtual store time (see ``clock.mode``)."""
        if self.clock.mode is not None:
            return self.clock.mode == "virtual"
        return self.target.kind == "sandbox"

    @property
    def fleet(self) -> FleetSpec:
        return FleetSpec(
            seed=self.seed, truth=self.truth, carriers=self.carriers, listen=self.listen
        )

    @property
    def start_epoch(self) -> float:
        return self.clock.start.timestamp()


ExitCode = Literal[0, 1, 2, 3]
