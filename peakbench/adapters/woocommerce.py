"""The WooCommerce store adapter, sans-I/O: builds requests, parses responses.

Speaks the routes a WooCommerce store with the Advanced Shipment Tracking plugin serves (and the
sandbox store imitates): the REST API for orders and shipment-tracking items, and the customer's
HTML order-tracking page, which is the observation peakbench measures freshness on. Nothing here
does I/O; the caller sends a :class:`Request` with its own client and hands back the body.
"""

from __future__ import annotations

import base64
import html
import json as jsonlib
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from peakbench.adapters import oauth1
from peakbench.adapters.request import Request

__all__ = ["Request"]  # re-exported: the Locust user builds and sends these

ORDERS_PATH = "/wp-json/wc/v3/orders"
TRACKINGS_NAMESPACE = "/wp-json/wc-shipment-tracking/v3"
TRACKINGS_PATH = TRACKINGS_NAMESPACE + "/orders/{order_id}/shipment-trackings"
ORDER_PATH = ORDERS_PATH + "/{order_id}"
PAGE_PATH = "/order-tracking/{order_id}"
REF_META_KEY = "_peakbench_ref"
"""Order meta key carrying the schedule's reference, so a store's orders map back to the run."""


@dataclass(frozen=True, slots=True)
class OrderHandle:
    """What the replay must remember about a created order to ship it and view its page."""

    id: int
    order_key: str


@dataclass(frozen=True, slots=True)
class Observation:
    """What the customer's tracking page showed."""

    shown: int
    """How many tracking events the page listed."""
    newest_occurred: str | None
    """``occurred_at`` (ISO-8601, as the store received it) of the newest event shown."""
    status: str | None
    """Neutral status the page headlines (``data-status`` of ``p.tracking-status``)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """REST API credentials of a WooCommerce store. ``repr`` hides the secret."""

    consumer_key: str
    consumer_secret: str = field(repr=False)


# -- credentials ----------------------------------------------------------------------------------


def credentials_from_json(text: str) -> Credentials:
    """Parse ``{"consumer_key": "ck_…", "consumer_secret": "cs_…"}``.

    Raises ValueError with a one-line message that never contains the secret.
    """
    try:
        data = jsonlib.loads(text)
    except ValueError:
        raise ValueError("store credentials are not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("store credentials must be a JSON object")
    key, secret = data.get("consumer_key"), data.get("consumer_secret")
    if not isinstance(key, str) or not key or not isinstance(secret, str) or not secret:
        raise ValueError("store credentials need non-empty 'consumer_key' and 'consumer_secret'")
    return Credentials(key, secret)


def auth_header(key: str, secret: str) -> dict[str, str]:
    """HTTP Basic ``Authorization`` header for the REST API (``consumer_key:consumer_secret``)."""
    token = base64.b64encode(f"{key}:{secret}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


AuthMode = Literal["auto", "basic", "query", "oauth1"]


def resolve_auth(mode: AuthMode, base_url: str) -> Literal["basic", "query", "oauth1"]:
    """``auto`` picks what the official client does: Basic over HTTPS, OAuth 1.0a over HTTP."""
    if mode != "auto":
        return mode
    return "basic" if base_url.lower().startswith("https://") else "oauth1"


def authorize(
    request: Request,
    base_url: str,
    credentials: Credentials,
    mode: AuthMode = "auto",
    *,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> Request:
    """Add the REST API credentials to ``request`` the way ``mode`` says.

    ``basic``: an ``Authorization`` header; ``query``: ``consumer_key``/``consumer_secret``
    query parameters (for servers that strip the header); ``oauth1``: a signed query (see
    :mod:`peakbench.adapters.oauth1`; ``timestamp``/``nonce`` for repeatable tests).
    """
    key, secret = credentials.consumer_key, credentials.consumer_secret
    chosen = resolve_auth(mode, base_url)
    if chosen == "basic":
        return request.with_headers(auth_header(key, secret))
    if chosen == "query":
        return request.with_params({"consumer_key": key, "consumer_secret": secret})
    return oauth1.sign(request, base_url, key, secret, timestamp=timestamp, nonce=nonce)


# -- orders ---------------------------------------------------------------------------------------

_FIRST = ("Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Lena", "Omar", "Yuki", "Sara")
_LAST = ("Smith", "Garcia", "Chen", "Okafor", "Müller", "Rossi", "Kim", "Nguyen", "Silva", "Brown")
_ADDRESSES = (
    # city, state, postcode, country: mostly domestic, a few cross-border destinations.
    ("Austin", "TX", "78701", "US"),
    ("Columbus", "OH", "43004", "US"),
    ("Seattle", "WA", "98101", "US"),
    ("Brooklyn", "NY", "11201", "US"),
    ("Miami", "FL", "33101", "US"),
    ("Denver", "CO", "80202", "US"),
    ("Toronto", "ON", "M5H 2N2", "CA"),
    ("London", "", "EC1A 1BB", "GB"),
    ("Berlin", "", "10115", "DE"),
)
SANDBOX_PRODUCTS = (101, 102, 103, 117, 204, 205, 311, 342)
"""The sandbox store's product ids (a real store's come from its profile or its catalogue)."""


def create_order(ref: int, seed: int = 0, products: Sequence[int] = ()) -> Request:
    """POST a paid order for schedule reference ``ref``; the body is a pure function of
    ``(seed, ref, products)``, so a replay is repeatable. ``meta_data`` carries
    ``_peakbench_ref``. ``products``: the store's product ids to buy (default: the sandbox's)."""
    rng = random.Random(f"{seed}:order:{ref}")
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    city, state, postcode, country = rng.choice(_ADDRESSES)
    address = {
        "first_name": first,
        "last_name": last,
        "address_1": f"{rng.randint(1, 9999)} Market Street",
        "city": city,
        "state": state,
        "postcode": postcode,
        "country": country,
    }
    billing = {**address, "email": f"customer{ref}@example.com", "phone": "555-0100"}
    catalogue = tuple(products) or SANDBOX_PRODUCTS
    products = rng.sample(catalogue, min(len(catalogue), rng.choice((1, 1, 2))))
    body = {
        "payment_method": "bacs",
        "payment_method_title": "Direct bank transfer",
        "set_paid": True,
        "billing": billing,
        "shipping": address,
        "line_items": [{"product_id": p, "quantity": rng.randint(1, 3)} for p in products],
        "shipping_lines": [
            {"method_id": "flat_rate", "method_title": "Flat rate", "total": "5.00"}
        ],
        "meta_data": [{"key": REF_META_KEY, "value": str(ref)}],
    }
    return Request("POST", ORDERS_PATH, json=body)


def parse_order(body: Any) -> OrderHandle:
    """Read ``id`` and ``order_key`` from an order JSON; ValueError when they are missing (or
    the body is not an object: an error page, a list)."""
    if not isinstance(body, Mapping):
        raise ValueError(f"order response is not a JSON object (got {type(body).__name__})")
    order_id, key = body.get("id"), body.get("order_key")
    if isinstance(order_id, bool) or not isinstance(order_id, int) or order_id <= 0:
        raise ValueError(f"order response without a positive integer 'id' (got {order_id!r})")
    if not isinstance(key, str) or not key:
        raise ValueError(f"order {order_id} response without an 'order_key'")
    return OrderHandle(order_id, key)


def ship(
    order_id: int,
    carrier: str,
    tracking_number: str,
    date_shipped: str | None = None,
    namespace: str = TRACKINGS_NAMESPACE,
    extra: Mapping[str, Any] | None = None,
) -> Request:
    """POST a shipment-tracking item (the official Shipment Tracking plugin's route; AST
    serves it too, and under ``/wp-json/wc-ast/v3`` as ``namespace``).

    ``date_shipped`` is a store-calendar date (``YYYY-MM-DD``) or ``None`` to let the store
    stamp it. ``extra``: more body fields (AST's ``status_shipped: 1``).
    """
    body: dict[str, Any] = {**(extra or {})}
    body.update(tracking_provider=carrier, tracking_number=tracking_number)
    if date_shipped is not None:
        body["date_shipped"] = date_shipped
    path = namespace.rstrip("/") + f"/orders/{order_id}/shipment-trackings"
    return Request("POST", path, json=body)


def ship_with_meta(
    order_id: int, meta_key: str, carrier: str, tracking_number: str, date_shipped: str | None
) -> Request:
    """PUT the order to ``completed`` with the tracking in order meta ``meta_key`` (for
    plugins that read a meta key instead of shipment-tracking items)."""
    value = {"tracking_provider": carrier, "tracking_number": tracking_number}
    if date_shipped is not None:
        value["date_shipped"] = date_shipped
    body = {"status": "completed", "meta_data": [{"key": meta_key, "value": value}]}
    return Request("PUT", ORDER_PATH.format(order_id=order_id), json=body)


def parse_tracking_item(body: Any) -> str:
    """The ``tracking_id`` of a created shipment-tracking item; ValueError when absent."""
    item = body[0] if isinstance(body, list) and body else body
    tracking_id = item.get("tracking_id") if isinstance(item, Mapping) else None
    if not isinstance(tracking_id, str | int) or tracking_id == "":
        raise ValueError("shipment-tracking response without a 'tracking_id'")
    return str(tracking_id)


def find_products(sku: str) -> Request:
    """GET the products with SKU ``sku``."""
    return Request("GET", "/wp-json/wc/v3/products", params={"sku": sku})


def create_product(sku: str, name: str = "peakbench test product", price: str = "10.00") -> Request:
    """POST a simple, published, priced product (orders of unknown ids become $0 items)."""
    body = {"name": name, "sku": sku, "type": "simple", "regular_price": price, "status": "publish"}
    return Request("POST", "/wp-json/wc/v3/products", json=body)


def parse_product_ids(body: Any) -> list[int]:
    """Ids of a product list (or of one created product)."""
    items = body if isinstance(body, list) else [body]
    return [i["id"] for i in items if isinstance(i, Mapping) and isinstance(i.get("id"), int)]


@dataclass(frozen=True, slots=True)
class Plugin:
    """An active WordPress plugin, as WooCommerce's system status lists it."""

    file: str
    name: str
    version: str


LOGISTICS = re.compile(r"track|shipment|shipping|fulfil|parcel|carrier|delivery", re.IGNORECASE)
"""Plugin names or files that look like a logistics plugin (the one a run measures)."""


def system_status() -> Request:
    """GET WooCommerce's system status (environment, active plugins with versions)."""
    return Request("GET", "/wp-json/wc/v3/system_status")


def parse_active_plugins(body: Any) -> list[Plugin]:
    """The ``active_plugins`` of a system status body (empty when absent)."""
    items = body.get("active_plugins") if isinstance(body, Mapping) else None
    return [
        Plugin(str(i.get("plugin", "")), str(i.get("name", "")), str(i.get("version", "")))
        for i in items or []
        if isinstance(i, Mapping)
    ]


def logistics_plugins(plugins: Sequence[Plugin]) -> list[Plugin]:
    """The plugins that look like logistics plugins (tracking, shipment, shipping, …)."""
    return [p for p in plugins if LOGISTICS.search(p.name) or LOGISTICS.search(p.file)]


def describe_plugins(plugins: Sequence[Plugin]) -> str:
    """``Advanced Shipment Tracking 3.9.2, TrackShip for WooCommerce 2.0.7`` (logistics ones
    first), or a note when none is active."""
    chosen = logistics_plugins(plugins)
    if not chosen:
        return f"{len(plugins)} active plugin(s), none looks like a logistics plugin"
    return ", ".join(f"{p.name} {p.version}" for p in chosen)


def get_order(order_id: int) -> Request:
    """GET one order (the order JSON, meta_data included)."""
    return Request("GET", ORDER_PATH.format(order_id=order_id))


def list_orders(per_page: int = 1) -> Request:
    """GET the newest orders: the cheapest request that needs valid read credentials."""
    return Request("GET", ORDERS_PATH, params={"per_page": str(per_page)})


def delete_order(order_id: int) -> Request:
    """DELETE an order for good (``force=true`` skips the trash)."""
    return Request("DELETE", ORDER_PATH.format(order_id=order_id), params={"force": "true"})


def error_code(body: Any) -> str | None:
    """WooCommerce names its errors: ``{"code": "woocommerce_rest_…", "message": …}``."""
    code = body.get("code") if isinstance(body, Mapping) else None
    return code if isinstance(code, str) else None


def tracking_page(order_id: int, order_key: str) -> Request:
    """GET the customer's tracking page; the order key authorises it, no API credentials."""
    return Request("GET", PAGE_PATH.format(order_id=order_id), params={"key": order_key})


# -- the tracking page ----------------------------------------------------------------------------

# Only <li> and <p> start tags matter; attributes are parsed only for tags that mention
# "tracking-", which keeps a page of a few hundred tags to a few microseconds of regex.
_TAG = re.compile(r"<(li|p)(?=[\s>/])([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")


def _attributes(raw: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for m in _ATTR.finditer(raw):
        value = m.group(2) if m.group(2) is not None else m.group(3) or m.group(4) or ""
        attrs.setdefault(m.group(1).lower(), html.unescape(value))
    return attrs


def _newest(occurred: list[str]) -> str | None:
    """The latest timestamp; by the store contract that is the first, but compare to be sure."""
    if not occurred:
        return None
    try:
        return max(occurred, key=lambda s: datetime.fromisoformat(s).timestamp())
    except (ValueError, OverflowError):  # unparsable or out-of-range times: keep the order
        return occurred[0]


def parse_tracking_page(page: str) -> Observation:
    """Read what the customer's tracking page shows.

    Counts ``<li class="tracking-event">`` items and reads the single
    ``<p class="tracking-status" data-status=…>``. Attribute order, quoting, extra classes and
    whitespace do not matter. Raises ValueError for a page without exactly one tracking status
    (a login page, an error page, a theme that dropped the section).
    """
    shown = 0
    occurred: list[str] = []
    statuses: list[str | None] = []
    for m in _TAG.finditer(page):
        raw = m.group(2)
        if "tracking-" not in raw:
            continue
        attrs = _attributes(raw)
        classes = attrs.get("class", "").split()
        tag = m.group(1).lower()
        if tag == "li" and "tracking-event" in classes:
            shown += 1
            when = attrs.get("data-occurred", "").strip()
            if when:
                occurred.append(when)
        elif tag == "p" and "tracking-status" in classes:
            statuses.append(attrs.get("data-status", "").strip() or None)
    if len(statuses) != 1:
        what = "no" if not statuses else f"{len(statuses)}"
        raise ValueError(f'not a tracking page: {what} <p class="tracking-status"> found')
    return Observation(shown, _newest(occurred), statuses[0])
