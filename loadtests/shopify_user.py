"""The Locust user that executes the replay schedule against a Shopify store (the Shopify-shaped
sandbox, or a real development store) through the Admin GraphQL API.

It is the WooCommerce :class:`~loadtests.users.ReplayUser` with other requests: an order is an
``orderCreate``, a shipment a ``fulfillmentCreate`` with the tracking number and carrier
(``trackingInfo``), a view an ``order`` read of the fulfilment's ``displayStatus`` and events.
Every call waits for its slot under the process's one :class:`~peakbench.adapters.shopify_pacer.
Pacer` (cost bucket, create rate) and honours ``THROTTLED``; an item starts when its first call
leaves, so an item the pace holds back is late exactly as one no user was free for. The journal
lines are the WooCommerce user's; each GraphQL call is also a line of ``journals/shopify.jsonl``.
With ``orders: precreate`` the schedule hands out every order first (:meth:`Replay.open`), and
the user creates it at once under the pace, before run second 0, instead of at its due time.
"""

from __future__ import annotations

import json
import time
from typing import IO, Any, ClassVar, cast

import gevent
from locust import task

from loadtests.orders import OrderBook
from loadtests.replay import Outcome
from loadtests.users import NAMES, ReplayUser
from peakbench.adapters import shopify as sh
from peakbench.adapters.shopify_pacer import MAX_RETRIES, Pacer, ShopifySettings, call_line
from peakbench.plan.schedule import Item


class ShopifyReplayUser(ReplayUser):
    """Executes items of :attr:`replay` as Admin GraphQL calls; configured by the locustfile."""

    abstract = True  # the locustfile picks it for a Shopify run (environment.user_classes)
    settings: ClassVar[ShopifySettings]
    token: ClassVar[str]
    pacer: ClassVar[Pacer]
    calls: ClassVar[IO[str]]
    """``journals/shopify.jsonl``: one line per GraphQL call."""
    book: ClassVar[OrderBook]
    """ref → :class:`~peakbench.adapters.shopify.ShopifyOrder` (the book is handle-agnostic)."""

    _first: float | None = None

    @task
    def execute_all(self) -> None:
        """As :meth:`ReplayUser.execute_all`; a pre-created order does not wait for its due time,
        and an item starts when its first call leaves."""
        from locust.exception import StopUser

        if not self.ready.wait(self.ready_timeout_s):
            raise StopUser()
        replay = self.replay
        wall_epoch, scale = replay.config.clock.wall_epoch, replay.config.clock.scale
        drop_after = replay.config.drop_after
        early = self.settings.orders == "precreate"
        execute = {"order": self._create, "ship": self._ship, "view": self._view}
        while (item := replay.take()) is not None:
            try:
                ahead = early and item.kind == "order"
                delay = wall_epoch + item.t / scale - time.time()
                if delay > 0 and not ahead:
                    gevent.sleep(delay)
                start = (time.time() - wall_epoch) * scale
                if drop_after is not None and start - item.t > drop_after:
                    replay.drop(item, start)
                    continue
                self._first = None
                try:
                    outcome = execute.get(item.kind, self._view)(item)
                except Exception as exc:  # a bug here must cost one item, not the whole replay
                    outcome = Outcome(False, 0, f"replay error: {exc!r}")
                first = self._first if self._first is not None else start
                replay.record(item, first, (time.time() - wall_epoch) * scale, outcome)
            finally:
                replay.release()
        raise StopUser()

    # -- items -------------------------------------------------------------------------------

    def _create(self, item: Item) -> Outcome:
        self.book.begin(item.ref)
        order = None
        try:
            op = sh.create_order(item.ref, self.replay.config.seed)
            status, answer, error = self._call(op, item, NAMES["order"])
            if answer is not None:
                try:
                    order = sh.parse_shippable_order(answer.data)
                except sh.ShopifyError as exc:
                    error = str(exc)
            return Outcome(order is not None, status, error)
        finally:
            self.book.end(item.ref, cast(Any, order))

    def _order(self, item: Item) -> sh.ShopifyOrder | None:
        got = self.book.get(item.ref, self.connection_timeout + self.network_timeout)
        return cast(sh.ShopifyOrder | None, got)

    def _ship(self, item: Item) -> Outcome:
        order = self._order(item)
        if order is None:
            return Outcome(False, 0, f"order ref {item.ref} was not created")
        op = sh.fulfil(order.fulfillment_order_ids, item.tracking_number, item.carrier)
        status, answer, error = self._call(op, item, NAMES["ship"])
        if answer is not None:
            try:
                sh.parse_fulfillment(answer.data)
            except sh.ShopifyError as exc:
                error = str(exc)
        return Outcome(error is None, status, error)

    def _view(self, item: Item, name: str = NAMES["view"]) -> Outcome:
        order = self._order(item)
        if order is None:
            return Outcome(False, 0, f"order ref {item.ref} was not created")
        op = sh.read_order(order.id, self.settings.events_first)
        kind = NAMES["probe"] if item.kind == "probe" else name
        status, answer, error = self._call(op, item, kind)
        seen = None
        if answer is not None:
            try:
                seen = sh.parse_tracking(answer.data).observation
            except sh.ShopifyError as exc:
                error = str(exc)
        return Outcome(error is None and seen is not None, status, error, seen)

    def _call(
        self, op: sh.Operation, item: Item, name: str
    ) -> tuple[int, sh.Result | None, str | None]:
        """Send ``op`` under the pace, retrying THROTTLED; (status, result, error). Each call is
        one Locust request (a THROTTLED answer is a failure named ``THROTTLED``)."""
        clock, scale = self.replay.clock, self.replay.config.clock.scale
        request = sh.request(op, self.token, self.settings.api_version)
        precreate = item.kind == "order" and self.settings.orders == "precreate"
        phase = "precreate" if precreate else "window"
        status, error = 0, f"{op.name}: still throttled after {MAX_RETRIES} retries"
        for _ in range(MAX_RETRIES + 1):
            asked = clock.now()
            at = self.pacer.reserve(op, asked)
            if at > asked:
                gevent.sleep((at - asked) / scale)
            self.pacer.sent(op)
            start = clock.now()
            if self._first is None:
                self._first = start
            sent = self._fetch(request)
            response, content = sent[0], sent[1]
            status = int(response.status_code or 0)
            verdict = self.pacer.judge(op, status, _json(content), clock.now())
            transport = sent[2] or (self._error(status, response) if status == 0 else None)
            failure = None
            if verdict.result is None:
                failure = "THROTTLED" if verdict.throttled else transport or verdict.error
            failure = failure if verdict.result is not None or failure else "failed"
            self._report(sent, name, self.store.scrub(failure) if failure else None)
            line = call_line(
                op.name, item.ref, phase, start, clock.now(), start - asked, status, verdict,
                transport,
            )  # fmt: skip
            self.calls.write(line + "\n")
            if verdict.retry_after is not None:
                gevent.sleep(verdict.retry_after / scale)
                continue
            if verdict.result is not None:
                return status, verdict.result, None
            return status, None, self.store.scrub(transport or verdict.error or "failed")
        return status, None, error


def _json(content: bytes | None) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None
