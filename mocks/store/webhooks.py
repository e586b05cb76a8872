"""The TrackShip-style inbound webhook: ``POST /wp-json/wc/v1/tracking-webhook``.

TrackShip (and the ``trackship`` aggregator mock) pushes a parcel's state to the store with
WooCommerce REST auth (the app checks it) and ``Content-Type: application/json``; the body is the
field contract of reference/carriers.md §5. The route validates it, answers 200
``{"status": "success", …}`` and *enqueues* an action on the store's queue (Action Scheduler,
shared with the plugin's own jobs), so under a peak webhooks wait behind the plugin's work and a
backlog forms and drains as in real stores. The action's args are the validated fields of the
body (TrackShip's names); the plugin's handler (``Plugin.apply_webhook``, hook ``"webhook"``)
stores the events through the same path as the polling plugin (``StoreDB.apply_tracking``), so
the change log, and with it freshness, is measured the same way for pull and push.

Validation (400 ``rest_invalid_param`` / ``rest_missing_callback_param`` unless said):

- a JSON object, sent as JSON: WordPress parses a body as JSON only with a JSON content type,
  so anything else arrives with no fields (400, missing parameters);
- ``order_id`` (integer or digits) of an existing order, else 404
  ``woocommerce_rest_shop_order_invalid_id``; ``tracking_number`` matching a tracking item *of
  that order*, else 404 ``woocommerce_rest_shipment_tracking_invalid_number`` (TrackShip's
  plugin would drop such a push silently; the sandbox says so, since it means a wiring bug);
- ``tracking_event_status`` one of :data:`EVENT_STATUSES`;
- ``events`` an array (the real handler crashes on anything else; here it is a 400) of objects
  with ``datetime`` as ``Y-m-d H:i:s``, oldest first, taken as sent; ``destination_events`` an
  array or null; the ``*_time``/``updated_at`` fields ``Y-m-d H:i:s`` or null.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mocks.store.db import StoreDB
from mocks.store.orders import BadRequest, invalid
from mocks.store.queue import ActionQueue
from peakbench.plan.clock import Clock

EVENT_STATUSES = (
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "available_for_pickup",
    "delivered",
    "on_hold",
    "exception",
    "failure",
    "return_to_sender",
    "unknown",
)
"""TrackShip's ``tracking_event_status`` vocabulary (carriers.md §5)."""

_MAX_ID = 2**63 - 1
_WP_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_TIMES = ("last_event_time", "first_event_time", "updated_at")
_TEXTS = (
    "tracking_est_delivery_date",
    "origin_country",
    "destination_country",
    "destination_state",
    "destination_city",
    "delivery_number",
    "delivery_provider",
    "shipping_service",
)
_KEPT = ("order_id", "tracking_number", "tracking_event_status", "events", "destination_events")
"""What the queued action carries: what applying needs, not the whole body (bounded rows)."""


def _events(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise invalid(name, f"{name} is not of type array.")
    for i, event in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(event, Mapping):
            raise invalid(name, f"{where} is not of type object.")
        when = event.get("datetime")
        if not isinstance(when, str) or not _WP_TIME.match(when):
            raise invalid(name, f"{where}[datetime] is not a date (Y-m-d H:i:s).")
        if not isinstance(event.get("message", ""), str):
            raise invalid(name, f"{where}[message] is not of type string.")
        location = event.get("tracking_location")
        if location is not None and not isinstance(location, Mapping):
            raise invalid(name, f"{where}[tracking_location] is not of type object.")
    return value


def validate_push(body: Any) -> dict[str, Any]:
    """The fields of a push body that applying needs, validated; raises BadRequest (400)."""
    if not isinstance(body, Mapping):
        body = {}
    missing = [n for n in ("order_id", "tracking_number", "events") if n not in body]
    if missing:
        raise BadRequest(
            "rest_missing_callback_param", f"Missing parameter(s): {', '.join(missing)}", missing
        )
    order_id = body["order_id"]
    if isinstance(order_id, bool) or not (
        isinstance(order_id, int)
        or (isinstance(order_id, str) and order_id.isascii() and order_id.isdigit())
    ):
        raise invalid("order_id", "order_id is not of type integer.")
    number = body["tracking_number"]
    if not isinstance(number, str) or not number.strip():
        raise invalid("tracking_number", "tracking_number is not of type string.")
    status = body.get("tracking_event_status")
    if status not in EVENT_STATUSES:
        raise invalid(
            "tracking_event_status",
            f"tracking_event_status is not one of {', '.join(EVENT_STATUSES)}.",
        )
    _events(body["events"], "events")
    if body.get("destination_events") is not None:
        _events(body["destination_events"], "destination_events")
    for name in _TIMES:
        value = body.get(name)
        if value not in (None, "") and not (isinstance(value, str) and _WP_TIME.match(value)):
            raise invalid(name, f"{name} is not a date (Y-m-d H:i:s).")
    for name in _TEXTS:
        if not isinstance(body.get(name), str | None):
            raise invalid(name, f"{name} is not of type string.")
    # beyond SQLite's INTEGER range no order can exist (and int() refuses 4,300+ digits)
    if len(str(order_id)) > 19 or not 0 < int(order_id) <= _MAX_ID:
        raise BadRequest("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status=404)
    kept = {name: body.get(name) for name in _KEPT}
    kept.update(order_id=int(order_id), tracking_number=number.strip())
    return kept


class WebhookReceiver:
    """The route handler (behind the app's auth): validate, check the item, enqueue."""

    def __init__(self, db: StoreDB, queue: ActionQueue, clock: Clock, hook: str) -> None:
        self.db = db
        self.queue = queue
        self.clock = clock
        self.hook = hook
        """Queue hook whose handler applies a push (the plugin's ``apply_webhook``)."""

    async def receive(self, request: Request) -> Response:
        body: Any = None
        if request.headers.get("content-type", "").split(";")[0].strip().endswith("json"):
            try:
                body = json.loads(await request.body())
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise BadRequest("rest_invalid_json", "Invalid JSON body passed.") from None
        payload = validate_push(body)
        order_id, number = payload["order_id"], payload["tracking_number"]
        item = self.db.shipment(number)
        if self.db.get_order(order_id) is None:
            raise BadRequest("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status=404)
        if item is None or item.order_id != order_id:
            raise BadRequest(
                "woocommerce_rest_shipment_tracking_invalid_number",
                "No tracking item of this order has this tracking number.",
                status=404,
            )
        action_id = self.queue.enqueue(self.hook, payload)
        return JSONResponse(
            {
                "status": "success",
                "order_id": order_id,
                "tracking_number": number,
                "action_id": action_id,
            }
        )
