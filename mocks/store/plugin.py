"""The sandbox's reference logistics plugin, in four presets (reference/carriers.md §2).

- ``direct-polling`` (bh-wc-shipment-tracking-updates): every ``interval`` a recurring
  scheduling action enqueues one ``poll_batch`` action per ``batch_size`` open shipments of a
  carrier (skipping shipments already in a pending or running poll). A poll action POSTs its
  numbers to the carrier's ``/v1/trackings/batch`` in calls of at most 40 and stores what comes
  back. Refusals follow ``on_throttle``; other errors and timeouts are recorded and ignored.
- ``well-behaved``: the same polls behind a per-carrier :class:`~mocks.store.presets.Guard`
  (token bucket under ``budget_per_day``, Retry-After, backoff with jitter, circuit breaker).
- ``live-refresh``: :meth:`Plugin.on_view` refreshes an order's shipments from the carrier before
  its tracking page renders when their last check is older than ``ttl``; a slow background poll
  covers the rest.
- ``saas-push`` (TrackShip): :meth:`Plugin.on_ship` registers the number with the aggregator
  synchronously; its webhooks arrive as ``webhook`` actions on the queue (enqueued by the
  store's webhook route) and are stored (:mod:`mocks.store.saas_push`). Nothing polls.

What the store app calls: ``plugin.on_traffic(t)`` on every request, ``await
plugin.on_ship(order_id, number)`` after a shipment is added, ``await plugin.on_view(order_id)``
before rendering a tracking page. Each is a no-op for presets that do not use it. Decisions
live in ``policy.py`` and ``presets.py``; the calls to carriers in ``carrier_calls.py``; this
module holds the queue, the polling strategies and what the store app calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Mapping
from dataclasses import asdict

import httpx

from mocks.store.carrier_calls import CarrierCalls, Client
from mocks.store.config import CarrierEndpoint
from mocks.store.db import StoreDB
from mocks.store.policy import (
    CARRIER_BATCH_LIMIT,
    Reply,
    chunks,
    on_refusal,
    plan_polls,
    request_timeout_wall,
)
from mocks.store.presets import Guard, backoff_delay
from mocks.store.queue import Action as QueuedAction
from mocks.store.queue import ActionQueue, Complete, Fail, Postpone, Result
from mocks.store.saas_push import REGISTER_HOOK, WEBHOOK_HOOK, SaasPush
from peakbench.config.store import PluginSpec
from peakbench.plan.clock import Clock

SCHEDULE_HOOK = "peakbench_poll_schedule"
POLL_HOOK = "peakbench_poll_batch"


class Plugin:
    """The plugin of one preset; ``start``/``stop`` run its queue runner in the background."""

    def __init__(
        self,
        spec: PluginSpec,
        carriers: Mapping[str, CarrierEndpoint],
        db: StoreDB,
        clock: Clock,
        *,
        client: Client | None = None,
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
            tick=spec.tick,
            cron=spec.cron,
        )
        self.queue.register(SCHEDULE_HOOK, self.schedule_pass)
        self.queue.register(POLL_HOOK, self.poll)
        self.aggregator = self._aggregator()
        # Never pick up proxies from the environment: the plugin talks to local mocks only.
        timeout = (
            spec.request_timeout  # store seconds: the in-process transport times out on them
            if clock.virtual
            else request_timeout_wall(spec.request_timeout, clock.spec.scale)
        )
        self.calls = CarrierCalls(client or httpx.AsyncClient(trust_env=False), timeout, db, clock)
        self.counters = self.calls.counters
        self.push = SaasPush(
            self.aggregator, spec.register_retry, self.calls, self.queue, db, clock
        )
        self.queue.register(REGISTER_HOOK, self.push.retry)
        self.queue.register(WEBHOOK_HOOK, self.push.apply_webhook)
        self._task: asyncio.Task[None] | None = None
        self._guards: dict[str, Guard] = {}
        self._rng = random.Random(f"{spec.strategy}:{clock.spec.start_epoch}")
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        self._quiet_until: dict[str, float] = {}
        self.before_refusal: Callable[[], None] | None = None
        """Called once, when a carrier first refuses a poll, before ``on_throttle`` is read
        (a virtual world forks its branches there: :mod:`mocks.virtual.branch`)."""

    @property
    def polls(self) -> bool:
        return self.spec.strategy != "saas-push"

    def _aggregator(self) -> CarrierEndpoint | None:
        if self.spec.strategy != "saas-push":
            return None
        if self.spec.aggregator is not None:
            return self.carriers.get(self.spec.aggregator)
        return next((c for c in self.carriers.values() if c.personality == "trackship"), None)

    def shipping_carriers(self) -> set[str]:
        """Carriers that ship parcels (aggregators only relay)."""
        return {n for n, c in self.carriers.items() if c.personality != "trackship"}

    # -- lifecycle --------------------------------------------------------------------------------

    def ensure_scheduled(self) -> None:
        """Make sure the recurring scheduling action exists (first pass: now, or the run's
        second 0 for a store started before it, as the queue's ticks)."""
        if self.polls and not self.queue.open_args(SCHEDULE_HOOK):
            self.queue.schedule(SCHEDULE_HOOK, {}, max(self.clock.now(), 0.0))

    async def start(self) -> None:
        """Recover the queue after a restart and start the WP-Cron runner task."""
        self.queue.recover()
        self.ensure_scheduled()
        self._task = asyncio.create_task(self.queue.run_forever(), name="store-queue-runner")

    async def stop(self) -> None:
        """Stop the runner (an interrupted action goes back to pending) and close the client."""
        tasks = [t for t in (self._task, *self._refreshing.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        await self.calls.client.aclose()

    def stats(self) -> dict[str, int]:
        return asdict(self.counters)

    # -- what the store app calls -----------------------------------------------------------------

    def on_traffic(self, t: float | None = None) -> None:
        """A request reached the store (WP-Cron may fire: ``cron: traffic``)."""
        self.queue.on_traffic(t)

    async def on_ship(self, order_id: int, number: str) -> None:
        """A shipment was added: saas-push registers it with the aggregator, synchronously
        (the caller's request waits, as WordPress's does). Never raises."""
        if self.aggregator is not None:
            await self.push.register(order_id, number)

    async def on_view(self, order_id: int) -> None:
        """A tracking page of ``order_id`` is about to render: live-refresh refreshes its open
        shipments whose last check is older than ``ttl`` (one call per carrier; concurrent
        views of the same parcel share the call). Never raises."""
        if self.spec.strategy != "live-refresh":
            return
        now = self.clock.now()
        rows = self.db.last_checked(order_id)
        waits: list[asyncio.Task[None]] = []
        todo: dict[str, list[str]] = {}
        for carrier, number, checked in rows:
            if number in self._refreshing:
                waits.append(self._refreshing[number])
                continue
            stale = checked is None or now - checked >= self.spec.ttl
            if stale and carrier in self.carriers and self._quiet_until.get(carrier, -1.0) <= now:
                todo.setdefault(carrier, []).append(number)
        for carrier, numbers in todo.items():
            task = asyncio.create_task(self._refresh(self.carriers[carrier], numbers))
            for n in numbers:
                self._refreshing[n] = task
            waits.append(task)
        if waits:
            await asyncio.gather(*waits, return_exceptions=True)

    async def _refresh(self, carrier: CarrierEndpoint, numbers: list[str]) -> None:
        try:
            for number in numbers:  # what a page view needs: the single-tracking route
                asked = self.clock.now()
                reply = await self.calls.fetch(carrier, [number], single=True)
                if reply.outcome == "ok":
                    self._apply(reply, [number])
                    with self.db.transaction():  # the answer is as old as the question
                        self.db.touch([number], asked)
                elif reply.outcome in ("throttled", "blocked"):  # show the cache, stop asking
                    wait = reply.retry_after if reply.retry_after is not None else self.spec.ttl
                    self._quiet_until[carrier.name] = self.clock.now() + wait
                    return
        finally:
            for n in numbers:
                self._refreshing.pop(n, None)

    # -- polling ----------------------------------------------------------------------------------

    async def schedule_pass(self, action: QueuedAction) -> Result:
        """Enqueue a poll per chunk of open shipments, then schedule the next pass."""
        self.counters.runs += 1
        now = self.clock.now()
        busy = {n for args in self.queue.open_args(POLL_HOOK) for n in args.get("numbers", ())}
        open_ = self.db.open_shipments(self.shipping_carriers())
        for carrier, numbers in plan_polls(open_, busy, self.spec.batch_size):
            self.queue.schedule(POLL_HOOK, {"carrier": carrier, "numbers": numbers}, now)
        nxt = action.scheduled_t + self.spec.interval
        if nxt <= now:  # passes missed while the queue was behind are not made up
            nxt += ((now - nxt) // self.spec.interval + 1) * self.spec.interval
        self.queue.schedule(SCHEDULE_HOOK, {}, nxt)
        return Complete()

    def guard(self, carrier: str) -> Guard | None:
        """The well-behaved preset's guard of ``carrier`` (None for the other presets)."""
        if self.spec.strategy != "well-behaved":
            return None
        if carrier not in self._guards:
            self._guards[carrier] = Guard.of(self.spec, self.clock.now())
        return self._guards[carrier]

    async def poll(self, action: QueuedAction) -> Result:
        """Poll one chunk of shipments of one carrier, in calls of at most 40 numbers."""
        carrier = self.carriers.get(str(action.args.get("carrier")))
        if carrier is None:
            return Fail(f"unknown carrier {action.args.get('carrier')!r}")
        guard = self.guard(carrier.name)
        calls = chunks(list(action.args.get("numbers", ())), CARRIER_BATCH_LIMIT)
        for i, numbers in enumerate(calls):
            rest = {"carrier": carrier.name, "numbers": [n for c in calls[i:] for n in c]}
            if guard is not None and (wait := guard.wait(self.clock.now())) > 0:
                return Postpone(self.clock.now() + wait, rest, "waiting for the call budget")
            reply = await self.calls.fetch(carrier, numbers)
            if guard is not None:
                guard.record(reply, self.clock.now())
            if reply.outcome == "ok":
                self._apply(reply, numbers)
                continue
            reason = f"{carrier.name} answered {reply.status} ({reply.outcome})"
            if guard is not None:  # refusals and errors alike: back off, never hammer
                s = self.spec
                delay = backoff_delay(
                    reply, action.attempts, s.backoff, s.backoff_max, s.jitter, self._rng
                )
                delay = max(delay, guard.open_until - self.clock.now())
                return Postpone(self.clock.now() + delay, rest, reason)
            if self.before_refusal is not None and reply.outcome in ("throttled", "blocked"):
                hook, self.before_refusal = self.before_refusal, None
                hook()
            decision = on_refusal(self.spec.on_throttle, reply, action.attempts, self.spec.tick)
            if decision.step == "stop-run":
                return Fail(reason, stop_run=True)
            if decision.step == "postpone":
                return Postpone(self.clock.now() + decision.delay, rest, reason)
        return Complete()

    # -- storing what came back -------------------------------------------------------------------

    def _apply(self, reply: Reply, asked: list[str]) -> None:
        now = self.clock.now()
        wanted = set(asked)
        with self.db.transaction():
            self.db.apply_trackings(
                [
                    (t["tracking_number"], t["events"], str(t.get("status") or "pending"))
                    for t in reply.trackings
                    if t["tracking_number"] in wanted
                ],
                now,
            )
            self.db.touch((n for n in reply.not_found if n in wanted), now)
