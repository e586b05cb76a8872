"""Bodies of the order annexes: tracking items, notes and batches (pure, raise BadRequest).

- ``shipment-trackings`` items as the official Shipment Tracking plugin and AST take them;
- ``/orders/{id}/notes`` notes, and the note JSON WooCommerce returns;
- ``/orders/batch``: ``create``/``update``/``delete`` lists, at most :data:`BATCH_LIMIT` items in
  all (more is WooCommerce's 413 ``woocommerce_rest_request_entity_too_large``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from mocks.store.orders import BadRequest, integer, invalid, wc_date

_ISO_DAY = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}", re.ASCII)


def shipped_day(text: str) -> str:
    """``text`` read by ``strptime("%Y-%m-%d")`` and written back by ``strftime``; ValueError
    when it is not a date. A day already written so (what every client sends) is only checked:
    ``strptime`` cost more than the rest of adding a tracking item."""
    if _ISO_DAY.fullmatch(text):
        date(int(text[:4]), int(text[5:7]), int(text[8:]))  # a day that does not exist raises
        return text
    return datetime.strptime(text, "%Y-%m-%d").strftime("%Y-%m-%d")


def parse_tracking_body(body: Any, epoch: float) -> tuple[str, str, str]:
    """``(provider, tracking_number, date_shipped)`` from a ``shipment-trackings`` POST body.

    ``date_shipped`` may be ``YYYY-MM-DD`` or a Unix timestamp; it defaults to the store date.
    """
    if not isinstance(body, Mapping):
        raise BadRequest("rest_invalid_json", "The tracking item must be a JSON object.")
    provider = body.get("tracking_provider") or body.get("custom_tracking_provider")
    if not isinstance(provider, str) or not provider.strip():
        raise invalid("tracking_provider", "tracking_provider is a required string.")
    number = body.get("tracking_number")
    if not isinstance(number, str) or not number.strip() or len(number) > 64:
        raise invalid("tracking_number", "tracking_number is a required string.")
    shipped = body.get("date_shipped")
    if shipped in (None, ""):
        date_shipped = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")
    elif isinstance(shipped, int | float) and not isinstance(shipped, bool):
        try:
            date_shipped = datetime.fromtimestamp(float(shipped), UTC).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):
            raise invalid("date_shipped", "date_shipped is not a timestamp.") from None
    elif isinstance(shipped, str):
        try:
            date_shipped = shipped_day(shipped.strip()[:10])
        except ValueError:
            raise invalid("date_shipped", "date_shipped is not a date (YYYY-MM-DD).") from None
    else:
        raise invalid("date_shipped", "date_shipped is not a date (YYYY-MM-DD).")
    return provider.strip(), number.strip(), date_shipped


def parse_note(body: Any) -> tuple[str, bool, bool]:
    """``(note, customer_note, added_by_user)`` of a ``POST /orders/{id}/notes`` body."""
    if not isinstance(body, Mapping):
        raise BadRequest("rest_invalid_json", "The note must be a JSON object.")
    note = body.get("note")
    if note is None or note == "":
        raise BadRequest("rest_missing_callback_param", "Missing parameter(s): note", ["note"])
    if not isinstance(note, str):
        raise invalid("note", "note is not of type string.")
    flags = []
    for name in ("customer_note", "added_by_user"):
        value = body.get(name, False)
        if not isinstance(value, bool):
            raise invalid(name, f"{name} is not of type boolean.")
        flags.append(value)
    return note, flags[0], flags[1]


def note_json(
    note_id: int, note: str, customer_note: bool, author: str, epoch: float
) -> dict[str, Any]:
    """An order note as ``/orders/{id}/notes`` returns it (``author`` "system" unless a user
    added it)."""
    created = wc_date(epoch)
    return {
        "id": note_id,
        "author": author,
        "date_created": created,
        "date_created_gmt": created,
        "note": note,
        "customer_note": customer_note,
    }


BATCH_LIMIT = 100
"""Items per ``/orders/batch`` request (filter ``woocommerce_rest_batch_items_limit``)."""


def parse_batch(body: Any) -> tuple[list[Any], list[Any], list[int]]:
    """``(create, update, delete)`` of a batch body; 413 past :data:`BATCH_LIMIT` items."""
    if not isinstance(body, Mapping):
        raise BadRequest("rest_invalid_json", "The batch must be a JSON object.")
    parts: list[list[Any]] = []
    for name in ("create", "update", "delete"):
        value = body.get(name) or []
        if not isinstance(value, list):
            raise invalid(name, f"{name} is not of type array.")
        parts.append(value)
    create, update, delete = parts
    if len(create) + len(update) + len(delete) > BATCH_LIMIT:
        raise BadRequest(
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
            status=413,
        )
    ids = []
    for i, raw in enumerate(delete):
        try:
            ids.append(integer(raw, f"delete[{i}]"))
        except BadRequest:
            raise invalid("delete", f"delete[{i}] is not of type integer.") from None
    return create, update, ids
