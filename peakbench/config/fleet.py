"""The carrier fleet: personalities, their behaviours, and the truth model of parcel journeys.

Behaviours are small composable units (see ``mocks/behaviours``); each spec here holds only its
own parameters plus the shared fields of :class:`BehaviourBase`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from peakbench.config.base import Duration, Probability, Spec
from peakbench.config.behaviours import (
    ActiveWindow,
    BehaviourBase,
    BehaviourSpec,
    BlockSpec,
    LatencySpec,
    QuotaSpec,
)
from peakbench.timeline import TimelineModel

__all__ = [
    "ActiveWindow",
    "BehaviourBase",
    "BehaviourSpec",
    "BlockSpec",
    "CarrierSpec",
    "FleetSpec",
    "LagSpec",
    "LatencySpec",
    "QuotaSpec",
    "TruthSpec",
]


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


class TruthSpec(Spec):
    """Journey model knobs (reference/peaks.md defaults, marked [G] there: assumptions)."""

    peak_linehaul_factor: float = Field(default=1.5, ge=1.0)
    stuck_share: Probability = 0.05


class FleetSpec(Spec):
    seed: int = 1
    truth: TruthSpec = TruthSpec()
    carriers: tuple[CarrierSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> FleetSpec:
        names = [c.name for c in self.carriers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"carrier names must be unique, repeated: {', '.join(dupes)}")
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
