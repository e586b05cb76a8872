"""The customer's order-tracking page: what a shopper sees, and what the probes parse.

Contract with the Locust users (common brief): one ``<li class="tracking-event"
data-status=… data-occurred=…>`` per event the store currently shows, newest first, and exactly
one ``<p class="tracking-status" data-status=…>``. With several shipments the most recent one
comes first and gives the page's status; before any shipment the status is ``awaiting_shipment``,
and ``pending`` while a shipment has no carrier event yet (the generic carrier's word for it).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from mocks.store.tables import ShipmentRow

NOT_SHIPPED = "awaiting_shipment"


def _attr(value: Any) -> str:
    return escape(str(value if value is not None else ""), quote=True)


def _event(event: dict[str, Any]) -> str:
    raw = event.get("location")
    loc: dict[str, Any] = raw if isinstance(raw, dict) else {}
    place = ", ".join(str(p) for p in (loc.get("city"), loc.get("state"), loc.get("country")) if p)
    occurred = event.get("occurred_at")
    return (
        f'<li class="tracking-event" data-status="{_attr(event.get("status"))}" '
        f'data-occurred="{_attr(occurred)}" data-code="{_attr(event.get("code"))}">'
        f'<time datetime="{_attr(occurred)}">{escape(str(occurred or ""))}</time> '
        f'<span class="description">{escape(str(event.get("description") or ""))}</span> '
        f'<span class="location">{escape(place)}</span></li>'
    )


def _shipment(s: ShipmentRow) -> str:
    events = "\n".join(_event(e) for e in reversed(s.events))  # stored oldest first
    return (
        f'<section class="shipment" data-tracking-number="{_attr(s.tracking_number)}" '
        f'data-carrier="{_attr(s.carrier)}" data-shown-count="{s.shown_count}">\n'
        f"<h2>{escape(s.carrier)} {escape(s.tracking_number)}</h2>\n"
        f'<ol class="tracking-events">\n{events}\n</ol>\n</section>'
    )


def render_tracking_page(order_id: int, shipments: Sequence[ShipmentRow]) -> str:
    """The HTML page of the order ``order_id``'s tracking, as the store shows it now."""
    latest_first = sorted(shipments, key=lambda s: (s.shipped_t, s.id), reverse=True)
    status = latest_first[0].status if latest_first else NOT_SHIPPED
    label = status.replace("_", " ").capitalize()
    body = "\n".join(_shipment(s) for s in latest_first) or "<p>Your order has not shipped yet.</p>"
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>Order #{order_id} tracking</title>'
        "</head>\n<body>\n"
        f'<main class="order-tracking" data-order-id="{order_id}">\n'
        f"<h1>Order #{order_id}</h1>\n"
        f'<p class="tracking-status" data-status="{_attr(status)}">{escape(label)}</p>\n'
        f"{body}\n</main>\n</body></html>\n"
    )
