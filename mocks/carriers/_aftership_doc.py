"""The AfterShip tracking object: tags, checkpoints and the tracking document, versioned or v4.

Field names follow the official SDK's models (``aftership-tracking-sdk`` 10, API 2026-07) and,
with ``legacy``, the v4 names older integrations read (``country_iso3``, ``zip``,
``expected_delivery``...). Checkpoints are OLDEST first with ``checkpoint_time`` in
carrier-local time WITHOUT an offset, as carriers report it.
"""

from __future__ import annotations

from typing import Any

from mocks.carriers.generic import local_iso
from peakbench.plan.timeline import ScanEvent, TimelineModel, journey, parse_tracking_number

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


COMPLETED = {
    "DELIVERED": ("Delivered", "Delivered_001", "Delivered"),
    "LOST": ("Exception", "Exception_013", "Shipment lost"),
    "RETURNED_TO_SENDER": ("Exception", "Exception_011", "Returned to sender"),
}
"""``mark-as-completed`` reason → the ``(tag, subtag, subtag_message)`` it sets."""


def tracking_id(number: str) -> str:
    """The tracking's id: the hex of its number."""
    return number.encode().hex()


def number_of(tracking_id: str) -> str | None:
    """The number a tracking id stands for, None if it is not one of ours."""
    try:
        return bytes.fromhex(tracking_id).decode("ascii")
    except ValueError:
        return None


def tag_of(event: ScanEvent) -> tuple[str, str, str]:
    """AfterShip ``(tag, subtag, subtag_message)`` of a scan."""
    tag, subtag, message = TAGS.get(event.status, TAGS["in_transit"])
    if event.status == "in_transit" and event.code in _TRANSIT_SUBTAGS:
        subtag, message = _TRANSIT_SUBTAGS[event.code]
    return tag, subtag, message


def utc(epoch: float) -> str:
    return local_iso(epoch, 0)


def checkpoint(event: ScanEvent, slug: str, legacy: bool) -> dict[str, Any]:
    """One checkpoint; ``checkpoint_time`` is carrier-local without an offset."""
    tag, subtag, message = tag_of(event)
    iso3, country_name = _COUNTRIES.get(event.country, (event.country, event.country))
    doc: dict[str, Any] = {
        "created_at": utc(event.visible_at),
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


def tracking_doc(
    model: TimelineModel,
    number: str,
    slug: str,
    epoch: float,
    legacy: bool = False,
    completed: str | None = None,
) -> dict[str, Any]:
    """The tracking object of ``number`` (registered with ``slug``) at ``epoch``, v4 field
    names when ``legacy``; ``completed``: the reason it was marked completed, if it was."""
    try:
        events = journey(model, number)
    except ValueError:  # registered, but no carrier ever scanned it
        events = ()
    shown = [e for e in events if e.visible_at <= epoch]
    key = parse_tracking_number(number)
    created = float(key.shipped_at) if key else epoch
    tag, subtag, message = tag_of(shown[-1]) if shown else _PENDING
    if completed is not None:
        tag, subtag, message = COMPLETED.get(completed, COMPLETED["DELIVERED"])
    delivered = next((e for e in shown if e.status == "delivered"), None)
    picked = next((e for e in shown if e.status != "info_received"), None)
    origin = _COUNTRIES.get(events[0].country, ("", ""))[0] if events else None
    destination = _COUNTRIES.get(events[-1].country, ("", ""))[0] if events else None
    doc: dict[str, Any] = {
        "id": tracking_id(number),
        "created_at": utc(created),
        "updated_at": utc(shown[-1].visible_at if shown else created),
        "tracking_number": number,
        "slug": slug,
        "active": delivered is None and completed is None,
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
        "checkpoints": [checkpoint(e, slug, legacy) for e in shown],
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


def _local(event: ScanEvent | None) -> str | None:
    if event is None:
        return None
    return local_iso(event.occurred_at, event.utc_offset_s)[:19]


def _days(start: ScanEvent | None, end: ScanEvent | float) -> int | None:
    if start is None:
        return None
    stop = end.occurred_at if isinstance(end, ScanEvent) else end
    return int(max(0.0, stop - start.occurred_at) // 86400)
