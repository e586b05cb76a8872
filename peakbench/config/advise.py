"""The profile's ``advise:`` section: the space ``peakbench advise`` searches (docs/advise.md).

Every part is optional; what is left out takes the defaults of :mod:`peakbench.advise.space`::

    advise:
      knobs:                      # the current strategy's settings to try (a grid)
        interval: [10m, 15m, 30m, 1h, 2h]
        batch_size: [35, 100]
        on_throttle: [ignore, backoff]
      alternatives:               # other strategies, each with its own knobs ({}: its preset)
        well-behaved: {}
        live-refresh: {ttl: [30m, 2h]}
      multipliers: [1, 1.5, 2]    # × peak.peak_orders_per_hour
      seeds: 3                    # the profile's seed, seed + 1, ...
      prices: {per_call: 0.0004, per_contact: 6.0, currency: USD}
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from peakbench.config.base import Duration, Spec
from peakbench.config.store import Preset

PositiveDuration = Annotated[Duration, Field(gt=0)]
Values = Annotated[tuple[PositiveDuration, ...], Field(min_length=1, max_length=50)]

MAX_POINTS = 5000
"""Most runs (settings × multipliers × seeds) one advise may plan: a bound against a typo."""


class KnobSpace(Spec):
    """Values to try for each plugin knob (each a list; omitted knobs keep the profile's value).

    The names are the sandbox plugin's fields (peakbench/config/store.py); ``cadence`` is the
    saas-push aggregator's poll interval per number (its ``push.cadence``, min = max)."""

    interval: Values | None = None
    batch_size: tuple[Annotated[int, Field(gt=0, le=1000)], ...] | None = None
    concurrency: tuple[Annotated[int, Field(gt=0, le=64)], ...] | None = None
    claim_batch: tuple[Annotated[int, Field(gt=0)], ...] | None = None
    time_limit: Values | None = None
    on_throttle: tuple[Literal["ignore", "stop-run", "backoff"], ...] | None = None
    ttl: Values | None = None
    budget_per_day: tuple[Annotated[float, Field(gt=0)], ...] | None = None
    cadence: Values | None = None

    def grid(self) -> dict[str, tuple[object, ...]]:
        """The knobs given, in a stable order, with their values."""
        return {k: tuple(v) for k, v in self.model_dump(exclude_none=True).items() if v}


class PriceSpec(Spec):
    """Prices for the cost of a point; omitted ones are not costed."""

    per_call: float | None = Field(default=None, ge=0)
    """Carrier overage per API call (a per-call plan)."""
    per_shipment: float | None = Field(default=None, ge=0)
    """Carrier or aggregator price per tracked shipment (AfterShip's published overage)."""
    per_contact: float | None = Field(default=None, ge=0)
    """Support cost per customer contact (each expected complaint is one contact)."""
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class AdviseSpec(Spec):
    """What ``peakbench advise`` searches: knobs, alternatives, peak sizes and seeds."""

    knobs: KnobSpace | None = None
    """The current strategy's knobs; None: the defaults for that strategy."""
    alternatives: dict[Preset, KnobSpace] | None = None
    """Other strategies to try; None: every other strategy the fleet can run, with defaults."""
    multipliers: tuple[Annotated[float, Field(gt=0, le=20)], ...] = Field(
        default=(1.0, 1.5, 2.0), min_length=1, max_length=12
    )
    """Peak sizes as multiples of ``peak.peak_orders_per_hour`` (Shopify rehearses at 1.5×)."""
    seeds: int = Field(default=3, gt=0, le=20)
    """Seeds per point: the profile's seed, then seed + 1, ..."""
    search: Literal["grid"] = "grid"
    """How points are chosen (a grid over every knob list)."""
    prices: PriceSpec = PriceSpec()

    @model_validator(mode="after")
    def _distinct(self) -> AdviseSpec:
        if len(set(self.multipliers)) != len(self.multipliers):
            raise ValueError("multipliers must not repeat")
        return self
