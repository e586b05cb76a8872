"""The wrapper around every behaviour: the shared fields of its spec, like a toxiproxy toxic.

A :class:`Toxic` applies its behaviour only to requests that match its filters (``routes``,
``keys``, ``ips``), inside its active window (``start``–``end`` run seconds, optionally only
during a recurring stretch of each ``every`` on the store calendar) and with ``probability``
(seeded draws); otherwise the request falls through untouched.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Generic, TypeVar

from mocks.behaviours.registry import Behaviour
from peakbench.config.behaviours import AnyBehaviourSpec

B = TypeVar("B", bound=Behaviour)


@dataclass(frozen=True, slots=True)
class Toxic(Generic[B]):
    """A behaviour plus the shared fields of its spec; falls through when they do not match."""

    behaviour: B
    rng: random.Random
    """Seeded per carrier and position, so a run replays the same draws."""
    name: str | None = None
    probability: float = 1.0
    routes: frozenset[str] | None = None
    keys: frozenset[str] | None = None
    """Caller key labels (``k0``…, ``anon``); None: all."""
    ips: frozenset[str] | None = None
    start: float = 0.0
    """Active from this run second ..."""
    end: float = math.inf
    """... until this one (exclusive)."""
    every: float = 0.0
    """Recurring period in store seconds (0: not recurring) ..."""
    opens: float = 0.0
    """... opening this many seconds into each period (calendar-aligned, GMT + ``shift``) ..."""
    lasts: float = 0.0
    """... for this many seconds."""
    shift: float = 0.0
    """UTC offset of the recurring window's calendar, seconds east of GMT."""
    always: bool = False
    """No filter, no end, no recurrence, probability 1: applies to every request from
    ``start`` on (the hot path's case)."""

    def __post_init__(self) -> None:
        unconditional = (
            self.probability >= 1.0
            and self.routes is None
            and self.keys is None
            and self.ips is None
            and self.end == math.inf
            and self.every <= 0
        )
        object.__setattr__(self, "always", unconditional)

    @classmethod
    def wrap(cls, behaviour: B, spec: AnyBehaviourSpec, rng: random.Random) -> Toxic[B]:
        """The toxic for ``behaviour`` with the shared fields of ``spec``."""
        active = spec.active
        recurring = active is not None and active.every is not None
        return cls(
            behaviour,
            rng,
            spec.name,
            spec.probability,
            frozenset(spec.routes) if spec.routes is not None else None,
            frozenset(spec.keys) if spec.keys is not None else None,
            frozenset(spec.ips) if spec.ips is not None else None,
            active.start if active is not None else 0.0,
            active.end if active is not None and active.end is not None else math.inf,
            (active.every or 0.0) if active is not None else 0.0,
            active.from_ if recurring and active is not None else 0.0,
            (active.for_ or 0.0) if recurring and active is not None else 0.0,
            active.utc_offset if active is not None else 0.0,
        )

    def matches(self, route: str, key: str | None, ip: str | None) -> bool:
        """Whether the request passes the static filters (routes, keys, ips).

        An unknown ``key``/``ip`` (None) fails a filter on it.
        """
        if self.routes is not None and route not in self.routes:
            return False
        if self.keys is not None and key not in self.keys:
            return False
        return self.ips is None or ip in self.ips

    def active_at(self, t: float, epoch: float) -> bool:
        """Whether run second ``t`` (Unix ``epoch``) is inside the active window."""
        if t < self.start or t >= self.end:
            return False
        if self.every <= 0:
            return True
        return (epoch + self.shift - self.opens) % self.every < self.lasts

    def applies(
        self, route: str, t: float, epoch: float, key: str | None = None, ip: str | None = None
    ) -> bool:
        """Whether the behaviour acts on this request (draws the probability last)."""
        if self.always:
            return t >= self.start
        if not self.matches(route, key, ip) or not self.active_at(t, epoch):
            return False
        return self.probability >= 1.0 or self.rng.random() < self.probability
