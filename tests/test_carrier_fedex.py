"""FedEx: pure OAuth, batches and throttle wording, then the OAuth dance on a real server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from _servers import serving

from mocks.app import create_carrier_app
from mocks.carriers import make_personality
from mocks.carriers.fedex import (
    BATCH_LIMIT,
    BURST_MESSAGE,
    DAILY_MESSAGE,
    TOKEN_TTL_S,
    FedexPersonality,
)
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import journey, make_tracking_number, visible_count

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
CLIENT = "fx-key:fx-secret"
FORM = b"grant_type=client_credentials&client_id=fx-key&client_secret=fx-secret"


def fleet_of(*behaviours: dict[str, Any]) -> FleetSpec:
    carrier = {"name": "fedex", "personality": "fedex", "behaviours": list(behaviours)}
    return FleetSpec.model_validate({"seed": 6, "carriers": [carrier]})


def personality() -> FedexPersonality:
    fleet = fleet_of()
    p = make_personality(fleet.carriers[0], fleet.timeline_model(fleet.carriers[0]))
    assert isinstance(p, FedexPersonality)
    return p


def numbers(count: int, lane: str = "domestic") -> list[str]:
    return [make_tracking_number(START - 12 * DAY + i, lane, i) for i in range(count)]


def body_for(asked: list[str]) -> bytes:
    infos = [{"trackingNumberInfo": {"trackingNumber": n}} for n in asked]
    return json.dumps({"includeDetailedScans": True, "trackingInfo": infos}).encode()


def token_at(p: FedexPersonality, epoch: float) -> str:
    route, _ = p.match("POST", "/oauth/token")
    assert p.credential([], FORM, epoch) == CLIENT
    reply = p.respond(p.parse(route, "", FORM), epoch)
    doc = json.loads(reply.body)
    assert reply.status == 200 and doc["token_type"] == "bearer" and doc["expires_in"] == 3599
    return str(doc["access_token"])


def post_track(p: FedexPersonality, asked: list[str], token: str, epoch: float) -> Any:
    route, argument = p.match("POST", "/track/v1/trackingnumbers")
    body = body_for(asked)
    who = p.credential([(b"authorization", f"Bearer {token}".encode())], body, epoch)
    ask = p.parse(route, argument, body)
    reply = p.respond(ask, epoch) if who else p.unauthorized(ask)
    return reply.status, json.loads(reply.body)


def test_routes_and_token_expiry() -> None:
    p = personality()
    assert p.match("POST", "/oauth/token") == ("token", "")
    assert p.match("POST", "/track/v1/trackingnumbers") == ("batch", "")
    assert p.match("GET", "/track/v1/trackingnumbers") == ("other", "")
    assert p.reads_body("token") and p.reads_body("batch")
    token = token_at(p, START)
    n = numbers(1)
    assert post_track(p, n, token, START + TOKEN_TTL_S - 1)[0] == 200
    status, doc = post_track(p, n, token, START + TOKEN_TTL_S)
    assert status == 401 and doc["errors"][0]["code"] == "NOT.AUTHORIZED.ERROR"
    assert "expired" in doc["errors"][0]["message"] and doc["transactionId"]
    route, _ = p.match("POST", "/oauth/token")
    assert p.credential([], b"grant_type=client_credentials&client_id=x", START) is None
    refused = p.unauthorized(p.parse(route, "", b""))
    assert (
        refused.status == 401
        and "client credentials" in json.loads(refused.body)["errors"][0]["message"]
    )


def test_batch_of_up_to_30_with_newest_first_scans_and_per_number_errors() -> None:
    p = personality()
    asked = [*numbers(3, "cross-border"), "PB-NOT-A-NUMBER"]
    model = p.model
    epoch = START
    status, doc = post_track(p, asked, token_at(p, epoch), epoch)
    assert status == 200 and doc["transactionId"]
    results = doc["output"]["completeTrackResults"]
    assert [r["trackingNumber"] for r in results] == asked
    for n, result in zip(asked[:3], results, strict=False):
        events = journey(model, n)
        track = result["trackResults"][0]
        scans = track["scanEvents"]
        assert len(scans) == visible_count(events, epoch) > 0
        assert [s["date"] for s in scans] == [
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(e.occurred_at) + e.utc_offset_s))
            + ("+" if e.utc_offset_s >= 0 else "-")
            + f"{abs(e.utc_offset_s) // 3600:02d}:00"
            for e in reversed(events[: len(scans)])
        ]
        newest = events[len(scans) - 1]
        assert track["latestStatusDetail"]["scanLocation"]["city"] == newest.city.upper()
        ship = next(d for d in track["dateAndTimes"] if d["type"] == "SHIP")["dateTime"]
        assert ship.endswith("T00:00:00+08:00")  # date-only, origin offset (cross-border)
    assert results[3]["trackResults"][0]["error"]["code"] == "TRACKING.TRACKINGNUMBER.NOTFOUND"
    # a full journey jumps zones and ends delivered
    n = asked[0]
    last = journey(model, n)[-1].visible_at
    _, doc = post_track(p, [n], token_at(p, last), last)
    track = doc["output"]["completeTrackResults"][0]["trackResults"][0]
    offsets = {s["date"][-6:] for s in track["scanEvents"]}
    assert "+08:00" in offsets and any(o.startswith("-0") for o in offsets)
    assert track["latestStatusDetail"]["code"] == "DL"
    assert track["dateAndTimes"][0]["type"] == "ACTUAL_DELIVERY"
    assert track["scanEvents"][-1]["derivedStatusCode"] == "IN"


@pytest.mark.parametrize(
    ("body", "count"),
    [
        (b"{", 0),
        (b'{"trackingInfo": []}', 0),
        (b'{"trackingInfo": [{"trackingNumberInfo": {}}]}', 0),
        (body_for(numbers(BATCH_LIMIT + 1)), BATCH_LIMIT + 1),
    ],
)
def test_malformed_or_oversized_batches_are_400(body: bytes, count: int) -> None:
    p = personality()
    ask = p.parse("batch", "", body)
    reply = p.respond(ask, START)
    assert reply.status == 400 and reply.cause == "bad_request" and reply.numbers == count
    assert json.loads(reply.body)["errors"][0]["code"] == "INVALID.INPUT.EXCEPTION"
    assert p.parse("batch", "", body_for(numbers(BATCH_LIMIT))).error is None


def test_burst_and_daily_throttles_are_worded_differently() -> None:
    p = personality()
    ask = p.parse("batch", "", body_for(numbers(2)))
    burst = p.throttled(ask, 8, "quota:10s", START, 1400)
    daily = p.throttled(ask, 3600, "quota:1d", START, 100_000)
    weekly = p.throttled(ask, 3600, "quota:2d", START, 100_000)
    assert burst.status == daily.status == 429 and burst.numbers == 2
    burst_error = json.loads(burst.body)["errors"][0]
    daily_error = json.loads(daily.body)["errors"][0]
    assert burst_error["message"] == BURST_MESSAGE
    assert daily_error["message"] == DAILY_MESSAGE
    assert burst_error["code"] != daily_error["code"]
    assert json.loads(weekly.body)["errors"][0]["message"] == DAILY_MESSAGE
    assert (
        json.loads(p.throttled(ask, 1, "concurrency", START, 0).body)["errors"][0]["message"]
        == BURST_MESSAGE
    )
    assert p.blocked(ask, 403, 600).status == 403
    assert json.loads(p.failed(ask, 503).body)["errors"][0]["code"] == "SERVICE.UNAVAILABLE.ERROR"


def test_oauth_dance_then_batch_tracking_on_a_real_server(tmp_path: Path) -> None:
    fleet = fleet_of(
        {"type": "quota", "limit": 1, "per": "1d", "routes": ["batch"]},
        {"type": "quota", "limit": 2, "per": "1m", "routes": ["token"], "scope": "ip"},
    )
    clock = ManualClock(t=0.0, start_epoch=START)
    journal = Journal("fedex", tmp_path / "carrier-fedex.jsonl")
    app = create_carrier_app(fleet.carriers[0], fleet, clock, [CLIENT], journal)
    asked = numbers(5)
    form = {"grant_type": "client_credentials", "client_id": "fx-key", "client_secret": "fx-secret"}
    with serving(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        token = client.post("/oauth/token", data=form)
        assert token.status_code == 200
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        payload = json.loads(body_for(asked))
        ok = client.post("/track/v1/trackingnumbers", json=payload, headers=headers)
        assert ok.status_code == 200
        assert len(ok.json()["output"]["completeTrackResults"]) == 5
        daily = client.post("/track/v1/trackingnumbers", json=payload, headers=headers)
        assert daily.status_code == 429
        assert daily.json()["errors"][0]["message"] == DAILY_MESSAGE
        assert client.post("/oauth/token", data=form).status_code == 200
        assert client.post("/oauth/token", data=form).status_code == 429  # token endpoint limit
    journal.flush()
    lines = [json.loads(x) for x in (tmp_path / "carrier-fedex.jsonl").read_text().splitlines()]
    assert [(x["route"], x["numbers"], x["status"], x["cause"]) for x in lines] == [
        ("token", 0, 200, None),
        ("batch", 5, 200, None),
        ("batch", 5, 429, "quota:1d"),
        ("token", 0, 200, None),
        ("token", 0, 429, "quota:1m"),
    ]
