"""How long customers wait before they complain about tracking that does not move.

A logistic curve of the apparent stall (store seconds since the page last showed movement).
The default is an assumption built from reference/peaks.md ("Customers and complaints": 32% would
contact support one day late, 79% three days late; merchants escalate after 48–72 h with no
movement): configurable, and reports state it.
"""

from __future__ import annotations

import math

from peakbench.config.profile import PatienceSpec


def complaint_probability(spec: PatienceSpec, stall_s: float) -> float:
    """Probability that a customer who sees ``stall_s`` seconds without movement complains."""
    if stall_s <= 0:
        return 0.0
    d = stall_s - spec.midpoint
    # width 0 (the profile allows it) is the curve's limit: a step at the midpoint
    z = d / spec.width if spec.width > 0 else math.copysign(math.inf, d) if d else 0.0
    z = max(-60.0, min(60.0, z))
    return spec.max_probability / (1.0 + math.exp(-z))
