"""The EasyPost trackers personality: trackers created by the store, then retrieved by id.

Routes: ``POST /v2/trackers`` (create; JSON ``{"tracker": {"tracking_code", "carrier"}}`` as
the official client sends it, or the form-encoded ``tracker[tracking_code]=…`` of older
integrations), ``GET /v2/trackers/{id}``, ``GET /v2/trackers`` (list, newest first). Auth:
``Authorization: Basic base64(<key>:)`` or ``Bearer <key>``. Creating a tracker that exists
returns it (EasyPost deduplicates by tracking code).

Tracker ``{id: "trk_…", object: "Tracker", mode, tracking_code, status, status_detail, carrier,
tracking_details: [{object: "TrackingDetail", message, status, status_detail, datetime (UTC),
source, tracking_location}], ...}``, details OLDEST first. Errors
``{"error": {"code", "message", "errors": []}}``; a throttle is 429 ``RATE_LIMITED``. Tracker ids
are ``trk_`` + the hex of the tracking number (32 hex digits for our 16-character numbers, like
EasyPost's): no state beyond the registered set.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from mocks.carriers._refresh import Registrations
from mocks.carriers.base import BATCH, OTHER, TRACK, Ask, Reply
from mocks.carriers.generic import utc_iso
from peakbench.config.fleet import CarrierSpec
from peakbench.timeline import ScanEvent, TimelineModel, journey, parse_tracking_number

CAPACITY = 2_000_000
"""Default cap on registered trackers; beyond it create answers 402 (billing)."""

PAGE_SIZE = 20
"""Trackers per list page (EasyPost's default ``page_size``)."""

REGISTER = "register"
_COLLECTION = "/v2/trackers"
_NUMBER = re.compile(r"^[A-Za-z0-9]{4,40}$")

STATUSES = {
    "info_received": ("pre_transit", "label_created"),
    "in_transit": ("in_transit", "in_transit"),
    "out_for_delivery": ("out_for_delivery", "out_for_delivery"),
    "failed_attempt": ("failure", "delivery_exception"),
    "delivered": ("delivered", "arrived_at_destination"),
    "exception": ("failure", "unknown"),
}
"""Neutral status → EasyPost ``(status, status_detail)``."""

_TRANSIT_DETAILS = {
    "PU": "received_at_origin_facility",
    "EMA": "received_at_origin_facility",
    "AR": "arrived_at_facility",
    "EMB": "arrived_at_facility",
    "EMD": "arrived_at_facility",
    "DP": "departed_facility",
    "EMC": "departed_facility",
    "EXD": "departed_facility",
    "EMF": "transferred_to_destination_carrier",
}


def tracker_id(number: str) -> str:
    """The tracker's id: ``trk_`` and the hex of its number."""
    return "trk_" + number.encode().hex()


def number_of(tracker_id: str) -> str | None:
    """The number a tracker id stands for, None if it is not one of ours."""
    if not tracker_id.startswith("trk_"):
        return None
    try:
        return bytes.fromhex(tracker_id[4:]).decode("ascii")
    except ValueError:
        return None


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def error_body(code: str, message: str, errors: list[dict[str, str]] | None = None) -> bytes:
    """EasyPost's error envelope ``{"error": {"code", "message", "errors"}}``."""
    return _dumps({"error": {"code": code, "message": message, "errors": errors or []}})


_UNAUTHORIZED = error_body(
    "APIKEY.REQUIRED", "Missing or invalid API key. Please provide a valid API key."
)
_FORBIDDEN = error_body("FORBIDDEN", "You do not have permission to perform this action.")
_NOT_FOUND = error_body("NOT_FOUND", "The requested resource could not be found.")
_RATE = error_body(
    "RATE_LIMITED",
    "Your account has been temporarily rate-limited due to excessive resource consumption. "
    "Please retry with an exponential backoff.",
)
_INTERNAL = error_body("INTERNAL_SERVER_ERROR", "We're sorry, something went wrong.")
_BILLING = error_body("BILLING.INSUFFICIENT_FUNDS", "Tracker quota reached for this account.")
_ERRORS = {
    "json": ("BAD_REQUEST", "The request could not be understood by the server.", 400),
    "required": ("PARAMETER.REQUIRED", "Missing required parameter.", 422),
    "invalid": ("TRACKER.TRACKING_CODE.INVALID", "The tracking code is invalid.", 422),
}


def status_of(event: ScanEvent) -> tuple[str, str]:
    """EasyPost ``(status, status_detail)`` of one scan."""
    status, detail = STATUSES.get(event.status, STATUSES["in_transit"])
    if event.status == "in_transit":
        detail = _TRANSIT_DETAILS.get(event.code, detail)
    return status, detail


def _location(event: ScanEvent | None) -> dict[str, Any]:
    return {
        "object": "TrackingLocation",
        "city": event.city if event else None,
        "state": event.state if event else None,
        "country": event.country if event else None,
        "zip": None,
    }


class EasyPost(Registrations):
    """EasyPost trackers over the journeys of ``model``; ``carrier`` names the carrier."""

    content_type = b"application/json"

    def __init__(self, carrier: str, model: TimelineModel, capacity: int = CAPACITY) -> None:
        self.carrier = carrier
        self.model = model
        super().__init__(capacity)

    # -- requests -------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[str, str]:
        if path == _COLLECTION:
            return {"POST": REGISTER, "GET": BATCH}.get(method, OTHER), ""
        if method == "GET" and path.startswith(_COLLECTION + "/"):
            target = path[len(_COLLECTION) + 1 :]
            if target and "/" not in target:
                return TRACK, target
        return OTHER, ""

    def reads_body(self, route: str) -> bool:
        return route == REGISTER

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        for name, value in headers:
            if name != b"authorization":
                continue
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return token.strip() or None
            if scheme.lower() == "basic":
                try:
                    user = base64.b64decode(token.strip(), validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    return None
                return user.partition(":")[0] or None
        return None

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        if route == TRACK:
            return Ask(TRACK, (number_of(argument) or "",))
        if route != REGISTER:
            return Ask(route, ())
        number = _tracking_code(body)
        if number is None:
            return Ask(route, (), "json")
        if not number:
            return Ask(route, (), "required")
        return Ask(route, (number,), None if _NUMBER.match(number) else "invalid")

    # -- answers --------------------------------------------------------------------------------

    def respond(self, ask: Ask, epoch: float) -> Reply:
        count = len(ask.numbers)
        if ask.error is not None:
            code, message, status = _ERRORS[ask.error]
            errors = [{"field": "tracking_code", "message": message}]
            return Reply(status, error_body(code, message, errors), "bad_request", count)
        if ask.route == OTHER:
            return Reply(404, _NOT_FOUND, "not_found", 0)
        if ask.route == BATCH:
            newest = list(self._registered)[::-1][:PAGE_SIZE]
            page = {
                "trackers": [self.tracker(n, self.known(n, epoch)) for n in newest],
                "has_more": len(self._registered) > PAGE_SIZE,
            }
            return Reply(200, _dumps(page), None, 0)
        number = ask.numbers[0]
        if ask.route == REGISTER and number not in self._registered:
            if len(self._registered) >= self.capacity:
                return Reply(402, _BILLING, "bad_request", 1)
            self._registered[number] = None
            return Reply(201, _dumps(self.tracker(number, self.known(number, epoch))), None, 1)
        if number not in self._registered:
            return Reply(404, _NOT_FOUND, "not_found", 1)
        return Reply(200, _dumps(self.tracker(number, self.known(number, epoch))), None, 1)

    def unauthorized(self, ask: Ask) -> Reply:
        return Reply(401, _UNAUTHORIZED, "auth", len(ask.numbers))

    def throttled(self, ask: Ask, retry_after: int, cause: str, epoch: float, limit: int) -> Reply:
        return Reply(429, _RATE, cause, len(ask.numbers))

    def blocked(self, ask: Ask, status: int, retry_after: int) -> Reply:
        body = {429: _RATE, 401: _UNAUTHORIZED}.get(status, _FORBIDDEN)
        return Reply(status, body, "ban", len(ask.numbers))

    def failed(self, ask: Ask, status: int) -> Reply:
        return Reply(status, _INTERNAL, "fault", len(ask.numbers))

    def too_large(self) -> Reply:
        body = error_body("PAYLOAD_TOO_LARGE", "The request body is too large.")
        return Reply(413, body, "bad_request", 0)

    # -- the tracker object and push ------------------------------------------------------------

    def tracker(self, number: str, epoch: float) -> dict[str, Any]:
        """The Tracker of ``number`` at Unix time ``epoch``."""
        try:
            events = journey(self.model, number)
        except ValueError:  # registered, but no carrier ever scanned it
            events = ()
        shown = [e for e in events if e.visible_at <= epoch]
        key = parse_tracking_number(number)
        created = float(key.shipped_at) if key else epoch
        newest = shown[-1] if shown else None
        status, detail = status_of(newest) if newest else ("unknown", "unknown")
        delivered = newest is not None and newest.status == "delivered"
        return {
            "id": tracker_id(number),
            "object": "Tracker",
            "mode": "production",
            "tracking_code": number,
            "status": status,
            "status_detail": detail,
            "created_at": utc_iso(created),
            "updated_at": utc_iso(newest.visible_at if newest else created),
            "signed_by": None,
            "weight": None,
            "est_delivery_date": None,
            "shipment_id": None,
            "carrier": self.carrier,
            "tracking_details": [self._detail(e) for e in shown],
            "carrier_detail": {
                "object": "CarrierDetail",
                "service": None,
                "container_type": None,
                "est_delivery_date_local": None,
                "est_delivery_time_local": None,
                "origin_location": _place(events[0]) if events else None,
                "origin_tracking_location": _location(events[0] if events else None),
                "destination_location": _place(events[-1]) if events else None,
                "destination_tracking_location": _location(events[-1] if events else None),
                "guaranteed_delivery_date": None,
                "alternate_identifier": None,
                "initial_delivery_attempt": None,
            },
            "finalized": delivered,
            "is_return": False,
            "public_url": f"https://track.easypost.com/{tracker_id(number)}",
            "fees": [],
        }

    def _detail(self, event: ScanEvent) -> dict[str, Any]:
        status, detail = status_of(event)
        return {
            "object": "TrackingDetail",
            "message": event.message,
            "description": "",
            "status": status,
            "status_detail": detail,
            "datetime": utc_iso(event.occurred_at),
            "source": self.carrier,
            "carrier_code": event.code,
            "tracking_location": _location(event),
        }

    def push_body(self, number: str, epoch: float) -> bytes | None:
        """The ``tracker.updated`` Event of ``number`` at ``epoch``; None before any scan is
        visible. The event id is stable per (number, detail count)."""
        tracker = self.tracker(number, epoch)
        details = tracker["tracking_details"]
        if not details:
            return None
        previous = details[-2]["status"] if len(details) > 1 else "unknown"
        seen = f"{number}:{len(details)}".encode()
        event = {
            "object": "Event",
            "id": "evt_" + hashlib.blake2b(seen, digest_size=16).hexdigest(),
            "mode": "production",
            "description": "tracker.updated",
            "previous_attributes": {"status": previous} if previous != tracker["status"] else {},
            "created_at": tracker["updated_at"],
            "updated_at": tracker["updated_at"],
            "result": tracker,
            "status": "pending",
            "pending_urls": [],
            "completed_urls": [],
        }
        return _dumps(event)

    def push_headers(self, body: bytes, secret: str) -> tuple[tuple[bytes, bytes], ...]:
        """Header ``X-Hmac-Signature: hmac-sha256-hex=<hex>`` (HMAC-SHA256 of the body)."""
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return ((b"X-Hmac-Signature", f"hmac-sha256-hex={digest}".encode()),)


def _place(event: ScanEvent) -> str:
    return f"{event.city.upper()} {event.state} {event.country}"


def _tracking_code(body: bytes) -> str | None:
    """The requested tracking code: "" when missing, None when the body is unreadable."""
    text = body.strip()
    if text.startswith(b"{"):
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return None
        tracker = doc.get("tracker", doc) if isinstance(doc, dict) else None
        code = tracker.get("tracking_code") if isinstance(tracker, dict) else None
        return code if isinstance(code, str) else ""
    try:
        form = parse_qs(text.decode("utf-8"), max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return None
    values = form.get("tracker[tracking_code]") or form.get("tracking_code") or [""]
    return values[0]


def make(carrier: CarrierSpec, model: TimelineModel) -> EasyPost:
    """The EasyPost personality of ``carrier`` (the factory :mod:`mocks.carriers` looks up)."""
    personality = EasyPost(carrier.name, model)
    personality.follow(carrier, model.seed)
    return personality
