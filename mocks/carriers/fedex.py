"""FedEx Track API (OAuth): ``/oauth/token``, ``POST /track/v1/trackingnumbers`` and
``POST /track/v1/trackingdocuments``.

Reproduced from developer.fedex.com (Track API, the quotas and rate limits guide) and
reference/carriers.md:

- Token: ``POST /oauth/token``, form ``grant_type=client_credentials&client_id&client_secret``
  → ``{"access_token", "token_type": "bearer", "expires_in": 3599, "scope": "CXS-TP"}``; tokens
  live 60 min. The token endpoint has its own IP thresholds (behaviours on route ``token``).
- Track: ``POST /track/v1/trackingnumbers`` with ``Authorization: Bearer`` and
  ``{"includeDetailedScans": true, "trackingInfo": [{"trackingNumberInfo": {"trackingNumber"}}]}``,
  at most 30 numbers → ``{"transactionId", "output": {"completeTrackResults": [{"trackingNumber",
  "trackResults": [{"trackingNumberInfo", "latestStatusDetail", "dateAndTimes",
  "scanEvents"}]}]}}``;
  scans NEWEST FIRST with ISO times in the scan's local offset; the ``SHIP`` date is date-only
  (local midnight with its offset). Unknown numbers answer 200 with a per-number
  ``error`` ``TRACKING.TRACKINGNUMBER.NOTFOUND``.
  ``"includeDetailedScans": false`` answers ``scanEvents: []`` (latest status only).
- Documents: ``POST /track/v1/trackingdocuments`` with ``{"trackDocumentDetail": {"documentType":
  "SIGNATURE_PROOF_OF_DELIVERY", "documentFormat": "PDF"|"PNG"}, "trackDocumentSpecification":
  [{"trackingNumberInfo": {"trackingNumber"}}]}`` → ``{"transactionId", "output":
  {"documentType", "documentFormat", "document": [<base64>]}}`` for a delivered parcel (a
  one-page placeholder PDF); a parcel not delivered yet gets 404
  ``TRACKING.DOCUMENT.NOTFOUND`` (unverified wording). Route ``documents``.
- Errors: ``{"transactionId", "errors": [{"code", "message"}]}``. Throttle: 429 with distinct
  wording for the 10-second burst limit ("We have received too many requests in a short
  duration. Please wait a while to try again.") and the daily quota ("Daily transaction quota
  exceeded. Retry after 12:00AM GMT"). No Retry-After header (the guide documents none).

Unverified (plausible, marked here): the error *codes* of the two 429s, of the batch-size error
and of 403/5xx refusals; the messages above are FedEx's.
"""

from __future__ import annotations

import bisect
import json
import secrets
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from mocks.carriers._fedex_documents import (
    DOCUMENT_TYPE,
    DOCUMENTS,
    PDF,
    Document,
    documents_ask,
)
from mocks.carriers._oauth import EXPIRED, NEEDS_TOKEN, TOKEN, TokenDesk
from mocks.carriers._times import is_daily, local_date, offset_iso, offset_suffix
from mocks.carriers.base import BATCH, OTHER, Ask, Reply
from peakbench.config.fleet import CarrierSpec
from peakbench.plan.timeline import ScanEvent, TimelineModel, journey

TOKEN_PATH = "/oauth/token"
TRACK_PATH = "/track/v1/trackingnumbers"
DOCUMENTS_PATH = "/track/v1/trackingdocuments"

BATCH_LIMIT = 30
"""Most tracking numbers per track request."""
TOKEN_TTL_S = 3600.0

BURST_MESSAGE = (
    "We have received too many requests in a short duration. Please wait a while to try again."
)
DAILY_MESSAGE = "Daily transaction quota exceeded. Retry after 12:00AM GMT"
NOT_FOUND_MESSAGE = (
    "Tracking number cannot be found. Please correct the tracking number and try again."
)
_NOT_FOUND_ERROR = (
    f'"error":{{"code":"TRACKING.TRACKINGNUMBER.NOTFOUND","message":"{NOT_FOUND_MESSAGE}"}}'
)
_BAD_CLIENT = (
    "The given client credentials were not valid. Please modify your request and try again."
)
_FORBIDDEN = "We could not authorize your credentials. Please check your permissions and try again."
_SORRY = "We apologize for any inconvenience. Please check back at a later time."
_UNAVAILABLE = (
    f"The service is currently unavailable and we are working to resolve the issue. {_SORRY}"
)
_INTERNAL = f"We encountered an unexpected error and are working to resolve the issue. {_SORRY}"

# (eventType, eventDescription, derivedStatusCode, derivedStatus) per scan code, then status
_BY_CODE: dict[str, tuple[str, str, str, str]] = {
    "LC": ("OC", "Shipment information sent to FedEx", "IN", "Initiated"),
    "PU": ("PU", "Picked up", "PU", "Picked up"),
    "AR": ("AR", "Arrived at FedEx location", "IT", "In transit"),
    "PR": ("IT", "In transit", "IT", "In transit"),
    "DP": ("DP", "Departed FedEx location", "IT", "In transit"),
    "EXC": ("CC", "International shipment release - Export", "IT", "In transit"),
    "EDA": ("CD", "Clearance delay - Import", "IT", "In transit"),
    "EDC": ("CC", "International shipment release - Import", "IT", "In transit"),
    "OD": ("OD", "On FedEx vehicle for delivery", "OD", "On FedEx vehicle for delivery"),
    "DL": ("DL", "Delivered", "DL", "Delivered"),
}
_BY_STATUS: dict[str, tuple[str, str, str, str]] = {
    "info_received": _BY_CODE["LC"],
    "in_transit": _BY_CODE["PR"],
    "out_for_delivery": _BY_CODE["OD"],
    "failed_attempt": ("DE", "Delivery exception", "DE", "Delivery exception"),
    "delivered": _BY_CODE["DL"],
    "exception": ("SE", "Shipment exception", "SE", "Shipment exception"),
}
_COUNTRIES = {"US": "United States", "CN": "China"}


def scan_type(event: ScanEvent) -> tuple[str, str, str, str]:
    """FedEx ``(eventType, eventDescription, derivedStatusCode, derivedStatus)`` of a scan."""
    if event.code == "EMA" and event.status == "info_received":
        return _BY_CODE["LC"]
    return _BY_CODE.get(event.code) or _BY_STATUS.get(event.status) or _BY_STATUS["in_transit"]


def errors_body(code: str, message: str) -> bytes:
    """FedEx's error envelope with a fresh ``transactionId``."""
    doc = {"transactionId": _transaction_id(), "errors": [{"code": code, "message": message}]}
    return json.dumps(doc, separators=(",", ":")).encode()


def _transaction_id() -> str:
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _location(event: ScanEvent) -> dict[str, object]:
    return {
        "city": event.city.upper(),
        "stateOrProvinceCode": event.state,
        "countryCode": event.country,
        "residential": False,
        "countryName": _COUNTRIES.get(event.country, event.country),
    }


def scan_event(event: ScanEvent) -> dict[str, object]:
    """One ``scanEvents[]`` entry."""
    kind, description, derived, derived_text = scan_type(event)
    return {
        "date": offset_iso(event.occurred_at, event.utc_offset_s),
        "eventType": kind,
        "eventDescription": description,
        "exceptionCode": "",
        "exceptionDescription": "",
        "scanLocation": {"streetLines": [""], **_location(event)},
        "locationType": "DELIVERY_LOCATION" if kind == "DL" else "FEDEX_FACILITY",
        "derivedStatusCode": derived,
        "derivedStatus": derived_text,
    }


def latest(events: tuple[ScanEvent, ...], n: int) -> str:
    """``latestStatusDetail`` and ``dateAndTimes`` after the first ``n`` scans, as a fragment."""
    newest = events[n - 1]
    _, description, derived, derived_text = scan_type(newest)
    first = events[0]
    ship_date = local_date(first.occurred_at, first.utc_offset_s)
    # FedEx's SHIP date is date-only: local midnight with the origin's offset
    dates: list[dict[str, str]] = [
        {"type": "SHIP", "dateTime": f"{ship_date}T00:00:00{offset_suffix(first.utc_offset_s)}"}
    ]
    for e in events[:n]:
        if e.code == "PU" or (e.code == "EMA" and e.status == "in_transit"):
            dates.append(
                {"type": "ACTUAL_PICKUP", "dateTime": offset_iso(e.occurred_at, e.utc_offset_s)}
            )
    if newest.status == "delivered":
        dates.insert(
            0,
            {
                "type": "ACTUAL_DELIVERY",
                "dateTime": offset_iso(newest.occurred_at, newest.utc_offset_s),
            },
        )
    fields = {
        "latestStatusDetail": {
            "code": derived,
            "derivedCode": derived,
            "statusByLocale": derived_text,
            "description": description if derived != "IT" else "In transit",
            "scanLocation": _location(newest),
        },
        "dateAndTimes": dates,
    }
    return json.dumps(fields, separators=(",", ":"))[1:-1]


class Rendered(NamedTuple):
    visible_at: tuple[float, ...]
    scans: tuple[str, ...]
    """JSON of each scan, oldest first."""
    latests: tuple[str, ...]


class FedexPersonality:
    """FedEx Track over the journeys of ``model``; tokens live ``token_ttl_s`` store seconds."""

    content_type = b"application/json"

    def __init__(
        self,
        carrier: str,
        model: TimelineModel,
        token_ttl_s: float = TOKEN_TTL_S,
        cache_size: int = 4096,
    ) -> None:
        self.carrier = carrier
        self.model = model
        self.tokens = TokenDesk(token_ttl_s)
        self.rendered = lru_cache(maxsize=cache_size)(self._render)

    # -- requests ---------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[str, str]:
        route = OTHER
        if method == "POST" and path == TOKEN_PATH:
            route = TOKEN
        elif method == "POST" and path == TRACK_PATH:
            route = BATCH
        elif method == "POST" and path == DOCUMENTS_PATH:
            route = DOCUMENTS
        return route, ""

    def reads_body(self, route: str) -> bool:
        return route in (TOKEN, BATCH, DOCUMENTS)

    def use_clock(self, clock: object) -> None:
        """Token times on ``clock``'s wall time when it has one (the app calls this)."""
        self.tokens.use_clock(clock)

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        return self.tokens.credential(headers, body, epoch)

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        token_side = self.tokens.token_ask(route, argument, body)
        if token_side is not None:
            return token_side
        if route == DOCUMENTS:
            return documents_ask(body)
        if route != BATCH:
            return Ask(route, ())
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):
            return Ask(BATCH, (), "The given JSON is not valid.")
        infos = doc.get("trackingInfo") if isinstance(doc, dict) else None
        if not isinstance(infos, list) or not infos:
            return Ask(BATCH, (), "trackingInfo is required and must be a non-empty array.")
        numbers: list[str] = [] if doc.get("includeDetailedScans") is not False else _Brief()
        for info in infos:
            inner = info.get("trackingNumberInfo") if isinstance(info, dict) else None
            number = inner.get("trackingNumber") if isinstance(inner, dict) else None
            if not isinstance(number, str) or not number:
                return Ask(BATCH, numbers, "Invalid field value in the input")
            numbers.append(number)
        if len(numbers) > BATCH_LIMIT:
            return Ask(BATCH, numbers, f"Please provide at most {BATCH_LIMIT} tracking numbers.")
        return Ask(BATCH, numbers)

    # -- answers ----------------------------------------------------------------------------------

    def respond(self, ask: Ask, epoch: float) -> Reply:
        if ask.error == NEEDS_TOKEN:
            return self.unauthorized(ask)
        if ask.route == TOKEN:
            if ask.error is not None:
                body = errors_body("BAD.REQUEST.ERROR", f"Invalid request: {ask.error}.")
                return Reply(400, body, "bad_request")
            grant = self.tokens.issue(epoch)
            if grant is None:
                return self.unauthorized(ask)
            doc = {
                "access_token": grant.token,
                "token_type": "bearer",
                "expires_in": int(self.tokens.ttl_s) - 1,
                "scope": "CXS-TP",
            }
            return Reply(200, json.dumps(doc).encode())
        if ask.route == BATCH:
            count = len(ask.numbers)
            if ask.error is not None:
                body = errors_body("INVALID.INPUT.EXCEPTION", ask.error)
                return Reply(400, body, "bad_request", count)
            scans = not isinstance(ask.numbers, _Brief)
            results = ",".join(self.complete_result(n, epoch, scans) for n in ask.numbers)
            body_text = (
                f'{{"transactionId":"{_transaction_id()}",'
                f'"output":{{"completeTrackResults":[{results}]}}}}'
            )
            return Reply(200, body_text.encode(), None, count)
        if ask.route == DOCUMENTS:
            return self._document(ask, epoch)
        body = errors_body("NOT.FOUND.ERROR", "The resource you requested is no longer available.")
        return Reply(404, body, "not_found")

    def _document(self, ask: Ask, epoch: float) -> Reply:
        if ask.error is not None:
            body = errors_body("INVALID.INPUT.EXCEPTION", ask.error)
            return Reply(400, body, "bad_request", len(ask.numbers))
        number = ask.numbers[0]
        rendered = self.rendered(number) if len(number) == 16 else None
        n = bisect.bisect_right(rendered.visible_at, epoch) if rendered is not None else 0
        if rendered is None or n == 0 or '"code":"DL"' not in rendered.latests[n - 1]:
            body = errors_body(
                "TRACKING.DOCUMENT.NOTFOUND",
                "The requested document is not available for this tracking number.",
            )
            return Reply(404, body, "not_found", 1)
        kind = ask.numbers.kind if isinstance(ask.numbers, Document) else DOCUMENT_TYPE
        form = ask.numbers.form if isinstance(ask.numbers, Document) else "PDF"
        output = {"documentType": kind, "documentFormat": form, "document": [PDF]}
        doc = {"transactionId": _transaction_id(), "output": output}
        return Reply(200, json.dumps(doc, separators=(",", ":")).encode(), None, 1)

    def unauthorized(self, ask: Ask) -> Reply:
        if ask.route == TOKEN:
            message = _BAD_CLIENT
        elif self.tokens.refused == EXPIRED:
            message = "Access token expired. Please modify your request and try again."
        else:
            message = (
                "Access token is missing or invalid. Please modify your request and try again."
            )
        return Reply(401, errors_body("NOT.AUTHORIZED.ERROR", message), "auth", len(ask.numbers))

    def throttled(self, ask: Ask, retry_after: int, cause: str, epoch: float, limit: int) -> Reply:
        if is_daily(cause):
            body = errors_body("DAILY.QUOTA.EXCEEDED", DAILY_MESSAGE)
        else:
            body = errors_body("TOO.MANY.REQUESTS", BURST_MESSAGE)
        return Reply(429, body, cause, len(ask.numbers))

    def blocked(self, ask: Ask, status: int, retry_after: int) -> Reply:
        if status == 429:
            body = errors_body("TOO.MANY.REQUESTS", BURST_MESSAGE)
        elif status == 401:
            body = errors_body("NOT.AUTHORIZED.ERROR", _BAD_CLIENT)
        else:
            body = errors_body("FORBIDDEN.ERROR", _FORBIDDEN)
        return Reply(status, body, "ban", len(ask.numbers))

    def failed(self, ask: Ask, status: int) -> Reply:
        if status == 503:
            code, message = "SERVICE.UNAVAILABLE.ERROR", _UNAVAILABLE
        else:
            code, message = "INTERNAL.SERVER.ERROR", _INTERNAL
        return Reply(status, errors_body(code, message), "fault", len(ask.numbers))

    def too_large(self) -> Reply:
        body = errors_body("INVALID.INPUT.EXCEPTION", "The request body is too large.")
        return Reply(413, body, "bad_request")

    # -- the track response -----------------------------------------------------------------------

    def complete_result(self, number: str, epoch: float, scans: bool = True) -> str:
        """One ``completeTrackResults[]`` entry for ``number`` at Unix ``epoch`` (with its
        detailed scans unless ``scans`` is False)."""
        number_json = json.dumps(number)
        rendered = self.rendered(number) if len(number) == 16 else None
        n = bisect.bisect_right(rendered.visible_at, epoch) if rendered is not None else 0
        info = f'"trackingNumberInfo":{{"trackingNumber":{number_json},"carrierCode":"FDXG"}}'
        if rendered is None or n == 0:
            result = f"{{{info},{_NOT_FOUND_ERROR}}}"
        else:
            shown = ",".join(reversed(rendered.scans[:n])) if scans else ""
            result = f'{{{info},{rendered.latests[n - 1]},"scanEvents":[{shown}]}}'
        return f'{{"trackingNumber":{number_json},"trackResults":[{result}]}}'

    def _render(self, number: str) -> Rendered | None:
        try:
            events = journey(self.model, number)
        except ValueError:
            return None
        return Rendered(
            visible_at=tuple(e.visible_at for e in events),
            scans=tuple(json.dumps(scan_event(e), separators=(",", ":")) for e in events),
            latests=tuple(latest(events, n) for n in range(1, len(events) + 1)),
        )


class _Brief(list[str]):
    """Numbers asked with ``includeDetailedScans: false``."""


def make(carrier: CarrierSpec, model: TimelineModel) -> FedexPersonality:
    """The FedEx personality of ``carrier`` (the factory :mod:`mocks.carriers` looks up)."""
    return FedexPersonality(carrier.name, model)
