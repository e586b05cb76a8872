"""The behaviours of one carrier, wrapped with their shared fields and run in a fixed order.

Per request, after authentication: ban check (block) → quotas (a refusal is reported to every
block as a violation) → latency (drawn for every response, refused or not). Each behaviour sits
in a :class:`Toxic` wrapper that applies the shared fields of its spec (``routes``, ``active``
window, ``probability`` with a seeded generator) and otherwise falls through, like a disabled
toxiproxy toxic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from mocks.behaviours.block import Block
from mocks.behaviours.latency import Latency
from mocks.behaviours.quota import Quota
from mocks.behaviours.registry import Behaviour, build_behaviour
from peakbench.config.fleet import BlockSpec, LatencySpec, QuotaSpec

B = TypeVar("B", bound=Behaviour)


class Refusal(NamedTuple):
    """Why a request is refused before the personality answers it."""

    kind: str
    """``quota`` (throttled) or ``ban`` (blocked)."""
    status: int
    """HTTP status: 429 for a quota, the block's status for a ban."""
    cause: str
    """Journal cause: ``quota:<per>`` or ``ban``."""
    retry_after: int
    """Whole store seconds (rounded up) until the caller may pass."""
    limit: int = 0
    """The binding quota's limit (0 for a ban), for ``X-RateLimit-Limit``-style headers."""


@dataclass(frozen=True, slots=True)
class Toxic(Generic[B]):
    """A behaviour plus the shared fields of its spec; falls through when they do not match."""

    behaviour: B
    rng: random.Random
    """Seeded per carrier and position, so a run replays the same draws."""
    name: str | None = None
    probability: float = 1.0
    routes: frozenset[str] | None = None
    start: float = 0.0
    """Active from this run second ..."""
    end: float = math.inf
    """... until this one (exclusive)."""

    def applies(self, route: str, t: float) -> bool:
        """Whether the behaviour acts on a request to ``route`` at run second ``t``."""
        if self.routes is not None and route not in self.routes:
            return False
        if t < self.start or t >= self.end:
            return False
        return self.probability >= 1.0 or self.rng.random() < self.probability


class Pipeline:
    """All behaviours of one carrier, grouped by phase in profile order."""

    __slots__ = ("blocks", "latencies", "quotas")

    def __init__(
        self,
        blocks: Iterable[Toxic[Block]] = (),
        quotas: Iterable[Toxic[Quota]] = (),
        latencies: Iterable[Toxic[Latency]] = (),
    ) -> None:
        self.blocks = tuple(blocks)
        self.quotas = tuple(quotas)
        self.latencies = tuple(latencies)

    def admit(self, route: str, key: str, ip: str, t: float, epoch: float) -> Refusal | None:
        """Decide a request of caller ``key``/``ip`` at run second ``t`` (Unix ``epoch``).

        Returns None when it may be answered (its quotas are then charged), else the refusal.
        """
        if not self.blocks and not self.quotas:
            return None
        blocks = [x.behaviour for x in self.blocks if x.applies(route, t)]
        for block in blocks:
            left = block.banned_for(key if block.scope == "key" else ip, t)
            if left > 0:
                return Refusal("ban", block.status, "ban", math.ceil(left))
        quotas = [x.behaviour for x in self.quotas if x.applies(route, t)]
        binding: Quota | None = None
        longest = 0.0
        for quota in quotas:
            wait = quota.wait(key if quota.scope == "key" else ip, t, epoch)
            if wait > longest:
                binding, longest = quota, wait
        if binding is None:
            for quota in quotas:
                quota.take(key if quota.scope == "key" else ip, t, epoch)
            return None
        for block in blocks:
            block.violation(key if block.scope == "key" else ip, t)
        return Refusal("quota", 429, binding.cause, math.ceil(longest), binding.limit)

    def delay(self, route: str, t: float) -> float:
        """Injected latency, in store seconds, for a response to ``route`` at run second ``t``."""
        total = 0.0
        for x in self.latencies:
            if x.applies(route, t):
                total += x.behaviour.draw(x.rng)
        return total


def build_pipeline(specs: Iterable[LatencySpec | QuotaSpec | BlockSpec], seed: str) -> Pipeline:
    """A pipeline with fresh state from a carrier's behaviour specs.

    ``seed`` (e.g. ``"<fleet seed>:<carrier>"``) seeds each wrapper's generator, with its position.
    """
    blocks: list[Toxic[Block]] = []
    quotas: list[Toxic[Quota]] = []
    latencies: list[Toxic[Latency]] = []
    for i, spec in enumerate(specs):
        behaviour = build_behaviour(spec)
        active = spec.active
        shared = (
            random.Random(f"{seed}:{i}"),
            spec.name,
            spec.probability,
            frozenset(spec.routes) if spec.routes is not None else None,
            active.start if active is not None else 0.0,
            active.end if active is not None and active.end is not None else math.inf,
        )
        if isinstance(behaviour, Block):
            blocks.append(Toxic(behaviour, *shared))
        elif isinstance(behaviour, Quota):
            quotas.append(Toxic(behaviour, *shared))
        else:
            latencies.append(Toxic(behaviour, *shared))
    return Pipeline(blocks, quotas, latencies)
