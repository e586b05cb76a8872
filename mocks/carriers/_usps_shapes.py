"""The shapes of USPS Tracking documents: v3 and v3r2 events, status fields, error envelopes.

v3 events follow USPS's public v3 examples (USPS/api-examples); v3r2 events have exactly the
fields of the v3r2 specification (3.2.3, ``additionalProperties: false``); the two are never
mixed (reference/carriers.md §6, docs/fidelity.md).
"""

from __future__ import annotations

import json

from mocks.carriers._times import local_date, local_iso, offset_suffix, utc_iso
from peakbench.plan.timeline import ScanEvent

API_VERSION = "/tracking/v3"
V3R2_VERSION = "/tracking/v3r2"
DATE_ONLY_CODES = frozenset({"GX"})
"""USPS event codes printed date-only under the ``date-only-events`` quirk (pre-shipment)."""
DATE_ONLY_QUIRK = "date-only-events"

# (eventType, eventCode) per timeline scan code, then per neutral status
_BY_CODE: dict[str, tuple[str, str]] = {
    "LC": ("Shipping Label Created, USPS Awaiting Item", "GX"),
    "PU": ("USPS picked up item", "03"),
    "AR": ("Arrived at USPS Regional Facility", "10"),
    "PR": ("Processed through USPS Facility", "10"),
    "DP": ("Departed USPS Regional Facility", "L1"),
    "OD": ("Out for Delivery", "OF"),
    "DL": ("Delivered, In/At Mailbox", "01"),
}
_BY_STATUS: dict[str, tuple[str, str]] = {
    "failed_attempt": ("Notice Left (No Authorized Recipient Available)", "02"),
    "exception": ("Alert", "55"),
}
_CATEGORY = {
    "info_received": "Pre-Shipment",
    "in_transit": "In Transit",
    "out_for_delivery": "Out for Delivery",
    "failed_attempt": "Delivery Attempt",
    "delivered": "Delivered",
    "exception": "Alert",
}
_COUNTRIES = {"US": "", "CN": "CHINA"}
"""USPS leaves ``eventCountry`` empty for domestic scans and spells foreign countries out."""

V3_EVENT_FIELDS = (
    "eventType",
    "eventTimestamp",
    "eventCountry",
    "eventCity",
    "eventState",
    "eventZIP",
    "firm",
    "name",
    "authorizedAgent",
    "eventCode",
)
"""Fields of a v3 event, as USPS's public v3 examples show them."""
V3R2_EVENT_FIELDS = (
    "eventTimestamp",
    "GMTTimestamp",
    "GMTOffset",
    "eventCode",
    "eventType",
    "eventCity",
    "eventState",
    "eventZIPCode",
    "eventCountry",
    "actionCode",
    "reasonCode",
)
"""Fields of a v3r2 event: exactly the spec's (``additionalProperties: false``)."""


def event_type(event: ScanEvent) -> tuple[str, str]:
    """USPS ``(eventType, eventCode)`` of a scan."""
    found = _BY_CODE.get(event.code) or _BY_STATUS.get(event.status)
    return found or (event.message, event.code)


def _stamp(event: ScanEvent, code: str, date_only: frozenset[str]) -> str:
    at, offset = event.occurred_at, event.utc_offset_s
    return local_date(at, offset) if code in date_only else local_iso(at, offset)


def tracking_event(event: ScanEvent, date_only: frozenset[str] = frozenset()) -> dict[str, str]:
    """One v3 ``trackingEvents[]`` entry: local time without an offset (date only for the codes
    in ``date_only``)."""
    kind, code = event_type(event)
    return {
        "eventType": kind,
        "eventTimestamp": _stamp(event, code, date_only),
        "eventCountry": _COUNTRIES.get(event.country, event.country),
        "eventCity": event.city.upper(),
        "eventState": event.state,
        "eventZIP": "",
        "firm": "",
        "name": "",
        "authorizedAgent": "false",
        "eventCode": code,
    }


def tracking_event_v3r2(
    event: ScanEvent, date_only: frozenset[str] = frozenset()
) -> dict[str, str]:
    """One v3r2 ``trackingEvents[]`` entry: local time, plus its GMT time and offset."""
    kind, code = event_type(event)
    return {
        "eventTimestamp": _stamp(event, code, date_only),
        "GMTTimestamp": utc_iso(event.occurred_at),
        "GMTOffset": offset_suffix(event.utc_offset_s),
        "eventCode": code,
        "eventType": kind,
        "eventCity": event.city.upper(),
        "eventState": event.state,
        "eventZIPCode": "",
        "eventCountry": _COUNTRIES.get(event.country, event.country),
        "actionCode": "",
        "reasonCode": "",
    }


def summary(event: ScanEvent) -> str:
    """Top-level status fields after scan ``event``, as a JSON fragment ending in a comma."""
    kind, _ = event_type(event)
    fields = {
        "statusCategory": _CATEGORY.get(event.status, "In Transit"),
        "status": kind,
        "statusSummary": f"{kind}, {event.city.upper()}, {event.state}.",
    }
    return json.dumps(fields, separators=(",", ":"))[1:-1] + ","


def error_doc(
    status: int, message: str, title: str, detail: str, source: str = "", version: str = API_VERSION
) -> dict[str, object]:
    """USPS's error envelope as a document: ``errors[]`` entries carry ``status``, ``title``,
    ``detail`` and, for a bad parameter, ``source: {"parameter"}`` (the element shape of the
    USPS specification, as clients generated from it model it)."""
    error: dict[str, object] = {"status": str(status), "title": title, "detail": detail}
    if source:
        error["source"] = {"parameter": source}
    return {
        "apiVersion": version,
        "error": {"code": str(status), "message": message, "errors": [error]},
    }


def error_body(status: int, message: str, title: str, detail: str, source: str = "") -> bytes:
    """USPS's v3 error envelope."""
    doc = error_doc(status, message, title, detail, source)
    return json.dumps(doc, separators=(",", ":")).encode()
