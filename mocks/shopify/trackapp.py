"""The ``tracking-app`` preset: a Shopify tracking app (AfterShip, ParcelPanel, 17TRACK style).

It learns of parcels from Shopify's ``fulfillments/create`` webhooks (``POST /webhooks``,
HMAC-verified with the app's secret; a bad signature is a 401), finds their scans, and writes
each new scan back to the store as one ``fulfillmentEventCreate`` through the adapter's
:class:`~peakbench.adapters.shopify_client.AsyncShopifyClient`, one write at a time, under the
app's cost bucket. Two limits shape what customers see: the carrier's quota on the way in and
Shopify's cost bucket on the way out.

- ``app_mode: poll``: every ``interval`` the open parcels of each carrier are split into
  ``batch_size`` batches (:func:`mocks.store.policy.plan_polls`), each posted to the carrier's
  ``/v1/trackings/batch`` in calls of at most 40 numbers. A refusal follows ``on_throttle``
  (:func:`mocks.store.policy.on_refusal`): ``ignore`` goes on, ``stop-run`` ends the pass,
  ``backoff`` consults a per-carrier :class:`mocks.store.presets.Guard` (``budget_per_day``,
  breaker) and leaves that carrier until the guard opens again.
- ``app_mode: aggregator``: each number is registered with the aggregator (``aggregator``, or
  the first ``trackship`` carrier) as TrackShip's register call; its pushes arrive at
  ``POST /aggregator`` (also ``/wp-json/wc/v1/tracking-webhook``, the trackship personality's
  default push path) and are written back the same way.

Every carrier call is recorded in the store's ``plugin_requests`` table, as the plugin's are.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mocks.shopify.webhooks import verify
from mocks.store.config import CarrierEndpoint
from mocks.store.db import StoreDB
from mocks.store.policy import CARRIER_BATCH_LIMIT, Reply, chunks, classify, on_refusal, plan_polls
from mocks.store.presets import Guard, register_body, webhook_tracking
from peakbench.adapters.shopify import ShopifyError, create_event
from peakbench.adapters.shopify_client import AsyncShopifyClient
from peakbench.config.store import PluginSpec
from peakbench.plan.clock import Clock

AGGREGATOR_PERSONALITIES = ("trackship",)


@dataclass(slots=True)
class Tracked:
    fulfillment_id: str
    carrier: str
    order_id: int
    queued: int = 0
    """Carrier events handed to the writer so far (written in order)."""
    delivered: bool = False


@dataclass(slots=True)
class AppCounters:
    webhooks: int = 0
    rejected: int = 0
    """Webhooks with a bad signature."""
    polls: int = 0
    carrier_ok: int = 0
    carrier_refused: int = 0
    carrier_errors: int = 0
    pushes: int = 0
    written: int = 0
    write_errors: int = 0
    passes: int = 0
    lag: list[float] = field(default_factory=list)


class TrackingApp:
    """The app; ``asgi`` is its web app, ``start``/``stop`` run its poller and writer."""

    def __init__(
        self,
        spec: PluginSpec,
        carriers: Mapping[str, CarrierEndpoint],
        db: StoreDB,
        clock: Clock,
        *,
        secret: str,
        shopify: AsyncShopifyClient,
        client: httpx.AsyncClient,
        shop_domain: str = "sandbox.myshopify.com",
    ) -> None:
        self.spec = spec
        self.carriers = dict(carriers)
        self.db = db
        self.clock = clock
        self._secret = secret
        self.shopify = shopify
        self.client = client
        self.shop_domain = shop_domain
        self.parcels: dict[str, Tracked] = {}
        self.counters = AppCounters()
        self._writes: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False
        self._guards: dict[str, Guard] = {}
        self.aggregator = self._aggregator()
        self.asgi = Starlette(
            routes=[
                Route("/webhooks", self.webhook, methods=["POST"]),
                Route("/aggregator", self.push, methods=["POST"]),
                Route("/wp-json/wc/v1/tracking-webhook", self.push, methods=["POST"]),
                Route("/health", self.health, methods=["GET"]),
            ]
        )

    def _aggregator(self) -> CarrierEndpoint | None:
        if self.spec.app_mode != "aggregator":
            return None
        if self.spec.aggregator is not None:
            return self.carriers.get(self.spec.aggregator)
        return next(
            (c for c in self.carriers.values() if c.personality in AGGREGATOR_PERSONALITIES), None
        )

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._write_forever(), name="trackapp-writer"))
        if self.spec.app_mode == "poll":
            self._tasks.append(loop.create_task(self._poll_forever(), name="trackapp-poller"))

    async def stop(self) -> None:
        # Python 3.11's wait_for (the in-process transport's timeout) can swallow a cancellation
        # that lands as the request completes; the loops also check the flag, so they end anyway
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def stats(self) -> dict[str, Any]:
        c = self.counters
        w = self.shopify.counters
        return {
            "parcels": len(self.parcels),
            "webhooks": c.webhooks,
            "rejected_webhooks": c.rejected,
            "passes": c.passes,
            "carrier_calls": c.polls,
            "carrier_ok": c.carrier_ok,
            "carrier_refused": c.carrier_refused,
            "carrier_errors": c.carrier_errors,
            "pushes": c.pushes,
            "events_written": c.written,
            "write_errors": c.write_errors,
            "graphql_requests": w.requests,
            "graphql_throttled": w.throttled,
            "graphql_waited_s": round(w.waited, 3),
            "write_backlog": self._writes.qsize(),
        }

    # -- web --------------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, **self.stats()})

    async def webhook(self, request: Request) -> Response:
        body = await request.body()
        if not verify(body, self._secret, request.headers.get("x-shopify-hmac-sha256")):
            self.counters.rejected += 1
            return JSONResponse({"error": "invalid signature"}, 401)
        self.counters.webhooks += 1
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "not JSON"}, 400)
        if request.headers.get("x-shopify-topic") == "fulfillments/create":
            await self.on_fulfillment(payload)
        return JSONResponse({"ok": True})

    async def on_fulfillment(self, payload: Mapping[str, Any]) -> None:
        number = str(payload.get("tracking_number") or "")
        fid = str(payload.get("admin_graphql_api_id") or "")
        if not number or not fid or number in self.parcels:
            return
        carrier = str(payload.get("tracking_company") or "")
        self.parcels[number] = Tracked(fid, carrier, int(payload.get("order_id") or 0))
        if self.aggregator is not None:  # answer Shopify first: register in the background
            task = asyncio.get_running_loop().create_task(self.register(number))
            self._tasks.append(task)

    async def push(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "not JSON"}, 400)
        pushed = webhook_tracking(payload) if isinstance(payload, Mapping) else None
        if pushed is None or pushed.tracking_number not in self.parcels:
            return JSONResponse({"error": "unknown tracking number"}, 404)
        self.counters.pushes += 1
        self.learn(pushed.tracking_number, pushed.events, pushed.status)
        return JSONResponse({"ok": True})

    # -- learning and writing back ---------------------------------------------------------------

    def learn(self, number: str, events: list[dict[str, Any]], status: str) -> int:
        """Queue the write-back of the events of ``number`` the app has not written yet."""
        parcel = self.parcels.get(number)
        if parcel is None:
            return 0
        new = events[parcel.queued :]
        for event in new:
            self._writes.put_nowait((parcel.fulfillment_id, event))
        parcel.queued += len(new)
        parcel.delivered = parcel.delivered or status == "delivered"
        return len(new)

    async def _write_forever(self) -> None:
        while not self._stopping:
            fid, event = await self._writes.get()
            op = create_event(
                fid,
                str(event.get("status") or "in_transit"),
                str(event.get("occurred_at") or ""),
                str(event.get("description") or "") or None,
            )
            try:
                await self.shopify.execute(op)
                self.counters.written += 1
            except ShopifyError:
                self.counters.write_errors += 1

    # -- polling ----------------------------------------------------------------------------------

    async def _poll_forever(self) -> None:
        while not self._stopping:
            await self.clock.sleep(self.spec.interval)
            if not self._stopping:
                await self.poll_pass()

    def guard(self, carrier: str) -> Guard | None:
        if self.spec.on_throttle != "backoff":
            return None
        if carrier not in self._guards:
            self._guards[carrier] = Guard.of(self.spec, self.clock.now())
        return self._guards[carrier]

    async def poll_pass(self) -> None:
        """One pass over the open parcels of every carrier the app can reach."""
        self.counters.passes += 1
        open_ = [(p.carrier, n) for n, p in self.parcels.items() if not p.delivered]
        reachable = [(c, n) for c, n in open_ if c in self.carriers]
        skip: set[str] = set()
        for carrier_name, numbers in plan_polls(reachable, set(), self.spec.batch_size):
            if carrier_name in skip:
                continue
            carrier = self.carriers[carrier_name]
            guard = self.guard(carrier_name)
            for call in chunks(numbers, CARRIER_BATCH_LIMIT):
                if guard is not None and guard.wait(self.clock.now()) > 0:
                    skip.add(carrier_name)
                    break
                reply = await self.fetch(carrier, call)
                if guard is not None:
                    guard.record(reply, self.clock.now())
                if reply.outcome == "ok":
                    for t in reply.trackings:
                        self.learn(
                            str(t["tracking_number"]), list(t["events"]), str(t.get("status"))
                        )
                    continue
                decision = on_refusal(self.spec.on_throttle, reply, 1, self.spec.backoff)
                if decision.step == "stop-run":
                    return
                if decision.step == "postpone":
                    skip.add(carrier_name)
                    break

    async def fetch(self, carrier: CarrierEndpoint, numbers: list[str]) -> Reply:
        t0, w0 = self.clock.now(), time.monotonic()
        headers = {"X-Api-Key": carrier.api_key} if carrier.api_key else {}
        try:
            resp = await self.client.post(
                f"{carrier.base_url}/v1/trackings/batch",
                json={"tracking_numbers": numbers},
                headers=headers,
                timeout=self.spec.request_timeout,
            )
            reply = classify(resp.status_code, _json(resp), resp.headers)
        except httpx.TimeoutException:
            reply = Reply(0, "timeout")
        except httpx.HTTPError:
            reply = Reply(0, "error")
        self._record(t0, w0, carrier.name, len(numbers), reply)
        return reply

    def _record(self, t0: float, w0: float, carrier: str, n: int, reply: Reply) -> None:
        c = self.counters
        c.polls += 1
        if reply.outcome == "ok":
            c.carrier_ok += 1
        elif reply.outcome in ("throttled", "blocked"):
            c.carrier_refused += 1
        else:
            c.carrier_errors += 1
        with self.db.transaction():
            self.db.record_request(
                t0, carrier, n, reply.status, reply.outcome, self.clock.now() - t0,
                time.monotonic() - w0,
            )  # fmt: skip

    # -- aggregator -------------------------------------------------------------------------------

    async def register(self, number: str) -> str:
        agg = self.aggregator
        parcel = self.parcels.get(number)
        if agg is None or parcel is None:
            return "error"
        body = register_body(
            parcel.order_id, number, _slug(parcel.carrier), agg.api_key or "", self.shop_domain
        )
        t0, w0 = self.clock.now(), time.monotonic()
        try:
            resp = await self.client.post(
                f"{agg.base_url}/v1/shipment/create/ts4wc",
                content=body,
                headers={"content-type": "application/x-www-form-urlencoded"},
                timeout=self.spec.request_timeout,
            )
            ok = resp.status_code == 200
            reply = classify(resp.status_code, {"data": []} if ok else _json(resp), resp.headers)
        except httpx.HTTPError:
            reply = Reply(0, "error")
        self._record(t0, w0, agg.name, 1, reply)
        return reply.outcome


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _slug(company: str) -> str:
    """TrackShip's provider slug of a Shopify tracking company (``UPS`` → ``ups``)."""
    return "-".join(company.lower().split())
