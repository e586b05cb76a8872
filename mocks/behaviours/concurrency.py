"""Concurrency: at most ``limit`` requests in flight at once per caller (or globally).

Many APIs cap parallel connections rather than rates; a plugin that fans out refreshes in
parallel hits this before any per-second quota. A request over the limit is refused with 429
(journal cause ``concurrency``) and ``retry_after`` store seconds.

Counting is exact and deterministic: the pipeline calls :meth:`Concurrency.enter` when it admits
a request this unit's routes/keys/ips filters match, and :meth:`Concurrency.leave` when the app
releases it, whatever the unit's probability or active window (those only gate the refusal).
A caller's entry is dropped at zero, so memory is bounded by the requests in flight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from peakbench.config.behaviours import ConcurrencySpec


@dataclass(frozen=True, slots=True)
class Concurrency:
    """Refuse a caller's request while ``limit`` of its requests are in flight.

    ``scope``: ``global`` (all callers together), ``key`` or ``ip``. ``retry_after``: store
    seconds suggested to the refused client.
    """

    phase: ClassVar[str] = "concurrency"

    limit: int
    scope: str = "global"
    retry_after: float = 1.0
    inflight: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_spec(cls, spec: ConcurrencySpec) -> Concurrency:
        return cls(spec.limit, spec.scope, spec.retry_after)

    @property
    def cause(self) -> str:
        return "concurrency"

    def full(self, caller: str) -> bool:
        """Whether another request of ``caller`` would exceed the limit."""
        return self.inflight.get(caller, 0) >= self.limit

    def enter(self, caller: str) -> None:
        """Count an admitted request of ``caller``."""
        self.inflight[caller] = self.inflight.get(caller, 0) + 1

    def leave(self, caller: str) -> None:
        """Uncount a finished request of ``caller`` (never below zero)."""
        count = self.inflight.get(caller, 0) - 1
        if count > 0:
            self.inflight[caller] = count
        else:
            self.inflight.pop(caller, None)
