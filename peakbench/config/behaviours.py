"""Carrier behaviours as data: each spec holds only its own parameters plus the shared fields of
:class:`BehaviourBase`; ``mocks/behaviours`` turns them into running units (toxics).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from peakbench.config.base import Duration, Probability, Spec


class ActiveWindow(Spec):
    """Store-time window (run seconds) in which a behaviour is active."""

    start: Duration = 0.0
    end: Duration | None = None


class BehaviourBase(Spec):
    name: str | None = None
    probability: Probability = 1.0
    """Share of requests the behaviour applies to."""
    routes: tuple[str, ...] | None = None
    """Route names (e.g. ``track``, ``batch``) it applies to; all when omitted."""
    active: ActiveWindow | None = None


class LatencySpec(BehaviourBase):
    """Delay before answering. ``fixed`` waits ``delay``; ``lognormal`` draws from median/p99."""

    type: Literal["latency"]
    distribution: Literal["fixed", "lognormal"] = "fixed"
    delay: Duration = 0.0
    median: Duration = 0.3
    p99: Duration = 2.0

    @model_validator(mode="after")
    def _p99_above_median(self) -> LatencySpec:
        if self.distribution == "lognormal" and self.p99 < self.median:
            raise ValueError("p99 must be at least the median")
        return self


class QuotaSpec(BehaviourBase):
    """At most ``limit`` requests ``per`` window, counted per API key (or client IP).

    ``bucket`` refills continuously (a token bucket of ``limit`` tokens per ``per``); ``calendar``
    resets at fixed boundaries of store-time GMT (``per: 1d`` resets at 00:00 GMT, like DHL and
    FedEx daily quotas). Default: ``bucket`` below one hour, ``calendar`` from one hour up.
    """

    type: Literal["quota"]
    limit: int = Field(gt=0)
    per: Duration = Field(gt=0)
    window: Literal["bucket", "calendar"] | None = None
    scope: Literal["key", "ip"] = "key"

    @property
    def effective_window(self) -> str:
        return self.window or ("bucket" if self.per < 3600 else "calendar")


class BlockSpec(BehaviourBase):
    """Ban escalation: after ``violations`` refused requests within ``within``, the caller is
    banned for ``ban``; refused requests before that are 429s with Retry-After, during the ban
    every request gets ``status`` (403 by default)."""

    type: Literal["block"]
    violations: int = Field(gt=0)
    within: Duration = Field(gt=0)
    ban: Duration = Field(gt=0)
    status: Literal[401, 403, 429] = 403
    scope: Literal["key", "ip"] = "key"


BehaviourSpec = Annotated[LatencySpec | QuotaSpec | BlockSpec, Field(discriminator="type")]
