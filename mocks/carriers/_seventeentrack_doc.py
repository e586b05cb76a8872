"""The 17TRACK tracking document: status vocabulary, milestones, events and ``track_info``.

Neutral scan statuses and codes map to 17TRACK's main status, ``sub_status`` and milestone
``stage``; times come in the carrier's local time (``time_iso``), UTC and raw. The personality
(:mod:`mocks.carriers.seventeentrack`) wraps :func:`track_info` in its envelopes and webhooks.
"""

from __future__ import annotations

import zlib
from typing import Any

from mocks.carriers.generic import local_iso, utc_iso
from peakbench.plan.timeline import ScanEvent, TimelineModel, journey, visible_count

DAY = 86400.0

# neutral status → (17TRACK main status, default sub-status)
_STATUS = {
    "info_received": ("InfoReceived", "InfoReceived"),
    "in_transit": ("InTransit", "InTransit_Other"),
    "out_for_delivery": ("OutForDelivery", "OutForDelivery_Other"),
    "failed_attempt": ("DeliveryFailure", "DeliveryFailure_Other"),
    "delivered": ("Delivered", "Delivered_Other"),
    "exception": ("Exception", "Exception_Other"),
}
# scan code → (sub-status while in transit, milestone stage)
_IN_TRANSIT = {
    "PU": ("InTransit_PickedUp", "PickedUp"),
    "EMA": ("InTransit_PickedUp", "PickedUp"),
    "DP": ("InTransit_Departure", "Departure"),
    "EMC": ("InTransit_Departure", "Departure"),
    "EXD": ("InTransit_Departure", "Departure"),
    "AR": ("InTransit_Arrival", "Arrival"),
    "EMB": ("InTransit_Arrival", None),
    "EMD": ("InTransit_Arrival", "Arrival"),
    "EDA": ("InTransit_CustomsProcessing", None),
    "EDC": ("InTransit_CustomsReleased", None),
    "EXC": ("InTransit_CustomsReleased", None),
}
_STAGE = {
    "info_received": "InfoReceived",
    "out_for_delivery": "OutForDelivery",
    "delivered": "Delivered",
}
MILESTONES = (
    "InfoReceived",
    "PickedUp",
    "Departure",
    "Arrival",
    "AvailableForPickup",
    "OutForDelivery",
    "Delivered",
    "Returning",
    "Returned",
)


def sub_status_and_stage(event: ScanEvent) -> tuple[str, str | None]:
    """17TRACK ``sub_status`` and milestone ``stage`` of one scan."""
    if event.status == "in_transit":
        return _IN_TRANSIT.get(event.code, ("InTransit_Other", None))
    return _STATUS.get(event.status, ("InTransit", "InTransit_Other"))[1], _STAGE.get(event.status)


def _address(event: ScanEvent) -> dict[str, Any]:
    return {
        "country": event.country,
        "state": event.state,
        "city": event.city,
        "street": None,
        "postal_code": None,
        "coordinates": {"longitude": None, "latitude": None},
    }


def _times(event: ScanEvent) -> dict[str, Any]:
    stamp = local_iso(event.occurred_at, event.utc_offset_s)
    return {
        "time_iso": stamp,
        "time_utc": utc_iso(event.occurred_at),
        "time_raw": {"date": stamp[:10], "time": stamp[11:19], "timezone": stamp[19:]},
    }


def event_doc(event: ScanEvent) -> dict[str, Any]:
    """One entry of ``providers[].events`` (also ``latest_event``)."""
    sub_status, stage = sub_status_and_stage(event)
    return {
        **_times(event),
        "description": event.message,
        "description_translation": None,
        "location": f"{event.city}, {event.state}, {event.country}",
        "stage": stage,
        "sub_status": sub_status,
        "address": _address(event),
    }


_NO_TIME: dict[str, Any] = {"time_iso": None, "time_utc": None, "time_raw": None}


def track_info(
    model: TimelineModel, number: str, epoch: float, carrier: str, carrier_key: int
) -> dict[str, Any]:
    """``track_info`` of ``number`` at Unix time ``epoch`` (events newest first), as
    ``carrier`` (its 17TRACK ``carrier_key``) reports it."""
    try:
        events = journey(model, number)
    except ValueError:  # registered, but no carrier ever scanned it
        events = ()
    shown = events[: visible_count(events, epoch)]
    newest = shown[-1] if shown else None
    if newest is None:
        latest = {"status": "NotFound", "sub_status": "NotFound_Other"}
    else:
        status = _STATUS.get(newest.status, ("InTransit",))[0]
        latest = {"status": status, "sub_status": sub_status_and_stage(newest)[0]}
    reached: dict[str, ScanEvent] = {}
    for event in shown:
        stage = sub_status_and_stage(event)[1]
        if stage is not None and stage not in reached:
            reached[stage] = event
    milestone = [
        {"key_stage": stage, **(_times(reached[stage]) if stage in reached else _NO_TIME)}
        for stage in MILESTONES
    ]
    docs = [event_doc(e) for e in reversed(shown)]
    synced = newest.visible_at if newest else epoch
    return {
        "shipping_info": {
            "shipper_address": _address(events[0]) if events else None,
            "recipient_address": _address(events[-1]) if events else None,
        },
        "latest_status": {**latest, "sub_status_descr": None},
        "latest_event": docs[0] if docs else None,
        "time_metrics": _metrics(shown, epoch),
        "milestone": milestone,
        "misc_info": None,
        "tracking": {
            "providers_hash": zlib.crc32(number.encode()),
            "providers": [
                {
                    "provider": {
                        "key": carrier_key,
                        "name": carrier,
                        "alias": carrier,
                        "tel": None,
                        "homepage": None,
                        "country": events[0].country if events else None,
                    },
                    "service_type": None,
                    "latest_sync_status": "Success",
                    "latest_sync_time": utc_iso(synced),
                    "events_hash": zlib.crc32(f"{number}:{len(shown)}".encode()),
                    "events": docs,
                }
            ],
        },
    }


def _metrics(shown: tuple[ScanEvent, ...], epoch: float) -> dict[str, Any]:
    if not shown:
        return {
            "days_after_order": 0,
            "days_of_transit": 0,
            "days_of_transit_done": 0,
            "days_after_last_update": 0,
            "estimated_delivery_date": {"source": None, "from": None, "to": None},
        }
    first, last = shown[0].occurred_at, shown[-1].occurred_at
    done = last if shown[-1].status == "delivered" else epoch
    return {
        "days_after_order": int((epoch - first) // DAY),
        "days_of_transit": int((done - first) // DAY),
        "days_of_transit_done": int((last - first) // DAY),
        "days_after_last_update": int((epoch - last) // DAY),
        "estimated_delivery_date": {"source": None, "from": None, "to": None},
    }
