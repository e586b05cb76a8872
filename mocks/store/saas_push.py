"""The ``saas-push`` preset (TrackShip for WooCommerce): register, then wait for webhooks.

:meth:`SaasPush.register` registers a shipped number with the aggregator synchronously (the
store's request waits, as WordPress's does); the aggregator's webhooks arrive as
``WEBHOOK_HOOK`` actions on the queue (enqueued by the store's webhook route) and
:meth:`SaasPush.apply_webhook` stores them. Nothing polls.
"""

from __future__ import annotations

from mocks.store.carrier_calls import CarrierCalls
from mocks.store.config import CarrierEndpoint
from mocks.store.db import StoreDB
from mocks.store.presets import register_body, webhook_tracking
from mocks.store.queue import Action as QueuedAction
from mocks.store.queue import ActionQueue, Complete, Fail, Result
from peakbench.plan.clock import Clock

REGISTER_HOOK = "peakbench_register_retry"
WEBHOOK_HOOK = "webhook"
"""Inbound webhooks: ``queue.enqueue(WEBHOOK_HOOK, <TrackShip JSON body>)``."""
STORE_DOMAIN = "sandbox.peakbench.test"


class SaasPush:
    """Registration with ``aggregator`` (None: not this preset) and the webhooks it sends;
    ``register_retry``: store seconds before the one retry of a transport error."""

    def __init__(
        self,
        aggregator: CarrierEndpoint | None,
        register_retry: float,
        calls: CarrierCalls,
        queue: ActionQueue,
        db: StoreDB,
        clock: Clock,
    ) -> None:
        self.aggregator = aggregator
        self.register_retry = register_retry
        self.calls = calls
        self.queue = queue
        self.db = db
        self.clock = clock

    async def register(self, order_id: int, number: str, retry: bool = True) -> str:
        """Register ``number`` with the aggregator; returns the outcome. A transport error is
        retried once, ``register_retry`` later (on the queue); an HTTP error is stored (its
        ``status_msg``) and never retried, as TrackShip for WooCommerce does."""
        agg = self.aggregator
        if agg is None:
            return "error"
        body = register_body(
            order_id, number, self._provider(number), agg.api_key or "", STORE_DOMAIN
        )
        reply, msg = await self.calls.register(agg, body)
        now = self.clock.now()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO registrations VALUES (?, ?, ?, ?)",
                (number, round(now, 3), reply.status, msg),
            )
        if reply.status == 0 and retry:
            self.queue.enqueue(
                REGISTER_HOOK,
                {"order_id": order_id, "number": number},
                now + self.register_retry,
            )
        return reply.outcome

    async def retry(self, action: QueuedAction) -> Result:
        args = action.args
        await self.register(int(args.get("order_id", 0)), str(args.get("number", "")), retry=False)
        return Complete()

    def _provider(self, number: str) -> str:
        row = self.db.shipment(number)
        return row.carrier if row is not None else ""

    async def apply_webhook(self, action: QueuedAction) -> Result:
        """Store a TrackShip-style webhook (the action's args are its JSON body). A push that
        shows fewer events than the store already does (a late retry) changes nothing."""
        pushed = webhook_tracking(action.args)
        if pushed is None:
            return Fail("webhook without a tracking number or an events list")
        row = self.db.shipment(pushed.tracking_number)
        if row is None:
            return Fail(f"no tracking item {pushed.tracking_number!r}")
        self.calls.counters.webhooks += 1
        if len(pushed.events) >= row.shown_count:
            with self.db.transaction():
                self.db.apply_tracking(
                    pushed.tracking_number, pushed.events, pushed.status, self.clock.now()
                )
        return Complete()
