"""The OpenAPI 3.1 document of the sandbox store's routes (:mod:`mocks.store.app`), served at
``GET /__admin/openapi.json``. It is what ``tests/test_fuzz_store.py`` hands schemathesis, so it
describes what the store promises: WooCommerce-shaped bodies, WooCommerce's error shape for
every refusal (``{"code", "message", "data": {"status"}}``), and no 5xx for any input.

Only the official Shipment Tracking namespace is listed; AST's aliases (``wc-ast/v3``,
``wc/v1``, ``wc/v2``, ``wc/v3``) serve the same handlers.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from mocks.store.listing import MAX_PER_PAGE, ORDERBY
from mocks.store.orders import STATUSES
from mocks.store.webhooks import EVENT_STATUSES

_ERROR: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "data": {"type": "object", "properties": {"status": {"type": "integer"}}},
    },
    "required": ["code", "message"],
}
_REF = "#/components/schemas/{}"
_ORDER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "number": {"type": "string"},
        "order_key": {"type": "string", "pattern": "^wc_order_"},
        "status": {"type": "string"},
        "currency": {"type": "string"},
        "total": {"type": "string"},
        "date_created": {"type": "string"},
        "line_items": {"type": "array", "items": {"type": "object"}},
        "meta_data": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["id", "order_key", "status", "line_items", "meta_data"],
}
_ADDRESS = {"type": "object", "additionalProperties": {"type": "string"}}
_ORDER_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": list(STATUSES)},
        "set_paid": {"type": "boolean"},
        "currency": {"type": "string"},
        "customer_id": {"type": "integer", "minimum": 0},
        "payment_method": {"type": "string"},
        "payment_method_title": {"type": "string"},
        "billing": _ADDRESS,
        "shipping": _ADDRESS,
        "line_items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "product_id": {"type": "integer", "minimum": 0},
                    "quantity": {"type": "integer", "minimum": 1},
                    "name": {"type": "string"},
                },
            },
        },
        "shipping_lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "method_id": {"type": "string"},
                    "method_title": {"type": "string"},
                    "total": {"type": "string", "pattern": "^[0-9]{1,6}(\\.[0-9]{1,2})?$"},
                },
            },
        },
        "meta_data": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "value": {}},
                "required": ["key"],
            },
        },
    },
}
_TRACKING_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tracking_id": {"type": "string"},
        "tracking_provider": {"type": "string"},
        "tracking_link": {"type": "string"},
        "tracking_number": {"type": "string"},
        "date_shipped": {"type": ["string", "integer", "null"]},
    },
    "required": ["tracking_id", "tracking_provider", "tracking_number"],
}
_TRACKING_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tracking_provider": {"type": "string", "minLength": 1},
        "tracking_number": {"type": "string", "minLength": 1},
        "date_shipped": {"type": "string", "format": "date"},
    },
    "required": ["tracking_provider", "tracking_number"],
}
_NOTE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "note": {"type": "string"},
        "customer_note": {"type": "boolean"},
    },
    "required": ["id", "note"],
}
_NOTE_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "note": {"type": "string", "minLength": 1},
        "customer_note": {"type": "boolean"},
        "added_by_user": {"type": "boolean"},
    },
    "required": ["note"],
}
_BATCH_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "create": {"type": "array", "items": _ORDER_BODY, "maxItems": 5},
        "update": {"type": "array", "items": {"type": "object"}, "maxItems": 5},
        "delete": {"type": "array", "items": {"type": "integer"}, "maxItems": 5},
    },
}
_WEBHOOK_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "datetime": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$"},
        "message": {"type": "string"},
        "tracking_location": {"type": ["object", "null"]},
    },
    "required": ["datetime"],
}
_WEBHOOK_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "order_id": {"type": "integer", "minimum": 1},
        "tracking_number": {"type": "string", "minLength": 1},
        "tracking_event_status": {"type": "string", "enum": list(EVENT_STATUSES)},
        "events": {"type": "array", "items": _WEBHOOK_EVENT},
        "destination_events": {"type": ["array", "null"], "items": _WEBHOOK_EVENT},
    },
    "required": ["order_id", "tracking_number", "tracking_event_status", "events"],
}
_STATS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "t": {"type": "number"},
        **{k: {"type": "integer"} for k in ("orders", "shipments", "open_shipments", "changes")},
        "queue": {"type": "object"},
        "plugin": {"type": "object"},
    },
    "required": ["t", "orders", "shipments", "open_shipments", "queue", "plugin", "changes"],
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _op(
    summary: str,
    ok: dict[str, Any],
    status: str = "200",
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    auth: bool = True,
) -> dict[str, Any]:
    error = {"description": "refused", "content": _json({"$ref": _REF.format("Error")})}
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {status: {"description": "OK", "content": _json(ok)}, "4XX": error},
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(body)}
    if params:
        op["parameters"] = params
    if not auth:
        op["security"] = []
    return op


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


_ID = _path("id", {"type": "integer", "minimum": 1})
_LIST_QUERY = [
    _query("page", {"type": "integer", "minimum": 1}),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}),
    _query("status", {"type": "string", "enum": ["any", *STATUSES]}),
    _query("order", {"type": "string", "enum": ["asc", "desc"]}),
    _query("orderby", {"type": "string", "enum": list(ORDERBY)}),
    _query("after", {"type": "string", "format": "date-time"}),
    _query("before", {"type": "string", "format": "date-time"}),
]


def _paths() -> dict[str, Any]:
    orders = "/wp-json/wc/v3/orders"
    items = "/wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings"
    order_ref = {"$ref": _REF.format("Order")}
    item_ref = {"$ref": _REF.format("TrackingItem")}
    html = {"text/html": {"schema": {"type": "string"}}}
    return {
        orders: {
            "post": _op("Create an order", order_ref, "201", _ORDER_BODY),
            "get": _op("List orders (X-WP-Total, Link)", {"type": "array"}, params=_LIST_QUERY),
        },
        f"{orders}/batch": {
            "post": _op(
                "Create, update and delete orders in one call (≤ 100 items)",
                {"type": ["object", "array"]},
                body=_BATCH_BODY,
            )
        },
        f"{orders}/{{id}}": {
            "parameters": [_ID],
            "get": _op("One order", order_ref),
            "put": _op("Update an order", order_ref, body=_ORDER_BODY),
            "delete": _op(
                "Trash an order, or delete it with force=true",
                order_ref,
                params=[_query("force", {"type": "boolean"})],
            ),
        },
        f"{orders}/{{id}}/notes": {
            "parameters": [_ID],
            "get": _op("The order's notes", {"type": "array", "items": _NOTE}),
            "post": _op("Add a note", _NOTE, "201", _NOTE_BODY),
        },
        items: {
            "parameters": [_ID],
            "get": _op("The order's tracking items", {"type": "array", "items": item_ref}),
            "post": _op("Add a tracking item: the order ships", item_ref, "201", _TRACKING_BODY),
        },
        f"{items}/providers": {
            "parameters": [_ID],
            "get": _op("Providers by country", {"type": "object"}),
        },
        f"{items}/{{tracking_id}}": {
            "parameters": [_ID, _path("tracking_id")],
            "get": _op("One tracking item", item_ref),
            "delete": _op("Delete a tracking item", item_ref),
        },
        "/wp-json/wc/v1/tracking-webhook": {
            "post": _op(
                "TrackShip-style push: validated, then queued for the plugin",
                {"type": "object", "properties": {"status": {"const": "success"}}},
                body=_WEBHOOK_BODY,
            )
        },
        "/order-tracking/{id}": {
            "get": {
                "summary": "The customer's tracking page (the order key authorises it)",
                "security": [],
                "parameters": [_ID, _query("key", {"type": "string"})],
                "responses": {
                    "200": {"description": "the page", "content": html},
                    "404": {"description": "no such order, or a wrong key", "content": html},
                },
            }
        },
        "/__admin/health": {
            "get": _op("Liveness", {"type": "object", "required": ["ok"]}, auth=False)
        },
        "/__admin/stats": {"get": _op("Orders, shipments, queue, plugin", _STATS, auth=False)},
        "/__admin/openapi.json": {"get": _op("This document", {"type": "object"}, auth=False)},
    }


@cache
def store_openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the sandbox store (built once)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "peakbench sandbox store",
            "version": "1",
            "description": "WooCommerce REST (orders, notes, batch), Shipment Tracking items, "
            "the TrackShip-style webhook, the customer's tracking page and the admin routes. "
            "Refusals use WooCommerce's error shape; no input yields a 5xx.",
        },
        "paths": _paths(),
        "components": {
            "schemas": {"Error": _ERROR, "Order": _ORDER, "TrackingItem": _TRACKING_ITEM},
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "consumerKey": {"type": "apiKey", "in": "query", "name": "consumer_key"},
            },
        },
        "security": [{"basic": []}],
    }
