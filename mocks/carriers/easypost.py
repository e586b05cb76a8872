"""The EasyPost trackers personality: trackers created by the store, then retrieved by id.

Routes: ``POST /v2/trackers`` (create; JSON ``{"tracker": {"tracking_code", "carrier"}}`` as
the official clients send it, or the form-encoded ``tracker[tracking_code]=…`` of older
integrations), ``GET /v2/trackers/{id}``, ``DELETE /v2/trackers/{id}``, ``GET /v2/trackers``
(list, newest first; filters ``tracking_code``, ``tracking_codes[]``, ``carrier``,
``page_size`` ≤ 100) and ``POST /v2/trackers/batch`` (``{"tracking_codes": [...]}``, the Python
client's ``retrieve_batch``). Auth: ``Authorization: Basic base64(<key>:)`` or ``Bearer <key>``.
Creating a tracker that exists returns it (EasyPost deduplicates by tracking code).

Trackers belong to the account (API key) that created them: another key gets 404. The
requested ``carrier`` is kept and answered back (the fleet carrier's name when none is given);
``mode`` is ``test`` for test keys (``EZTK…``) and ``production`` otherwise.

Tracker ``{id: "trk_…", object: "Tracker", mode, tracking_code, status, status_detail, carrier,
tracking_details: [{object: "TrackingDetail", message, status, status_detail, datetime (UTC),
source, tracking_location}], ...}``, details OLDEST first. Errors
``{"error": {"code", "message", "errors": []}}``; a throttle is 429 ``RATE_LIMITED``. Tracker ids
are ``trk_`` + the hex of the tracking number (32 hex digits for our 16-character numbers, like
EasyPost's): no state beyond the registered set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from typing import Any

from mocks.carriers._easypost_requests import Listing, api_key, listing, tracking_code
from mocks.carriers._refresh import MISSING, Registrations
from mocks.carriers.base import BATCH, OTHER, TRACK, Ask, Reply
from mocks.carriers.generic import utc_iso
from peakbench.config.fleet import CarrierSpec
from peakbench.plan.timeline import ScanEvent, TimelineModel, journey, parse_tracking_number

CAPACITY = 2_000_000
"""Default cap on registered trackers; beyond it create answers 402 (billing)."""

REGISTER, DELETE = "register", "delete"
TEST_KEY_PREFIX = "EZTK"
"""EasyPost test API keys start so; their trackers answer ``mode: test``."""
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
    """EasyPost trackers over the journeys of ``model``; ``carrier`` names the carrier (the
    one answered when a create names none). A registration's value is the requested carrier."""

    content_type = b"application/json"

    def __init__(self, carrier: str, model: TimelineModel, capacity: int = CAPACITY) -> None:
        self.carrier = carrier
        self.model = model
        self.mode = "production"
        """``mode`` of the caller's trackers (``test`` for a test key)."""
        super().__init__(capacity)

    # -- requests -------------------------------------------------------------------------------

    wants_query = True
    """The app passes ``path?query``: the list route filters by its query string."""

    def match(self, method: str, path: str) -> tuple[str, str]:
        path, _, query = path.partition("?")
        if path == _COLLECTION:
            route = {"POST": REGISTER, "GET": BATCH}.get(method, OTHER)
            return route, (query if route == BATCH else "")
        if path == _COLLECTION + "/batch":
            return (BATCH, "batch") if method == "POST" else (OTHER, "")
        if path.startswith(_COLLECTION + "/"):
            target = path[len(_COLLECTION) + 1 :]
            route = {"GET": TRACK, "DELETE": DELETE}.get(method, OTHER)
            if target and "/" not in target and route != OTHER:
                return route, target
        return OTHER, ""

    def reads_body(self, route: str) -> bool:
        return route in (REGISTER, BATCH)

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        for name, value in headers:
            if name != b"authorization":
                continue
            return self._caller(api_key(value.decode("latin-1")))
        return self._caller(None)

    def _caller(self, key: str | None) -> str | None:
        self.mode = "test" if key and key.startswith(TEST_KEY_PREFIX) else "production"
        return self.caller(key)

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        if route in (TRACK, DELETE):
            return Ask(route, (number_of(argument) or "",))
        if route == BATCH:
            return Ask(BATCH, listing(argument, body))
        if route != REGISTER:
            return Ask(route, ())
        number, carrier = tracking_code(body)
        if number is None:
            return Ask(route, (), "json")
        if not number:
            return Ask(route, (), "required")
        asked = Listing((number,), carrier=carrier)
        return Ask(route, asked, None if _NUMBER.match(number) else "invalid")

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
            listing = ask.numbers if isinstance(ask.numbers, Listing) else Listing()
            return Reply(200, _dumps(self._page(listing, epoch)), None, len(listing))
        number = ask.numbers[0]
        carrier = self.find(number)
        if ask.route == REGISTER and carrier is MISSING:
            wanted = ask.numbers.carrier if isinstance(ask.numbers, Listing) else None
            if not self.add(number, wanted):
                return Reply(402, _BILLING, "bad_request", 1)
            return Reply(201, _dumps(self.pull(number, epoch, wanted)), None, 1)
        if carrier is MISSING:
            return Reply(404, _NOT_FOUND, "not_found", 1)
        if ask.route == DELETE:
            self.drop(number)
            return Reply(200, b"{}", None, 1)
        return Reply(200, _dumps(self.pull(number, epoch, carrier)), None, 1)

    def pull(self, number: str, epoch: float, carrier: str | None = None) -> dict[str, Any]:
        """The caller's Tracker of ``number`` as the aggregator knows it at ``epoch``."""
        return self.tracker(number, self.known(number, epoch), carrier, self.mode)

    def _page(self, listing: Listing, epoch: float) -> dict[str, Any]:
        mine = self.mine()
        if listing:
            numbers = [n for n in dict.fromkeys(listing) if n in mine][::-1]
        else:
            numbers = list(mine)[::-1]  # newest first
        if listing.carrier is not None:
            wanted = listing.carrier.lower()
            numbers = [n for n in numbers if (mine[n] or self.carrier).lower() == wanted]
        shown = numbers[: listing.page_size]
        return {
            "trackers": [self.pull(n, epoch, mine[n]) for n in shown],
            "has_more": len(numbers) > listing.page_size,
        }

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

    def tracker(
        self, number: str, epoch: float, carrier: str | None = None, mode: str = "production"
    ) -> dict[str, Any]:
        """The Tracker of ``number`` at Unix time ``epoch``, for ``carrier`` (the fleet
        carrier's name when None) in ``mode``."""
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
            "mode": mode,
            "tracking_code": number,
            "status": status,
            "status_detail": detail,
            "created_at": utc_iso(created),
            "updated_at": utc_iso(newest.visible_at if newest else created),
            "signed_by": None,
            "weight": None,
            "est_delivery_date": None,
            "shipment_id": None,
            "carrier": carrier or self.carrier,
            "tracking_details": [self._detail(e, carrier) for e in shown],
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

    def _detail(self, event: ScanEvent, carrier: str | None = None) -> dict[str, Any]:
        status, detail = status_of(event)
        return {
            "object": "TrackingDetail",
            "message": event.message,
            "description": "",
            "status": status,
            "status_detail": detail,
            "datetime": utc_iso(event.occurred_at),
            "source": carrier or self.carrier,
            "carrier_code": event.code,
            "tracking_location": _location(event),
        }

    def push_body(self, number: str, epoch: float) -> bytes | None:
        """The ``tracker.updated`` Event of ``number`` at ``epoch``; None before any scan is
        visible. The event id is stable per (number, detail count)."""
        carrier = self.registration(number)
        tracker = self.tracker(number, epoch, None if carrier is MISSING else carrier)
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


def make(carrier: CarrierSpec, model: TimelineModel) -> EasyPost:
    """The EasyPost personality of ``carrier`` (the factory :mod:`mocks.carriers` looks up)."""
    personality = EasyPost(carrier.name, model)
    personality.follow(carrier, model.seed)
    return personality
