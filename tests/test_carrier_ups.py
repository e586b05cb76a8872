"""The UPS personality: pure OAuth and track shapes first, then the OAuth dance on a real server."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from _servers import serving

from mocks.app import create_carrier_app
from mocks.carriers import make_personality
from mocks.carriers._oauth import EXPIRED, TokenDesk
from mocks.carriers.ups import TOKEN_TTL_S, UpsPersonality
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import journey, make_tracking_number, visible_count

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
CLIENT = "ups-client:ups-secret"
BASIC = (b"authorization", b"Basic " + base64.b64encode(CLIENT.encode()))
FORM = b"grant_type=client_credentials"


def fleet_of(*behaviours: dict[str, Any]) -> FleetSpec:
    carrier = {"name": "ups", "personality": "ups", "behaviours": list(behaviours)}
    return FleetSpec.model_validate({"seed": 5, "carriers": [carrier]})


def personality() -> UpsPersonality:
    fleet = fleet_of()
    p = make_personality(fleet.carriers[0], fleet.timeline_model(fleet.carriers[0]))
    assert isinstance(p, UpsPersonality)
    return p


def number(lane: str = "domestic", seq: int = 1) -> str:
    return make_tracking_number(START - 12 * DAY, lane, seq)


def get_token(p: UpsPersonality, epoch: float) -> str:
    route, argument = p.match("POST", "/security/v1/oauth/token")
    assert route == "token"
    assert p.credential([BASIC], FORM, epoch) == CLIENT
    reply = p.respond(p.parse(route, argument, FORM), epoch)
    assert reply.status == 200
    doc = json.loads(reply.body)
    assert doc["token_type"] == "Bearer" and doc["expires_in"] == "14399"
    assert doc["issued_at"] == str(int(epoch * 1000)) and doc["client_id"] == "ups-client"
    token: str = doc["access_token"]
    return token


def track(p: UpsPersonality, n: str, token: str, epoch: float) -> tuple[str | None, Any]:
    route, argument = p.match("GET", f"/api/track/v1/details/{n}")
    who = p.credential([(b"authorization", f"Bearer {token}".encode())], b"", epoch)
    ask = p.parse(route, argument, b"")
    reply = p.respond(ask, epoch) if who else p.unauthorized(ask)
    return who, (reply.status, json.loads(reply.body))


# -- pure ------------------------------------------------------------------------------------------


def test_routes() -> None:
    p = personality()
    assert p.match("POST", "/security/v1/oauth/token") == ("token", "")
    assert p.match("GET", "/security/v1/oauth/token") == ("other", "")
    assert p.match("GET", "/api/track/v1/details/1Z999") == ("track", "1Z999")
    assert p.match("GET", "/api/track/v1/details/") == ("other", "")
    assert p.match("GET", "/api/track/v1/details/a/b") == ("other", "")
    assert p.reads_body("token") and not p.reads_body("track")


def test_token_maps_back_to_its_client_until_it_expires() -> None:
    p = personality()
    token = get_token(p, START)
    _, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["exp"] - claims["iat"] == TOKEN_TTL_S and "ups-secret" not in token
    n = number()
    assert track(p, n, token, START + TOKEN_TTL_S - 1)[0] == CLIENT
    who, (status, body) = track(p, n, token, START + TOKEN_TTL_S)
    assert who is None and p.tokens.refused == EXPIRED
    assert status == 401
    assert body == {
        "response": {
            "errors": [{"code": "250002", "message": "Invalid Authentication Information."}]
        }
    }
    assert track(p, n, "not-a-token", START)[0] is None


def test_token_endpoint_refuses_bad_clients_and_grants() -> None:
    p = personality()
    route, _ = p.match("POST", "/security/v1/oauth/token")
    assert p.credential([(b"authorization", b"Basic !!!")], FORM, START) is None
    assert (
        p.credential([(b"authorization", b"Basic " + base64.b64encode(b"nosecret"))], b"", 0)
        is None
    )
    reply = p.unauthorized(p.parse(route, "", b""))
    assert reply.status == 401 and json.loads(reply.body)["response"]["errors"][0]["code"]
    p.credential([BASIC], b"grant_type=password", START)
    bad = p.respond(p.parse(route, "", b"grant_type=password"), START)
    assert bad.status == 400 and bad.cause == "bad_request"


def test_token_table_is_bounded_and_drops_expired_tokens() -> None:
    desk = TokenDesk(ttl_s=100.0, capacity=3)
    tokens = []
    for i in range(5):
        desk.credential([BASIC], b"", START + i)
        grant = desk.issue(START + i)
        assert grant is not None
        tokens.append(grant.token)
    assert len(desk) == 3
    assert (
        desk.credential([(b"authorization", f"Bearer {tokens[0]}".encode())], b"", START + 5)
        is None
    )
    assert (
        desk.credential([(b"authorization", f"Bearer {tokens[4]}".encode())], b"", START + 5)
        == CLIENT
    )
    desk.credential([BASIC], b"", START + 500)
    desk.issue(START + 500)
    assert len(desk) == 1  # the others expired
    assert desk.issue(START) is None  # nothing presented since


def test_track_response_is_newest_first_with_local_and_gmt_times() -> None:
    p = personality()
    n = number("cross-border", 7)
    events = journey(p.model, n)
    epoch = events[-1].visible_at
    token = get_token(p, epoch)
    _, (status, body) = track(p, n, token, epoch)
    assert status == 200
    shipment = body["trackResponse"]["shipment"][0]
    package = shipment["package"][0]
    assert shipment["inquiryNumber"] == package["trackingNumber"] == n
    activity = package["activity"]
    assert len(activity) == visible_count(events, epoch) == len(events)
    gmt = [a["gmtDate"] + a["gmtTime"] for a in activity]
    assert gmt == sorted(gmt, reverse=True)  # newest first
    offsets = {a["gmtOffset"] for a in activity}
    assert "+08:00" in offsets and any(o.startswith("-0") for o in offsets)  # zone jump
    for a, e in zip(activity, reversed(events), strict=True):
        local = time.gmtime(int(e.occurred_at) + e.utc_offset_s)
        assert a["date"] == time.strftime("%Y%m%d", local)
        assert a["time"] == time.strftime("%H%M%S", local)
        assert a["gmtTime"] == time.strftime("%H:%M:%S", time.gmtime(int(e.occurred_at)))
        assert a["location"]["address"]["city"] == e.city.upper()
    assert package["currentStatus"]["type"] == "D" and package["deliveryDate"][0]["type"] == "DEL"
    first = activity[-1]["status"]
    assert first["type"] == "M"


def test_nothing_scanned_yet_and_unknown_numbers_are_404() -> None:
    p = personality()
    token = get_token(p, START)
    n = make_tracking_number(START + DAY, "domestic", 1)  # ships tomorrow
    for asked in (n, "1Z999AA10123456784"):
        _, (status, body) = track(p, asked, token, START)
        assert status == 404 and body["response"]["errors"][0]["code"] == "151044"
    events = journey(p.model, n)
    token = get_token(p, events[0].visible_at)
    _, (status, body) = track(p, n, token, events[0].visible_at)
    assert status == 200
    assert body["trackResponse"]["shipment"][0]["package"][0]["currentStatus"]["type"] == "M"


def test_throttle_has_no_headers_and_refusals_use_the_error_envelope() -> None:
    p = personality()
    ask = p.parse("track", "X", b"")
    reply = p.throttled(ask, 30, "quota:1s", START, 5)
    assert reply.status == 429 and reply.headers == () and reply.cause == "quota:1s"
    assert json.loads(reply.body) == {
        "response": {"errors": [{"code": "10429", "message": "Too Many Requests"}]}
    }
    daily = p.throttled(ask, 3000, "quota:1d", START, 5)
    assert daily.headers == () and daily.body == reply.body
    blocked = p.blocked(ask, 403, 600)
    assert blocked.status == 403 and blocked.headers == ()
    assert json.loads(blocked.body)["response"]["errors"][0]["message"] == "Blocked Merchant"
    assert p.blocked(ask, 429, 60).headers == ()
    assert p.failed(ask, 503).status == 503 and p.failed(ask, 500).cause == "fault"


# -- on a real server ------------------------------------------------------------------------------


def test_oauth_dance_then_tracking_on_a_real_server(tmp_path: Path) -> None:
    fleet = fleet_of({"type": "quota", "limit": 2, "per": "1m", "routes": ["track"]})
    clock = ManualClock(t=0.0, start_epoch=START)
    journal = Journal("ups", tmp_path / "carrier-ups.jsonl")
    app = create_carrier_app(fleet.carriers[0], fleet, clock, [CLIENT], journal)
    n = number()
    with serving(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        token = client.post(
            "/security/v1/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("ups-client", "ups-secret"),
        )
        assert token.status_code == 200
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        headers = {**bearer, "transId": "t-1", "transactionSrc": "peakbench"}
        ok = client.get(f"/api/track/v1/details/{n}", headers=headers, params={"locale": "en_US"})
        assert ok.status_code == 200
        assert ok.json()["trackResponse"]["shipment"][0]["package"][0]["activity"]
        assert client.get(f"/api/track/v1/details/{n}", headers=headers).status_code == 200
        throttled = client.get(f"/api/track/v1/details/{n}", headers=headers)
        assert throttled.status_code == 429
        assert not [h for h in throttled.headers if "retry" in h or "ratelimit" in h]
        wrong = client.post(
            "/security/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("x", "y")
        )
        assert wrong.status_code == 401
        clock.advance(TOKEN_TTL_S)
        expired = client.get(f"/api/track/v1/details/{n}", headers=headers)
        assert expired.status_code == 401
        assert expired.json()["response"]["errors"][0]["code"] == "250002"
    journal.flush()
    lines = [json.loads(x) for x in (tmp_path / "carrier-ups.jsonl").read_text().splitlines()]
    assert [(x["route"], x["key"], x["status"], x["outcome"]) for x in lines] == [
        ("token", "k0", 200, "ok"),
        ("track", "k0", 200, "ok"),
        ("track", "k0", 200, "ok"),
        ("track", "k0", 429, "throttled"),
        ("token", "anon", 401, "error"),
        ("track", "anon", 401, "error"),
    ]
    assert "ups-secret" not in (tmp_path / "carrier-ups.jsonl").read_text()


@pytest.mark.parametrize("body", [b"", b"{", b"grant_type=client_credentials&x=" + b"y" * 5000])
def test_malformed_token_bodies_never_raise(body: bytes) -> None:
    p = personality()
    route, _ = p.match("POST", "/security/v1/oauth/token")
    p.credential([], body, START)
    reply = p.respond(p.parse(route, "", body), START)
    assert reply.status in (400, 401)


def test_interleaved_requests_and_client_credentials_on_the_track_route() -> None:
    # the app awaits a token request's body between match() and credential(): another
    # request may be matched meanwhile, so nothing may be remembered from match()
    p = personality()
    n = number()
    token_route, _ = p.match("POST", "/security/v1/oauth/token")
    p.match("GET", f"/api/track/v1/details/{n}")
    assert p.credential([BASIC], FORM, START) == CLIENT
    assert p.respond(p.parse(token_route, "", FORM), START).status == 200
    # Basic credentials where a bearer token belongs: authenticated caller, still a 401
    route, argument = p.match("GET", f"/api/track/v1/details/{n}")
    assert p.credential([BASIC], b"", START) == CLIENT
    reply = p.respond(p.parse(route, argument, b""), START)
    assert reply.status == 401 and reply.cause == "auth" and reply.numbers == 1
    # and the remembered client does not leak into the next token request
    assert p.credential([(b"authorization", b"Bearer nope")], b"", START) is None
    refused = p.respond(p.parse(token_route, "", FORM), START)
    assert refused.status == 401
