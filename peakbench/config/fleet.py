"""The carrier fleet: personalities, their behaviours, and the truth model of parcel journeys.

Behaviours are small composable units (see ``mocks/behaviours``); each spec here holds only its
own parameters plus the shared fields of :class:`BehaviourBase`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from peakbench.config.base import Duration, Probability, Spec
from peakbench.config.behaviours import (
    ActiveWindow,
    BehaviourBase,
    BehaviourSpec,
    BlockSpec,
    LatencySpec,
    QuotaSpec,
)
from peakbench.config.push import CadenceSpec, PushSpec
from peakbench.plan.timeline import TimelineModel

__all__ = [
    "VENDOR_HOSTS",
    "ActiveWindow",
    "BehaviourBase",
    "BehaviourSpec",
    "BlockSpec",
    "CarrierSpec",
    "FleetSpec",
    "LagSpec",
    "LatencySpec",
    "ListenSpec",
    "QuotaSpec",
    "StandaloneClockSpec",
    "StandaloneFleetSpec",
    "TruthSpec",
]

VENDOR_HOSTS: dict[str, tuple[str, ...]] = {
    "17track": ("api.17track.net",),
    "aftership": ("api.aftership.com",),
    "easypost": ("api.easypost.com",),
    "ups": ("onlinetools.ups.com", "wwwcie.ups.com"),
    "fedex": ("apis.fedex.com", "apis-sandbox.fedex.com"),
    "usps": ("apis.usps.com", "apis-tem.usps.com"),
    "dhl": ("api-eu.dhl.com",),
    "trackship": ("api.trackship.com",),
}
"""Hosts a personality answers for by default when one port impersonates several vendors
(production first, then the vendor's sandbox host). The generic personality answers for
``<carrier name>.carrier.test``."""


class LagSpec(Spec):
    """Carrier ingestion lag: from a scan happening to the API returning it."""

    median: Duration = 900.0
    p90: Duration = 2700.0


class CarrierSpec(Spec):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    personality: Literal[
        "generic", "17track", "aftership", "easypost", "ups", "fedex", "usps", "dhl", "trackship"
    ] = "generic"
    """Which vendor API the mock speaks (``mocks/carriers``)."""
    share: float = Field(default=1.0, gt=0)
    """Relative share of the store's shipments sent with this carrier."""
    cross_border_share: Probability = 0.15
    """Share of this carrier's parcels on the cross-border lane (15–17% per Shopify, peaks.md)."""
    ingestion_lag: LagSpec = LagSpec()
    behaviours: tuple[BehaviourSpec, ...] = ()
    hosts: tuple[str, ...] | None = None
    """Host names this carrier answers for on a shared port (``listen.mode: shared``), matched
    against the Host header without its port; default: the vendor's hosts (:data:`VENDOR_HOSTS`)."""
    push: PushSpec | None = None
    """Webhook push to the store (personalities that push: aftership, 17track, easypost,
    trackship); None: this carrier does not push."""
    quirks: tuple[Literal["date-only-events"], ...] = ()
    """Opt-in vendor quirks seen in real feeds but unverified (docs/fidelity.md):
    ``date-only-events`` (usps) prints the pre-shipment event's ``eventTimestamp`` as a date
    only, which some clients cannot parse. None by default."""
    refresh: CadenceSpec | None = None
    """Aggregator refresh cadence on the pull API (aftership, 17track, easypost): the answer shows
    what the aggregator fetched on its last poll of the carrier, every ``min``–``max`` per number
    (TrackingMore 3–6 h, TrackShip 2–6 h, 17TRACK 6–12 h; carriers.md §1); None: always current."""

    @property
    def host_names(self) -> tuple[str, ...]:
        """The hosts this carrier answers for, lower case (``hosts`` or the vendor defaults)."""
        if self.hosts is not None:
            return tuple(h.lower() for h in self.hosts)
        return VENDOR_HOSTS.get(self.personality, (f"{self.name}.carrier.test",))


class TruthSpec(Spec):
    """Journey model knobs (reference/peaks.md defaults, marked [G] there: assumptions)."""

    peak_linehaul_factor: float = Field(default=1.5, ge=1.0)
    stuck_share: Probability = 0.05


class ListenSpec(Spec):
    """How the fleet listens: one port per carrier (default), or one ``shared`` port whose
    requests are routed to a carrier by their Host header (impersonating vendor hosts)."""

    mode: Literal["per-carrier", "shared"] = "per-carrier"
    port: int = Field(default=0, ge=0, le=65535)
    """The shared port (0: any free port); ignored per carrier, where the OS picks each."""
    tls_dir: str | None = None
    """A ``peakbench mocks ca`` folder: the fleet serves HTTPS with its ``mocks.pem`` and
    ``mocks-key.pem`` (a real store's plugins call carriers over HTTPS only)."""

    @field_validator("tls_dir")
    @classmethod
    def _tls_files(cls, value: str | None) -> str | None:
        if value is not None:
            missing = [n for n in ("mocks.pem", "mocks-key.pem") if not (Path(value) / n).is_file()]
            if missing:
                raise ValueError(
                    f"{value} has no {' or '.join(missing)}: run peakbench mocks ca --dir {value}"
                )
        return value


class FleetSpec(Spec):
    seed: int = 1
    truth: TruthSpec = TruthSpec()
    carriers: tuple[CarrierSpec, ...] = Field(min_length=1)
    listen: ListenSpec = ListenSpec()

    @model_validator(mode="after")
    def _unique_names(self) -> FleetSpec:
        names = [c.name for c in self.carriers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"carrier names must be unique, repeated: {', '.join(dupes)}")
        if self.listen.mode == "shared":
            owners: dict[str, str] = {}
            for carrier in self.carriers:
                for host in carrier.host_names:
                    if host in owners:
                        raise ValueError(
                            f"host {host!r} is claimed by carriers {owners[host]!r} and "
                            f"{carrier.name!r}: give one of them its own 'hosts'"
                        )
                    owners[host] = carrier.name
        return self

    def timeline_model(self, carrier: CarrierSpec) -> TimelineModel:
        """The truth model of one carrier's parcels."""
        return TimelineModel(
            seed=self.seed,
            ingestion_lag_median_s=carrier.ingestion_lag.median,
            ingestion_lag_p90_s=carrier.ingestion_lag.p90,
            peak_linehaul_factor=self.truth.peak_linehaul_factor,
            stuck_share=self.truth.stuck_share,
        )


class StandaloneClockSpec(Spec):
    """The clock of a standalone fleet (``peakbench mocks serve --fleet FILE``)."""

    scale: float = Field(default=1.0, gt=0)
    """Store seconds per wall second (1: real time, for a real staging store)."""
    start: datetime | None = None
    """Store calendar time of run second 0 (default: now)."""


class StandaloneFleetSpec(FleetSpec):
    """A fleet file for ``peakbench mocks serve --fleet FILE``: a fleet plus its clock."""

    clock: StandaloneClockSpec = StandaloneClockSpec()

    def fleet(self) -> FleetSpec:
        """The fleet without the clock (what a run's ``fleet.json`` holds)."""
        return FleetSpec.model_validate(self.model_dump(exclude={"clock"}))
