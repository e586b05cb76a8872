"""Latency: a delay before the carrier answers, in store seconds.

``fixed`` always waits ``delay``; ``uniform`` draws evenly from [``min``, ``max``];
``lognormal`` is pinned by its median and 99th percentile (the two figures people quote for an
API), which gives the long right tail real carrier APIs show under load. A *slow tail* sends a
``tail_share`` of requests to a second distribution instead (a cold cache, a slow replica). The
delay applies to every response, refused or not.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import ClassVar

from peakbench.config.behaviours import DelaySpec, LatencySpec
from peakbench.plan.clock import Clock

Z_99 = 2.3263478740408408
"""The standard normal's 99th percentile: p99 = median × exp(σ·Z_99)."""


@dataclass(frozen=True, slots=True)
class Latency:
    """Delay before answering, all durations in store seconds.

    ``distribution``: ``fixed`` (waits ``delay``), ``uniform`` (between ``min`` and ``max``) or
    ``lognormal`` (median ``median``, 99th percentile ``p99``). ``tail``: another Latency that a
    ``tail_share`` (0–1) of requests draws from instead.
    """

    phase: ClassVar[str] = "latency"

    distribution: str = "fixed"
    delay: float = 0.0
    median: float = 0.3
    p99: float = 2.0
    min: float = 0.0
    max: float = 0.0
    tail: Latency | None = None
    tail_share: float = 0.0
    _sigma: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sigma = 0.0
        if self.distribution == "lognormal" and self.median > 0:
            sigma = math.log(max(self.p99, self.median) / self.median) / Z_99
        object.__setattr__(self, "_sigma", sigma)

    @classmethod
    def from_spec(cls, spec: LatencySpec) -> Latency:
        tail = spec.tail
        return cls(
            *_params(spec),
            tail=cls(*_params(tail)) if tail is not None else None,
            tail_share=tail.share if tail is not None else 0.0,
        )

    def draw(self, rng: random.Random, inflight: int = 0) -> float:
        """One delay in store seconds (``rng`` is the toxic's seeded generator)."""
        if self.tail is not None and rng.random() < self.tail_share:
            return self.tail.draw(rng)
        kind = self.distribution
        if kind == "fixed":
            return self.delay
        if kind == "uniform":
            return rng.uniform(self.min, self.max)
        return self.median * math.exp(self._sigma * rng.gauss(0.0, 1.0))

    async def apply(self, clock: Clock, rng: random.Random) -> float:
        """Sleep one drawn delay on ``clock`` (store time) and return it."""
        delay = self.draw(rng)
        if delay > 0:
            await clock.sleep(delay)
        return delay


def _params(spec: DelaySpec) -> tuple[str, float, float, float, float, float]:
    return (spec.distribution, spec.delay, spec.median, spec.p99, spec.min, spec.max)
