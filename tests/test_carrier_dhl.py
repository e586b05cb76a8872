"""DHL Unified: API-key auth, shipments shape, until-midnight 429s, then a real server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
from _servers import serving

from mocks.app import create_carrier_app
from mocks.carriers import make_personality
from mocks.carriers.dhl import DhlPersonality
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import journey, make_tracking_number, visible_count

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
KEY = "dhl-key-1"
STATUS_CODES = {"pre-transit", "transit", "delivered", "failure", "unknown"}


def fleet_of(*behaviours: dict[str, Any]) -> FleetSpec:
    carrier = {"name": "dhl", "personality": "dhl", "behaviours": list(behaviours)}
    return FleetSpec.model_validate({"seed": 8, "carriers": [carrier]})


def personality() -> DhlPersonality:
    fleet = fleet_of()
    p = make_personality(fleet.carriers[0], fleet.timeline_model(fleet.carriers[0]))
    assert isinstance(p, DhlPersonality)
    return p


def get(p: DhlPersonality, query: str, epoch: float) -> tuple[int, Any]:
    route, argument = p.match("GET", f"/track/shipments?{query}")
    reply = p.respond(p.parse(route, argument, b""), epoch)
    return reply.status, json.loads(reply.body)


def test_routes_and_api_key() -> None:
    p = personality()
    assert p.match("GET", "/track/shipments?trackingNumber=PB1&service=ecommerce") == (
        "track",
        "PB1",
    )
    other = p.match("GET", "/track/shipments?trackingNumber=PB1&service=express")
    assert other == ("track", "PB1?express")  # another service: answered 404
    assert p.match("GET", "/track/shipments") == ("track", "")
    assert p.match("POST", "/track/shipments?trackingNumber=PB1") == ("other", "")
    assert p.match("GET", "/track/shipment?trackingNumber=PB1") == ("other", "")
    assert p.credential([(b"dhl-api-key", KEY.encode())], b"", START) == KEY
    assert p.credential([(b"dhl-api-key", b"")], b"", START) is None
    assert p.credential([(b"authorization", b"Bearer x")], b"", START) is None
    missing = p.respond(p.parse("track", "", b""), START)
    assert missing.status == 400 and json.loads(missing.body)["status"] == 400
    unauthorized = p.unauthorized(p.parse("track", "PB1", b""))
    assert unauthorized.status == 401 and json.loads(unauthorized.body)["status"] == 401


def test_shipment_newest_first_with_offsets_and_status_codes() -> None:
    p = personality()
    n = make_tracking_number(START - 20 * DAY, "cross-border", 3)
    events = journey(p.model, n)
    epoch = events[-1].visible_at
    status, doc = get(p, f"trackingNumber={n}", epoch)
    assert status == 200
    shipment = doc["shipments"][0]
    assert shipment["id"] == n and shipment["service"] == "ecommerce"
    shown = shipment["events"]
    assert len(shown) == visible_count(events, epoch) == len(events)
    for got, e in zip(shown, reversed(events), strict=True):
        local = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(e.occurred_at) + e.utc_offset_s))
        assert got["timestamp"].startswith(local)
        assert got["location"]["address"]["countryCode"] == e.country
        assert got["statusCode"] in STATUS_CODES and got["description"] == e.message
    offsets = {x["timestamp"][-6:] for x in shown}
    assert "+08:00" in offsets and any(o.startswith("-0") for o in offsets)
    assert shipment["status"] == shown[0] and shipment["status"]["statusCode"] == "delivered"
    assert shown[-1]["statusCode"] == "pre-transit"
    assert shipment["origin"]["address"]["countryCode"] == "CN"
    early = events[2].visible_at
    _, doc = get(p, f"trackingNumber={n}", early)
    assert len(doc["shipments"][0]["events"]) == visible_count(events, early)
    assert doc["shipments"][0]["status"]["statusCode"] == "transit"


def test_unknown_or_not_yet_scanned_is_404_problem() -> None:
    p = personality()
    tomorrow = make_tracking_number(START + DAY, "domestic", 1)
    for n in (tomorrow, "JD014600006281230704"):
        status, doc = get(p, f"trackingNumber={n}", START)
        assert status == 404 and doc["title"] == "No result found" and doc["status"] == 404


def test_daily_429_lasts_until_midnight_gmt_and_burst_says_the_wait() -> None:
    p = personality()
    ask = p.parse("track", "PB1", b"")
    at = START + 3600  # 2026-11-27T06:00:00Z: 18 h to midnight
    daily = p.throttled(ask, 120, "quota:1d", at, 250)
    assert daily.status == 429 and daily.headers == ((b"retry-after", b"64800"),)
    assert json.loads(daily.body)["title"] == "Too many requests"
    assert json.loads(daily.body)["status"] == 429
    assert p.throttled(ask, 120, "quota:1d", at + 0.5, 250).headers[0][1] == b"64800"
    burst = p.throttled(ask, 1, "quota:1s", at, 1)
    assert burst.headers == ((b"retry-after", b"1"),) and burst.cause == "quota:1s"
    assert p.blocked(ask, 403, 60).status == 403 and p.blocked(ask, 429, 60).headers
    assert json.loads(p.failed(ask, 503).body)["status"] == 503


def test_api_key_tracking_and_daily_throttle_on_a_real_server(tmp_path: Path) -> None:
    fleet = fleet_of({"type": "quota", "limit": 1, "per": "1d", "window": "calendar"})
    clock = ManualClock(t=0.0, start_epoch=START)
    journal = Journal("dhl", tmp_path / "carrier-dhl.jsonl")
    app = create_carrier_app(fleet.carriers[0], fleet, clock, [KEY], journal)
    n = make_tracking_number(START - 4 * DAY, "domestic", 2)
    with serving(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/track/shipments", params={"trackingNumber": n}).status_code == 401
        headers = {"DHL-API-Key": KEY}
        ok = client.get("/track/shipments", params={"trackingNumber": n}, headers=headers)
        assert ok.status_code == 200 and ok.json()["shipments"][0]["id"] == n
        limited = client.get("/track/shipments", params={"trackingNumber": n}, headers=headers)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) == 19 * 3600  # 05:00Z → 00:00Z
    journal.flush()
    lines = [json.loads(x) for x in (tmp_path / "carrier-dhl.jsonl").read_text().splitlines()]
    assert [(x["key"], x["status"], x["outcome"]) for x in lines] == [
        ("anon", 401, "error"),
        ("k0", 200, "ok"),
        ("k0", 429, "throttled"),
    ]
