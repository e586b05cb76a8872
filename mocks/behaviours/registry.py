"""Behaviour types by name: the ``type`` of a behaviour spec in a fleet profile → its class.

Adding a behaviour means a spec in :mod:`peakbench.config.behaviours`, one module here with a
frozen dataclass (its parameters, a ``phase`` and a ``from_spec`` constructor) and one line
below; :mod:`mocks.behaviours.pipeline` decides when each phase runs.
"""

from __future__ import annotations

from mocks.behaviours.block import Block
from mocks.behaviours.concurrency import Concurrency
from mocks.behaviours.congestion import Congestion
from mocks.behaviours.fault import Fault
from mocks.behaviours.latency import Latency
from mocks.behaviours.quota import Quota
from peakbench.config.behaviours import AnyBehaviourSpec

Behaviour = Latency | Congestion | Quota | Concurrency | Block | Fault
"""Any behaviour the pipeline knows how to run."""

BEHAVIOURS: dict[str, type[Behaviour]] = {
    "latency": Latency,
    "congestion": Congestion,
    "quota": Quota,
    "concurrency": Concurrency,
    "block": Block,
    "fault": Fault,
}


def build_behaviour(spec: AnyBehaviourSpec) -> Behaviour:
    """A fresh behaviour (with empty state) from its validated spec."""
    cls = BEHAVIOURS.get(spec.type)
    if cls is None:
        raise ValueError(f"unknown behaviour type {spec.type!r}")
    return cls.from_spec(spec)  # type: ignore[arg-type]
