"""What EasyPost tracker requests ask: the tracking code and carrier of a create, the API key
of an ``Authorization`` header, and the filters of a list or batch call."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from urllib.parse import parse_qs

PAGE_SIZE = 20
"""Trackers per list page (EasyPost's default ``page_size``; at most 100)."""


def tracking_code(body: bytes) -> tuple[str | None, str | None]:
    """The requested ``(tracking code, carrier)``: code "" when missing, None when the body is
    unreadable; carrier None when not named."""
    text = body.strip()
    if text.startswith(b"{"):
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return None, None
        tracker = doc.get("tracker", doc) if isinstance(doc, dict) else None
        code = tracker.get("tracking_code") if isinstance(tracker, dict) else None
        carrier = tracker.get("carrier") if isinstance(tracker, dict) else None
        return (code if isinstance(code, str) else ""), _named(carrier)
    try:
        form = parse_qs(text.decode("utf-8"), max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return None, None
    values = form.get("tracker[tracking_code]") or form.get("tracking_code") or [""]
    carriers = form.get("tracker[carrier]") or form.get("carrier") or [""]
    return values[0], _named(carriers[0])


def _named(value: object) -> str | None:
    return value[:40] if isinstance(value, str) and value.strip() else None


def api_key(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return token.strip() or None
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user.partition(":")[0] or None
    return None


class Listing(tuple[str, ...]):
    """Tracking codes a list or batch call filters by (none: all), with ``carrier`` and
    ``page_size``; on create, the one code and the requested ``carrier``."""

    carrier: str | None
    page_size: int

    def __new__(
        cls, codes: Iterable[str] = (), carrier: str | None = None, page_size: int = PAGE_SIZE
    ) -> Listing:
        listing = super().__new__(cls, codes)
        listing.carrier, listing.page_size = carrier, page_size
        return listing


def listing(query: str, body: bytes) -> Listing:
    """The filters of a list call (query string) or a batch call (``query == "batch"``, JSON
    body ``{"tracking_codes": [...], "carrier"?, "page_size"?}``)."""
    params: dict[str, list[str]] = {}
    if query == "batch":
        try:
            doc = json.loads(body) if body.strip() else {}
        except (ValueError, RecursionError):
            doc = {}
        doc = doc if isinstance(doc, dict) else {}
        for name, value in doc.items():
            values = value if isinstance(value, list) else [value]
            params[name] = [str(v) for v in values if isinstance(v, str | int)][:100]
    else:
        try:
            params = parse_qs(query, max_num_fields=200)
        except ValueError:
            params = {}
    codes: list[str] = []
    for name, values in params.items():
        if name == "tracking_code" or name.startswith("tracking_codes"):
            codes.extend(c.strip() for v in values for c in v.split(",") if c.strip())
    try:
        size = min(100, max(1, int(params.get("page_size", [PAGE_SIZE])[0])))
    except ValueError:
        size = PAGE_SIZE
    carrier = params.get("carrier")
    return Listing(codes[:100], _named(carrier[0]) if carrier else None, size)
