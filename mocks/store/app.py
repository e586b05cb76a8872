"""The sandbox store's HTTP face: WooCommerce REST that real clients accept, the tracking page.

Routes (docs/store.md has the full surface with shapes), all REST under ``/wp-json`` with
WooCommerce auth (:mod:`mocks.store.auth`):

- ``wc/v3/orders``: ``POST`` create, ``GET`` list (:mod:`mocks.store.listing`); ``orders/{id}``:
  ``GET``, ``PUT``/``POST``/``PATCH`` update, ``DELETE`` (trash, or ``?force=true``);
  ``orders/batch`` (create/update/delete, ≤ 100 items); ``orders/{id}/notes`` (``GET``,
  ``POST``).
- Shipment tracking items under the official plugin's ``wc-shipment-tracking/v3`` and AST's
  aliases ``wc-ast/v3``, ``wc/v1``, ``wc/v2``, ``wc/v3``: ``orders/{id}/shipment-trackings``
  (``GET`` list, ``POST`` add: the shipment is registered for the plugin), ``…/{tracking_id}``
  (``GET``, ``DELETE``), ``…/providers``.
- ``POST wc/v1/tracking-webhook``: the TrackShip-style push (:mod:`mocks.store.webhooks`).
- ``GET /order-tracking/{id}?key=…``: the customer's page (no API auth; the order key is it).
- ``GET /__admin/health``, ``/__admin/stats``, ``/__admin/openapi.json``
  (:mod:`mocks.store.openapi`).

Errors are WooCommerce's ``{"code", "message", "data": {"status"}}``; bad input is a 400, never
a 500. Every write is one SQLite transaction. Every request counts as site traffic for WP-Cron
(``queue.on_traffic``). The app's lifespan starts and stops the plugin's queue runner.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mocks.store.auth import ApiKey, Authenticator, Denied, Presented
from mocks.store.bodies import note_json, parse_batch, parse_note, parse_tracking_body
from mocks.store.config import Credentials
from mocks.store.db import ShipmentRow, StoreDB
from mocks.store.listing import pagination_headers, parse_order_query
from mocks.store.openapi import store_openapi_document
from mocks.store.orders import (
    BadRequest,
    build_order,
    mark_completed,
    new_order_key,
    update_order,
)
from mocks.store.page import render_tracking_page
from mocks.store.plugin import WEBHOOK_HOOK, Plugin
from mocks.store.webhooks import WebhookReceiver
from peakbench.plan.clock import Clock, epoch_of

_MAX_ID = 2**63 - 1  # SQLite's INTEGER range; a bigger id cannot exist
TRACKING_NAMESPACES = ("wc-shipment-tracking/v3", "wc-ast/v3", "wc/v1", "wc/v2", "wc/v3")
"""Where the official Shipment Tracking plugin and AST serve ``shipment-trackings``."""

_UNAUTHENTICATED = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": (
        "woocommerce_rest_cannot_delete",
        "Sorry, you are not allowed to delete this resource.",
    ),
    "batch": (
        "woocommerce_rest_cannot_batch",
        "Sorry, you are not allowed to batch manipulate this resource.",
    ),
}
"""What each kind of route answers (401) to a request without credentials."""

Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "data": {"status": status}}, status)


def _no_order(status: int = 404) -> BadRequest:
    return BadRequest("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status=status)


def _no_tracking() -> BadRequest:
    return BadRequest(
        "woocommerce_rest_shop_order_shipment_tracking_invalid_id",
        "Invalid shipment tracking ID.",
        status=404,
    )


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("rest_invalid_json", "Invalid JSON body passed.") from None


async def presented(request: Request) -> Presented:
    """What ``request`` presents to :class:`Authenticator` (the form body is read if any)."""
    form: list[tuple[str, str]] = []
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qsl((await request.body()).decode("latin-1"), keep_blank_values=True)
    return Presented(
        request.method,
        str(request.url.replace(query="")),
        request.query_params.multi_items(),
        request.headers.get("authorization", ""),
        form,
    )


def _tracking_item(s: ShipmentRow, link: str) -> dict[str, Any]:
    return {
        "tracking_id": s.tracking_id,
        "tracking_provider": s.carrier,
        "tracking_link": link,
        "tracking_number": s.tracking_number,
        "date_shipped": s.date_shipped,
    }


def _keys(credentials: Credentials | Iterable[ApiKey]) -> list[ApiKey]:
    if isinstance(credentials, Credentials):
        return [ApiKey(credentials.consumer_key, credentials.consumer_secret)]
    return list(credentials)


class StoreRest:
    """The REST handlers over one database; each returns a Response or raises BadRequest."""

    def __init__(self, db: StoreDB, plugin: Plugin, clock: Clock, auth: Authenticator) -> None:
        self.db = db
        self.plugin = plugin
        self.clock = clock
        self.auth = auth
        self.providers = {name.lower(): name for name in plugin.carriers}

    def epoch_now(self) -> float:
        return epoch_of(self.clock.spec, self.clock.now())

    def api(self, handler: Handler, action: str) -> Handler:
        """``handler`` behind WooCommerce auth, with BadRequest mapped to its response."""
        code, message = _UNAUTHENTICATED[action]

        async def endpoint(request: Request) -> Response:
            self.plugin.on_traffic()
            found = self.auth.authorise(await presented(request))
            if found is None:
                return _error(401, code, message)
            if isinstance(found, Denied):
                return _error(found.status, found.code, found.message)
            try:
                return await handler(request)
            except BadRequest as exc:
                return JSONResponse(exc.body(), exc.status)

        return endpoint

    def order_id(self, request: Request, status: int = 404) -> int:
        oid = int(request.path_params["id"])
        if not 0 < oid <= _MAX_ID:
            raise _no_order(status)
        return oid

    def page_link(self, request: Request, order_id: int, order_key: str) -> str:
        return f"{str(request.base_url).rstrip('/')}/order-tracking/{order_id}?key={order_key}"

    # -- orders -----------------------------------------------------------------------------------

    def create(self, body: Any) -> dict[str, Any]:
        key = new_order_key()
        with self.db.transaction():
            oid = self.db.insert_order(key, "pending", self.clock.now())
            order = build_order(oid, key, body, self.epoch_now())  # raises → rollback
            self.db.save_order(oid, order["status"], order)
        return order

    def update(self, oid: Any, body: Any) -> dict[str, Any]:
        text = str(oid)
        if isinstance(oid, bool) or not isinstance(oid, int | str) or not text.isdigit():
            raise _no_order(400)
        if not text.isascii() or len(text) > 19:  # '²' is a digit to isdigit(), not to int()
            raise _no_order(400)
        with self.db.transaction():
            row = self.db.get_order(int(oid)) if 0 < int(oid) <= _MAX_ID else None
            if row is None:
                raise _no_order(400)  # WooCommerce: an update of a missing order is a 400
            order = update_order(row.data, body, self.epoch_now())
            self.db.save_order(row.id, order["status"], order)
        return order

    def delete(self, oid: int, force: bool) -> dict[str, Any]:
        with self.db.transaction():
            row = self.db.get_order(oid) if 0 < oid <= _MAX_ID else None
            if row is None:
                raise _no_order()
            if force:
                self.db.delete_order(oid)
                return row.data
            order = dict(row.data, status="trash")
            self.db.save_order(oid, "trash", order)
        return order

    async def create_order(self, request: Request) -> Response:
        return JSONResponse(self.create(await _json_body(request)), 201)

    async def get_order(self, request: Request) -> Response:
        row = self.db.get_order(self.order_id(request))
        if row is None:
            raise _no_order()
        return JSONResponse(row.data)

    async def update_order(self, request: Request) -> Response:
        return JSONResponse(self.update(self.order_id(request, 400), await _json_body(request)))

    async def delete_order(self, request: Request) -> Response:
        force = request.query_params.get("force", "").lower() in ("1", "true", "yes")
        return JSONResponse(self.delete(self.order_id(request), force))

    async def list_orders(self, request: Request) -> Response:
        pairs = request.query_params.multi_items()
        query = parse_order_query(pairs)
        start = self.clock.spec.start_epoch
        total, rows = self.db.list_orders(
            query.statuses,
            None if query.after is None else math.floor(query.after) + 1 - start,
            None if query.before is None else math.ceil(query.before) - start,
            query.orderby,
            query.order == "desc",
            query.per_page,
            query.offset,
        )
        collection = str(request.url.replace(query=""))
        headers = pagination_headers(collection, pairs, query, total)
        return JSONResponse([r.data for r in rows], headers=headers)

    async def batch(self, request: Request) -> Response:
        create, update, delete = parse_batch(await _json_body(request))
        out: dict[str, list[Any]] = {}
        for body in create:
            try:
                out.setdefault("create", []).append(self.create(body))
            except BadRequest as exc:
                out.setdefault("create", []).append({"id": 0, "error": exc.body()})
        for body in update:
            oid = body.get("id") if isinstance(body, dict) else None
            try:
                out.setdefault("update", []).append(self.update(oid, body))
            except BadRequest as exc:
                out.setdefault("update", []).append({"id": oid, "error": exc.body()})
        for oid in delete:
            if oid == 0:
                continue  # WooCommerce skips a zero id
            try:
                out.setdefault("delete", []).append(self.delete(oid, force=True))
            except BadRequest as exc:
                out.setdefault("delete", []).append({"id": oid, "error": exc.body()})
        return JSONResponse(out or [])  # PHP's empty array prints as []

    async def add_note(self, request: Request) -> Response:
        oid = self.order_id(request)
        note, customer_note, by_user = parse_note(await _json_body(request))
        author = "peakbench" if by_user else "system"
        with self.db.transaction():
            if self.db.get_order(oid) is None:
                raise _no_order()
            nid = self.db.add_note(oid, self.clock.now(), author, note, customer_note)
        return JSONResponse(note_json(nid, note, customer_note, author, self.epoch_now()), 201)

    async def list_notes(self, request: Request) -> Response:
        oid = self.order_id(request)
        if self.db.get_order(oid) is None:
            raise _no_order()
        start = self.clock.spec.start_epoch
        notes = [
            note_json(nid, note, customer, author, start + t)
            for nid, t, author, note, customer in self.db.notes_of(oid)
        ]
        return JSONResponse(notes)

    # -- shipment tracking items ------------------------------------------------------------------

    async def list_trackings(self, request: Request) -> Response:
        row = self.db.get_order(self.order_id(request))
        if row is None:
            raise _no_order()
        link = self.page_link(request, row.id, row.order_key)
        return JSONResponse([_tracking_item(s, link) for s in self.db.shipments_of(row.id)])

    def _find_tracking(self, request: Request) -> tuple[str, ShipmentRow]:
        row = self.db.get_order(self.order_id(request))
        if row is None:
            raise _no_order()
        wanted = request.path_params["tracking_id"]
        item = next((s for s in self.db.shipments_of(row.id) if s.tracking_id == wanted), None)
        if item is None:
            raise _no_tracking()
        return self.page_link(request, row.id, row.order_key), item

    async def get_tracking(self, request: Request) -> Response:
        link, item = self._find_tracking(request)
        return JSONResponse(_tracking_item(item, link))

    async def delete_tracking(self, request: Request) -> Response:
        with self.db.transaction():
            link, item = self._find_tracking(request)
            self.db.delete_shipment(item.id)
        return JSONResponse(_tracking_item(item, link))

    async def list_providers(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"Sandbox": {n: f"{base}/track/{n}/%1$s" for n in self.providers}})

    async def add_tracking(self, request: Request) -> Response:
        oid = self.order_id(request)
        body = await _json_body(request)
        provider, number, date_shipped = parse_tracking_body(body, self.epoch_now())
        carrier = self.providers.get(provider.lower())
        if carrier is None:
            raise BadRequest(
                "woocommerce_rest_invalid_tracking_provider",
                f"Unknown tracking provider {provider!r}.",
                {"tracking_provider": f"one of {', '.join(sorted(self.providers))}"},
            )
        with self.db.transaction():
            row = self.db.get_order(oid)
            if row is None:
                raise _no_order()
            existing = self.db.shipment(number)
            if existing is not None and existing.order_id != row.id:
                raise BadRequest(
                    "woocommerce_rest_duplicate_tracking_number",
                    "This tracking number belongs to another order.",
                    {"tracking_number": "already used"},
                )
            shipped = existing is None
            if shipped:  # a retried POST gets the same item back
                now = self.clock.now()
                tracking_id = uuid.uuid4().hex
                self.db.add_shipment(row.id, carrier, number, now, tracking_id, date_shipped)
                self.db.save_order(row.id, "completed", mark_completed(row.data, self.epoch_now()))
            item = self.db.shipment(number)
        assert item is not None
        if shipped:  # saas-push registers the number with the aggregator, synchronously
            await self.plugin.on_ship(row.id, number)
        link = self.page_link(request, row.id, row.order_key)
        return JSONResponse(_tracking_item(item, link), 201)

    # -- the customer's page and admin -----------------------------------------------------------

    async def tracking_page(self, request: Request) -> Response:
        self.plugin.on_traffic()
        oid = int(request.path_params["id"])
        row = self.db.get_order(oid) if 0 < oid <= _MAX_ID else None
        key = request.query_params.get("key", "")
        if row is None or not key or key != row.order_key:
            return HTMLResponse("<!doctype html><p>Order not found.</p>", 404)
        await self.plugin.on_view(row.id)  # live-refresh fetches before the page renders
        return HTMLResponse(render_tracking_page(row, self.db.shipments_of(row.id)))

    async def stats(self, request: Request) -> Response:
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

    def routes(self, webhook: Handler) -> list[Route]:
        api = self.api
        orders, one = "/wp-json/wc/v3/orders", "/wp-json/wc/v3/orders/{id:int}"
        routes = [
            Route(orders, api(self.create_order, "create"), methods=["POST"]),
            Route(orders, api(self.list_orders, "list"), methods=["GET"]),
            Route(f"{orders}/batch", api(self.batch, "batch"), methods=["POST", "PUT", "PATCH"]),
            Route(one, api(self.get_order, "view"), methods=["GET"]),
            Route(one, api(self.update_order, "edit"), methods=["PUT", "POST", "PATCH"]),
            Route(one, api(self.delete_order, "delete"), methods=["DELETE"]),
            Route(f"{one}/notes", api(self.add_note, "create"), methods=["POST"]),
            Route(f"{one}/notes", api(self.list_notes, "list"), methods=["GET"]),
            Route("/wp-json/wc/v1/tracking-webhook", api(webhook, "create"), methods=["POST"]),
        ]
        for ns in TRACKING_NAMESPACES:
            items = f"/wp-json/{ns}/orders/{{id:int}}/shipment-trackings"
            routes += [
                Route(items, api(self.list_trackings, "list"), methods=["GET"]),
                Route(items, api(self.add_tracking, "create"), methods=["POST"]),
                Route(f"{items}/providers", api(self.list_providers, "list"), methods=["GET"]),
                Route(f"{items}/{{tracking_id}}", api(self.get_tracking, "view"), methods=["GET"]),
                Route(
                    f"{items}/{{tracking_id}}",
                    api(self.delete_tracking, "delete"),
                    methods=["DELETE"],
                ),
            ]
        return routes


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
    rest = StoreRest(db, plugin, clock, authenticator or Authenticator(_keys(credentials)))
    receiver = WebhookReceiver(db, plugin.queue, clock, WEBHOOK_HOOK)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def openapi(request: Request) -> Response:
        return JSONResponse(store_openapi_document())

    async def http_error(request: Request, exc: Exception) -> Response:
        # WordPress answers an unknown path and a known path with the wrong method alike
        return _error(
            404, "rest_no_route", "No route was found matching the URL and request method."
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

    routes = [
        *rest.routes(receiver.receive),
        Route("/order-tracking/{id:int}", rest.tracking_page, methods=["GET"]),
        Route("/__admin/health", health, methods=["GET"]),
        Route("/__admin/stats", rest.stats, methods=["GET"]),
        Route("/__admin/openapi.json", openapi, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
