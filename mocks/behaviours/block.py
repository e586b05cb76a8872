"""Block: ban escalation for callers that keep hitting a quota.

Every request a quota refuses counts as a *violation* of its caller (API key or client IP). When
a caller collects ``violations`` of them within a sliding ``within`` store seconds, it is banned
for ``ban`` store seconds: every request it makes meanwhile gets ``status`` (403 like UPS's
"Blocked Merchant" by default; 401 like 17TRACK's disabled account; or 429). When the ban ends
the caller starts afresh with no violations.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar

from mocks.behaviours._callers import CallerTable
from peakbench.config.fleet import BlockSpec


class _Caller:
    __slots__ = ("banned_until", "recent")

    def __init__(self, violations: int) -> None:
        self.banned_until = float("-inf")
        # only the newest ``violations`` times can ever matter, so the deque is bounded by them
        self.recent: deque[float] = deque(maxlen=violations)


class BlockState:
    """Per-caller ban deadlines and recent violation times of one block."""

    __slots__ = ("callers",)

    def __init__(self) -> None:
        self.callers: CallerTable[_Caller] = CallerTable()


@dataclass(frozen=True, slots=True)
class Block:
    """Ban a caller for ``ban`` store seconds after ``violations`` refusals within ``within``.

    During the ban every request gets HTTP ``status``. ``scope``: per API key (``key``) or per
    client IP (``ip``).
    """

    phase: ClassVar[str] = "block"

    violations: int
    within: float
    ban: float
    status: int = 403
    scope: str = "key"
    state: BlockState = field(default_factory=BlockState, repr=False, compare=False)

    @classmethod
    def from_spec(cls, spec: BlockSpec) -> Block:
        return cls(spec.violations, spec.within, spec.ban, spec.status, spec.scope)

    def banned_for(self, caller: str, t: float) -> float:
        """Store seconds left of ``caller``'s ban at run second ``t`` (0.0: not banned)."""
        entry = self.state.callers.get(caller)
        if entry is None or entry.banned_until <= t:
            return 0.0
        return entry.banned_until - t

    def violation(self, caller: str, t: float) -> bool:
        """Record a refused request of ``caller`` at run second ``t``; True if it starts a ban."""
        callers = self.state.callers
        entry = callers.get(caller)
        if entry is None:
            entry = _Caller(self.violations)
            callers.put(caller, entry, lambda e: self._idle(e, t))
        recent = entry.recent
        recent.append(t)
        if len(recent) == self.violations and t - recent[0] <= self.within:
            entry.banned_until = t + self.ban
            recent.clear()
            return True
        return False

    def _idle(self, entry: _Caller, t: float) -> bool:
        """Whether forgetting ``entry`` would change no future decision."""
        return entry.banned_until <= t and (not entry.recent or t - entry.recent[-1] > self.within)
