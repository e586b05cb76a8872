"""The Locust load shape of a replay: keeps the user pool at what the schedule needs.

Locust calls :meth:`ReplayShape.tick` once a second on the process that owns the users' count
(the only process, or the master). Each tick reads the response time from Locust's request stats
(aggregated from the workers' reports on a master), asks :class:`~loadtests.sizing.Sizer` for the
users each process should keep, tells the processes (a :class:`~loadtests.pool.Pool` locally, a
``peakbench_keep`` message to workers), and returns the count Locust should spawn up to
(:class:`~loadtests.sizing.LocustCount`: never below the users alive, so Locust never kills one).
With ``sizing: fixed`` (or a bare ``replay.json`` without a run record) it holds ``users`` users.

Every change is appended to ``RUN/shape.jsonl``: ``{"t": run seconds, "users": Locust's count,
"per_process", "live": most users alive in a process, "rate": upcoming items per wall second,
"response_s", "need", "queued"}``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

from locust import LoadTestShape
from locust.runners import WORKER_REPORT_INTERVAL, Runner

from loadtests.sizing import Decision, LocustCount, ResponseTime, ShareState, Sizer, Sizing
from peakbench.plan.clock import WallClock

KEEP = "peakbench_keep"
"""master → worker ``{"keep": users}``: users the worker keeps (the surplus retires)."""


class Probe(Protocol):
    """Where the shape reads the replay's state and sends its decision (local or master)."""

    def shares(self) -> list[ShareState | None]: ...

    def live_max(self) -> int:
        """Most users alive in any one process."""
        ...

    def keep(self, per_process: int) -> None: ...


def live_users(runner: Runner) -> int:
    """Users of this process that are alive (a finished greenlet may linger in the group)."""
    return sum(1 for g in runner.user_greenlets if not g.dead)


class ReplayShape(LoadTestShape):
    """Self-sizing pool for an open-model replay (see the module docstring)."""

    use_common_options = True  # --users is the fixed pool of a bare replay.json

    def __init__(self) -> None:
        super().__init__()
        self.sizing = Sizing()
        self._sizer: Sizer | None = None
        self._probe: Probe | None = None
        self._clock: WallClock | None = None
        self._count = LocustCount(1)
        self._response = ResponseTime()
        self._log: IO[str] | None = None
        self._last: tuple[int, int] | None = None
        self._tick: tuple[int, float] = (0, 1.0)
        self.now: Callable[[], float] = time.monotonic

    def configure(
        self,
        sizing: Sizing,
        sizer: Sizer | None,
        probe: Probe | None,
        clock: WallClock,
        log: Path | None,
    ) -> None:
        """Set by the locustfile once the replay exists (before the test starts)."""
        self.sizing, self._sizer, self._probe, self._clock = sizing, sizer, probe, clock
        if sizer is not None:
            distributed = sizer.processes > 1 or not isinstance(probe, LocalProbe)
            settle = 2 * WORKER_REPORT_INTERVAL if distributed else 0.0
            self._count = LocustCount(sizer.processes, settle)
            if log is not None:
                self._log = log.open("a", encoding="utf-8")

    def tick(self) -> tuple[int, float]:
        if self._sizer is None or self._probe is None or self._clock is None:
            users = max(1, self.sizing.users)
            return users, float(users)
        assert self.runner is not None
        total = self.runner.stats.total
        response = self._response.update(total.num_requests, total.total_response_time)
        decision = self._sizer.decide(self._clock.now(), response, self._probe.shares())
        self._probe.keep(decision.per_process)
        live = self._probe.live_max()
        users = self._count.update(decision.per_process, live, self.now())
        self._record(decision, users, live)
        if users != self._tick[0]:
            # One dispatch step, up or down: Locust ramps at the spawn rate through the counts
            # in between, and a step above the users alive would spawn users that the next step
            # kills. The same tuple while the count holds: a new one makes Locust re-dispatch.
            self._tick = (users, float(max(users, self._tick[0], 1)))
        return self._tick

    def _record(self, d: Decision, users: int, live: int) -> None:
        if self._log is None or self._clock is None or self._last == (users, d.per_process):
            return
        self._last = (users, d.per_process)
        line = {
            "t": round(self._clock.now(), 3),
            "users": users,
            "per_process": d.per_process,
            "live": live,
            "rate": round(d.rate, 2),
            "response_s": round(d.response_s, 4),
            "need": round(d.need, 2),
            "queued": d.queued,
        }
        self._log.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._log.flush()

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class LocalProbe:
    """One process: the replay's own tallies and this runner's users."""

    def __init__(self, runner: Runner, replay: Any) -> None:
        self._runner = runner
        self._replay = replay  # a loadtests.pool.PooledReplay

    def shares(self) -> list[ShareState | None]:
        r = self._replay
        return [ShareState(r.clock.now(), r.progress.executed, live_users(self._runner))]

    def live_max(self) -> int:
        return live_users(self._runner)

    def keep(self, per_process: int) -> None:
        self._replay.pool.resize(per_process, live_users(self._runner))


class MasterProbe:
    """A master: the workers' last reports (tallies per share, users per worker)."""

    def __init__(self, runner: Any, master: Any) -> None:
        self._runner = runner  # a locust MasterRunner
        self._master = master  # a loadtests.cluster.MasterReplay

    def _users_by_share(self) -> dict[int, int]:
        clients = self._runner.clients
        return {
            index: clients[cid].user_count
            for cid, index in self._master.assigned.items()
            if cid in clients
        }

    def shares(self) -> list[ShareState | None]:
        users = self._users_by_share()
        out: list[ShareState | None] = []
        for index in range(self._master.workers):
            reported = self._master.reported(index)
            if reported is None or index not in users:
                out.append(None)
            else:
                out.append(ShareState(reported[0], reported[1], users[index]))
        return out

    def live_max(self) -> int:
        return max((c.user_count for c in self._runner.clients.values()), default=0)

    def keep(self, per_process: int) -> None:
        self._runner.send_message(KEEP, {"keep": per_process})
