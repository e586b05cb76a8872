"""The peak: a named or custom curve with its spikes and the orders it brings (docs/curves.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from peakbench.config.base import Duration, Probability, Spec
from peakbench.plan.curves import CurveName


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name like 'America/New_York'"
        ) from None
    return value


class SpikeSpec(Spec):
    """A spike added on top of a curve: a campaign email, a midnight launch (docs/curves.md).

    At its top the rate is ``factor`` times the base curve's rate at ``at`` (peaks.md: a single
    store spikes 10–20× its baseline for 5–15 minutes [G])."""

    model_config = ConfigDict(populate_by_name=True)

    curve: CurveName = "flash-sale"
    """``flash-sale`` is a rectangle; another name adds that curve's shape (max 1), cut at
    ``for``."""
    at: str
    """When it starts: ``'18:00'`` (local time on the curve's first day), ``'2026-11-27T18:00'``
    (local wall clock in ``peak.timezone``; with an offset: that instant) or ``'+42h'`` (from
    local midnight of the curve's first day)."""
    factor: float = Field(default=15.0, ge=1.0)
    duration: Duration = Field(default=600.0, gt=0, alias="for")
    """How long it lasts (``for: 10m``)."""

    @field_validator("at")
    @classmethod
    def _valid_at(cls, value: str) -> str:
        from peakbench.plan.curves import parse_at

        parse_at(value)
        return value


class CurveSpec(Spec):
    """A curve with parameters, a custom CSV curve, or a composition (docs/curves.md)."""

    base: CurveName = "black-friday"
    csv: str | None = None
    """A custom curve file (profiles/curves/NAME.csv or a path); replaces ``base``."""
    points: tuple[tuple[float, float], ...] = ()
    """Filled from ``csv`` when the profile is loaded, so a run folder needs no CSV file."""
    day: date | None = None
    """Local date the curve starts on; default: the run's first day (a ``timestamp`` CSV: its
    first date)."""
    hours: tuple[float, ...] | None = None
    """24 hour multipliers replacing the named curve's hour shape [G in peaks.md]."""
    day_shares: tuple[float, ...] | None = None
    """Share of orders per day of a multi-day curve (cyber-week: 5, prime-day: 2)."""
    flash: SpikeSpec | None = None
    """The ``flash-sale`` curve's spike (default: 15× for 10 minutes at 20:00)."""
    add: tuple[SpikeSpec, ...] = ()
    """Spikes on top of the base curve."""

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and (len(value) != 24 or min(value) < 0 or max(value) <= 0):
            raise ValueError("hours takes 24 non-negative multipliers, not all 0")
        return value

    @field_validator("day_shares")
    @classmethod
    def _shares(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and (min(value, default=0) <= 0):
            raise ValueError("day shares must be positive")
        return value

    @model_validator(mode="before")
    @classmethod
    def _load_csv(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("csv") and not data.get("points"):
            from peakbench.plan import curvefile

            loaded = curvefile.load(str(data["csv"]))
            data = {**data, "points": loaded.points}
            if loaded.day is not None and data.get("day") is None:
                data["day"] = loaded.day
        return data

    @model_validator(mode="after")
    def _fits(self) -> CurveSpec:
        from peakbench.plan.curves import named

        if self.csv is None:
            named(self.base, self.hours, self.day_shares)  # raises on a wrong day_shares length
        return self


class PeakSpec(Spec):
    """Order arrivals: a curve in the customers' local time, scaled to the store's peak hour."""

    curve: Annotated[
        Annotated[CurveName, Tag("name")] | Annotated[CurveSpec, Tag("spec")],
        Discriminator(lambda v: "name" if isinstance(v, str) else "spec"),
    ] = "black-friday"
    """A named curve, or ``{base: NAME, add: [...]}``, ``{csv: FILE}`` (docs/curves.md)."""
    timezone: str = "America/New_York"
    """The store's time zone: a curve's hours are local hours, and spike times are read here."""
    customer_zones: dict[str, Probability] = Field(default_factory=dict)
    """Customers spread over several zones, ``{America/New_York: 0.5, America/Chicago: 0.3,
    America/Los_Angeles: 0.2}``: each share follows the curve in its own local time. Empty: all
    customers in ``timezone``."""
    peak_orders_per_hour: float = Field(default=300.0, gt=0)
    """Orders in the busiest hour (any 60 minutes) of the curve."""
    order_window: Duration | None = Field(default=24 * 3600.0, gt=0)
    """Orders arrive during the first part of the run only; the rest replays the tracking wave
    (the post-peak phase). ``null`` keeps orders coming for the whole run."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("customer_zones")
    @classmethod
    def _zones(cls, value: dict[str, float]) -> dict[str, float]:
        for zone in value:
            _check_zone(zone)
        total = sum(value.values())
        if value and not 0.999 <= total <= 1.001:
            raise ValueError(f"shares must add up to 1, they add up to {total:.3f}")
        return value

    @property
    def curve_spec(self) -> CurveSpec:
        """The curve as a :class:`CurveSpec` (a bare name becomes ``{base: name}``)."""
        return self.curve if isinstance(self.curve, CurveSpec) else CurveSpec(base=self.curve)
