"""The sandbox store's HTTP face: WooCommerce REST that real clients accept, the tracking page.

Routes (docs/store.md has the full surface with shapes), all REST under ``/wp-json`` with
WooCommerce auth (:mod:`mocks.store.auth`):

- ``wc/v3/orders``, ``orders/batch``, ``orders/{id}/notes`` (:mod:`mocks.store.order_routes`).
- Shipment tracking items under the official plugin's ``wc-shipment-tracking/v3`` and AST's
  aliases (:mod:`mocks.store.tracking_routes`).
- ``POST wc/v1/tracking-webhook``: the TrackShip-style push (:mod:`mocks.store.webhooks`).
- ``GET /order-tracking/{id}?key=…``: the customer's page (no API auth; the order key is it).
- ``GET /__admin/health``, ``/__admin/stats``, ``/__admin/openapi.json``
  (:mod:`mocks.store.openapi`).

Errors are WooCommerce's ``{"code", "message", "data": {"status"}}``; bad input is a 400, never
a 500. Every write is one SQLite transaction. Every request counts as site traffic for WP-Cron
(``queue.on_traffic``). The app's lifespan starts and stops the plugin's queue runner. This
module assembles the routes (their shared plumbing: :mod:`mocks.store.rest`) and serves the
customer's page and the admin ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mocks.store.auth import ApiKey, Authenticator
from mocks.store.config import Credentials
from mocks.store.db import StoreDB
from mocks.store.openapi import store_openapi_document
from mocks.store.order_routes import OrderRoutes
from mocks.store.page import render_tracking_page
from mocks.store.plugin import Plugin
from mocks.store.rest import MAX_ID, StoreRoutes, error
from mocks.store.saas_push import WEBHOOK_HOOK
from mocks.store.tracking_routes import TrackingRoutes
from mocks.store.webhooks import WebhookReceiver
from peakbench.plan.clock import Clock


def _keys(credentials: Credentials | Iterable[ApiKey]) -> list[ApiKey]:
    if isinstance(credentials, Credentials):
        return [ApiKey(credentials.consumer_key, credentials.consumer_secret)]
    return list(credentials)


class StorePages(StoreRoutes):
    """The customer's tracking page and the admin stats."""

    async def tracking_page(self, request: Request) -> Response:
        """The customer's page: no API auth, the order key is it."""
        self.plugin.on_traffic()
        oid = int(request.path_params["id"])
        order_key = self.db.order_key(oid) if 0 < oid <= MAX_ID else None
        key = request.query_params.get("key", "")
        if order_key is None or not key or key != order_key:
            return HTMLResponse("<!doctype html><p>Order not found.</p>", 404)
        await self.plugin.on_view(oid)  # live-refresh fetches before the page renders
        return HTMLResponse(render_tracking_page(oid, self.db.shipments_of(oid)))

    async def stats(self, request: Request) -> Response:
        """``/__admin/stats``: orders, shipments, the queue and the plugin's counters."""
        counts = self.db.counts()
        queue = self.plugin.queue
        return JSONResponse(
            {
                "t": round(self.clock.now(), 3),
                "orders": counts["orders"],
                "shipments": counts["shipments"],
                "open_shipments": counts["open_shipments"],
                "queue": {**queue.counts(), "runs": queue.runs},
                "plugin": self.plugin.stats(),
                "changes": counts["changes"],
            }
        )


def create_store_app(
    db: StoreDB,
    plugin: Plugin,
    clock: Clock,
    credentials: Credentials | Iterable[ApiKey],
    *,
    authenticator: Authenticator | None = None,
) -> Starlette:
    """The store's ASGI app over ``db``; ``plugin`` runs in its lifespan.

    ``credentials`` is the read/write key pair, or several :class:`ApiKey` (read-only keys
    included); ``authenticator`` replaces the default one (tests inject its wall clock).
    """
    auth = authenticator or Authenticator(_keys(credentials))
    orders = OrderRoutes(db, plugin, clock, auth)
    pages = StorePages(db, plugin, clock, auth)
    receiver = WebhookReceiver(db, plugin.queue, clock, WEBHOOK_HOOK)
    webhook = orders.api(receiver.receive, "create")

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def openapi(request: Request) -> Response:
        return JSONResponse(store_openapi_document())

    async def http_error(request: Request, exc: Exception) -> Response:
        # WordPress answers an unknown path and a known path with the wrong method alike
        return error(
            404, "rest_no_route", "No route was found matching the URL and request method."
        )

    async def server_error(request: Request, exc: Exception) -> Response:
        return error(500, "internal_server_error", f"{type(exc).__name__}")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await plugin.start()
        try:
            yield
        finally:
            await plugin.stop()

    routes = [
        # first: the route every customer view takes (Starlette tries routes in order, and no
        # other route's path overlaps this one)
        Route("/order-tracking/{id:int}", pages.tracking_page, methods=["GET"]),
        *orders.routes(),
        Route("/wp-json/wc/v1/tracking-webhook", webhook, methods=["POST"]),
        *TrackingRoutes(db, plugin, clock, auth).routes(),
        Route("/__admin/health", health, methods=["GET"]),
        Route("/__admin/stats", pages.stats, methods=["GET"]),
        Route("/__admin/openapi.json", openapi, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
