"""Quota: at most ``limit`` requests per ``per`` store seconds, counted per caller.

Four window kinds, as real carriers have them all:

- ``bucket``: a token bucket of ``limit`` tokens refilled continuously at ``limit / per`` tokens
  per store second (per-second burst limits: AfterShip, 17TRACK, FedEx's 1400 per 10 s).
- ``sliding``: at most ``limit`` requests in any ``per`` long stretch (an exact log of the
  caller's last ``limit`` admitted requests).
- ``fixed``: a window of ``per`` opens at the caller's first request; the count resets when it
  ends (the next request opens the next window).
- ``calendar``: fixed windows aligned to boundaries of the store calendar, GMT shifted by
  ``utc_offset`` and ``reset_at``: ``per: 1d`` resets at 00:00 GMT (DHL, FedEx: "retry after
  12:00AM GMT"), ``per: 1h`` at the top of each hour (USPS). The calendar instant of run second
  ``t`` is ``spec.start_epoch + t``.

``scope`` says whose requests count together; the pipeline passes the caller name (key label,
client IP or ``*``). A request is admitted in two steps so that several quotas are checked
together and a refused request consumes nothing: :meth:`Quota.wait` (store seconds until this
caller may pass, 0 when now) and :meth:`Quota.take`. Refusals carry ``Retry-After`` = the wait.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar

from mocks.behaviours._callers import DEFAULT_CAPACITY, CallerTable
from peakbench.config.behaviours import QuotaSpec
from peakbench.durations import format_duration

_EPS = 1e-9
"""Token-count slack: 0.2 s × 5 tokens/s must count as one whole token despite float rounding."""

LOG_BUDGET = 500_000
"""Most request times all callers of one sliding quota keep (bounds memory to a few MB)."""


class QuotaState:
    """Per-caller counters of one quota: ``[tokens, last_t]`` (bucket), ``[window_index, used]``
    (calendar), ``[window_start_t, used]`` (fixed), or a log of admitted times (sliding)."""

    __slots__ = ("callers", "logs")

    def __init__(self, limit: int = 1) -> None:
        self.callers: CallerTable[list[float]] = CallerTable()
        self.logs: CallerTable[deque[float]] = CallerTable(
            max(16, min(DEFAULT_CAPACITY, LOG_BUDGET // limit))
        )


@dataclass(frozen=True, slots=True)
class Quota:
    """At most ``limit`` requests per ``per`` store seconds per caller.

    ``window``: ``bucket``, ``sliding``, ``fixed`` or ``calendar`` (module docstring).
    ``scope``: ``key``, ``ip`` or ``global``. ``shift`` (calendar only, store seconds):
    ``utc_offset − reset_at``, so windows start at ``reset_at`` local time.
    """

    phase: ClassVar[str] = "quota"

    limit: int
    per: float
    window: str = "bucket"
    scope: str = "key"
    shift: float = 0.0
    state: QuotaState = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", QuotaState(self.limit))

    @classmethod
    def from_spec(cls, spec: QuotaSpec) -> Quota:
        shift = (spec.utc_offset or 0.0) - (spec.reset_at or 0.0)
        return cls(spec.limit, spec.per, spec.effective_window, spec.scope, shift)

    @property
    def cause(self) -> str:
        """Journal cause of a refusal, e.g. ``quota:1s`` or ``quota:1d``."""
        return "quota:" + format_duration(self.per)

    def wait(self, caller: str, t: float, epoch: float) -> float:
        """Store seconds until ``caller`` may pass (0.0: now). ``t`` run seconds, ``epoch`` Unix."""
        window = self.window
        if window == "sliding":
            log = self.state.logs.get(caller)
            if log is None:
                return 0.0
            _prune(log, t - self.per)
            return 0.0 if len(log) < self.limit else log[0] + self.per - t
        entry = self.state.callers.get(caller)
        if entry is None:
            return 0.0
        if window == "calendar":
            local = epoch + self.shift
            index = math.floor(local / self.per)
            if entry[0] != index or entry[1] < self.limit:
                return 0.0
            return (index + 1) * self.per - local
        if window == "fixed":
            end = entry[0] + self.per
            return 0.0 if t >= end or entry[1] < self.limit else end - t
        tokens = self._refill(entry, t)
        if tokens >= 1.0 - _EPS:
            return 0.0
        return (1.0 - tokens) * self.per / self.limit

    def take(self, caller: str, t: float, epoch: float) -> None:
        """Consume one request of ``caller``'s allowance (call after :meth:`wait` returned 0)."""
        window = self.window
        if window == "sliding":
            logs = self.state.logs
            log = logs.get(caller)
            if log is None:
                log = deque(maxlen=self.limit)
                logs.put(caller, log, lambda q: not q or q[-1] <= t - self.per)
            log.append(t)
            return
        callers = self.state.callers
        entry = callers.get(caller)
        if window == "calendar":
            index = math.floor((epoch + self.shift) / self.per)
            if entry is None:
                callers.put(caller, [index, 1], lambda e: e[0] < index)
            elif entry[0] != index:
                entry[0], entry[1] = index, 1
            else:
                entry[1] += 1
        elif window == "fixed":
            if entry is None:
                callers.put(caller, [t, 1], lambda e: t >= e[0] + self.per)
            elif t >= entry[0] + self.per:
                entry[0], entry[1] = t, 1
            else:
                entry[1] += 1
        elif entry is None:
            callers.put(caller, [self.limit - 1.0, t], lambda e: self._refill(e, t) >= self.limit)
        else:
            entry[0] = self._refill(entry, t) - 1.0

    def left(self, caller: str, t: float, epoch: float) -> tuple[int, float]:
        """``(requests left, store seconds until the allowance is whole again)`` for
        ``caller`` now, without charging anything (for ``X-RateLimit-*`` style headers)."""
        window = self.window
        if window == "sliding":
            log = self.state.logs.get(caller)
            if not log:
                return self.limit, 0.0
            _prune(log, t - self.per)
            return self.limit - len(log), (log[-1] + self.per - t) if log else 0.0
        entry = self.state.callers.get(caller)
        if window == "calendar":
            local = epoch + self.shift
            index = math.floor(local / self.per)
            used = int(entry[1]) if entry is not None and entry[0] == index else 0
            return self.limit - used, (index + 1) * self.per - local
        if entry is None:
            return self.limit, 0.0
        if window == "fixed":
            end = entry[0] + self.per
            return (self.limit, 0.0) if t >= end else (self.limit - int(entry[1]), end - t)
        tokens = self._refill(entry, t)
        return int(tokens + _EPS), (self.limit - tokens) * self.per / self.limit

    def _refill(self, entry: list[float], t: float) -> float:
        elapsed = t - entry[1]
        if elapsed > 0:  # the wall clock may step back: never refill negatively
            entry[0] = min(float(self.limit), entry[0] + elapsed * self.limit / self.per)
            entry[1] = t
        return entry[0]


def _prune(log: deque[float], horizon: float) -> None:
    """Forget admitted times at or before ``horizon``: they no longer count."""
    while log and log[0] <= horizon:
        log.popleft()
