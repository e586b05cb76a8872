"""USPS v3: pure OAuth (JSON and form), offset-less local times, quota 429s, then a real server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from _servers import serving
from pydantic import ValidationError

from mocks.app import create_carrier_app
from mocks.carriers import make_personality
from mocks.carriers._oauth import client_credentials, form_fields
from mocks.carriers._times import (
    compact_date,
    compact_time,
    is_daily,
    local_date,
    local_iso,
    offset_iso,
    stamp,
    utc_iso,
    zone_abbreviation,
    zoned,
)
from mocks.carriers._usps_shapes import V3_EVENT_FIELDS, V3R2_EVENT_FIELDS
from mocks.carriers.usps import QUOTA_MESSAGE, TOKEN_TTL_S, UspsPersonality
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import journey, make_tracking_number

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
CLIENT = "usps-key:usps-secret"
JSON_BODY = json.dumps(
    {"grant_type": "client_credentials", "client_id": "usps-key", "client_secret": "usps-secret"}
).encode()
LOCAL = "%Y-%m-%dT%H:%M:%S"


def fleet_of(*behaviours: dict[str, Any], quirks: tuple[str, ...] = ()) -> FleetSpec:
    carrier = {
        "name": "usps",
        "personality": "usps",
        "behaviours": list(behaviours),
        "quirks": list(quirks),
    }
    return FleetSpec.model_validate({"seed": 7, "carriers": [carrier]})


def personality(quirks: tuple[str, ...] = ()) -> UspsPersonality:
    fleet = fleet_of(quirks=quirks)
    p = make_personality(fleet.carriers[0], fleet.timeline_model(fleet.carriers[0]))
    assert isinstance(p, UspsPersonality)
    return p


def token_at(p: UspsPersonality, epoch: float, body: bytes = JSON_BODY) -> str:
    route, _ = p.match("POST", "/oauth2/v3/token")
    assert p.credential([], body, epoch) == CLIENT
    reply = p.respond(p.parse(route, "", body), epoch)
    doc = json.loads(reply.body)
    assert reply.status == 200 and doc["token_type"] == "Bearer" and doc["expires_in"] == 28799
    assert doc["issued_at"] == int(epoch * 1000)
    return str(doc["access_token"])


def get(p: UspsPersonality, n: str, token: str, epoch: float, query: str = "") -> tuple[int, Any]:
    route, argument = p.match("GET", f"/tracking/v3/tracking/{n}{query}")
    who = p.credential([(b"authorization", f"Bearer {token}".encode())], b"", epoch)
    ask = p.parse(route, argument, b"")
    reply = p.respond(ask, epoch) if who else p.unauthorized(ask)
    return reply.status, json.loads(reply.body)


def test_timestamp_styles() -> None:
    at = START + 5 * 3600 + 15 * 60  # 10:15 UTC
    assert offset_iso(at, -5 * 3600) == "2026-11-27T05:15:00-05:00"
    assert local_iso(at, 8 * 3600) == "2026-11-27T18:15:00"
    assert local_date(at, -8 * 3600) == "2026-11-27"
    assert local_date(START, -8 * 3600) == "2026-11-26"  # 21:00 the day before
    assert (compact_date(at, -5 * 3600), compact_time(at, -5 * 3600)) == ("20261127", "051500")
    assert utc_iso(at) == "2026-11-27T10:15:00Z"
    assert zoned(at, -5 * 3600) == "2026-11-27 05:15:00 EST"
    assert zone_abbreviation(8 * 3600) == "CST" and zone_abbreviation(19800) == "UTC+05:30"
    assert stamp("local", at, 0) == "2026-11-27T10:15:00"
    assert is_daily("quota:1d") and is_daily("quota:1d1h") and not is_daily("quota:23h")
    assert not is_daily("ban") and not is_daily("quota:fast")


def test_client_credentials_from_json_form_or_basic() -> None:
    assert client_credentials([], JSON_BODY) == CLIENT
    form = b"grant_type=client_credentials&client_id=usps-key&client_secret=usps-secret"
    assert client_credentials([], form) == CLIENT
    assert client_credentials([], b'{"client_id": 1, "client_secret": "x"}') is None
    assert client_credentials([], b"client_id=a") is None
    assert client_credentials([], b"[1, 2]") is None and form_fields(b"\xff\xfe") == {}


def test_token_in_json_or_form_and_expiry() -> None:
    p = personality()
    n = make_tracking_number(START - 3 * DAY, "domestic", 2)
    token = token_at(p, START)
    form = b"grant_type=client_credentials&client_id=usps-key&client_secret=usps-secret"
    other = token_at(p, START, form)
    assert token != other
    assert get(p, n, token, START + TOKEN_TTL_S - 1)[0] == 200
    status, doc = get(p, n, token, START + TOKEN_TTL_S)
    assert status == 401 and doc["apiVersion"] == "/tracking/v3"
    assert doc["error"]["code"] == "401" and doc["error"]["errors"][0]["title"] == "invalid_token"
    route, _ = p.match("POST", "/oauth2/v3/token")
    assert p.credential([], b'{"grant_type": "client_credentials"}', START) is None
    refused = p.unauthorized(p.parse(route, "", b""))
    assert json.loads(refused.body)["error"] == "invalid_client"
    p.credential([], b'{"grant_type": "password", "client_id": "a", "client_secret": "b"}', 0)
    bad = p.respond(p.parse(route, "", b'{"grant_type": "password"}'), START)
    assert bad.status == 400


def test_events_newest_first_local_without_offset_in_the_v3_shape() -> None:
    p = personality()
    n = make_tracking_number(START - 20 * DAY, "cross-border", 4)
    events = journey(p.model, n)
    epoch = events[-1].visible_at
    status, doc = get(p, n, token_at(p, epoch), epoch)
    assert status == 200 and doc["trackingNumber"] == n
    shown = doc["trackingEvents"]
    assert len(shown) == len(events)
    for got, e in zip(shown, reversed(events), strict=True):
        local = time.strftime(LOCAL, time.gmtime(int(e.occurred_at) + e.utc_offset_s))
        assert got["eventTimestamp"] == local  # no offset: the zone jump is invisible
        assert got["eventCity"] == e.city.upper() and got["eventState"] == e.state
    assert shown[-1]["eventCountry"] == "CHINA" and shown[0]["eventCountry"] == ""
    assert doc["statusCategory"] == "Delivered" and shown[0]["eventCode"] == "01"
    assert all(tuple(e) == V3_EVENT_FIELDS for e in shown)  # never a v3r2 field
    assert get(p, "9400100000000000000000", token_at(p, START), START)[0] == 404


def test_label_event_is_a_full_timestamp_unless_the_fleet_turns_on_date_only_events() -> None:
    domestic = make_tracking_number(START - 5 * DAY, "domestic", 5)
    for quirks, expected in (((), LOCAL), (("date-only-events",), "%Y-%m-%d")):
        p = personality(quirks)
        first = journey(p.model, domestic)[0]
        _, doc = get(p, domestic, token_at(p, first.visible_at), first.visible_at)
        label = doc["trackingEvents"][0]
        local = time.gmtime(int(first.occurred_at) + first.utc_offset_s)
        assert label["eventCode"] == "GX" and doc["statusCategory"] == "Pre-Shipment"
        assert label["eventTimestamp"] == time.strftime(expected, local)
    assert local_date(first.occurred_at, first.utc_offset_s) == label["eventTimestamp"]
    with pytest.raises(ValidationError, match="quirks"):
        fleet_of(quirks=("date-only",))


def test_expand_summary_answers_the_status_without_events() -> None:
    p = personality()
    n = make_tracking_number(START - 4 * DAY, "domestic", 3)
    token = token_at(p, START)
    status, summary = get(p, n, token, START, "?expand=SUMMARY")
    _, detail = get(p, n, token, START, "?expand=DETAIL")
    assert status == 200 and "trackingEvents" not in summary
    assert detail["trackingEvents"] and summary["status"] == detail["status"]
    assert get(p, n, token, START, "?expand=summary")[1] == summary


def v3r2(p: UspsPersonality, body: Any, token: str, epoch: float) -> tuple[int, Any]:
    route, argument = p.match("POST", "/tracking/v3r2/tracking")
    raw = json.dumps(body).encode()
    assert p.credential([(b"authorization", f"Bearer {token}".encode())], raw, epoch)
    reply = p.respond(p.parse(route, argument, raw), epoch)
    return reply.status, json.loads(reply.body)


def test_v3r2_post_answers_a_list_with_the_v3r2_event_shape() -> None:
    p = personality()
    a = make_tracking_number(START - 20 * DAY, "cross-border", 4)
    b = make_tracking_number(START - 4 * DAY, "domestic", 6)
    token = token_at(p, START)
    status, docs = v3r2(p, [{"trackingNumber": a}, {"trackingNumber": b}], token, START)
    assert status == 200 and [d["trackingNumber"] for d in docs] == [a, b]
    events = docs[0]["trackingEvents"]
    assert events and all(tuple(e) == V3R2_EVENT_FIELDS for e in events)
    newest = [e for e in journey(p.model, a) if e.visible_at <= START][-1]
    assert events[0]["GMTTimestamp"] == utc_iso(newest.occurred_at)
    assert events[0]["GMTOffset"] == offset_iso(newest.occurred_at, newest.utc_offset_s)[-6:]
    assert events[0]["eventTimestamp"] == local_iso(newest.occurred_at, newest.utc_offset_s)
    unknown = "9400100000000000000000"
    status, mixed = v3r2(
        p, [{"trackingNumber": b, "expand": "SUMMARY"}, {"trackingNumber": unknown}], token, START
    )
    assert status == 207 and "trackingEvents" not in mixed[0]
    assert mixed[1]["trackingNumber"] == unknown and mixed[1]["error"]["code"] == "404"
    assert v3r2(p, [{"trackingNumber": unknown}], token, START)[0] == 404
    assert v3r2(p, {"trackingNumber": a}, token, START)[0] == 400
    assert v3r2(p, [{"trackingNumber": a}] * 36, token, START)[0] == 400


def test_quota_429_wording_and_optional_retry_after() -> None:
    p = personality()
    ask = p.parse("track", "X", b"")
    reply = p.throttled(ask, 1800, "quota:1h", START, 60)
    doc = json.loads(reply.body)
    assert reply.status == 429 and doc["error"]["code"] == "429"
    assert (
        doc["error"]["message"] == QUOTA_MESSAGE and "exceeded quota limit" in QUOTA_MESSAGE.lower()
    )
    assert reply.headers == ((b"retry-after", b"1800"),)
    quiet = UspsPersonality("usps", p.model, retry_after_header=False)
    assert quiet.throttled(ask, 1800, "quota:1h", START, 60).headers == ()
    assert p.blocked(ask, 429, 60).cause == "ban"
    assert p.blocked(ask, 403, 60).status == 403
    assert json.loads(p.failed(ask, 500).body)["error"]["code"] == "500"


def test_oauth_dance_then_tracking_on_a_real_server(tmp_path: Path) -> None:
    fleet = fleet_of({"type": "quota", "limit": 2, "per": "1h", "window": "calendar"})
    clock = ManualClock(t=0.0, start_epoch=START)
    journal = Journal("usps", tmp_path / "carrier-usps.jsonl")
    app = create_carrier_app(fleet.carriers[0], fleet, clock, [CLIENT], journal)
    n = make_tracking_number(START - 4 * DAY, "domestic", 9)
    with serving(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        token = client.post("/oauth2/v3/token", content=JSON_BODY)
        assert token.status_code == 200
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        ok = client.get(f"/tracking/v3/tracking/{n}", params={"expand": "detail"}, headers=headers)
        assert ok.status_code == 200 and ok.json()["trackingEvents"]
        limited = client.get(f"/tracking/v3/tracking/{n}", headers=headers)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) == 3600  # the calendar hour resets at 06:00Z
        assert limited.json()["error"]["message"] == QUOTA_MESSAGE
    journal.flush()
    lines = [json.loads(x) for x in (tmp_path / "carrier-usps.jsonl").read_text().splitlines()]
    assert [(x["route"], x["status"], x["outcome"]) for x in lines] == [
        ("token", 200, "ok"),
        ("track", 200, "ok"),
        ("track", 429, "throttled"),
    ]
