"""Behaviour types by name: the ``type`` of a behaviour spec in a fleet profile → its class.

Adding a behaviour means one module with a frozen dataclass (its parameters, a ``phase`` and a
``from_spec`` constructor) and one line here; :mod:`mocks.behaviours.pipeline` decides when each
phase runs.
"""

from __future__ import annotations

from mocks.behaviours.block import Block
from mocks.behaviours.latency import Latency
from mocks.behaviours.quota import Quota
from peakbench.config.fleet import BlockSpec, LatencySpec, QuotaSpec

Behaviour = Latency | Quota | Block
"""Any behaviour the pipeline knows how to run."""

BEHAVIOURS: dict[str, type[Latency] | type[Quota] | type[Block]] = {
    "latency": Latency,
    "quota": Quota,
    "block": Block,
}


def build_behaviour(spec: LatencySpec | QuotaSpec | BlockSpec) -> Behaviour:
    """A fresh behaviour (with empty state) from its validated spec."""
    cls = BEHAVIOURS.get(spec.type)
    if cls is None:
        raise ValueError(f"unknown behaviour type {spec.type!r}")
    return cls.from_spec(spec)  # type: ignore[arg-type]
