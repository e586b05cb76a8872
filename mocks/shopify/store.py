"""The Shopify store's world, kept in the sandbox's own :class:`~mocks.store.db.StoreDB`.

One model of the world for both platforms, so the analysis of ``store.sqlite`` is unchanged:

- an order is an ``orders`` row (``order_key`` = the order's status-page token; ``data`` = the
  Shopify order as created), ``gid://shopify/Order/<id>``, with one fulfilment order
  ``gid://shopify/FulfillmentOrder/<id>``;
- a fulfilment is a ``shipments`` row (``gid://shopify/Fulfillment/<shipment id>``; the tracking
  company names the fleet carrier, case-insensitively);
- a ``fulfillmentEventCreate`` appends one event to the shipment's shown events and logs a
  ``tracking_changes`` row: from then on the customer sees it. Events are kept in the neutral
  shape the order status page renders (``status``, ``occurred_at``, ``description``) plus
  Shopify's ``shopify_status``; ``displayStatus`` is the status of the latest event (by
  ``happenedAt``), ``FULFILLED`` before any.

Resolvers return plain dicts whose callables graphql-core's default resolver calls with the
field's arguments. ``on_fulfillment(topic, payload)`` is told of ``fulfillments/create`` and
``fulfillments/update`` with Shopify's REST fulfilment body (:mod:`mocks.shopify.webhooks`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from mocks.store.db import OrderRow, ShipmentRow, StoreDB
from peakbench.adapters.shopify import EVENT_STATUS
from peakbench.plan.clock import Clock, epoch_of, iso

NEUTRAL = {v: k for k, v in EVENT_STATUS.items()} | {
    "CARRIER_PICKED_UP": "in_transit",
    "DELAYED": "in_transit",
    "LABEL_PRINTED": "info_received",
    "LABEL_PURCHASED": "info_received",
    "READY_FOR_PICKUP": "out_for_delivery",
    "PICKED_UP": "delivered",
}
"""FulfillmentEventStatus → the neutral status the page and the analysis speak."""
SHOP_ID = 60_000_000_001
EVENT_ID_STRIDE = 1000
OnFulfillment = Callable[[str, dict[str, Any]], None]


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: Any, kind: str) -> int | None:
    """The number of ``gid://shopify/<kind>/<n>``, or None."""
    prefix = f"gid://shopify/{kind}/"
    text = str(value or "")
    tail = text[len(prefix) :] if text.startswith(prefix) else ""
    return int(tail) if tail.isdigit() and len(tail) < 19 else None


def _when(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError):
        return None


def _latest(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not events:
        return None
    return max(enumerate(events), key=lambda p: (_when(p[1].get("occurred_at")) or 0.0, p[0]))[1]


def _slice(items: list[Any], first: int | None) -> list[Any]:
    return items if first is None else items[: max(0, first)]


def _connection(items: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    edges = [{"node": n, "cursor": f"{prefix}{i}"} for i, n in enumerate(items)]
    info = {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": edges[0]["cursor"] if edges else None,
        "endCursor": edges[-1]["cursor"] if edges else None,
    }
    return {"nodes": items, "edges": edges, "pageInfo": info}


class ShopifyStore:
    """Orders, fulfilments and events over ``db``; ``page_url(order)`` builds the status page
    link (``statusPageUrl``)."""

    def __init__(
        self,
        db: StoreDB,
        clock: Clock,
        carriers: Mapping[str, Any],
        *,
        shop_domain: str,
        page_url: Callable[[OrderRow], str],
        on_fulfillment: OnFulfillment | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.providers = {name.lower(): name for name in carriers}
        self.shop_domain = shop_domain
        self.page_url = page_url
        self.on_fulfillment = on_fulfillment or (lambda topic, payload: None)
        db.conn.execute("CREATE INDEX IF NOT EXISTS orders_key ON orders(order_key)")

    def order_by_key(self, token: str) -> OrderRow | None:
        """The order whose status-page token is ``token``."""
        row = self.db.conn.execute("SELECT id FROM orders WHERE order_key = ?", (token,)).fetchone()
        return None if row is None else self.db.get_order(int(row[0]))

    def epoch_now(self) -> float:
        return epoch_of(self.clock.spec, self.clock.now())

    def iso_t(self, t: float) -> str:
        return iso(epoch_of(self.clock.spec, t))

    # -- reads ------------------------------------------------------------------------------------

    def shop(self) -> dict[str, Any]:
        plan = {"partnerDevelopment": True, "shopifyPlus": False, "publicDisplayName": "Sandbox"}
        name = self.shop_domain.split(".")[0]
        return {"id": gid("Shop", SHOP_ID), "name": name, "myshopifyDomain": self.shop_domain,
                "plan": plan}  # fmt: skip

    def order(self, order_id: int) -> dict[str, Any] | None:
        row = self.db.get_order(order_id)
        return None if row is None else self.order_json(row)

    def order_json(self, row: OrderRow) -> dict[str, Any]:
        shipments = self.db.shipments_of(row.id)
        fulfillments = [self.fulfillment_json(row, s) for s in shipments]
        fo = {"id": gid("FulfillmentOrder", row.id), "status": "CLOSED" if shipments else "OPEN"}
        data = row.data
        return {
            "id": gid("Order", row.id),
            "legacyResourceId": row.id,
            "name": data.get("name", f"#{1000 + row.id}"),
            "email": data.get("email"),
            "createdAt": self.iso_t(row.created_t),
            "test": bool(data.get("test", False)),
            "tags": list(data.get("tags", [])),
            "displayFulfillmentStatus": "FULFILLED" if shipments else "UNFULFILLED",
            "statusPageUrl": self.page_url(row),
            "fulfillments": lambda info, first=None: _slice(fulfillments, first),
            "fulfillmentOrders": lambda info, first=None, after=None: _connection(
                _slice([fo], first), "fo"
            ),
        }

    def events_json(self, s: ShipmentRow) -> list[dict[str, Any]]:
        return [
            {
                "id": gid("FulfillmentEvent", s.id * EVENT_ID_STRIDE + i + 1),
                "status": e.get("shopify_status")
                or EVENT_STATUS.get(str(e.get("status")), "CONFIRMED"),
                "happenedAt": e.get("occurred_at"),
                "createdAt": e.get("created_at") or e.get("occurred_at"),
                "message": e.get("description"),
            }
            for i, e in enumerate(s.events)
        ]  # fmt: skip

    def fulfillment_json(self, order: OrderRow, s: ShipmentRow) -> dict[str, Any]:
        events = self.events_json(s)
        latest = _latest(s.events)
        display = (latest or {}).get("shopify_status") or "FULFILLED"
        delivered = next((e["happenedAt"] for e in events if e["status"] == "DELIVERED"), None)
        in_transit = next((e["happenedAt"] for e in events if e["status"] == "IN_TRANSIT"), None)
        tracking = [{"number": s.tracking_number, "company": s.carrier, "url": None}]

        def events_of(info: Any, first: Any = None, sortKey: str = "ID", reverse: bool = False,
                      after: Any = None) -> dict[str, Any]:  # fmt: skip
            items = list(events)
            if sortKey == "HAPPENED_AT":
                items.sort(key=lambda e: _when(e["happenedAt"]) or 0.0)
            if reverse:
                items.reverse()
            return _connection(_slice(items, first), "ev")

        created = self.iso_t(s.shipped_t)
        return {
            "id": gid("Fulfillment", s.id),
            "legacyResourceId": s.id,
            "name": f"{order.data.get('name', f'#{1000 + order.id}')}.{s.id}",
            "status": "SUCCESS",
            "displayStatus": display,
            "createdAt": created,
            "updatedAt": (latest or {}).get("created_at") or created,
            "inTransitAt": in_transit,
            "deliveredAt": delivered,
            "trackingInfo": lambda info, first=None: _slice(tracking, first),
            "events": events_of,
            "order": lambda info: self.order_json(order),
        }

    def fulfillment(self, shipment_id: int) -> tuple[OrderRow, ShipmentRow] | None:
        row = self.db.conn.execute(
            "SELECT order_id, tracking_number FROM shipments WHERE id = ?", (shipment_id,)
        ).fetchone()
        order = self.db.get_order(int(row[0])) if row else None
        shipment = self.db.shipment(str(row[1])) if row else None
        return None if order is None or shipment is None else (order, shipment)

    # -- writes -----------------------------------------------------------------------------------

    def create_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        token = secrets.token_hex(16)
        with self.db.transaction():
            oid = self.db.insert_order(token, "open", self.clock.now())
            data = {**dict(order), "name": f"#{1000 + oid}", "created_at": iso(self.epoch_now())}
            self.db.save_order(oid, "open", data)
        row = self.db.get_order(oid)
        assert row is not None
        return {"order": self.order_json(row), "userErrors": []}

    def delete_order(self, order_gid: str) -> dict[str, Any]:
        oid = parse_gid(order_gid, "Order")
        with self.db.transaction():
            if oid is None or self.db.get_order(oid) is None:
                error = {"field": ["orderId"], "message": "Order does not exist", "code": "INVALID"}
                return {"deletedId": None, "userErrors": [error]}
            self.db.delete_order(oid)
        return {"deletedId": order_gid, "userErrors": []}

    def create_fulfillment(self, fulfillment: Mapping[str, Any]) -> dict[str, Any]:
        groups = list(fulfillment.get("lineItemsByFulfillmentOrder") or [])
        ids = {parse_gid(g.get("fulfillmentOrderId"), "FulfillmentOrder") for g in groups}
        tracking = dict(fulfillment.get("trackingInfo") or {})
        number = str(tracking.get("number") or next(iter(tracking.get("numbers") or []), ""))
        company = str(tracking.get("company") or "")

        def refuse(field: list[str], message: str) -> dict[str, Any]:
            return {"fulfillment": None, "userErrors": [{"field": field, "message": message}]}

        if len(ids) != 1 or None in ids:
            return refuse(
                ["fulfillment", "lineItemsByFulfillmentOrder"], "Invalid fulfillment order id."
            )
        if not number:
            return refuse(
                ["fulfillment", "trackingInfo", "number"], "Tracking number can't be blank."
            )
        oid = ids.pop()
        assert oid is not None
        with self.db.transaction():
            order = self.db.get_order(oid)
            if order is None:
                return refuse(
                    ["fulfillment", "lineItemsByFulfillmentOrder"],
                    "Fulfillment order does not exist.",
                )
            if self.db.shipments_of(oid):
                return refuse(["fulfillment"], "Fulfillment order is already closed.")
            if self.db.shipment(number) is not None:
                return refuse(
                    ["fulfillment", "trackingInfo", "number"], "Tracking number is already in use."
                )
            carrier = self.providers.get(company.lower(), company)
            now = self.clock.now()
            day = iso(self.epoch_now())[:10]
            sid = self.db.add_shipment(oid, carrier, number, now, "", day)
            self.db.conn.execute(
                "UPDATE shipments SET tracking_id = ? WHERE id = ?", (gid("Fulfillment", sid), sid)
            )
            self.db.save_order(oid, "fulfilled", {**order.data, "fulfillment_status": "fulfilled"})
            order = self.db.get_order(oid)
            shipment = self.db.shipment(number)
        assert order is not None and shipment is not None
        self.on_fulfillment("fulfillments/create", self.rest_fulfillment(order, shipment))
        return {"fulfillment": self.fulfillment_json(order, shipment), "userErrors": []}

    def create_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        sid = parse_gid(event.get("fulfillmentId"), "Fulfillment")
        found = self.fulfillment(sid) if sid is not None else None
        if found is None:
            error = {
                "field": ["fulfillmentEvent", "fulfillmentId"],
                "message": "Fulfillment does not exist.",
            }
            return {"fulfillmentEvent": None, "userErrors": [error]}  # fmt: skip
        order, shipment = found
        status = str(event["status"])
        now_iso = iso(self.epoch_now())
        happened = event.get("happenedAt")
        if happened is not None and _when(happened) is None:
            error = {
                "field": ["fulfillmentEvent", "happenedAt"],
                "message": "Happened at is invalid.",
            }
            return {"fulfillmentEvent": None, "userErrors": [error]}  # fmt: skip
        shown = {
            "status": NEUTRAL.get(status, "in_transit"),
            "shopify_status": status,
            "occurred_at": str(happened or now_iso),
            "created_at": now_iso,
            "description": event.get("message") or status.replace("_", " ").capitalize(),
            "location": {k: event.get(k) for k in ("city", "province", "country") if event.get(k)},
        }
        events = [*shipment.events, shown]
        latest = _latest(events) or shown
        with self.db.transaction():
            self.db.apply_tracking(
                shipment.tracking_number, events, str(latest["status"]), self.clock.now()
            )
        updated = self.db.shipment(shipment.tracking_number)
        assert updated is not None
        self.on_fulfillment("fulfillments/update", self.rest_fulfillment(order, updated))
        node = self.events_json(updated)[-1]
        return {"fulfillmentEvent": node, "userErrors": []}

    # -- the REST shape webhooks carry -----------------------------------------------------------

    def rest_fulfillment(self, order: OrderRow, s: ShipmentRow) -> dict[str, Any]:
        """A fulfilment as the REST resource and the ``fulfillments/*`` webhooks show it."""
        latest = _latest(s.events)
        shipment_status = str(latest["shopify_status"]).lower() if latest else None
        created = iso(epoch_of(self.clock.spec, s.shipped_t)).replace("Z", "+00:00")
        items = order.data.get("lineItems") or []
        return {
            "id": s.id,
            "admin_graphql_api_id": gid("Fulfillment", s.id),
            "created_at": created,
            "email": order.data.get("email"),
            "location_id": None,
            "name": f"{order.data.get('name', f'#{1000 + order.id}')}.{s.id}",
            "order_id": order.id,
            "origin_address": {},
            "receipt": {},
            "service": "manual",
            "shipment_status": shipment_status,
            "status": "success",
            "tracking_company": s.carrier,
            "tracking_number": s.tracking_number,
            "tracking_numbers": [s.tracking_number],
            "tracking_url": None,
            "tracking_urls": [],
            "updated_at": (latest or {}).get("created_at", created).replace("Z", "+00:00"),
            "line_items": [
                {
                    "id": order.id * 10 + i + 1,
                    "title": item.get("title"),
                    "quantity": item.get("quantity", 1),
                    "requires_shipping": item.get("requiresShipping", True),
                    "fulfillment_status": "fulfilled",
                    "admin_graphql_api_id": gid("LineItem", order.id * 10 + i + 1),
                }
                for i, item in enumerate(items)
                if isinstance(item, Mapping)
            ],
            "destination": order.data.get("shippingAddress"),
        }
