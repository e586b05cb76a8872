"""How many Locust users a replay needs: Little's law on the schedule ahead, plus lateness feedback.

Pure (no Locust, no gevent, no clock of its own): :class:`Sizer` takes run seconds, the measured
response time and each share's tallies as arguments, so tests drive it with numbers. The Locust
side (:mod:`loadtests.shape`) feeds it once a second.

The rule, per share of the schedule (one per Locust process executing it):

- ``rate``: the busiest 1 wall second of arrivals due in the next :data:`LOOKAHEAD_WALL_S` wall
  seconds (known in advance from ``schedule.csv``), in items per wall second;
- ``need = rate × response`` users busy at once (Little's law), ``users = headroom × need +
  3 √need`` (the square-root term covers Poisson clumps shorter than a second);
- lateness feedback: ``queued`` = items already due but not started (due − executed − users);
  ``queued × response / DRAIN_WALL_S`` more users drain them in about that long;
- never fewer than the users busy right now (due and unfinished items): only idle users retire.

Every process gets the largest share's figure (Locust spreads users evenly over its workers), the
total is clamped to ``[min_users, max_users]``, and the pool shrinks gradually: not before
:data:`HOLD_WALL_S` after it last grew, then by at most :data:`DOWN_STEP` of itself per tick.
"""

from __future__ import annotations

import contextlib
import json
import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peakbench.plan.schedule import Item

LOOKAHEAD_WALL_S = 3.0
"""How far ahead the rate is read: users must exist before a burst is due (spawn + one tick)."""
WINDOW_WALL_S = 1.0
"""Width of the windows whose busiest one gives the rate."""
SPREAD = 3.0
"""Poisson margin: users beyond the mean busy count, in standard deviations (√need)."""
DRAIN_WALL_S = 1.0
"""Late arrivals already queued are given enough extra users to start within about this long."""
HOLD_WALL_S = 5.0
"""No shrinking for this long after the pool grew (a burst's tail, stale worker reports)."""
DOWN_STEP = 0.25
"""At most this share of the pool retires per tick."""
INITIAL_RESPONSE_S = 0.1
"""Assumed response time (wall seconds) until the first requests are measured."""


@dataclass(frozen=True, slots=True)
class Sizing:
    """The profile's ``replay`` sizing as the Locust side reads it (``ReplaySpec``)."""

    auto: bool = False
    users: int = 1
    """The fixed pool when not ``auto``."""
    min_users: int = 4
    max_users: int = 1000
    headroom: float = 1.5

    @classmethod
    def from_replay_spec(cls, data: dict[str, Any], fallback_users: int) -> Sizing:
        """From the ``replay`` section of a resolved profile (``run.json``), already validated."""
        return cls(
            auto=data.get("sizing", "fixed") == "auto",
            users=int(data.get("users", fallback_users)),
            min_users=int(data.get("min_users", 4)),
            max_users=int(data.get("max_users", 1000)),
            headroom=float(data.get("headroom", 1.5)),
        )


def load_sizing(replay_json: Path, fallback_users: int) -> Sizing:
    """The sizing of the run whose ``replay.json`` this is: its ``sizing`` key (the profile's
    ``replay`` section, written by the orchestrator), else that section in ``run.json`` beside
    it, or a fixed pool of ``fallback_users`` (Locust's ``--users``) when there is neither
    (benchmarks and tests drive Locust with a bare ``replay.json``)."""
    replay: object = None
    with contextlib.suppress(OSError, ValueError, TypeError):
        replay = json.loads(replay_json.read_text(encoding="utf-8")).get("sizing")
    if replay is None:
        try:
            record = json.loads((replay_json.parent / "run.json").read_text(encoding="utf-8"))
            replay = record["profile"]["replay"]
        except (OSError, ValueError, KeyError, TypeError):
            return Sizing(users=fallback_users)
    if not isinstance(replay, dict):
        return Sizing(users=fallback_users)
    return Sizing.from_replay_spec(replay, fallback_users)


class Arrivals:
    """Due times (run seconds, sorted) of each share's items: upcoming rates and backlogs."""

    def __init__(self, shares: Sequence[array[float]]) -> None:
        self._dues = list(shares)

    @classmethod
    def from_items(cls, items: Iterable[Item], shares: int = 1) -> Arrivals:
        """Split like the replay does (``ref % shares``); items come in due order."""
        dues: list[array[float]] = [array("d") for _ in range(shares)]
        for item in items:
            dues[item.ref % shares].append(item.t)
        return cls(dues)

    @classmethod
    def from_rows(cls, shares: Sequence[Sequence[Sequence[Any]]]) -> Arrivals:
        """From the master's share rows (``[t, kind, ref, carrier, number]``)."""
        return cls([array("d", (float(row[0]) for row in rows)) for rows in shares])

    @property
    def shares(self) -> int:
        return len(self._dues)

    def due_by(self, share: int, t: float) -> int:
        """Items of ``share`` due at or before run second ``t``."""
        return bisect_right(self._dues[share], t)

    def peak_rate(self, share: int, t: float, horizon: float, window: float) -> float:
        """Items per store second in the busiest ``window`` of ``[t, t + horizon)``."""
        dues = self._dues[share]
        best = 0
        start = t
        while start < t + horizon:
            count = bisect_left(dues, start + window) - bisect_left(dues, start)
            best = max(best, count)
            start += window
        return best / window


@dataclass(frozen=True, slots=True)
class ShareState:
    """What a share's process last reported: at run second ``t``, ``executed`` items were done
    (or failed or dropped) and it had ``users`` users."""

    t: float
    executed: int
    users: int


@dataclass(frozen=True, slots=True)
class Decision:
    """One tick's answer. Rates are items per wall second, times wall seconds."""

    per_process: int
    """Users each Locust process should keep."""
    total: int
    rate: float
    """The busiest share's upcoming rate."""
    response_s: float
    need: float
    """Little's law for that share: users busy at once on average."""
    queued: int
    """Items due but not started yet, all shares."""


class Sizer:
    """Decides the pool once per tick; remembers only what the gradual shrink needs."""

    def __init__(self, sizing: Sizing, arrivals: Arrivals, scale: float) -> None:
        self.sizing = sizing
        self.arrivals = arrivals
        self.scale = scale
        self.processes = arrivals.shares
        self._per = 0
        self._grew_at = -math.inf

    @property
    def bounds(self) -> tuple[int, int]:
        """Users per process allowed by ``min_users``/``max_users`` (at least one each)."""
        n = self.processes
        low = max(1, math.ceil(self.sizing.min_users / n))
        return low, max(low, self.sizing.max_users // n)

    def decide(self, t: float, response_s: float, shares: Sequence[ShareState | None]) -> Decision:
        """The pool for run second ``t``; ``shares[k]`` is share k's last report (or ``None``)."""
        s, a = self.sizing, self.arrivals
        horizon, window = LOOKAHEAD_WALL_S * self.scale, WINDOW_WALL_S * self.scale
        per, top_rate, top_need, queued = 0, 0.0, 0.0, 0
        for k in range(self.processes):
            rate = a.peak_rate(k, t, horizon, window) * self.scale
            need = rate * response_s
            want = s.headroom * need + SPREAD * math.sqrt(need)
            state = shares[k] if k < len(shares) else None
            if state is not None:
                backlog = a.due_by(k, state.t) - state.executed
                waiting = max(0, backlog - state.users)
                queued += waiting
                want += waiting * response_s / DRAIN_WALL_S
                want = max(want, min(state.users, backlog))  # busy users never retire
            per = max(per, math.ceil(want - 1e-9))
            if rate >= top_rate:
                top_rate, top_need = rate, need
        low, high = self.bounds
        per = min(max(per, low), high)
        wall = t / self.scale
        if per > self._per:
            self._grew_at = wall
        elif per < self._per:
            if wall - self._grew_at < HOLD_WALL_S:
                per = self._per
            else:
                per = max(per, min(self._per - 1, math.ceil(self._per * (1 - DOWN_STEP))))
        self._per = per
        return Decision(per, per * self.processes, top_rate, response_s, top_need, queued)


class ResponseTime:
    """Mean response time over the last tick(s), from Locust's cumulative request counters."""

    def __init__(self, initial_s: float = INITIAL_RESPONSE_S, smoothing: float = 0.5) -> None:
        self.value = initial_s
        self._smoothing = smoothing
        self._count = 0
        self._total_ms = 0.0
        self._measured = False

    def update(self, count: int, total_ms: float) -> float:
        """Feed ``stats.total.num_requests`` and ``total_response_time``; the estimate (s)."""
        if count < self._count:  # Locust cleared its stats (a new test started)
            self._count, self._total_ms = 0, 0.0
        new = count - self._count
        if new > 0:
            sample = max(0.0, total_ms - self._total_ms) / new / 1000.0
            a = self._smoothing if self._measured else 1.0
            self.value = max(0.001, a * sample + (1 - a) * self.value)
            self._measured = True
        self._count, self._total_ms = count, total_ms
        return self.value


class LocustCount:
    """The user count told to Locust, which must never make Locust stop a user itself.

    Locust kills the users it stops, and a killed user loses the item it holds. So the pool
    shrinks by retirement (:mod:`loadtests.pool`: a user coming back free quits), and the count
    Locust sees is lowered only once no process has more users than it would be given. Worker
    reports are up to a few seconds old: after a rise, they are trusted again only ``settle_s``
    later.
    """

    def __init__(self, processes: int, settle_s: float = 0.0) -> None:
        self.processes = processes
        self.value = 0
        self._settle_s = settle_s
        self._rose_at = -math.inf

    def update(self, per_process: int, live_max: int, wall: float) -> int:
        """``live_max``: most users alive in any process (retiring ones included)."""
        target = per_process * self.processes
        if target > self.value:
            self.value, self._rose_at = target, wall
        elif (
            target < self.value
            and live_max <= per_process
            and wall - self._rose_at >= self._settle_s
        ):
            self.value = target
        return self.value
