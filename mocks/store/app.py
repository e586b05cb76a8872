"""The sandbox store's HTTP face: WooCommerce-shaped REST routes, the tracking page, admin.

Routes (common brief, "The sandbox store"): ``POST /wp-json/wc/v3/orders``,
``GET /wp-json/wc/v3/orders/{id}``, ``GET|POST /wp-json/wc-shipment-tracking/v3/orders/{id}/
shipment-trackings``, ``GET /order-tracking/{id}?key=…`` (HTML), ``GET /__admin/health`` and
``/__admin/stats``. Every write is one SQLite transaction; bad input is a WooCommerce-style 400,
never a 500. The app's lifespan starts and stops the plugin's queue runner.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mocks.store.config import Credentials
from mocks.store.db import ShipmentRow, StoreDB
from mocks.store.orders import (
    BadRequest,
    build_order,
    mark_completed,
    new_order_key,
    parse_tracking_body,
)
from mocks.store.page import render_tracking_page
from mocks.store.plugin import Plugin
from peakbench.clock import Clock, epoch_of

_MAX_ID = 2**63 - 1  # SQLite's INTEGER range; a bigger id cannot exist


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "data": {"status": status}}, status)


def _bad(exc: BadRequest) -> JSONResponse:
    return JSONResponse(exc.body(), 400)


def _no_order() -> JSONResponse:
    return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")


def _authorised(request: Request, credentials: Credentials) -> bool:
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            key, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return credentials.accepts(key, secret)
    q = request.query_params
    return credentials.accepts(q.get("consumer_key"), q.get("consumer_secret"))


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("rest_invalid_json", "Invalid JSON body passed.") from None


def _tracking_item(s: ShipmentRow, link: str) -> dict[str, Any]:
    return {
        "tracking_id": s.tracking_id,
        "tracking_provider": s.carrier,
        "tracking_link": link,
        "tracking_number": s.tracking_number,
        "date_shipped": s.date_shipped,
    }


def create_store_app(
    db: StoreDB, plugin: Plugin, clock: Clock, credentials: Credentials
) -> Starlette:
    """The store's ASGI app over ``db``; ``plugin`` runs in its lifespan."""
    providers = {name.lower(): name for name in plugin.carriers}

    def epoch_now() -> float:
        return epoch_of(clock.spec, clock.now())

    def order_id_of(request: Request) -> int | None:
        oid = int(request.path_params["id"])
        return oid if 0 < oid <= _MAX_ID else None

    def page_link(request: Request, order_id: int, order_key: str) -> str:
        return f"{str(request.base_url).rstrip('/')}/order-tracking/{order_id}?key={order_key}"

    def api(handler: Any) -> Any:
        """Wrap a REST handler with WooCommerce auth and 400 mapping."""

        async def endpoint(request: Request) -> Response:
            if not _authorised(request, credentials):
                return _error(
                    401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."
                )
            try:
                response: Response = await handler(request)
            except BadRequest as exc:
                return _bad(exc)
            return response

        return endpoint

    async def create_order(request: Request) -> Response:
        body = await _json_body(request)
        key = new_order_key()
        with db.transaction():
            oid = db.insert_order(key, "pending", clock.now())
            order = build_order(oid, key, body, epoch_now())  # raises → rollback
            db.save_order(oid, order["status"], order)
        return JSONResponse(order, 201)

    async def get_order(request: Request) -> Response:
        oid = order_id_of(request)
        row = db.get_order(oid) if oid else None
        return _no_order() if row is None else JSONResponse(row.data)

    async def list_trackings(request: Request) -> Response:
        oid = order_id_of(request)
        row = db.get_order(oid) if oid else None
        if row is None:
            return _no_order()
        link = page_link(request, row.id, row.order_key)
        return JSONResponse([_tracking_item(s, link) for s in db.shipments_of(row.id)])

    async def add_tracking(request: Request) -> Response:
        oid = order_id_of(request)
        body = await _json_body(request)
        provider, number, date_shipped = parse_tracking_body(body, epoch_now())
        carrier = providers.get(provider.lower())
        if carrier is None:
            raise BadRequest(
                "woocommerce_rest_invalid_tracking_provider",
                f"Unknown tracking provider {provider!r}.",
                {"tracking_provider": f"one of {', '.join(sorted(providers))}"},
            )
        with db.transaction():
            row = db.get_order(oid) if oid else None
            if row is None:
                return _no_order()
            existing = db.shipment(number)
            if existing is not None and existing.order_id != row.id:
                raise BadRequest(
                    "woocommerce_rest_duplicate_tracking_number",
                    "This tracking number belongs to another order.",
                    {"tracking_number": "already used"},
                )
            if existing is None:  # a retried POST gets the same item back
                db.add_shipment(
                    row.id, carrier, number, clock.now(), uuid.uuid4().hex, date_shipped
                )
                order = mark_completed(row.data, epoch_now())
                db.save_order(row.id, "completed", order)
            item = db.shipment(number)
        assert item is not None
        return JSONResponse(_tracking_item(item, page_link(request, row.id, row.order_key)), 201)

    async def tracking_page(request: Request) -> Response:
        oid = order_id_of(request)
        row = db.get_order(oid) if oid else None
        key = request.query_params.get("key", "")
        if row is None or not key or key != row.order_key:
            return HTMLResponse("<!doctype html><p>Order not found.</p>", 404)
        return HTMLResponse(render_tracking_page(row, db.shipments_of(row.id)))

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def stats(request: Request) -> Response:
        counts = db.counts()
        return JSONResponse(
            {
                "t": round(clock.now(), 3),
                "orders": counts["orders"],
                "shipments": counts["shipments"],
                "open_shipments": counts["open_shipments"],
                "queue": {**plugin.queue.counts(), "runs": plugin.queue.runs},
                "plugin": plugin.stats(),
                "changes": counts["changes"],
            }
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return _error(
            status, "rest_no_route", "No route was found matching the URL and request method."
        )

    async def server_error(request: Request, exc: Exception) -> Response:
        return _error(500, "internal_server_error", f"{type(exc).__name__}")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await plugin.start()
        try:
            yield
        finally:
            await plugin.stop()

    trackings = "/wp-json/wc-shipment-tracking/v3/orders/{id:int}/shipment-trackings"
    routes = [
        Route("/wp-json/wc/v3/orders", api(create_order), methods=["POST"]),
        Route("/wp-json/wc/v3/orders/{id:int}", api(get_order), methods=["GET"]),
        Route(trackings, api(list_trackings), methods=["GET"]),
        Route(trackings, api(add_tracking), methods=["POST"]),
        Route("/order-tracking/{id:int}", tracking_page, methods=["GET"]),
        Route("/__admin/health", health, methods=["GET"]),
        Route("/__admin/stats", stats, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
