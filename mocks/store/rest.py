"""What every REST route of the sandbox store shares: WooCommerce auth, errors, ids, bodies.

:class:`StoreRoutes` holds the database, the plugin, the clock and the authenticator; the order
routes (:mod:`mocks.store.order_routes`) and the tracking routes
(:mod:`mocks.store.tracking_routes`) build on it, the app (:mod:`mocks.store.app`) assembles them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mocks.store.auth import Authenticator, Denied, Presented
from mocks.store.db import StoreDB
from mocks.store.orders import BadRequest
from mocks.store.plugin import Plugin
from peakbench.plan.clock import Clock, epoch_of

MAX_ID = 2**63 - 1  # SQLite's INTEGER range; a bigger id cannot exist
BASES_KEPT = 64
"""Base URLs :meth:`StoreRoutes.base` keeps (a store is reached at a handful of addresses)."""

UNAUTHENTICATED = {
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


class StoreJSON(JSONResponse):
    """Starlette's JSON response, encoded by orjson: the same compact UTF-8 JSON (integer keys
    as strings, as PHP prints them), several times faster on an order's document, which every
    order, shipment and batch answer carries."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def error(status: int, code: str, message: str) -> JSONResponse:
    """WooCommerce's error document."""
    return StoreJSON({"code": code, "message": message, "data": {"status": status}}, status)


def no_order(status: int = 404) -> BadRequest:
    """WooCommerce's answer about an order id that does not exist."""
    return BadRequest("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status=status)


async def json_body(request: Request) -> Any:
    """The request body as JSON, or WooCommerce's 400. An integer beyond 64 bits reads as a
    float, as PHP's ``json_decode`` reads it."""
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:  # what orjson refuses (NaN, lone surrogates) json decides
        pass
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
        lambda: str(request.url.replace(query="")),
        request.query_params.multi_items(),
        request.headers.get("authorization", ""),
        form,
    )


class StoreRoutes:
    """The REST handlers' shared state over one database; a handler returns a Response or
    raises BadRequest."""

    def __init__(self, db: StoreDB, plugin: Plugin, clock: Clock, auth: Authenticator) -> None:
        self.db = db
        self.plugin = plugin
        self.clock = clock
        self.auth = auth
        self._bases: dict[tuple[Any, ...], str] = {}

    def epoch_now(self) -> float:
        return epoch_of(self.clock.spec, self.clock.now())

    def api(self, handler: Handler, action: str) -> Handler:
        """``handler`` behind WooCommerce auth, with BadRequest mapped to its response."""
        code, message = UNAUTHENTICATED[action]

        async def endpoint(request: Request) -> Response:
            self.plugin.on_traffic()
            found = self.auth.authorise(await presented(request))
            if found is None:
                return error(401, code, message)
            if isinstance(found, Denied):
                return error(found.status, found.code, found.message)
            try:
                return await handler(request)
            except BadRequest as exc:
                return StoreJSON(exc.body(), exc.status)

        return endpoint

    def order_id(self, request: Request, status: int = 404) -> int:
        oid = int(request.path_params["id"])
        if not 0 < oid <= MAX_ID:
            raise no_order(status)
        return oid

    def base(self, request: Request) -> str:
        """``request.base_url`` without its trailing slash. Kept per address it depends on:
        every shipment's answer links its page, and building the URL cost more than that."""
        scope = request.scope
        address = (
            scope.get("scheme"),
            scope.get("server"),
            scope.get("root_path"),
            scope.get("app_root_path"),
            request.headers.get("host"),
        )
        base = self._bases.get(address)
        if base is None:
            if len(self._bases) >= BASES_KEPT:
                self._bases.clear()
            base = self._bases[address] = str(request.base_url).rstrip("/")
        return base

    def page_link(self, request: Request, order_id: int, order_key: str) -> str:
        return f"{self.base(request)}/order-tracking/{order_id}?key={order_key}"
