"""The Shopify-shaped sandbox store's ASGI app: Admin GraphQL, the order status page, admin.

- ``POST /admin/api/2025-07/graphql.json`` with ``X-Shopify-Access-Token``: an unknown token is
  a 401 ``{"errors": "[API] Invalid API key or access token (unrecognized login or wrong
  password)"}``; another version a 404. The body is ``{"query", "variables",
  "operationName"}`` (or a bare query with ``Content-Type: application/graphql``). Documents are
  parsed, validated and executed by graphql-core against :data:`mocks.shopify.schema.SDL`.
  Before execution the requested cost is taken from the token's :class:`LeakyBucket`; when it
  does not fit, the answer is HTTP 200 ``{"errors": [{"message": "Throttled", "extensions":
  {"code": "THROTTLED", "documentation": …}}], "extensions": {"cost": …}}`` with
  ``actualQueryCost: null``. Every answer carries ``extensions.cost``.
- ``GET /<shop id>/orders/<order token>``: the customer's order status page (the
  :mod:`mocks.store.page` markup the replay and probes already parse).
- ``GET /__admin/health``, ``GET /__admin/stats``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from graphql import GraphQLError, GraphQLSchema, OperationType, execute, parse, validate
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mocks.shopify.bucket import LeakyBucket, Plan
from mocks.shopify.schema import admin_schema, operation_of, query_cost
from mocks.shopify.store import SHOP_ID, ShopifyStore, parse_gid
from mocks.store.page import render_tracking_page
from peakbench.adapters.shopify import DEFAULT_VERSION
from peakbench.plan.clock import Clock

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
PAGE_PATH = "/{shop_id:int}/orders/{token}"


def page_path(order_key: str) -> str:
    """The order status page's path for an order token."""
    return f"/{SHOP_ID}/orders/{order_key}"


class GraphQLEndpoint:
    """Auth, cost and execution of one request."""

    def __init__(self, store: ShopifyStore, clock: Clock, plans: Mapping[str, Plan]) -> None:
        self.store = store
        self.clock = clock
        self.schema: GraphQLSchema = admin_schema()
        self.buckets = {token: LeakyBucket(plan, clock.now()) for token, plan in plans.items()}
        self.throttled = 0
        self.requests = 0
        s = store
        self.query_root: dict[str, Callable[..., Any]] = {
            "shop": lambda info: s.shop(),
            "order": lambda info, id: _or_none(parse_gid(id, "Order"), s.order),
            "fulfillment": lambda info, id: _fulfillment(s, id),
        }
        self.mutation_root: dict[str, Callable[..., Any]] = {
            "orderCreate": lambda info, order, options=None: s.create_order(order),
            "fulfillmentCreate": lambda info, fulfillment, message=None: s.create_fulfillment(
                fulfillment
            ),
            "fulfillmentEventCreate": lambda info, fulfillmentEvent: s.create_event(
                fulfillmentEvent
            ),
            "orderDelete": lambda info, orderId: s.delete_order(orderId),
        }

    def _cost(self, requested: int, actual: int | None, bucket: LeakyBucket) -> dict[str, Any]:
        status = bucket.status(self.clock.now()).to_json()
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": status,
        }

    async def handle(self, request: Request) -> Response:
        self.requests += 1
        bucket = self.buckets.get(request.headers.get("x-shopify-access-token", ""))
        if bucket is None:
            return JSONResponse({"errors": INVALID_TOKEN}, 401)
        if request.path_params["version"] != DEFAULT_VERSION:
            return JSONResponse({"errors": "Not Found"}, 404)
        query, variables, name = await _body(request)
        if query is None:
            return JSONResponse({"errors": {"query": "Required parameter missing or invalid"}}, 400)
        try:
            document = parse(query)
        except GraphQLError as exc:
            return JSONResponse({"errors": [_error(exc, "parseError")]})
        problems = validate(self.schema, document)
        if problems:
            return JSONResponse({"errors": [_error(e, "validationError") for e in problems]})
        requested = query_cost(self.schema, document, variables, name)
        if not bucket.take(requested, self.clock.now()):
            self.throttled += 1
            code = {"code": "THROTTLED", "documentation": RATE_LIMITS_DOC}
            error = {"message": "Throttled", "extensions": code}
            return JSONResponse(
                {"errors": [error], "extensions": {"cost": self._cost(requested, None, bucket)}}
            )
        op = operation_of(document, name)
        is_mutation = op is not None and op.operation == OperationType.MUTATION
        root = self.mutation_root if is_mutation else self.query_root
        result = execute(
            self.schema, document, root, variable_values=variables, operation_name=name
        )
        assert not isinstance(result, Awaitable)
        actual = query_cost(self.schema, document, variables, name, result.data or {})
        bucket.refund(requested - actual, self.clock.now())
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [_error(e, None) for e in result.errors]
        if result.data is not None or not result.errors:
            body["data"] = result.data
        body["extensions"] = {"cost": self._cost(requested, actual, bucket)}
        return JSONResponse(body)


def _or_none(value: int | None, fn: Callable[[int], Any]) -> Any:
    return None if value is None else fn(value)


def _fulfillment(store: ShopifyStore, raw: str) -> Any:
    sid = parse_gid(raw, "Fulfillment")
    found = store.fulfillment(sid) if sid is not None else None
    return None if found is None else store.fulfillment_json(*found)


def _error(exc: GraphQLError, code: str | None) -> dict[str, Any]:
    out: dict[str, Any] = dict(exc.formatted)
    if code is not None:
        out["extensions"] = {**out.get("extensions", {}), "code": code}
    return out


async def _body(request: Request) -> tuple[str | None, dict[str, Any], str | None]:
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/graphql"):
        return raw.decode("utf-8", "replace"), {}, None
    try:
        data = json.loads(raw)
    except ValueError:
        return None, {}, None
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return None, {}, None
    variables = data.get("variables")
    name = data.get("operationName")
    return (
        data["query"],
        variables if isinstance(variables, dict) else {},
        name if isinstance(name, str) and name else None,
    )


def create_shopify_app(
    store: ShopifyStore,
    clock: Clock,
    plans: Mapping[str, Plan],
    *,
    extra_routes: list[Any] | None = None,
    on_start: Callable[[], Awaitable[None]] | None = None,
    on_stop: Callable[[], Awaitable[None]] | None = None,
    stats: Callable[[], dict[str, Any]] | None = None,
) -> Starlette:
    """The store's ASGI app. ``plans`` maps each accepted access token to its cost limit;
    ``on_start``/``on_stop`` run in its lifespan (the tracking app, webhook deliveries)."""
    graphql = GraphQLEndpoint(store, clock, plans)

    async def order_page(request: Request) -> Response:
        token = request.path_params["token"]
        row = store.order_by_key(token) if request.path_params["shop_id"] == SHOP_ID else None
        if row is None:
            return HTMLResponse("<!doctype html><p>Order not found.</p>", 404)
        return HTMLResponse(render_tracking_page(row.id, store.db.shipments_of(row.id)))

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def admin_stats(request: Request) -> Response:
        counts = store.db.counts()
        return JSONResponse(
            {
                "t": round(clock.now(), 3),
                "platform": "shopify",
                **{k: counts[k] for k in ("orders", "shipments", "open_shipments", "changes")},
                "graphql": {"requests": graphql.requests, "throttled": graphql.throttled},
                "app": stats() if stats else {},
            }
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"errors": "Not Found"}, 404)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if on_start:
            await on_start()
        try:
            yield
        finally:
            if on_stop:
                await on_stop()

    routes = [
        Route("/admin/api/{version}/graphql.json", graphql.handle, methods=["POST"]),
        Route(PAGE_PATH, order_page, methods=["GET"]),
        Route("/__admin/health", health, methods=["GET"]),
        Route("/__admin/stats", admin_stats, methods=["GET"]),
        *(extra_routes or []),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: not_found})
    app.state.graphql = graphql
    return app
