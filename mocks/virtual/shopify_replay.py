"""The schedule replayed against the Shopify-shaped sandbox in store time: Admin GraphQL calls.

Each order becomes an ``orderCreate``, each shipment a ``fulfillmentCreate`` with its tracking
number and carrier (``trackingInfo``), each customer view an ``order`` read of the fulfilment's
``displayStatus`` and events: the calls the Locust user sends in wall time
(:mod:`loadtests.shopify_user`). Every call waits for its slot under the cost bucket and the
create rate (:class:`peakbench.adapters.shopify_pacer.Pacer`) and honours ``THROTTLED``. An item
*starts* when its first call leaves, so an item the pace holds back past ``late_after`` is
late, exactly as a Locust user that cannot keep up; the journal lines are the WooCommerce
replay's (:mod:`mocks.virtual.replay`), so the analysis is the same. Every GraphQL call is also a
line of ``journals/shopify.jsonl`` (cost, throttles, waits).

``orders: precreate`` creates every scheduled order before the first item, from the clock's
current time: a world that starts its clock at ``-precreate_lead`` (:func:`world_lead`)
finishes them before run second 0; any order created later is counted as created in the window.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from mocks.virtual.replay import ScheduleReplay, _Result
from mocks.virtual.transport import Asgi
from peakbench.adapters import shopify as sh
from peakbench.adapters import woocommerce as wc
from peakbench.adapters.shopify_pacer import (
    MAX_RETRIES,
    Pacer,
    ShopifySettings,
    call_line,
    precreate_lead,
)
from peakbench.plan.clock import Clock
from peakbench.plan.schedule import Item

JOURNAL = "shopify.jsonl"

_STARTED: ContextVar[list[float]] = ContextVar("started")
"""When the current item's first call left (each item runs in a task of its own)."""


def world_lead(settings: ShopifySettings, orders: int) -> float:
    """Store seconds before run second 0 the world should start to pre-create ``orders``."""
    if settings.orders != "precreate":
        return 0.0
    return precreate_lead(
        orders, settings.create_per_minute, settings.restore_rate, settings.precreate_margin
    )


class ShopifyScheduleReplay(ScheduleReplay):
    """A :class:`ScheduleReplay` speaking Admin GraphQL with an access token."""

    def __init__(
        self,
        clock: Clock,
        store: Asgi,
        token: str,
        settings: ShopifySettings,
        journal: Path,
        progress: Path,
        scheduled: dict[str, int],
        *,
        seed: int = 0,
        segment_bytes: int,
        max_buffered: int = 5000,
    ) -> None:
        super().__init__(
            clock,
            store,
            wc.Credentials("-", token),
            journal,
            progress,
            scheduled,
            seed=seed,
            segment_bytes=segment_bytes,
            max_buffered=max_buffered,
        )
        self._auth = {}
        self._secrets = (token, token)
        self.token = token
        self.settings = settings
        self.pacer = Pacer(
            settings.bucket_size, settings.restore_rate, settings.create_per_minute, clock.now()
        )
        self._calls = journal.with_name(JOURNAL).open("w", encoding="utf-8")
        self._phase = "window"

    async def run(self, items: Iterable[Item], on_item: Callable[[float], None]) -> None:
        if self.settings.orders != "precreate":
            await super().run(items, on_item)
            return
        schedule = list(items)
        await self._precreate([i for i in schedule if i.kind == "order"], on_item)
        await super().run([i for i in schedule if i.kind != "order"], on_item)

    async def _precreate(self, orders: list[Item], on_item: Callable[[float], None]) -> None:
        """Create every order, in schedule order, one after another under the pace."""
        self._phase = "precreate"
        for item in orders:
            on_item(self.clock.now())
            self._creating.setdefault(item.ref, asyncio.Event())
            await self._execute(item)
        self._phase = "window"

    def close(self) -> None:
        super().close()
        self._calls.close()

    # -- items -------------------------------------------------------------------------------

    async def _execute(self, item: Item) -> None:
        started: list[float] = []
        _STARTED.set(started)
        try:
            if item.kind == "order":
                result = await self._create(item)
            elif item.kind == "ship":
                result = await self._ship(item)
            else:
                result = await self._view(item)
        except Exception as exc:  # a bug here must cost one item, not the whole replay
            result = (False, 0, f"replay error: {exc!r}", None)
        ok, status, error, seen = result
        now = self.clock.now()
        start = started[0] if started else now
        late = start - item.t > self.settings.late_after and self._phase == "window"
        self._record(item, start, now, ok, status, error, seen, late)

    async def _create(self, item: Item) -> _Result:
        order = None
        try:
            status, answer, error = await self._call(sh.create_order(item.ref, self.seed), item)
            if answer is not None:
                try:
                    order = sh.parse_shippable_order(answer.data)
                except sh.ShopifyError as exc:
                    error = str(exc)
            return order is not None, status, error, None
        finally:
            self._creation_ended(item.ref, order)

    async def _order(self, item: Item) -> sh.ShopifyOrder | None:
        order: sh.ShopifyOrder | None = await self._created_order(item.ref)
        return order

    async def _ship(self, item: Item) -> _Result:
        order = await self._order(item)
        if order is None:
            return False, 0, f"order ref {item.ref} was not created", None
        op = sh.fulfil(order.fulfillment_order_ids, item.tracking_number, item.carrier)
        status, answer, error = await self._call(op, item)
        if answer is not None:
            try:
                sh.parse_fulfillment(answer.data)
            except sh.ShopifyError as exc:
                error = str(exc)
        return error is None, status, error, None

    async def _view(self, item: Item) -> _Result:
        order = await self._order(item)
        if order is None:
            return False, 0, f"order ref {item.ref} was not created", None
        op = sh.read_order(order.id, self.settings.events_first)
        status, answer, error = await self._call(op, item)
        seen = None
        if answer is not None:
            try:
                seen = sh.parse_tracking(answer.data).observation
            except sh.ShopifyError as exc:
                error = str(exc)
        return error is None and seen is not None, status, error, seen

    async def _call(self, op: sh.Operation, item: Item) -> tuple[int, sh.Result | None, str | None]:
        """Send ``op`` under the pace, retrying THROTTLED; (status, result, error)."""
        now = self.clock.now
        request = sh.request(op, self.token, self.settings.api_version)
        status, error = 0, "no attempt"
        sent_error: str | None
        for _ in range(MAX_RETRIES + 1):
            asked = now()
            at = self.pacer.reserve(op, asked)
            if at > asked:
                await self.clock.sleep(at - asked)
            self.pacer.sent(op)
            start = now()
            started = _STARTED.get(None)
            if started is not None and not started:
                started.append(start)
            status, content, sent_error = await self._send(request, api=False)
            verdict = self.pacer.judge(op, status, _json(content), now())
            transport = sent_error if status == 0 else None  # no answer: say why
            self._calls.write(
                call_line(op.name, item.ref, self._phase, start, now(), start - asked, status,
                          verdict, transport) + "\n"
            )  # fmt: skip
            if verdict.retry_after is not None:
                await self.clock.sleep(verdict.retry_after)
                error = f"{op.name}: still throttled after {MAX_RETRIES} retries"
                continue
            if verdict.result is not None:
                return status, verdict.result, None
            return status, None, self._scrub(transport or verdict.error or "failed")
        return status, None, error


def _json(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None
