"""Latency: a delay before the carrier answers, in store seconds.

``fixed`` always waits ``delay``. ``lognormal`` draws from a lognormal distribution pinned by its
median and 99th percentile (the two figures people quote for an API), which gives the long right
tail real carrier APIs show under load. The delay applies to every response, refused or not.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import ClassVar

from peakbench.clock import Clock
from peakbench.config.fleet import LatencySpec

Z_99 = 2.3263478740408408
"""The standard normal's 99th percentile: p99 = median × exp(σ·Z_99)."""


@dataclass(frozen=True, slots=True)
class Latency:
    """Delay before answering.

    ``distribution``: ``fixed`` (waits ``delay``) or ``lognormal`` (median ``median``, 99th
    percentile ``p99``). All durations in store seconds.
    """

    phase: ClassVar[str] = "latency"

    distribution: str = "fixed"
    delay: float = 0.0
    median: float = 0.3
    p99: float = 2.0
    _sigma: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sigma = 0.0
        if self.distribution == "lognormal" and self.median > 0:
            sigma = math.log(max(self.p99, self.median) / self.median) / Z_99
        object.__setattr__(self, "_sigma", sigma)

    @classmethod
    def from_spec(cls, spec: LatencySpec) -> Latency:
        return cls(spec.distribution, spec.delay, spec.median, spec.p99)

    def draw(self, rng: random.Random) -> float:
        """One delay in store seconds (``rng`` is the caller's seeded generator)."""
        if self.distribution == "fixed":
            return self.delay
        return self.median * math.exp(self._sigma * rng.gauss(0.0, 1.0))

    async def apply(self, clock: Clock, rng: random.Random) -> float:
        """Sleep one drawn delay on ``clock`` (store time) and return it."""
        delay = self.draw(rng)
        if delay > 0:
            await clock.sleep(delay)
        return delay
