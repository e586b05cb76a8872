"""The AfterShip Tracking personality: trackings created by the store, then polled by id.

Routes, as the official SDK (``aftership-tracking-sdk`` 10, API version 2026-07) calls them:
``POST /tracking/<version>/trackings`` (create, flat body ``{"tracking_number", "slug"}``),
``GET /tracking/<version>/trackings`` (list), ``GET|PUT|DELETE
/tracking/<version>/trackings/{id}``; and the legacy v4 routes older integrations call:
``POST /v4/trackings`` (``{"tracking": {...}}``), ``GET /v4/trackings``,
``GET|DELETE /v4/trackings/{slug}/{tracking_number}``. Auth: header ``as-api-key``.

Envelope ``{"meta": {"code", "type"?, "message"?}, "data": ...}``: the versioned API answers the
tracking itself in ``data``, v4 wraps it in ``data.tracking``. Tags Pending, InfoReceived,
InTransit, OutForDelivery, AttemptFail, Delivered, Exception; checkpoints OLDEST first with
``checkpoint_time`` in carrier-local time WITHOUT an offset, as carriers report it.

Throttle signature: 429 ``meta {code: 429, type: "TooManyRequests"}`` with
``X-RateLimit-Limit``, ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` (unix time of the
next allowed request). Tracking ids are the hex of the tracking number (32 hex digits for
our 16-character numbers, like AfterShip's): no state beyond the registered set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

from mocks.carriers._refresh import Registrations
from mocks.carriers.base import BATCH, OTHER, TRACK, Ask, Reply
from mocks.carriers.generic import local_iso
from peakbench.config.fleet import CarrierSpec
from peakbench.timeline import ScanEvent, TimelineModel, journey, parse_tracking_number

CAPACITY = 2_000_000
"""Default cap on registered trackings; beyond it create answers 403 (plan quota)."""

LIST_LIMIT = 100
"""Trackings per list page (the API's default ``limit``)."""

REGISTER, UPDATE, DELETE = "register", "update", "delete"
_VERSIONED = re.compile(r"^/tracking/\d{4}-\d{2}/trackings(?:/([^/]+))?$")
_LEGACY = re.compile(r"^/v4/trackings(?:/([^/]+)/([^/]+))?$")
_NUMBER = re.compile(r"^[A-Za-z0-9]{4,40}$")

TAGS = {
    "info_received": ("InfoReceived", "InfoReceived_001", "Info Received"),
    "in_transit": ("InTransit", "InTransit_001", "In Transit"),
    "out_for_delivery": ("OutForDelivery", "OutForDelivery_001", "Out for Delivery"),
    "failed_attempt": ("AttemptFail", "AttemptFail_001", "Failed Attempt"),
    "delivered": ("Delivered", "Delivered_001", "Delivered"),
    "exception": ("Exception", "Exception_001", "Exception"),
}
"""Neutral status → AfterShip ``(tag, subtag, subtag_message)``."""

_PENDING = ("Pending", "Pending_001", "Pending")
# in transit, by scan code: accepted by the carrier / arrived at a hub
_TRANSIT_SUBTAGS = {
    "PU": ("InTransit_002", "Acquired by carrier"),
    "EMA": ("InTransit_002", "Acquired by carrier"),
    "AR": ("InTransit_003", "Arrival scan"),
    "EMD": ("InTransit_003", "Arrival scan"),
}
_COUNTRIES = {"US": ("USA", "United States"), "CN": ("CHN", "China")}


class Legacy(tuple[str, ...]):
    """Numbers asked through a legacy ``/v4`` route (answered in the v4 envelope)."""


def tracking_id(number: str) -> str:
    """The tracking's id: the hex of its number."""
    return number.encode().hex()


def number_of(tracking_id: str) -> str | None:
    """The number a tracking id stands for, None if it is not one of ours."""
    try:
        return bytes.fromhex(tracking_id).decode("ascii")
    except ValueError:
        return None


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def meta_error(code: int, kind: str, message: str, data: Any = None) -> bytes:
    """An error envelope ``{"meta": {"code", "type", "message"}, "data": {}}``."""
    meta = {"code": code, "type": kind, "message": message}
    return _dumps({"meta": meta, "data": data if data is not None else {}})


_UNAUTHORIZED = meta_error(401, "Unauthorized", "Invalid API key.")
_FORBIDDEN = meta_error(
    403, "Forbidden", "The request is understood, but it has been refused or access is not allowed."
)
_NOT_FOUND = meta_error(4004, "NotFound", "Tracking does not exist.")
_NO_ROUTE = meta_error(
    404, "NotFound", "The URI requested is invalid or the resource does not exist."
)
_RATE = meta_error(
    429,
    "TooManyRequests",
    "You have exceeded the API call rate limit. Please retry again at X-RateLimit-Reset.",
)
_INTERNAL = meta_error(500, "InternalError", "Something went wrong on AfterShip's end.")
_QUOTA = meta_error(403, "Forbidden", "You have reached the tracking quota of your plan.")
_ERRORS = {
    "json": (4001, "Invalid JSON data."),
    "required": (4007, "tracking_number is required."),
    "invalid": (4005, "The value of tracking_number is invalid."),
    "large": (400, "The request body is too large."),
}


def _tag(event: ScanEvent) -> tuple[str, str, str]:
    tag, subtag, message = TAGS.get(event.status, TAGS["in_transit"])
    if event.status == "in_transit" and event.code in _TRANSIT_SUBTAGS:
        subtag, message = _TRANSIT_SUBTAGS[event.code]
    return tag, subtag, message


def _utc(epoch: float) -> str:
    return local_iso(epoch, 0)


def checkpoint(event: ScanEvent, slug: str, legacy: bool) -> dict[str, Any]:
    """One checkpoint; ``checkpoint_time`` is carrier-local without an offset."""
    tag, subtag, message = _tag(event)
    iso3, country_name = _COUNTRIES.get(event.country, (event.country, event.country))
    doc: dict[str, Any] = {
        "created_at": _utc(event.visible_at),
        "slug": slug,
        "checkpoint_time": local_iso(event.occurred_at, event.utc_offset_s)[:19],
        "location": f"{event.city}, {event.state}, {iso3}",
        "city": event.city,
        "state": event.state,
        "message": event.message,
        "tag": tag,
        "subtag": subtag,
        "subtag_message": message,
        "raw_tag": event.code,
    }
    if legacy:
        doc.update(country_iso3=iso3, country_name=country_name, zip=None, coordinates=[])
    else:
        doc.update(
            postal_code=None,
            country_region=iso3,
            country_region_name=country_name,
            events=[],
            source="carrier",
        )
    return doc


class AfterShip(Registrations):
    """AfterShip Tracking over the journeys of ``model``; ``slug`` is the carrier's name."""

    content_type = b"application/json"

    def __init__(self, carrier: str, model: TimelineModel, capacity: int = CAPACITY) -> None:
        self.slug = carrier
        self.model = model
        super().__init__(capacity)

    # -- requests -------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[str, str]:
        found = _VERSIONED.match(path)
        if found:
            target = found.group(1)
            if target is None:
                route = {"POST": REGISTER, "GET": BATCH}.get(method, OTHER)
                return route, ""
            route = {"GET": TRACK, "PUT": UPDATE, "DELETE": DELETE}.get(method, OTHER)
            return route, ("id:" + target if route != OTHER else "")
        found = _LEGACY.match(path)
        if found:
            if found.group(1) is None:
                route = {"POST": REGISTER, "GET": BATCH}.get(method, OTHER)
                return route, "v4" if route != OTHER else ""
            route = {"GET": TRACK, "DELETE": DELETE}.get(method, OTHER)
            return route, ("v4:" + found.group(2) if route != OTHER else "")
        return OTHER, ""

    def reads_body(self, route: str) -> bool:
        return route == REGISTER

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        for name, value in headers:
            if name == b"as-api-key":
                return value.decode("latin-1") or None
        return None

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        legacy = argument.startswith("v4")
        if route == REGISTER:
            try:
                doc = json.loads(body)
            except (ValueError, RecursionError):
                return Ask(route, Legacy() if legacy else (), "json")
            if legacy:
                doc = doc.get("tracking") if isinstance(doc, dict) else None
            number = doc.get("tracking_number") if isinstance(doc, dict) else None
            if not isinstance(number, str) or not number:
                return Ask(route, Legacy() if legacy else (), "required")
            numbers = Legacy((number,)) if legacy else (number,)
            return Ask(route, numbers, None if _NUMBER.match(number) else "invalid")
        if route in (TRACK, UPDATE, DELETE):
            kind, _, target = argument.partition(":")
            number = target if kind == "v4" else number_of(target)
            numbers = (number,) if number else ("",)
            return Ask(route, Legacy(numbers) if legacy else numbers)
        return Ask(route, Legacy() if legacy else ())

    # -- answers --------------------------------------------------------------------------------

    def respond(self, ask: Ask, epoch: float) -> Reply:
        legacy = isinstance(ask.numbers, Legacy)
        count = len(ask.numbers)
        if ask.error is not None:
            code, message = _ERRORS[ask.error]
            return Reply(400, meta_error(code, "BadRequest", message), "bad_request", count)
        if ask.route == OTHER:
            return Reply(404, _NO_ROUTE, "not_found", 0)
        if ask.route == BATCH:
            return Reply(200, self._list(epoch, legacy), None, 0)
        number = ask.numbers[0]
        if ask.route == REGISTER:
            if number in self._registered:
                data = {"id": tracking_id(number), "slug": self.slug, "tracking_number": number}
                body = meta_error(
                    4003, "BadRequest", "Tracking already exists.", self._wrap(data, legacy)
                )
                return Reply(400, body, "bad_request", 1)
            if len(self._registered) >= self.capacity:
                return Reply(403, _QUOTA, "bad_request", 1)
            self._registered[number] = None
            return Reply(201, self._envelope(201, number, epoch, legacy), None, 1)
        if number not in self._registered:
            return Reply(404, _NOT_FOUND, "not_found", 1)
        body = self._envelope(200, number, epoch, legacy)
        if ask.route == DELETE:
            del self._registered[number]
        return Reply(200, body, None, 1)

    def _wrap(self, tracking: dict[str, Any], legacy: bool) -> dict[str, Any]:
        return {"tracking": tracking} if legacy else tracking

    def _envelope(self, code: int, number: str, epoch: float, legacy: bool) -> bytes:
        data = self._wrap(self.tracking(number, self.known(number, epoch), legacy), legacy)
        return _dumps({"meta": {"code": code}, "data": data})

    def _list(self, epoch: float, legacy: bool) -> bytes:
        numbers = list(self._registered)[-LIST_LIMIT:][::-1]  # newest first
        trackings = [self.tracking(n, self.known(n, epoch), legacy) for n in numbers]
        total = len(self._registered)
        if legacy:
            data: dict[str, Any] = {"page": 1, "limit": LIST_LIMIT, "count": total}
            data["trackings"] = trackings
        else:
            pagination = {"total": total, "next_cursor": None, "has_next_page": total > LIST_LIMIT}
            data = {"pagination": pagination, "trackings": trackings}
        return _dumps({"meta": {"code": 200}, "data": data})

    def unauthorized(self, ask: Ask) -> Reply:
        return Reply(401, _UNAUTHORIZED, "auth", len(ask.numbers))

    def throttled(self, ask: Ask, retry_after: int, cause: str, epoch: float, limit: int) -> Reply:
        headers = (
            (b"x-ratelimit-limit", str(limit).encode()),
            (b"x-ratelimit-remaining", b"0"),
            (b"x-ratelimit-reset", str(int(epoch) + retry_after).encode()),
        )
        return Reply(429, _RATE, cause, len(ask.numbers), headers)

    def blocked(self, ask: Ask, status: int, retry_after: int) -> Reply:
        if status == 429:  # a ban that looks like a throttle says when it ends
            headers = ((b"retry-after", str(retry_after).encode()),)
            return Reply(429, _RATE, "ban", len(ask.numbers), headers)
        body = _UNAUTHORIZED if status == 401 else _FORBIDDEN
        return Reply(status, body, "ban", len(ask.numbers))

    def failed(self, ask: Ask, status: int) -> Reply:
        return Reply(status, _INTERNAL, "fault", len(ask.numbers))

    def too_large(self) -> Reply:
        code, message = _ERRORS["large"]
        return Reply(413, meta_error(code, "BadRequest", message), "bad_request", 0)

    # -- the tracking object and push -----------------------------------------------------------

    def tracking(self, number: str, epoch: float, legacy: bool = False) -> dict[str, Any]:
        """The tracking object of ``number`` at ``epoch`` (v4 field names when ``legacy``)."""
        try:
            events = journey(self.model, number)
        except ValueError:  # registered, but no carrier ever scanned it
            events = ()
        shown = [e for e in events if e.visible_at <= epoch]
        key = parse_tracking_number(number)
        created = float(key.shipped_at) if key else epoch
        tag, subtag, message = _tag(shown[-1]) if shown else _PENDING
        delivered = next((e for e in shown if e.status == "delivered"), None)
        picked = next((e for e in shown if e.status != "info_received"), None)
        origin = _COUNTRIES.get(events[0].country, ("", ""))[0] if events else None
        destination = _COUNTRIES.get(events[-1].country, ("", ""))[0] if events else None
        doc: dict[str, Any] = {
            "id": tracking_id(number),
            "created_at": _utc(created),
            "updated_at": _utc(shown[-1].visible_at if shown else created),
            "tracking_number": number,
            "slug": self.slug,
            "active": delivered is None,
            "custom_fields": None,
            "note": None,
            "order_id": None,
            "shipment_pickup_date": _local(picked),
            "shipment_delivery_date": _local(delivered),
            "shipment_type": None,
            "signed_by": None,
            "source": "api",
            "tag": tag,
            "subtag": subtag,
            "subtag_message": message,
            "title": number,
            "tracked_count": len(shown),
            "language": None,
            "unique_token": "deprecated",
            "checkpoints": [checkpoint(e, self.slug, legacy) for e in shown],
            "subscribed_smses": [],
            "subscribed_emails": [],
            "return_to_sender": False,
            "courier_tracking_link": None,
            "first_attempted_at": None,
            "failed_delivery_attempts": sum(e.status == "failed_attempt" for e in shown),
        }
        if legacy:
            doc.update(
                origin_country_iso3=origin,
                destination_country_iso3=destination,
                expected_delivery=None,
                last_updated_at=doc["updated_at"],
            )
        else:
            doc.update(
                origin_country_region=origin,
                destination_country_region=destination,
                courier_destination_country_region=destination,
                transit_time=_days(picked, delivered or epoch),
            )
        return doc

    def push_body(self, number: str, epoch: float) -> bytes | None:
        """The ``tracking_update`` webhook body of ``number`` at ``epoch``; None before any
        checkpoint is visible. ``event_id`` is stable per (number, checkpoint count)."""
        tracking = self.tracking(number, epoch)
        if not tracking["checkpoints"]:
            return None
        seen = f"{self.slug}:{number}:{len(tracking['checkpoints'])}"
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, seen))
        doc = {"event": "tracking_update", "event_id": event_id, "is_tracking_first_tag": False}
        return _dumps({**doc, "msg": tracking, "ts": int(epoch)})

    def push_headers(self, body: bytes, secret: str) -> tuple[tuple[bytes, bytes], ...]:
        """Header ``aftership-hmac-sha256``: base64 HMAC-SHA256 of the body with the secret."""
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return ((b"aftership-hmac-sha256", base64.b64encode(digest)),)


def _local(event: ScanEvent | None) -> str | None:
    if event is None:
        return None
    return local_iso(event.occurred_at, event.utc_offset_s)[:19]


def _days(start: ScanEvent | None, end: ScanEvent | float) -> int | None:
    if start is None:
        return None
    stop = end.occurred_at if isinstance(end, ScanEvent) else end
    return int(max(0.0, stop - start.occurred_at) // 86400)


def make(carrier: CarrierSpec, model: TimelineModel) -> AfterShip:
    """The AfterShip personality of ``carrier`` (the factory :mod:`mocks.carriers` looks up)."""
    personality = AfterShip(carrier.name, model)
    personality.follow(carrier, model.seed)
    return personality
