"""Block: ban escalation for callers that keep getting refused.

Every request a quota or concurrency limit refuses counts as a *violation* of its caller (API
key or client IP). When a caller collects ``violations`` of them within a sliding ``within``
store seconds, it is banned: every request it makes meanwhile is refused with ``status`` (403
like UPS's "Blocked Merchant" by default; 401 like 17TRACK's disabled account; or 429) in the
block's ``form`` (the personality's reply, an HTML WAF page, a connection reset, or a hang).

Repeat offenders escalate: the n-th ban lasts ``lengths[n]`` (the last length repeats), and
with ``permanent`` the ban after the list is used up never ends. The memory of past bans
decays: a caller whose last ban ended ``cooldown`` store seconds before its next ban starts
over at the first length. Violations are cleared when a ban starts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar

from mocks.behaviours._callers import CallerTable
from peakbench.config.behaviours import BlockSpec


class _Caller:
    __slots__ = ("banned_until", "recent", "strikes")

    def __init__(self, violations: int) -> None:
        self.banned_until = -math.inf
        self.strikes = 0
        """Bans so far (since the memory last decayed)."""
        # only the newest ``violations`` times can ever matter, so the deque is bounded by them
        self.recent: deque[float] = deque(maxlen=violations)


class BlockState:
    """Per-caller ban deadlines, strike counts and recent violation times of one block."""

    __slots__ = ("callers",)

    def __init__(self) -> None:
        self.callers: CallerTable[_Caller] = CallerTable()


@dataclass(frozen=True, slots=True)
class Block:
    """Ban a caller after ``violations`` refusals within ``within`` store seconds.

    ``lengths``: ban lengths in store seconds for the 1st, 2nd, … ban (the last repeats);
    ``permanent``: the ban after those never ends; ``cooldown``: store seconds after a ban's
    end at which the caller's strikes are forgotten. During a ban every request gets HTTP
    ``status`` in ``form`` (``reply``, ``waf``, ``reset``, ``hang`` for ``hang`` store
    seconds). ``scope``: per API key (``key``) or per client IP (``ip``).
    """

    phase: ClassVar[str] = "block"

    violations: int
    within: float
    lengths: tuple[float, ...]
    status: int = 403
    scope: str = "key"
    permanent: bool = False
    cooldown: float = 86400.0
    form: str = "reply"
    hang: float = 30.0
    state: BlockState = field(default_factory=BlockState, repr=False, compare=False)

    @classmethod
    def from_spec(cls, spec: BlockSpec) -> Block:
        return cls(
            spec.violations,
            spec.within,
            spec.lengths,
            spec.status,
            spec.scope,
            spec.permanent,
            spec.cooldown,
            spec.form,
            spec.hang,
        )

    def banned_for(self, caller: str, t: float) -> float:
        """Store seconds left of ``caller``'s ban at run second ``t`` (0.0: not banned;
        ``inf``: permanently)."""
        entry = self.state.callers.get(caller)
        if entry is None or entry.banned_until <= t:
            return 0.0
        return entry.banned_until - t

    def ban_length(self, strike: int) -> float:
        """Length of a caller's ban number ``strike`` (0 = first), store seconds."""
        lengths = self.lengths
        if strike < len(lengths):
            return lengths[strike]
        return math.inf if self.permanent else lengths[-1]

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
            if entry.strikes and t - entry.banned_until >= self.cooldown:
                entry.strikes = 0  # good behaviour long enough: start over
            entry.banned_until = t + self.ban_length(entry.strikes)
            entry.strikes += 1
            recent.clear()
            return True
        return False

    def _idle(self, entry: _Caller, t: float) -> bool:
        """Whether forgetting ``entry`` would change no future decision."""
        if entry.banned_until > t or (entry.recent and t - entry.recent[-1] <= self.within):
            return False
        return entry.strikes == 0 or t - entry.banned_until >= self.cooldown
