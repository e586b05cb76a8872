"""An action queue with Action Scheduler's semantics, over the ``actions`` table.

What peak behaviour depends on, kept from Action Scheduler (carriers.md §2,
actionscheduler.org/perf): actions wait until their ``scheduled_t``; a *run* is started by
WP-Cron once a ``tick`` (a minute); a run claims batches of ``claim_batch`` due actions, oldest
scheduled first, with ``concurrency`` concurrent batches (queue runners), each running its claimed
actions one after the other until ``time_limit`` store seconds have passed since the run began,
then releasing the claimed actions it did not start. One run at a time: a run that overruns its
tick delays the next one (WP-Cron fires once, not once per missed minute).

``cron="traffic"`` is WP-Cron as shipped: a due tick fires only when a request reaches the site
(full-page caching or a quiet night starves the queue); ``cron="system"`` is a real cron.

Public API for other store modules (the plugin's jobs and inbound webhooks share the queue)::

    queue.register("webhook", handler)           # async handler(Action) -> Complete|Fail|Postpone
    queue.enqueue("webhook", payload, due_t)      # due_t: run second, default now; returns the id
    queue.on_traffic(t)                           # call once per incoming store request

Statuses: ``pending`` (a claimed action is pending with ``claimed_t`` set), ``running``,
``complete``, ``failed``. All times are run seconds of the injected clock. The backlog is
sampled into ``queue_samples`` every tick, whether or not cron fires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from mocks.store.db import StoreDB
from peakbench.plan.clock import Clock

log = logging.getLogger(__name__)

PENDING, RUNNING, COMPLETE, FAILED = "pending", "running", "complete", "failed"


@dataclass(frozen=True, slots=True)
class Action:
    id: int
    hook: str
    args: dict[str, Any]
    scheduled_t: float
    attempts: int
    """Times the action has been started, this start included."""


@dataclass(frozen=True, slots=True)
class Complete:
    """The action did its job."""


@dataclass(frozen=True, slots=True)
class Fail:
    """The action failed; ``stop_run`` also ends the current queue run."""

    error: str
    stop_run: bool = False


@dataclass(frozen=True, slots=True)
class Postpone:
    """Back to pending, due again at run second ``at`` (with new ``args`` if given)."""

    at: float
    args: dict[str, Any] | None = None
    error: str = ""


Result = Complete | Fail | Postpone
Handler = Callable[[Action], Awaitable[Result]]

MIN_POSTPONE_S = 1.0
"""A postponed action is never due again in the same instant (a ``Retry-After: 0`` would spin)."""
RETENTION_S = 30 * 86400.0
"""Completed actions older than this (store seconds since they were due) are deleted, as Action
Scheduler's queue cleaner does (``action_scheduler_retention_period``: a month) ..."""
CLEAN_BATCH = 20
"""... at most this many at the start of each queue run (its cleaner's batch size), so the
table holds a month of history however long the store runs (docs/soak.md)."""


class ActionQueue:
    """Schedule, claim, run and settle actions; ``run_forever`` is the WP-Cron-driven runner."""

    def __init__(
        self,
        db: StoreDB,
        clock: Clock,
        *,
        claim_batch: int = 25,
        concurrency: int = 1,
        time_limit: float = 30.0,
        tick: float = 60.0,
        cron: Literal["system", "traffic"] = "system",
    ) -> None:
        self.db = db
        self.clock = clock
        self.claim_batch = claim_batch
        self.concurrency = concurrency
        self.time_limit = time_limit
        self.tick = tick
        self.cron = cron
        self.handlers: dict[str, Handler] = {}
        self.runs = 0
        self.next_cron = max(clock.now(), 0.0)
        """Run second the next WP-Cron run is due. A store started before the run's second 0
        (the wall-time warm-up) ticks from 0, on the grid of a store started at 0 (the
        virtual world): the two clocks' polls then fall at the same instants."""
        self.last_traffic = -math.inf
        """Run second of the latest store request (``on_traffic``)."""
        self._traffic = asyncio.Event()
        self._stop_run = False

    def register(self, hook: str, handler: Handler) -> None:
        """Run ``handler`` for actions of ``hook`` (a later registration replaces it)."""
        self.handlers[hook] = handler

    def enqueue(self, hook: str, args: dict[str, Any], due_t: float | None = None) -> int:
        """Add an action of ``hook`` with JSON-able ``args``, due at run second ``due_t``
        (default: now); returns its id. It runs on the next cron run at or after ``due_t``."""
        return self.schedule(hook, args, self.clock.now() if due_t is None else due_t)

    def on_traffic(self, t: float | None = None) -> None:
        """A request reached the store at run second ``t`` (default now): WP-Cron may fire.
        Cheap enough to call on every request."""
        self.last_traffic = max(self.last_traffic, self.clock.now() if t is None else t)
        self._traffic.set()

    # -- table operations (each one short transaction) --------------------------------------------

    def schedule(self, hook: str, args: dict[str, Any], at: float) -> int:
        """Add a pending action due at run second ``at``; returns its id."""
        cur = self.db.write_one(
            "INSERT INTO actions(hook, args, scheduled_t, status, attempts) "
            "VALUES (?, ?, ?, 'pending', 0)",
            (hook, orjson.dumps(args).decode(), round(at, 3)),
        )
        return int(cur.lastrowid or 0)

    def claim(self, limit: int | None = None) -> list[Action]:
        """Claim up to ``limit`` (default ``claim_batch``) due, unclaimed pending actions."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT id, hook, args, scheduled_t, attempts FROM actions WHERE status = ? "
                "AND claimed_t IS NULL AND scheduled_t <= ? ORDER BY scheduled_t, id LIMIT ?",
                (PENDING, now, limit or self.claim_batch),
            ).fetchall()
            conn.executemany(
                "UPDATE actions SET claimed_t = ? WHERE id = ?", [(now, r["id"]) for r in rows]
            )
        return [
            Action(r["id"], r["hook"], orjson.loads(r["args"]), r["scheduled_t"], r["attempts"])
            for r in rows
        ]

    def release(self, ids: Iterable[int]) -> None:
        """Give claimed (or interrupted) actions back to the queue."""
        rows = [(PENDING, i) for i in ids]
        if not rows:  # the usual case: a runner ends with its claimed batch done
            return
        with self.db.transaction() as conn:
            conn.executemany("UPDATE actions SET status = ?, claimed_t = NULL WHERE id = ?", rows)

    def _begin(self, action: Action) -> Action:
        self.db.write_one(
            "UPDATE actions SET status = ?, attempts = attempts + 1 WHERE id = ?",
            (RUNNING, action.id),
        )
        return Action(action.id, action.hook, action.args, action.scheduled_t, action.attempts + 1)

    def _settle(self, action: Action, result: Result) -> None:
        now = round(self.clock.now(), 3)
        write = self.db.write_one  # one statement each: all or nothing by itself
        if isinstance(result, Complete):
            write(
                "UPDATE actions SET status = ?, finished_t = ? WHERE id = ?",
                (COMPLETE, now, action.id),
            )
        elif isinstance(result, Fail):
            write(
                "UPDATE actions SET status = ?, finished_t = ?, last_error = ? WHERE id = ?",
                (FAILED, now, result.error, action.id),
            )
        else:
            at = max(result.at, self.clock.now() + MIN_POSTPONE_S)
            args = action.args if result.args is None else result.args
            write(
                "UPDATE actions SET status = ?, scheduled_t = ?, args = ?, claimed_t = NULL, "
                "last_error = ? WHERE id = ?",
                (
                    PENDING,
                    round(at, 3),
                    orjson.dumps(args).decode(),
                    result.error or None,
                    action.id,
                ),
            )

    def recover(self) -> None:
        """After a restart: unclaim pending actions, fail the ones a dead process left running."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE actions SET claimed_t = NULL WHERE status = ?", (PENDING,))
            conn.execute(
                "UPDATE actions SET status = ?, last_error = 'abandoned by a dead runner' "
                "WHERE status = ?",
                (FAILED, RUNNING),
            )

    def counts(self) -> dict[str, int]:
        """Actions per status (claimed ones count as pending)."""
        rows = self.db.conn.execute("SELECT status, count(*) FROM actions GROUP BY status")
        out = {PENDING: 0, RUNNING: 0, COMPLETE: 0, FAILED: 0}
        out.update({status: n for status, n in rows})
        return out

    def open_args(self, hook: str) -> list[dict[str, Any]]:
        """Arguments of the ``hook`` actions still pending or running."""
        rows = self.db.conn.execute(
            "SELECT args FROM actions WHERE hook = ? AND status IN (?, ?)", (hook, PENDING, RUNNING)
        )
        return [orjson.loads(r[0]) for r in rows]

    def sample(self) -> None:
        """Record the backlog (``queue_samples``) at the current store time."""
        now = self.clock.now()
        pending, due, running = self.db.conn.execute(
            "SELECT coalesce(sum(status = 'pending'), 0), "
            "coalesce(sum(status = 'pending' AND scheduled_t <= ?), 0), "
            "coalesce(sum(status = 'running'), 0) FROM actions "
            "WHERE status IN ('pending', 'running')",
            (now,),
        ).fetchone()
        self.db.record_sample(now, pending, due, running)

    # -- running ----------------------------------------------------------------------------------

    def stop_run(self) -> None:
        """End the current run after the actions already started (used by ``stop-run``)."""
        self._stop_run = True

    def clean(self) -> int:
        """Delete up to :data:`CLEAN_BATCH` complete actions due more than :data:`RETENTION_S`
        ago (failed ones stay, as Action Scheduler keeps them); returns how many."""
        horizon = self.clock.now() - RETENTION_S
        with self.db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM actions WHERE id IN (SELECT id FROM actions WHERE status = ? AND "
                "scheduled_t < ? ORDER BY scheduled_t LIMIT ?)",
                (COMPLETE, horizon, CLEAN_BATCH),
            )
        return cur.rowcount

    async def run_once(self) -> int:
        """One queue run: ``concurrency`` runners claim and work through batches until the time
        limit, a ``stop_run`` or an empty queue; returns how many actions it executed. The run
        starts with the cleaner (:meth:`clean`)."""
        self.runs += 1
        self.clean()
        self._stop_run = False
        began = self.clock.now()
        counts = await asyncio.gather(*(self._runner(began) for _ in range(self.concurrency)))
        return sum(counts)

    def _in_time(self, began: float) -> bool:
        return not self._stop_run and self.clock.now() - began < self.time_limit

    async def _runner(self, began: float) -> int:
        executed = 0
        while self._in_time(began):
            todo = deque(self.claim())
            if not todo:
                break
            try:
                while todo and self._in_time(began):
                    await self._execute(todo.popleft())
                    executed += 1
            finally:
                self.release(a.id for a in todo)
        return executed

    async def _execute(self, claimed: Action) -> None:
        action = self._begin(claimed)
        handler = self.handlers.get(action.hook)
        try:
            result = await handler(action) if handler else Fail(f"no handler for {action.hook}")
        except asyncio.CancelledError:
            self.release([action.id])
            raise
        except Exception as exc:  # a failing action is data, the queue goes on
            result = Fail(f"{type(exc).__name__}: {exc}")
        self._settle(action, result)
        if isinstance(result, Fail) and result.stop_run:
            self._stop_run = True

    def cron_fires(self, now: float) -> bool:
        """Whether WP-Cron starts a run at run second ``now``: the tick is due and, with
        ``cron="traffic"``, a request arrived since it became due."""
        if now < self.next_cron:
            return False
        return self.cron == "system" or self.last_traffic >= self.next_cron

    async def cron_step(self) -> int | None:
        """Run the queue if cron fires now; returns the actions executed, None if it did not
        fire. The next tick is the first of the tick grid after the run ends (WP-Cron
        reschedules a late event from now; missed ticks are not made up)."""
        if not self.cron_fires(self.clock.now()):
            return None
        try:
            return await self.run_once()
        finally:
            late = max(0.0, self.clock.now() - self.next_cron)
            self.next_cron += (late // self.tick + 1) * self.tick

    async def _sample_forever(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:  # a failed sample costs one point of the series
                log.exception("queue sample failed")
            await self.clock.sleep(self.tick)

    async def run_forever(self, tick: float | None = None) -> None:
        """WP-Cron: run the queue whenever cron fires, sampling the backlog every tick, until
        cancelled."""
        if tick is not None:
            self.tick = tick
        sampler = asyncio.create_task(self._sample_forever(), name="store-queue-sampler")
        try:
            while True:
                try:
                    await self.cron_step()
                except Exception:  # a broken run must not stop WP-Cron for the rest of the run
                    log.exception("queue run failed")
                wait = self.next_cron - self.clock.now()
                if wait > 0:
                    await self.clock.sleep(wait)
                elif not self.cron_fires(self.clock.now()):  # starved: wait for a request
                    self._traffic.clear()
                    if self.last_traffic < self.next_cron:
                        await self._traffic.wait()
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
