"""DHL Shipment Tracking - Unified: ``GET /track/shipments?trackingNumber=…``, key in a header.

Reproduced from developer.dhl.com (Shipment Tracking - Unified, 1.x), support-developer.dhl.com
article 47001224416 and reference/carriers.md:

- Auth: header ``DHL-API-Key`` (no OAuth); missing or unknown key → 401.
- Track: one number per call → ``{"shipments": [{"id", "service", "origin", "destination",
  "status": {"timestamp", "location": {"address": {"addressLocality", "countryCode"}},
  "statusCode", "status", "description"}, "details", "events": [...]}]}`` with events NEWEST
  FIRST and timestamps in the scan's local offset; ``statusCode`` is one of ``pre-transit``,
  ``transit``, ``delivered``, ``failure``, ``unknown``. Unknown number (or nothing scanned
  yet): 404 ``{"title": "No result found", "status": 404, "detail"}``.
- Throttle: 429 problem details ``{"title": "Too many requests", "status": 429, "detail"}``;
  past the DAILY limit the API answers 429 until 00:00 GMT and nothing else happens to the
  account, so a daily cause says ``Retry-After`` = seconds to the next 00:00 GMT; a per-second
  cause says the behaviour's wait.

A ``service`` query parameter other than the shipment's (``ecommerce``) finds nothing: 404, as
the API answers a number asked under the wrong service.

The number is in the query string, which the app must hand to :meth:`DhlPersonality.match`
as ``path?query`` (the personality sets ``wants_query``); a bare path asks for nothing (400).
Deviation: error bodies go out as ``application/json``, not ``application/problem+json``
(a personality has one content type).
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import parse_qs

from mocks.carriers._oauth import header
from mocks.carriers._times import is_daily, offset_iso
from mocks.carriers.base import OTHER, TRACK, Ask, Reply
from peakbench.config.fleet import CarrierSpec
from peakbench.plan.clock import next_utc_midnight
from peakbench.plan.timeline import ScanEvent, TimelineModel, journey

TRACK_PATH = "/track/shipments"
SERVICE = "ecommerce"

_STATUS_CODE = {
    "info_received": "pre-transit",
    "in_transit": "transit",
    "out_for_delivery": "transit",
    "failed_attempt": "failure",
    "delivered": "delivered",
    "exception": "failure",
}
_STATUS_BY_CODE = {
    "LC": "SHIPMENT INFORMATION RECEIVED",
    "EMA": "SHIPMENT INFORMATION RECEIVED",
    "PU": "PICKED UP",
    "AR": "ARRIVED",
    "PR": "PROCESSED",
    "DP": "DEPARTED",
    "EXC": "CUSTOMS",
    "EDA": "CUSTOMS",
    "EDC": "CUSTOMS",
    "OD": "OUT FOR DELIVERY",
    "DL": "DELIVERED",
}


def problem(status: int, title: str, detail: str) -> bytes:
    """An RFC 7807 problem document, as DHL sends its errors."""
    doc = {"title": title, "status": status, "detail": detail}
    return json.dumps(doc, separators=(",", ":")).encode()


_UNAUTHORIZED = problem(401, "Unauthorized", "Unauthorized for given resource.")
_NOT_FOUND = problem(404, "No result found", "No shipment with given tracking number found.")
_NO_ROUTE = problem(404, "Not Found", "The requested resource does not exist.")
_BURST = problem(429, "Too many requests", "Too many requests. Please try again later.")
_DAILY = problem(
    429, "Too many requests", "Daily request limit exceeded. Please try again after 00:00 GMT."
)
_FORBIDDEN = problem(403, "Forbidden", "Access to this resource is forbidden.")
_TOO_LARGE = problem(413, "Payload Too Large", "The request is too large.")


def _address(event: ScanEvent) -> dict[str, object]:
    return {
        "address": {
            "addressLocality": f"{event.city}, {event.state}",
            "countryCode": event.country,
        }
    }


def status_code(event: ScanEvent) -> str:
    """DHL ``statusCode`` of a scan."""
    return _STATUS_CODE.get(event.status, "unknown")


def dhl_event(event: ScanEvent) -> dict[str, object]:
    """One ``events[]`` entry (also the shape of ``status``)."""
    return {
        "timestamp": offset_iso(event.occurred_at, event.utc_offset_s),
        "location": _address(event),
        "statusCode": status_code(event),
        "status": _STATUS_BY_CODE.get(event.code, event.status.replace("_", " ").upper()),
        "description": event.message,
    }


class Rendered(NamedTuple):
    head: str
    """``{"id":…,"service":…,"origin":…,"destination":…,`` of the shipment."""
    visible_at: tuple[float, ...]
    events: tuple[str, ...]
    """JSON of each scan, oldest first."""


class DhlPersonality:
    """DHL Unified tracking over the journeys of ``model``."""

    content_type = b"application/json"
    wants_query = True
    """The app passes ``path?query`` to :meth:`match`: the number is a query parameter."""

    def __init__(self, carrier: str, model: TimelineModel, cache_size: int = 4096) -> None:
        self.carrier = carrier
        self.model = model
        self.rendered = lru_cache(maxsize=cache_size)(self._render)

    # -- requests ---------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[str, str]:
        path, _, query = path.partition("?")
        if method != "GET" or path.rstrip("/") != TRACK_PATH:
            return OTHER, ""
        try:
            params = parse_qs(query, max_num_fields=20)
        except ValueError:
            params = {}
        number = params.get("trackingNumber", [""])[0].strip()
        service = params.get("service", [""])[0].strip().lower()
        if service and service != SERVICE:
            return TRACK, f"{number}?{service}"  # asked under another service: not found
        return TRACK, number

    def reads_body(self, route: str) -> bool:
        return False

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        return header(headers, b"dhl-api-key") or None

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        if route != TRACK:
            return Ask(route, ())
        if not argument or argument.startswith("?"):
            return Ask(TRACK, (), "Missing required query parameter: trackingNumber")
        return Ask(TRACK, (argument,))

    # -- answers ----------------------------------------------------------------------------------

    def respond(self, ask: Ask, epoch: float) -> Reply:
        if ask.error is not None:
            return Reply(400, problem(400, "Bad request", ask.error), "bad_request")
        if ask.route == TRACK:
            body = self.shipments_json(ask.numbers[0], epoch)
            if body is None:
                return Reply(404, _NOT_FOUND, "not_found", 1)
            return Reply(200, body.encode(), None, 1)
        return Reply(404, _NO_ROUTE, "not_found")

    def unauthorized(self, ask: Ask) -> Reply:
        return Reply(401, _UNAUTHORIZED, "auth", len(ask.numbers))

    def throttled(self, ask: Ask, retry_after: int, cause: str, epoch: float, limit: int) -> Reply:
        if is_daily(cause):
            # past the daily limit DHL answers 429 until 00:00 GMT, whatever the window
            wait = max(1, math.ceil(next_utc_midnight(epoch) - epoch))
            headers = ((b"retry-after", b"%d" % wait),)
            return Reply(429, _DAILY, cause, len(ask.numbers), headers)
        headers = ((b"retry-after", b"%d" % retry_after),)
        return Reply(429, _BURST, cause, len(ask.numbers), headers)

    def blocked(self, ask: Ask, status: int, retry_after: int) -> Reply:
        if status == 429:
            headers = ((b"retry-after", b"%d" % retry_after),)
            return Reply(429, _BURST, "ban", len(ask.numbers), headers)
        body = _UNAUTHORIZED if status == 401 else _FORBIDDEN
        return Reply(status, body, "ban", len(ask.numbers))

    def failed(self, ask: Ask, status: int) -> Reply:
        title = "Service Unavailable" if status == 503 else "Internal Server Error"
        body = problem(status, title, "The service is temporarily unavailable.")
        return Reply(status, body, "fault", len(ask.numbers))

    def too_large(self) -> Reply:
        return Reply(413, _TOO_LARGE, "bad_request")

    # -- the shipments response -------------------------------------------------------------------

    def shipments_json(self, number: str, epoch: float) -> str | None:
        """``{"shipments": [...]}`` for ``number`` at Unix ``epoch``; None if nothing yet."""
        if len(number) != 16:
            return None
        rendered = self.rendered(number)
        if rendered is None:
            return None
        n = bisect.bisect_right(rendered.visible_at, epoch)
        if n == 0:
            return None
        events = ",".join(reversed(rendered.events[:n]))
        return (
            f'{{"shipments":[{rendered.head}"status":{rendered.events[n - 1]},'
            f'"details":{{"product":{{"productName":"DHL Parcel International Direct"}}}},'
            f'"events":[{events}]}}],"possibleAdditionalShipmentsUrl":[]}}'
        )

    def _render(self, number: str) -> Rendered | None:
        try:
            events = journey(self.model, number)
        except ValueError:
            return None
        head = json.dumps(
            {
                "id": number,
                "service": SERVICE,
                "origin": _address(events[0]),
                "destination": _address(events[-1]),
            },
            separators=(",", ":"),
        )
        return Rendered(
            head=head[:-1] + ",",
            visible_at=tuple(e.visible_at for e in events),
            events=tuple(json.dumps(dhl_event(e), separators=(",", ":")) for e in events),
        )


def make(carrier: CarrierSpec, model: TimelineModel) -> DhlPersonality:
    """The DHL personality of ``carrier`` (the factory :mod:`mocks.carriers` looks up)."""
    return DhlPersonality(carrier.name, model)
