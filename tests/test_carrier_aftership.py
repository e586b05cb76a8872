"""The AfterShip personality: pure shapes and signatures, then the official SDK against a real
mock server on 127.0.0.1 (only the base URL and the key changed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import tracking
from _servers import serving
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tracking.exceptions import NotFoundError, TooManyRequestsError, UnauthorizedError

from mocks.app import CarrierApp, create_carrier_app
from mocks.carriers import make_personality
from mocks.carriers.aftership import AfterShip, number_of, tracking_id
from mocks.carriers.base import Ask
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import journey, make_tracking_number, visible_count

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
KEY = "as-key-0"
NAIVE_LOCAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
TAGS = {"Pending", "InfoReceived", "InTransit", "OutForDelivery", "AttemptFail", "Delivered"}


def fleet_of(*behaviours: dict[str, Any]) -> FleetSpec:
    carrier = {"name": "acme", "personality": "aftership", "behaviours": list(behaviours)}
    return FleetSpec.model_validate({"seed": 7, "carriers": [carrier]})


def personality() -> AfterShip:
    fleet = fleet_of()
    p = make_personality(fleet.carriers[0], fleet.timeline_model(fleet.carriers[0]))
    assert isinstance(p, AfterShip)
    return p


def numbers(count: int, shipped: float = START - 4 * DAY) -> list[str]:
    lanes = ("domestic", "cross-border")
    return [make_tracking_number(shipped + i * 60, lanes[i % 2], i) for i in range(count)]


def ask(p: AfterShip, method: str, path: str, body: Any = None, epoch: float = START) -> Any:
    route, argument = p.match(method, path)
    raw = json.dumps(body).encode() if body is not None else b""
    reply = p.respond(p.parse(route, argument, raw), epoch)
    return reply.status, json.loads(reply.body), dict(reply.headers)


# -- pure personality ------------------------------------------------------------------------------


def test_routes_versioned_and_legacy() -> None:
    p = personality()
    assert p.match("POST", "/tracking/2026-07/trackings") == ("register", "")
    assert p.match("GET", "/tracking/2026-07/trackings") == ("batch", "q:")
    assert p.match("GET", "/tracking/2026-07/trackings?limit=5") == ("batch", "q:limit=5")
    assert p.match("GET", "/tracking/2025-01/trackings/abc") == ("track", "id:abc")
    assert p.match("PUT", "/tracking/2026-07/trackings/abc") == ("update", "id:abc")
    assert p.match("DELETE", "/tracking/2026-07/trackings/abc") == ("delete", "id:abc")
    assert p.match("POST", "/tracking/2026-07/trackings/abc/retrack") == ("retrack", "id:abc")
    done = p.match("POST", "/tracking/2026-07/trackings/abc/mark-as-completed")
    assert done == ("complete", "id:abc")
    assert p.match("GET", "/tracking/2026-07/trackings/abc/retrack") == ("other", "")
    assert p.match("POST", "/v4/trackings") == ("register", "v4")
    assert p.match("GET", "/v4/trackings/acme/PB1") == ("track", "v4:acme/PB1")
    assert p.match("GET", "/v4/trackings/abc") == ("track", "v4id:abc")
    assert p.match("POST", "/v4/trackings/acme/PB1/retrack") == ("retrack", "v4:acme/PB1")
    assert p.match("GET", "/v4/last_checkpoint/acme/PB1") == ("track", "lc:acme/PB1")
    assert p.match("GET", "/v4/last_checkpoint/abc") == ("track", "lcid:abc")
    assert p.match("GET", "/tracking/latest/trackings") == ("other", "")
    assert p.match("PATCH", "/v4/trackings/acme/PB1") == ("other", "")
    assert p.credential([(b"as-api-key", b"k")], b"", 0.0) == "k"
    assert p.credential([(b"aftership-api-key", b"k")], b"", 0.0) == "k"  # the legacy header
    assert p.credential([(b"x-api-key", b"k")], b"", 0.0) is None
    number = numbers(1)[0]
    assert len(tracking_id(number)) == 32 and number_of(tracking_id(number)) == number
    assert number_of("zz") is None


def test_create_get_and_checkpoints_oldest_first_in_local_time() -> None:
    p = personality()
    number = numbers(1)[0]
    events = journey(p.model, number)
    epoch = events[4].visible_at
    status, doc, _ = ask(p, "GET", f"/tracking/2026-07/trackings/{tracking_id(number)}")
    assert (status, doc["meta"]["code"], doc["meta"]["type"]) == (404, 4004, "NotFound")
    body = {"tracking_number": number, "slug": "acme"}
    status, doc, _ = ask(p, "POST", "/tracking/2026-07/trackings", body, epoch)
    assert status == 201 and doc["meta"]["code"] == 201
    created = doc["data"]
    assert created["id"] == tracking_id(number) and created["tracking_number"] == number
    status, doc, _ = ask(p, "POST", "/tracking/2026-07/trackings", body, epoch)
    assert (status, doc["meta"]["code"]) == (400, 4003)
    status, doc, _ = ask(p, "GET", f"/tracking/2026-07/trackings/{created['id']}", None, epoch)
    got = doc["data"]
    n = visible_count(events, epoch)
    assert [c["message"] for c in got["checkpoints"]] == [e.message for e in events[:n]]
    assert all(NAIVE_LOCAL.match(c["checkpoint_time"]) for c in got["checkpoints"])
    first = got["checkpoints"][0]
    local = time.gmtime(int(events[0].occurred_at) + events[0].utc_offset_s)
    assert first["checkpoint_time"] == time.strftime("%Y-%m-%dT%H:%M:%S", local)
    assert first["tag"] == "InfoReceived" and first["country_region"] in ("USA", "CHN")
    assert got["tag"] == "InTransit" and {c["tag"] for c in got["checkpoints"]} <= TAGS
    status, doc, _ = ask(p, "GET", f"/v4/trackings/acme/{number}", None, events[-1].visible_at)
    legacy = doc["data"]["tracking"]
    assert status == 200 and legacy["tag"] == "Delivered" and legacy["active"] is False
    assert "country_iso3" in legacy["checkpoints"][0] and "zip" in legacy["checkpoints"][0]
    status, doc, _ = ask(p, "GET", "/tracking/2026-07/trackings")
    assert doc["data"]["pagination"]["total"] == 1
    assert [t["tracking_number"] for t in doc["data"]["trackings"]] == [number]
    status, doc, _ = ask(p, "DELETE", f"/tracking/2026-07/trackings/{created['id']}")
    assert status == 200 and list(p.registered()) == []


def test_pending_before_any_scan_and_bad_bodies() -> None:
    p = personality()
    number = numbers(1, shipped=START + DAY)[0]  # ships tomorrow
    status, doc, _ = ask(p, "POST", "/v4/trackings", {"tracking": {"tracking_number": number}})
    assert status == 201
    assert doc["data"]["tracking"]["tag"] == "Pending"
    assert doc["data"]["tracking"]["checkpoints"] == []
    for body, code in (({"slug": "acme"}, 4007), ({"tracking_number": "bad number!"}, 4005)):
        status, doc, _ = ask(p, "POST", "/tracking/2026-07/trackings", body)
        assert (status, doc["meta"]["code"], doc["meta"]["type"]) == (400, code, "BadRequest")
    route, argument = p.match("POST", "/tracking/2026-07/trackings")
    reply = p.respond(p.parse(route, argument, b"{nope"), START)
    assert reply.status == 400 and json.loads(reply.body)["meta"]["code"] == 4001


def test_throttle_headers_and_ban_statuses() -> None:
    p = personality()
    reply = p.throttled(Ask("track", ("X",)), 42, "quota:1s", START + 0.7, 5)
    assert reply.status == 429
    meta = json.loads(reply.body)["meta"]
    assert (meta["code"], meta["type"]) == (429, "TooManyRequests")
    headers = dict(reply.headers)
    assert headers[b"x-ratelimit-limit"] == b"5"
    assert headers[b"x-ratelimit-remaining"] == b"0"
    assert headers[b"x-ratelimit-reset"] == str(int(START) + 42).encode()
    assert p.blocked(Ask("track", ()), 403, 60).status == 403
    assert json.loads(p.blocked(Ask("track", ()), 401, 60).body)["meta"]["type"] == "Unauthorized"
    assert json.loads(p.failed(Ask("track", ()), 503).body)["meta"]["type"] == "InternalError"


def test_push_body_and_hmac() -> None:
    p = personality()
    number = numbers(1)[0]
    events = journey(p.model, number)
    assert p.push_body(number, events[0].visible_at - 1) is None
    body = p.push_body(number, events[1].visible_at)
    assert body is not None
    doc = json.loads(body)
    assert doc["event"] == "tracking_update" and doc["ts"] == int(events[1].visible_at)
    assert doc["msg"]["tracking_number"] == number and len(doc["msg"]["checkpoints"]) == 2
    assert (
        doc["event_id"] == json.loads(p.push_body(number, events[1].visible_at) or "")["event_id"]
    )
    header = dict(p.push_headers(body, "whsec"))[b"aftership-hmac-sha256"]
    expected = base64.b64encode(hmac.new(b"whsec", body, hashlib.sha256).digest())
    assert header == expected


_TEXT = st.text(max_size=40)
_ITEM = st.none() | st.integers() | _TEXT | st.sampled_from(numbers(3))
_JSONISH = st.recursive(
    _ITEM,
    lambda inner: st.lists(inner, max_size=45) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=50,
)
_BODY = st.binary(max_size=200) | _JSONISH.map(lambda v: json.dumps(v).encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]) | _TEXT,
    path=st.tuples(
        st.sampled_from(
            [
                "/tracking/2026-07/trackings",
                "/tracking/2026-07/trackings/",
                "/v4/trackings",
                "/v4/trackings/acme/",
                "/",
            ]
        ),
        _TEXT | st.sampled_from(numbers(3)),
    ).map("".join),
    body=_BODY,
)
def test_hostile_requests_get_a_4xx_or_2xx_never_an_exception(
    method: str, path: str, body: bytes
) -> None:
    p = personality()
    route, argument = p.match(method, path)
    for raw in (body, b""):
        reply = p.respond(p.parse(route, argument, raw), START)
        assert 200 <= reply.status < 500
        json.loads(reply.body)


# -- the official SDK against a real server --------------------------------------------------------


def make_app(tmp_path: Path, *behaviours: dict[str, Any], t: float = 0.0) -> CarrierApp:
    fleet = fleet_of(*behaviours)
    clock = ManualClock(t=t, start_epoch=START)
    journal = Journal("acme", tmp_path / "carrier-acme.jsonl")
    return create_carrier_app(fleet.carriers[0], fleet, clock, [KEY], journal)


def sdk(base_url: str, key: str = KEY) -> tracking.Client:
    return tracking.Client(tracking.Configuration(domain=base_url, api_key=key, max_retry=0))


def test_sdk_creates_and_fetches_a_tracking(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    number = numbers(1)[0]
    with serving(app) as base:
        client = sdk(base)
        created = client.tracking.create_tracking({"tracking_number": number, "slug": "acme"})
        assert created.data is not None and created.data.id == tracking_id(number)
        fetched = client.tracking.get_tracking_by_id(created.data.id)
        listed = client.tracking.get_trackings()
        with pytest.raises(NotFoundError):
            client.tracking.get_tracking_by_id("ffff")
        with pytest.raises(UnauthorizedError):
            sdk(base, "wrong-key").tracking.get_tracking_by_id(created.data.id)
    data = fetched.data
    assert data is not None and data.tracking_number == number
    shown = visible_count(journey(app.personality.model, number), START)  # type: ignore[attr-defined]
    assert data.checkpoints is not None and len(data.checkpoints) == shown > 0
    assert data.tag is not None and data.tag.value == "InTransit"
    assert data.checkpoints[0].checkpoint_time is not None
    assert listed.data is not None and listed.data.trackings is not None
    assert [t.tracking_number for t in listed.data.trackings] == [number]


def test_sdk_surfaces_the_quota_as_too_many_requests(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"type": "quota", "limit": 1, "per": 3600}, t=120.0)
    number = numbers(1)[0]
    with serving(app) as base:
        client = sdk(base)
        created = client.tracking.create_tracking({"tracking_number": number, "slug": "acme"})
        assert created.data is not None
        began = time.monotonic()
        with pytest.raises(TooManyRequestsError) as caught:
            client.tracking.get_tracking_by_id(created.data.id)
        assert time.monotonic() - began < 5  # no retry storm
    error = caught.value
    assert error.status_code == 429 and error.meta_code == 429
    headers = error.response_header
    assert isinstance(headers, dict)
    assert headers["x-ratelimit-limit"] == ["1"]
    assert headers["x-ratelimit-remaining"] == ["0"]
    assert headers["x-ratelimit-reset"] == [str(int(START) + 3600)]  # the next hour boundary
    app.journal.flush()
    assert app.journal.path is not None
    lines = [json.loads(x) for x in app.journal.path.read_text().splitlines()]
    assert [(x["route"], x["outcome"], x["cause"]) for x in lines] == [
        ("register", "ok", None),
        ("track", "throttled", "quota:1h"),
    ]
