"""Quota: at most ``limit`` requests ``per`` window, counted per caller (API key or client IP).

Two window kinds, as real carriers have both:

- ``bucket``: a token bucket of ``limit`` tokens refilled continuously at ``limit / per`` tokens
  per store second (per-second burst limits: AfterShip, 17TRACK, FedEx's 1400 per 10 s).
- ``calendar``: fixed windows aligned to store-calendar GMT boundaries of ``per``; a ``per: 1d``
  quota resets at 00:00 GMT of store time (DHL, FedEx daily quotas: "retry after 12:00AM GMT").
  The calendar instant of run second ``t`` is ``spec.start_epoch + t``.

A request is admitted in two steps so that several quotas can be checked together and a refused
request consumes no token from any of them: :meth:`Quota.wait` (how long until this caller may
pass, 0 when now) and :meth:`Quota.take` (consume). Refusals carry ``Retry-After`` = the wait.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from mocks.behaviours._callers import CallerTable
from peakbench.config.fleet import QuotaSpec
from peakbench.durations import format_duration

_EPS = 1e-9
"""Token-count slack: 0.2 s × 5 tokens/s must count as one whole token despite float rounding."""


class QuotaState:
    """Per-caller counters of one quota: ``[tokens, last_t]`` (bucket) or
    ``[window_index, used]`` (calendar)."""

    __slots__ = ("callers",)

    def __init__(self) -> None:
        self.callers: CallerTable[list[float]] = CallerTable()


@dataclass(frozen=True, slots=True)
class Quota:
    """At most ``limit`` requests per ``per`` store seconds per caller.

    ``window``: ``bucket`` (continuous refill) or ``calendar`` (fixed GMT-aligned windows).
    ``scope``: count per API key (``key``) or per client IP (``ip``).
    """

    phase: ClassVar[str] = "quota"

    limit: int
    per: float
    window: str = "bucket"
    scope: str = "key"
    state: QuotaState = field(default_factory=QuotaState, repr=False, compare=False)

    @classmethod
    def from_spec(cls, spec: QuotaSpec) -> Quota:
        return cls(spec.limit, spec.per, spec.effective_window, spec.scope)

    @property
    def cause(self) -> str:
        """Journal cause of a refusal, e.g. ``quota:1s`` or ``quota:1d``."""
        return "quota:" + format_duration(self.per)

    def wait(self, caller: str, t: float, epoch: float) -> float:
        """Store seconds until ``caller`` may pass (0.0: now). ``t`` run seconds, ``epoch`` Unix."""
        entry = self.state.callers.get(caller)
        if entry is None:
            return 0.0
        if self.window == "calendar":
            index = math.floor(epoch / self.per)
            if entry[0] != index or entry[1] < self.limit:
                return 0.0
            return (index + 1) * self.per - epoch
        tokens = self._refill(entry, t)
        if tokens >= 1.0 - _EPS:
            return 0.0
        return (1.0 - tokens) * self.per / self.limit

    def take(self, caller: str, t: float, epoch: float) -> None:
        """Consume one request of ``caller``'s allowance (call after :meth:`wait` returned 0)."""
        callers = self.state.callers
        entry = callers.get(caller)
        if self.window == "calendar":
            index = math.floor(epoch / self.per)
            if entry is None:
                callers.put(caller, [index, 1], lambda e: e[0] < index)
            elif entry[0] != index:
                entry[0], entry[1] = index, 1
            else:
                entry[1] += 1
            return
        if entry is None:
            callers.put(caller, [self.limit - 1.0, t], lambda e: self._refill(e, t) >= self.limit)
        else:
            entry[0] = self._refill(entry, t) - 1.0

    def _refill(self, entry: list[float], t: float) -> float:
        elapsed = t - entry[1]
        if elapsed > 0:  # the wall clock may step back: never refill negatively
            entry[0] = min(float(self.limit), entry[0] + elapsed * self.limit / self.per)
            entry[1] = t
        return entry[0]
