"""Congestion: latency that grows with the load on the carrier.

Real APIs slow down when many requests are in flight (queueing in front of a fixed worker
pool): below ``knee`` concurrent requests the delay is ``base``; each request beyond it adds
``per_inflight``; ``max`` caps it (a gateway timeout would answer by then). The in-flight count
is the pipeline's: requests admitted and not yet released, the current one included.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import ClassVar

from peakbench.config.behaviours import CongestionSpec


@dataclass(frozen=True, slots=True)
class Congestion:
    """Delay ``base + per_inflight × max(0, inflight − knee)`` store seconds, at most ``max``."""

    phase: ClassVar[str] = "latency"

    per_inflight: float
    base: float = 0.0
    knee: int = 0
    max: float = math.inf

    @classmethod
    def from_spec(cls, spec: CongestionSpec) -> Congestion:
        cap = spec.max if spec.max is not None else math.inf
        return cls(spec.per_inflight, spec.base, spec.knee, cap)

    def draw(self, rng: random.Random, inflight: int = 0) -> float:
        """The delay at ``inflight`` concurrent requests (``rng`` unused: deterministic)."""
        excess = inflight - self.knee
        if excess <= 0:
            return self.base
        return min(self.max, self.base + self.per_inflight * excess)
