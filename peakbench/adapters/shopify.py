"""The Shopify store adapter: Admin GraphQL operations, their parsers, and the cost bucket.

Speaks a pinned Admin API version (``/admin/api/<version>/graphql.json``, header
``X-Shopify-Access-Token``): ``orderCreate`` on a development store, ``fulfillmentCreate`` with
``trackingInfo``, ``fulfillmentEventCreate`` for carrier scans, and a read of the order's
fulfilments (``displayStatus``, ``deliveredAt``, tracking, events) as the observation.

Shopify limits by calculated query cost (shopify.dev/docs/apps/build/apis/graphql-admin/
rate-limits): every response carries ``extensions.cost`` (``requestedQueryCost``,
``actualQueryCost``, ``throttleStatus{maximumAvailable, currentlyAvailable, restoreRate}``);
a request whose cost exceeds what is available fails with an error whose
``extensions.code`` is ``THROTTLED``. Operations and parsers are pure; the cost bucket's mirror
and the clients that wait on it (blocking for Locust and the target check, asyncio for the
sandbox's tracking app) are :mod:`peakbench.adapters.shopify_client`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from peakbench.adapters.request import Request
from peakbench.adapters.woocommerce import Observation

DEFAULT_VERSION = "2025-07"
GRAPHQL_PATH = "/admin/api/{version}/graphql.json"
DEFAULT_COST = 10.0
"""Points assumed for an operation never sent before (a mutation costs 10)."""

EVENT_STATUS = {
    # neutral status (peakbench.plan.timeline.STATUSES) -> FulfillmentEventStatus
    "info_received": "CONFIRMED",
    "in_transit": "IN_TRANSIT",
    "out_for_delivery": "OUT_FOR_DELIVERY",
    "failed_attempt": "ATTEMPTED_DELIVERY",
    "delivered": "DELIVERED",
    "exception": "FAILURE",
}


class ShopifyError(Exception):
    """An operation failed: HTTP error, GraphQL error or ``userErrors`` (one line)."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One GraphQL document with its variables; ``name`` keys the cost estimate."""

    name: str
    query: str
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cost:
    """``extensions.cost`` of a response (points; ``restore_rate`` in points per second)."""

    requested: float
    actual: float | None
    maximum: float
    available: float
    restore_rate: float


@dataclass(frozen=True, slots=True)
class Result:
    """A parsed GraphQL response."""

    data: Mapping[str, Any] | None
    errors: tuple[str, ...]
    cost: Cost | None
    throttled: bool


@dataclass(frozen=True, slots=True)
class ShopifyOrder:
    id: str
    """``gid://shopify/Order/…``"""
    name: str
    fulfillment_order_ids: tuple[str, ...]


# -- requests -------------------------------------------------------------------------------------


def endpoint(shop: str, version: str = DEFAULT_VERSION) -> str:
    """Base URL of the shop (``https://<shop>.myshopify.com``)."""
    return f"https://{shop}"


def request(op: Operation, token: str, version: str = DEFAULT_VERSION) -> Request:
    """The POST carrying ``op``, relative to :func:`endpoint`."""
    return Request(
        "POST",
        GRAPHQL_PATH.format(version=version),
        json={"query": op.query, "variables": dict(op.variables)},
        headers={"X-Shopify-Access-Token": token},
    )


SHOP_QUERY = "query peakbenchShop { shop { name myshopifyDomain plan { partnerDevelopment } } }"


def shop_info() -> Operation:
    """Who the token belongs to, and whether the shop is a development store."""
    return Operation("shop", SHOP_QUERY)


ORDER_CREATE = """mutation peakbenchOrderCreate($order: OrderCreateOrderInput!,
  $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id name fulfillmentOrders(first: 5) { nodes { id status } } }
    userErrors { field message code }
  }
}"""

_CITIES = (
    ("Austin", "TX", "78701"),
    ("Columbus", "OH", "43004"),
    ("Seattle", "WA", "98101"),
    ("Denver", "CO", "80202"),
)


def create_order(ref: int, seed: int = 0, currency: str = "USD") -> Operation:
    """A paid test order with one custom line item (no product needed), tagged ``peakbench``
    and carrying the schedule reference as ``_peakbench_ref``; no emails are sent."""
    rng = random.Random(f"{seed}:shopify-order:{ref}")
    city, province, zip_code = rng.choice(_CITIES)
    amount = f"{rng.randint(10, 80)}.00"
    order = {
        "email": f"customer{ref}@example.com",
        "financialStatus": "PAID",
        "test": True,
        "tags": ["peakbench"],
        "customAttributes": [{"key": "_peakbench_ref", "value": str(ref)}],
        "lineItems": [
            {
                "title": "peakbench parcel",
                "quantity": 1,
                "requiresShipping": True,
                "priceSet": {"shopMoney": {"amount": amount, "currencyCode": currency}},
            }
        ],
        "shippingAddress": {
            "firstName": "Peak",
            "lastName": f"Customer {ref}",
            "address1": f"{rng.randint(1, 9999)} Market Street",
            "city": city,
            "provinceCode": province,
            "zip": zip_code,
            "countryCode": "US",
        },
    }
    options = {"sendReceipt": False, "sendFulfillmentReceipt": False}
    return Operation("orderCreate", ORDER_CREATE, {"order": order, "options": options})


FULFILLMENT_CREATE = """mutation peakbenchFulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status displayStatus trackingInfo { number company url } }
    userErrors { field message }
  }
}"""


def fulfil(
    fulfillment_order_ids: tuple[str, ...], number: str, company: str, url: str | None = None
) -> Operation:
    """Fulfil every line of the given fulfilment orders with one tracking number."""
    tracking: dict[str, str] = {"number": number, "company": company}
    if url:
        tracking["url"] = url
    fulfillment = {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": i} for i in fulfillment_order_ids],
        "trackingInfo": tracking,
        "notifyCustomer": False,
    }
    return Operation("fulfillmentCreate", FULFILLMENT_CREATE, {"fulfillment": fulfillment})


EVENT_CREATE = """mutation peakbenchEvent($fulfillmentEvent: FulfillmentEventInput!) {
  fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent) {
    fulfillmentEvent { id status happenedAt }
    userErrors { field message }
  }
}"""


def create_event(
    fulfillment_id: str, status: str, happened_at: str, message: str | None = None
) -> Operation:
    """Record a carrier scan on a fulfilment; ``status`` is neutral (``in_transit``) or
    already a FulfillmentEventStatus (``IN_TRANSIT``); ``happened_at`` ISO-8601."""
    event = {
        "fulfillmentId": fulfillment_id,
        "status": EVENT_STATUS.get(status, status.upper()),
        "happenedAt": happened_at,
    }
    if message:
        event["message"] = message
    return Operation("fulfillmentEventCreate", EVENT_CREATE, {"fulfillmentEvent": event})


READ_ORDER = """query peakbenchTracking($id: ID!, $events: Int!) {
  order(id: $id) {
    id name displayFulfillmentStatus
    fulfillments(first: 5) {
      id displayStatus deliveredAt
      trackingInfo(first: 5) { number company }
      events(first: $events, sortKey: HAPPENED_AT) { nodes { status happenedAt } }
    }
  }
}"""


def read_order(order_id: str, events_first: int = 50) -> Operation:
    """What the customer's order status page shows: fulfilments, tracking and events."""
    return Operation("order", READ_ORDER, {"id": order_id, "events": events_first})


ORDER_DELETE = """mutation peakbenchOrderDelete($orderId: ID!) {
  orderDelete(orderId: $orderId) { deletedId userErrors { field message code } }
}"""


def delete_order(order_id: str) -> Operation:
    return Operation("orderDelete", ORDER_DELETE, {"orderId": order_id})


# -- responses ------------------------------------------------------------------------------------


def _float(value: Any, default: float = 0.0) -> float:
    return (
        float(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else (default)
    )


def _map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one: a response of the wrong shape
    reads as "absent", and the caller's own check names what is missing."""
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_cost(body: Any) -> Cost | None:
    """``extensions.cost`` of a response body, or ``None`` when it has none."""
    cost = _map(_map(body).get("extensions")).get("cost")
    if not isinstance(cost, Mapping):
        return None
    status = _map(cost.get("throttleStatus"))
    actual = cost.get("actualQueryCost")
    return Cost(
        requested=_float(cost.get("requestedQueryCost")),
        actual=None if actual is None else _float(actual),
        maximum=_float(status.get("maximumAvailable")),
        available=_float(status.get("currentlyAvailable")),
        restore_rate=_float(status.get("restoreRate")),
    )


def parse_response(body: Any) -> Result:
    """Split a GraphQL response into data, error messages, cost and the THROTTLED flag."""
    if not isinstance(body, Mapping):
        raise ShopifyError("GraphQL response is not a JSON object")
    raw = body.get("errors")
    errors: list[str] = []
    throttled = False
    if isinstance(raw, str):  # 401/403/404 bodies: {"errors": "[API] Invalid API key …"}
        errors.append(raw)
    elif isinstance(raw, list):
        for err in raw:
            if not isinstance(err, Mapping):
                continue
            code = _map(err.get("extensions")).get("code")
            throttled = throttled or code == "THROTTLED"
            errors.append(str(err.get("message", code or "error")))
    data = body.get("data")
    return Result(
        data if isinstance(data, Mapping) else None, tuple(errors), parse_cost(body), throttled
    )


def throttle_wait(cost: Cost) -> float:
    """Seconds until the bucket holds the requested cost again, from a THROTTLED response."""
    if cost.restore_rate <= 0:
        return 1.0
    return max(0.0, (cost.requested - cost.available) / cost.restore_rate)


def _payload(data: Mapping[str, Any] | None, field_name: str) -> Mapping[str, Any]:
    payload = _map(data).get(field_name)
    if not isinstance(payload, Mapping):
        raise ShopifyError(f"{field_name}: no payload in the response")
    problems = [p for p in _list(payload.get("userErrors")) if isinstance(p, Mapping)]
    if problems:
        text = "; ".join(
            f"{'.'.join(str(f) for f in _list(p.get('field'))) or field_name}: {p.get('message')}"
            for p in problems
        )
        raise ShopifyError(f"{field_name} refused: {text}")
    return payload


def parse_created_order(data: Mapping[str, Any] | None) -> ShopifyOrder:
    order = _payload(data, "orderCreate").get("order")
    if not isinstance(order, Mapping) or not isinstance(order.get("id"), str):
        raise ShopifyError("orderCreate: response without an order id")
    nodes = _list(_map(order.get("fulfillmentOrders")).get("nodes"))
    ids = tuple(n["id"] for n in nodes if isinstance(n, Mapping) and isinstance(n.get("id"), str))
    return ShopifyOrder(order["id"], str(order.get("name", "")), ids)


def parse_shippable_order(data: Mapping[str, Any] | None) -> ShopifyOrder:
    """:func:`parse_created_order` of an order the replay goes on to fulfil: one without a
    fulfillment order is an error (its shipment could never be created)."""
    order = parse_created_order(data)
    if not order.fulfillment_order_ids:
        raise ShopifyError("orderCreate: the order has no fulfillment order")
    return order


def parse_fulfillment(data: Mapping[str, Any] | None) -> str:
    """The created fulfilment's id."""
    fulfillment = _payload(data, "fulfillmentCreate").get("fulfillment")
    if not isinstance(fulfillment, Mapping) or not isinstance(fulfillment.get("id"), str):
        raise ShopifyError("fulfillmentCreate: response without a fulfillment id")
    return str(fulfillment["id"])


def parse_event(data: Mapping[str, Any] | None) -> str:
    """The created event's status."""
    event = _payload(data, "fulfillmentEventCreate").get("fulfillmentEvent")
    if not isinstance(event, Mapping):
        raise ShopifyError("fulfillmentEventCreate: response without an event")
    return str(event.get("status"))


def parse_deleted(data: Mapping[str, Any] | None) -> str:
    return str(_payload(data, "orderDelete").get("deletedId"))


@dataclass(frozen=True, slots=True)
class Tracking:
    """What the order shows: the :class:`Observation` plus Shopify's own fields."""

    observation: Observation
    display_status: str | None
    delivered_at: str | None
    numbers: tuple[str, ...]


def _instant(text: str) -> float:
    """Seconds of an ISO-8601 time; -inf for one that does not parse (never the newest)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):
        return float("-inf")


def parse_tracking(data: Mapping[str, Any] | None) -> Tracking:
    """Read the newest fulfilment of an ``order`` query: its events (shown), newest
    ``happenedAt``, ``displayStatus`` (the status), delivery time and tracking numbers."""
    order = _map(data).get("order")
    if not isinstance(order, Mapping):
        raise ShopifyError("order not found")
    fulfillments = [f for f in _list(order.get("fulfillments")) if isinstance(f, Mapping)]
    if not fulfillments:
        return Tracking(Observation(0, None, None), None, None, ())
    latest = fulfillments[-1]
    nodes = [n for n in _list(_map(latest.get("events")).get("nodes")) if isinstance(n, Mapping)]
    times = [str(n["happenedAt"]) for n in nodes if n.get("happenedAt")]
    newest = max(times, key=_instant) if times else None
    numbers = tuple(
        str(t.get("number"))
        for t in _list(latest.get("trackingInfo"))
        if isinstance(t, Mapping) and t.get("number") is not None
    )
    status = latest.get("displayStatus")
    return Tracking(
        Observation(len(nodes), newest, str(status) if status else None),
        str(status) if status else None,
        str(latest["deliveredAt"]) if latest.get("deliveredAt") else None,
        numbers,
    )
