"""Seeded draws shared by the truth model and the planner."""

from __future__ import annotations

import math
import random


def lognormal(rng: random.Random, median: float, p90: float) -> float:
    """A lognormal draw given its median and 90th percentile (same unit as both)."""
    sigma = math.log(max(p90, median * 1.0001) / median) / 1.2816
    return median * math.exp(sigma * rng.gauss(0.0, 1.0))
