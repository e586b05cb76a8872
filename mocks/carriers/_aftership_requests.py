"""What the AfterShip personality reads from a request and the error envelopes it answers.

:class:`Asked` carries the numbers asked and how (v4 or versioned, slug, reason, list filters);
:func:`list_filter` and :func:`completion_reason` read the list query and the mark-as-completed
body; the ``meta`` error envelopes are built once, as the vendor words them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from mocks.carriers._aftership_doc import COMPLETED

LIST_LIMIT = 100
"""Trackings per list page (the API's default ``limit``; at most 200)."""


class Asked(tuple[str, ...]):
    """Numbers asked, with how: ``legacy`` (v4 envelope), ``slug`` (create), ``reason``
    (mark-as-completed), ``checkpoint`` (last_checkpoint), ``only``/``limit`` (list filters)."""

    legacy: bool
    slug: str | None
    reason: str | None
    checkpoint: bool
    only: tuple[str, ...] | None
    limit: int

    def __new__(
        cls,
        numbers: Iterable[str] = (),
        legacy: bool = False,
        slug: str | None = None,
        reason: str | None = None,
        checkpoint: bool = False,
        only: tuple[str, ...] | None = None,
        limit: int = LIST_LIMIT,
    ) -> Asked:
        asked = super().__new__(cls, numbers)
        asked.legacy, asked.slug, asked.reason = legacy, slug, reason
        asked.checkpoint, asked.only, asked.limit = checkpoint, only, limit
        return asked


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def meta_error(code: int, kind: str, message: str, data: Any = None) -> bytes:
    """An error envelope ``{"meta": {"code", "type", "message"}, "data": {}}``."""
    meta = {"code": code, "type": kind, "message": message}
    return _dumps({"meta": meta, "data": data if data is not None else {}})


UNAUTHORIZED = meta_error(401, "Unauthorized", "Invalid API key.")
FORBIDDEN = meta_error(
    403, "Forbidden", "The request is understood, but it has been refused or access is not allowed."
)
NOT_FOUND = meta_error(4004, "NotFound", "Tracking does not exist.")
NO_ROUTE = meta_error(
    404, "NotFound", "The URI requested is invalid or the resource does not exist."
)
RATE = meta_error(
    429,
    "TooManyRequests",
    "You have exceeded the API call rate limit. Please retry again at X-RateLimit-Reset.",
)
INTERNAL = meta_error(500, "InternalError", "Something went wrong on AfterShip's end.")
QUOTA = meta_error(403, "Forbidden", "You have reached the tracking quota of your plan.")
RETRACK_REFUSED = meta_error(
    4013, "BadRequest", "Retrack is not allowed. You can only retrack an inactive tracking."
)
ERRORS = {
    "json": (4001, "Invalid JSON data."),
    "required": (4007, "tracking_number is required."),
    "invalid": (4005, "The value of tracking_number is invalid."),
    "reason": (4010, "The value of reason is invalid."),
    "large": (400, "The request body is too large."),
}


def list_filter(query: str, legacy: bool) -> Asked:
    """The list route's ``tracking_numbers`` filter (≤ 50) and ``limit`` (1 to 200)."""
    try:
        params = parse_qs(query, max_num_fields=50)
    except ValueError:
        params = {}
    only: tuple[str, ...] | None = None
    wanted = params.get("tracking_numbers")
    if wanted:
        only = tuple(n.strip() for n in wanted[0].split(",") if n.strip())[:50]
    try:
        limit = min(200, max(1, int(params.get("limit", [LIST_LIMIT])[0])))
    except ValueError:
        limit = LIST_LIMIT
    return Asked((), legacy, only=only, limit=limit)


def completion_reason(body: bytes) -> str | None:
    """The mark-as-completed ``reason`` (versioned or v4-wrapped); None when not one of ours."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    reason = doc.get("reason") if isinstance(doc, dict) else None
    if isinstance(reason, dict):  # v4 wraps it: {"reason": ...} or {"tracking": {...}}
        reason = reason.get("reason")
    return reason if isinstance(reason, str) and reason in COMPLETED else None
