"""The sandbox's reference logistics plugin: direct polling, like bh-wc-shipment-tracking-updates.

Every ``interval`` a recurring scheduling action enqueues one ``poll_batch`` action per
``batch_size`` open shipments of a carrier (skipping shipments already in a pending or running
poll). A poll action POSTs its numbers to the carrier's ``/v1/trackings/batch`` in calls of at
most 40, stores what comes back, and logs a tracking change whenever what the store shows moves.
Refusals (429/403/401) follow ``on_throttle``; other errors and timeouts are recorded and ignored,
as most real plugins do (carriers.md §2). Decisions live in ``policy.py``; this module does I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from mocks.store.config import CarrierEndpoint
from mocks.store.db import StoreDB
from mocks.store.policy import (
    CARRIER_BATCH_LIMIT,
    Reply,
    chunks,
    classify,
    on_refusal,
    plan_polls,
    request_timeout_wall,
)
from mocks.store.queue import Action as QueuedAction
from mocks.store.queue import ActionQueue, Complete, Fail, Postpone, Result
from peakbench.clock import Clock
from peakbench.config.store import PluginSpec

SCHEDULE_HOOK = "peakbench_poll_schedule"
POLL_HOOK = "peakbench_poll_batch"


@dataclass(slots=True)
class PluginCounters:
    """What the plugin did since start: scheduling passes and carrier calls by outcome."""

    runs: int = 0
    requests: int = 0
    ok: int = 0
    throttled: int = 0
    blocked: int = 0
    errors: int = 0
    """Other HTTP errors, malformed answers, timeouts and connection failures."""


class Plugin:
    """The direct-polling plugin; ``start``/``stop`` run its queue runner in the background."""

    def __init__(
        self,
        spec: PluginSpec,
        carriers: Mapping[str, CarrierEndpoint],
        db: StoreDB,
        clock: Clock,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.spec = spec
        self.carriers = dict(carriers)
        self.db = db
        self.clock = clock
        self.queue = ActionQueue(
            db,
            clock,
            claim_batch=spec.claim_batch,
            concurrency=spec.concurrency,
            time_limit=spec.time_limit,
        )
        self.queue.register(SCHEDULE_HOOK, self.schedule_pass)
        self.queue.register(POLL_HOOK, self.poll)
        self.counters = PluginCounters()
        # Never pick up proxies from the environment: the plugin talks to local mocks only.
        self._client = client or httpx.AsyncClient(trust_env=False)
        self._timeout = request_timeout_wall(spec.request_timeout, clock.spec.scale)
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def ensure_scheduled(self) -> None:
        """Make sure the recurring scheduling action exists (first pass: now)."""
        if not self.queue.open_args(SCHEDULE_HOOK):
            self.queue.schedule(SCHEDULE_HOOK, {}, self.clock.now())

    async def start(self) -> None:
        """Recover the queue after a restart and start the WP-Cron runner task."""
        self.queue.recover()
        self.ensure_scheduled()
        self._task = asyncio.create_task(
            self.queue.run_forever(self.spec.tick), name="store-queue-runner"
        )

    async def stop(self) -> None:
        """Stop the runner (an interrupted action goes back to pending) and close the client."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._client.aclose()

    def stats(self) -> dict[str, int]:
        return asdict(self.counters)

    # -- actions ----------------------------------------------------------------------------------

    async def schedule_pass(self, action: QueuedAction) -> Result:
        """Enqueue a poll per chunk of open shipments, then schedule the next pass."""
        self.counters.runs += 1
        now = self.clock.now()
        busy = {n for args in self.queue.open_args(POLL_HOOK) for n in args.get("numbers", ())}
        for carrier, numbers in plan_polls(self.db.open_shipments(), busy, self.spec.batch_size):
            self.queue.schedule(POLL_HOOK, {"carrier": carrier, "numbers": numbers}, now)
        nxt = action.scheduled_t + self.spec.interval
        if nxt <= now:  # passes missed while the queue was behind are not made up
            nxt += ((now - nxt) // self.spec.interval + 1) * self.spec.interval
        self.queue.schedule(SCHEDULE_HOOK, {}, nxt)
        return Complete()

    async def poll(self, action: QueuedAction) -> Result:
        """Poll one chunk of shipments of one carrier, in calls of at most 40 numbers."""
        carrier = self.carriers.get(str(action.args.get("carrier")))
        if carrier is None:
            return Fail(f"unknown carrier {action.args.get('carrier')!r}")
        calls = chunks(list(action.args.get("numbers", ())), CARRIER_BATCH_LIMIT)
        for i, numbers in enumerate(calls):
            reply = await self.fetch(carrier, numbers)
            if reply.outcome == "ok":
                self._apply(reply, numbers)
                continue
            decision = on_refusal(self.spec.on_throttle, reply, action.attempts, self.spec.tick)
            reason = f"{carrier.name} answered {reply.status} ({reply.outcome})"
            if decision.step == "stop-run":
                return Fail(reason, stop_run=True)
            if decision.step == "postpone":
                rest = [n for call in calls[i:] for n in call]
                return Postpone(
                    self.clock.now() + decision.delay,
                    {"carrier": carrier.name, "numbers": rest},
                    reason,
                )
        return Complete()

    # -- I/O --------------------------------------------------------------------------------------

    async def fetch(self, carrier: CarrierEndpoint, numbers: list[str]) -> Reply:
        """One batch call; the outcome is recorded in ``plugin_requests`` and the counters."""
        t0 = self.clock.now()
        w0 = time.monotonic()
        headers = {"X-Api-Key": carrier.api_key} if carrier.api_key else {}
        try:
            resp = await self._client.post(
                f"{carrier.base_url}/v1/trackings/batch",
                json={"tracking_numbers": numbers},
                headers=headers,
                timeout=self._timeout,
            )
            reply = classify(resp.status_code, _json_or_none(resp), resp.headers)
        except httpx.TimeoutException:
            reply = Reply(0, "timeout")
        except httpx.HTTPError:
            reply = Reply(0, "error")
        wall = time.monotonic() - w0
        with self.db.transaction():
            self.db.record_request(
                t0,
                carrier.name,
                len(numbers),
                reply.status,
                reply.outcome,
                self.clock.now() - t0,
                wall,
            )
        self._count(reply)
        return reply

    def _count(self, reply: Reply) -> None:
        c = self.counters
        c.requests += 1
        if reply.outcome == "ok":
            c.ok += 1
        elif reply.outcome == "throttled":
            c.throttled += 1
        elif reply.outcome == "blocked":
            c.blocked += 1
        else:
            c.errors += 1

    def _apply(self, reply: Reply, asked: list[str]) -> None:
        now = self.clock.now()
        wanted = set(asked)
        with self.db.transaction():
            for tracking in reply.trackings:
                number = tracking["tracking_number"]
                if number in wanted:
                    status = str(tracking.get("status") or "pending")
                    self.db.apply_tracking(number, tracking["events"], status, now)
            self.db.touch((n for n in reply.not_found if n in wanted), now)


def _json_or_none(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None
