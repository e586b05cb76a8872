"""UPS Track API (OAuth): ``/security/v1/oauth/token`` and ``/api/track/v1/details/{n}``.

Reproduced from UPS-API/api-documentation (Tracking.yaml, OAuthClientCredentials.yaml; issues 8,
38, 123, 187) and reference/carriers.md:

- Token: ``POST /security/v1/oauth/token``, client credentials in a Basic header (a form body
  is accepted too), form ``grant_type=client_credentials`` → ``{"token_type": "Bearer",
  "issued_at": "<ms>", "client_id", "access_token", "scope": "", "expires_in": "14399",
  "refresh_count": "0", "status": "approved"}`` (UPS prints the numbers as strings).
- Track: ``GET /api/track/v1/details/{inquiryNumber}`` with ``Authorization: Bearer``; one
  number per call. ``trackResponse.shipment[].package[]`` with ``currentStatus`` and
  ``activity[]`` NEWEST FIRST, each with a local ``date`` (``YYYYMMDD``) and ``time``
  (``HHMMSS``) without an offset, plus ``gmtDate``, ``gmtTime`` (``HH:MM:SS``) and
  ``gmtOffset``: a cross-border parcel's local times jump from UTC+8 to UTC−5/−8.
- Errors: ``{"response": {"errors": [{"code", "message"}]}}``. Throttle: 429 code ``10429``
  "Too Many Requests" with NO rate-limit headers and no Retry-After; ban: 403 "Blocked
  Merchant"; bad or expired token: 401 ``250002`` "Invalid Authentication Information.";
  unknown number (or nothing scanned yet): 404 ``151044``.

Unverified details (kept plausible, marked here): the codes of the token errors (``10401``,
``10400``), of 403/5xx refusals, and the per-scan status codes, which follow the public
activity vocabulary (``M`` manifest, ``P`` pickup, ``I`` in transit, ``D`` delivered,
``X`` exception). The ``transId``/``transactionSrc`` headers are not enforced.
"""

from __future__ import annotations

import bisect
import json
from functools import lru_cache
from typing import NamedTuple

from mocks.carriers._oauth import (
    NEEDS_TOKEN,
    TOKEN,
    TokenDesk,
    TokenTrackRequests,
)
from mocks.carriers._times import compact_date, compact_time, offset_suffix
from mocks.carriers.base import TRACK, Ask, Reply
from peakbench.config.fleet import CarrierSpec
from peakbench.plan.timeline import ScanEvent, TimelineModel, journey

TOKEN_PATH = "/security/v1/oauth/token"
TRACK_PREFIX = "/api/track/v1/details/"
TOKEN_TTL_S = 14400.0
"""UPS access tokens live 4 h (``expires_in`` prints one second less)."""

# (type, code, description, statusCode) per timeline scan code, then per neutral status
_BY_CODE: dict[str, tuple[str, str, str, str]] = {
    "LC": ("M", "MP", "Shipper created a label, UPS has not received the package yet.", "003"),
    "EMA": ("M", "MP", "Shipper created a label, UPS has not received the package yet.", "003"),
    "PU": ("P", "PU", "Pickup Scan", "038"),
    "AR": ("I", "AR", "Arrived at Facility", "005"),
    "PR": ("I", "YP", "Processing at UPS Facility", "005"),
    "DP": ("I", "DP", "Departed from Facility", "005"),
    "EXC": ("I", "XC", "Export Scan", "005"),
    "EDA": ("X", "CD", "Your package is being held by the customs agency.", "012"),
    "EDC": ("I", "SR", "Your package was released by the customs agency.", "005"),
    "OD": ("I", "OT", "Out For Delivery Today", "021"),
    "DL": ("D", "KB", "DELIVERED", "011"),
}
_BY_STATUS: dict[str, tuple[str, str, str, str]] = {
    "info_received": _BY_CODE["LC"],
    "in_transit": ("I", "IT", "On the Way", "005"),
    "out_for_delivery": _BY_CODE["OD"],
    "failed_attempt": ("X", "48", "The receiver was not available for delivery.", "007"),
    "delivered": _BY_CODE["DL"],
    "exception": ("X", "X1", "A delay has occurred.", "007"),
}
_SIMPLIFIED = {
    "info_received": "Label Created",
    "in_transit": "On the Way",
    "out_for_delivery": "Out for Delivery",
    "failed_attempt": "Delivery Attempted",
    "delivered": "Delivered",
    "exception": "Exception",
}


def errors_body(code: str, message: str) -> bytes:
    """UPS's error envelope ``{"response": {"errors": [{"code", "message"}]}}``."""
    doc = {"response": {"errors": [{"code": code, "message": message}]}}
    return json.dumps(doc, separators=(",", ":")).encode()


_THROTTLED = errors_body("10429", "Too Many Requests")
_BLOCKED = errors_body("10403", "Blocked Merchant")
_BAD_TOKEN = errors_body("250002", "Invalid Authentication Information.")
_BAD_CLIENT = errors_body("10401", "ClientId is Invalid")
_NOT_FOUND = errors_body("151044", "No tracking information available")
_NO_ROUTE = errors_body("10404", "Resource not found")
_TOO_LARGE = errors_body("10413", "Request Entity Too Large")
_FAILED = {
    500: errors_body("10500", "Internal server error"),
    503: errors_body("10503", "Resource is not available"),
}


def scan_status(event: ScanEvent) -> tuple[str, str, str, str]:
    """UPS ``(type, code, description, statusCode)`` of a scan."""
    return _BY_CODE.get(event.code) or _BY_STATUS.get(event.status) or _BY_STATUS["in_transit"]


def activity(event: ScanEvent) -> dict[str, object]:
    """One ``activity[]`` entry: local compact date/time, GMT date/time and the offset."""
    kind, code, description, status_code = scan_status(event)
    at, offset = event.occurred_at, event.utc_offset_s
    gmt = compact_time(at, 0)
    return {
        "location": {
            "address": {
                "city": event.city.upper(),
                "stateProvince": event.state,
                "countryCode": event.country,
                "country": event.country,
            },
        },
        "status": {
            "type": kind,
            "description": description,
            "code": code,
            "statusCode": status_code,
        },
        "date": compact_date(at, offset),
        "time": compact_time(at, offset),
        "gmtDate": compact_date(at, 0),
        "gmtOffset": offset_suffix(offset),
        "gmtTime": f"{gmt[:2]}:{gmt[2:4]}:{gmt[4:]}",
    }


def current(event: ScanEvent) -> str:
    """The package fields that follow its newest scan, as a JSON fragment ending in a comma."""
    kind, code, description, status_code = scan_status(event)
    fields: dict[str, object] = {
        "currentStatus": {
            "description": description,
            "code": code,
            "statusCode": status_code,
            "type": kind,
            "simplifiedTextDescription": _SIMPLIFIED.get(event.status, "On the Way"),
        },
    }
    if event.status == "delivered":
        fields["deliveryDate"] = [
            {"type": "DEL", "date": compact_date(event.occurred_at, event.utc_offset_s)}
        ]
        fields["deliveryTime"] = {
            "type": "DEL",
            "endTime": compact_time(event.occurred_at, event.utc_offset_s),
        }
    return json.dumps(fields, separators=(",", ":"))[1:-1] + ","


class Rendered(NamedTuple):
    visible_at: tuple[float, ...]
    activities: tuple[str, ...]
    """JSON of each scan's activity, oldest first."""
    currents: tuple[str, ...]


class UpsPersonality(TokenTrackRequests):
    """UPS Track over the journeys of ``model``; tokens live ``token_ttl_s`` store seconds."""

    content_type = b"application/json"
    token_path = TOKEN_PATH
    track_prefix = TRACK_PREFIX

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

    # -- answers ----------------------------------------------------------------------------------

    def respond(self, ask: Ask, epoch: float) -> Reply:
        if ask.error == NEEDS_TOKEN:
            return self.unauthorized(ask)
        if ask.route == TOKEN:
            if ask.error is not None:
                return Reply(400, errors_body("10400", "Invalid/Missing Grant Type"), "bad_request")
            grant = self.tokens.issue(epoch)
            if grant is None:
                return Reply(401, _BAD_CLIENT, "auth")
            doc = {
                "token_type": "Bearer",
                "issued_at": str(int(grant.issued_at * 1000)),
                "client_id": grant.client_id,
                "access_token": grant.token,
                "scope": "",
                "expires_in": str(int(self.tokens.ttl_s) - 1),
                "refresh_count": "0",
                "status": "approved",
            }
            return Reply(200, json.dumps(doc).encode())
        if ask.route == TRACK:
            body = self.track_json(ask.numbers[0], epoch)
            if body is None:
                return Reply(404, _NOT_FOUND, "not_found", 1)
            return Reply(200, body.encode(), None, 1)
        return Reply(404, _NO_ROUTE, "not_found")

    def unauthorized(self, ask: Ask) -> Reply:
        body = _BAD_CLIENT if ask.route == TOKEN else _BAD_TOKEN
        return Reply(401, body, "auth", len(ask.numbers))

    def throttled(self, ask: Ask, retry_after: int, cause: str, epoch: float, limit: int) -> Reply:
        # UPS sends no Retry-After and no rate-limit headers: clients must guess
        return Reply(429, _THROTTLED, cause, len(ask.numbers))

    def blocked(self, ask: Ask, status: int, retry_after: int) -> Reply:
        if status == 429:
            body = _THROTTLED
        elif status == 401:
            body = _BAD_TOKEN
        else:
            body = _BLOCKED
        return Reply(status, body, "ban", len(ask.numbers))

    def failed(self, ask: Ask, status: int) -> Reply:
        body = _FAILED.get(status) or _FAILED[503 if status >= 503 else 500]
        return Reply(status, body, "fault", len(ask.numbers))

    def too_large(self) -> Reply:
        return Reply(413, _TOO_LARGE, "bad_request")

    # -- the track response -----------------------------------------------------------------------

    def track_json(self, number: str, epoch: float) -> str | None:
        """``trackResponse`` of ``number`` at Unix ``epoch``; None if nothing is scanned yet."""
        if len(number) != 16:  # keep junk out of the cache
            return None
        rendered = self.rendered(number)
        if rendered is None:
            return None
        n = bisect.bisect_right(rendered.visible_at, epoch)
        if n == 0:
            return None
        activities = ",".join(reversed(rendered.activities[:n]))
        return (
            f'{{"trackResponse":{{"shipment":[{{"inquiryNumber":"{number}","package":[{{'
            f'"trackingNumber":"{number}",{rendered.currents[n - 1]}"packageCount":1,'
            f'"activity":[{activities}]}}],"userRelation":[]}}]}}}}'
        )

    def _render(self, number: str) -> Rendered | None:
        try:
            events = journey(self.model, number)
        except ValueError:
            return None
        return Rendered(
            visible_at=tuple(e.visible_at for e in events),
            activities=tuple(json.dumps(activity(e), separators=(",", ":")) for e in events),
            currents=tuple(current(e) for e in events),
        )


def make(carrier: CarrierSpec, model: TimelineModel) -> UpsPersonality:
    """The UPS personality of ``carrier`` (the factory :mod:`mocks.carriers` looks up)."""
    return UpsPersonality(carrier.name, model)
