"""The 17TRACK v2.2 personality: pure shapes and signatures, then the ASGI app in process."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocks.app import CarrierApp, create_carrier_app
from mocks.carriers import make_personality
from mocks.carriers.base import Ask
from mocks.carriers.seventeentrack import SeventeenTrack
from mocks.journal import Journal
from peakbench.config.fleet import CarrierSpec, FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import journey, make_tracking_number, visible_count

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
KEYS = ["token-a"]
OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def fleet_of(*behaviours: dict[str, Any]) -> FleetSpec:
    carrier = {"name": "seventeen", "personality": "17track", "behaviours": list(behaviours)}
    return FleetSpec.model_validate({"seed": 5, "carriers": [carrier]})


def personality(capacity: int = 2_000_000) -> SeventeenTrack:
    fleet = fleet_of()
    return SeventeenTrack("seventeen", fleet.timeline_model(fleet.carriers[0]), capacity)


def numbers(count: int, shipped: float = START - 4 * DAY) -> list[str]:
    lanes = ("domestic", "cross-border")
    return [make_tracking_number(shipped + i * 60, lanes[i % 2], i) for i in range(count)]


def call(p: SeventeenTrack, endpoint: str, body: Any, epoch: float = START) -> dict[str, Any]:
    route, argument = p.match("POST", f"/track/v2.2/{endpoint}")
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = p.respond(p.parse(route, argument, raw), epoch)
    assert reply.status == 200
    doc: dict[str, Any] = json.loads(reply.body)
    return doc


# -- pure personality ------------------------------------------------------------------------------


def test_factory_routes_and_token_header() -> None:
    fleet = fleet_of()
    p = make_personality(fleet.carriers[0], fleet.timeline_model(fleet.carriers[0]))
    assert isinstance(p, SeventeenTrack)
    assert p.match("POST", "/track/v2.2/register") == ("register", "register")
    assert p.match("POST", "/track/v2.2/gettrackinfo") == ("batch", "gettrackinfo")
    for endpoint in ("stoptrack", "retrack", "getquota", "push"):
        assert p.match("POST", f"/track/v2.2/{endpoint}") == (endpoint, endpoint)
    assert p.match("GET", "/track/v2.2/gettrackinfo") == ("other", "")
    assert p.match("POST", "/track/v2.1/gettrackinfo") == ("other", "")
    assert p.reads_body("batch") and p.reads_body("register") and not p.reads_body("other")
    assert p.credential([(b"17token", b"t")], b"", 0.0) == "t"
    assert p.credential([(b"x-api-key", b"t")], b"", 0.0) is None


def test_only_registered_numbers_are_tracked() -> None:
    p = personality()
    a, b = numbers(2)
    got = call(p, "gettrackinfo", [{"number": a}])
    assert got["code"] == 0 and got["data"]["accepted"] == []
    assert got["data"]["rejected"][0]["number"] == a
    assert got["data"]["rejected"][0]["error"]["code"] == -18019902
    reg = call(p, "register", [{"number": a, "carrier": p.carrier_key}, {"number": "no way!"}])
    assert [x["number"] for x in reg["data"]["accepted"]] == [a]
    assert reg["data"]["accepted"][0]["carrier"] == p.carrier_key
    assert reg["data"]["rejected"][0]["error"]["code"] == -18010012
    again = call(p, "register", [{"number": a}, {"number": b}])
    assert again["data"]["rejected"][0]["error"]["code"] == -18019901
    assert [x["number"] for x in again["data"]["accepted"]] == [b]
    assert list(p.registered()) == [a, b]
    tracked = call(p, "gettrackinfo", [{"number": a}, {"number": b}])
    assert [x["number"] for x in tracked["data"]["accepted"]] == [a, b]
    stop = call(p, "stoptrack", [{"number": a}, {"number": "PBX"}])
    assert stop["data"]["accepted"] == [{"number": a, "carrier": p.carrier_key}]
    assert stop["data"]["rejected"][0]["error"]["code"] == -18019902
    p.reset()
    assert list(p.registered()) == []


def test_batch_limit_and_malformed_bodies_are_request_errors() -> None:
    p = personality()
    too_many = call(p, "gettrackinfo", [{"number": n} for n in numbers(41)])
    assert too_many["code"] == -18010014
    assert too_many["data"]["errors"][0]["code"] == -18010014
    assert call(p, "gettrackinfo", [{"number": n} for n in numbers(40)])["code"] == 0
    for bad in (b"{", b'{"number": "x"}', b"[1, 2]", b'[{"number": 5}]', b"\xff"):
        assert call(p, "register", bad)["code"] == -18010013, bad


def test_track_info_is_the_visible_prefix_newest_first() -> None:
    p = personality()
    number = numbers(1)[0]
    call(p, "register", [{"number": number}])
    events = journey(p.model, number)
    before = p.track_info(number, events[0].visible_at - 1)
    assert before["latest_status"]["status"] == "NotFound"
    assert before["latest_event"] is None
    assert before["tracking"]["providers"][0]["events"] == []
    for k in (1, 3, len(events)):
        epoch = events[k - 1].visible_at
        info = call(p, "gettrackinfo", [{"number": number}], epoch)["data"]["accepted"][0]
        shown = info["track_info"]["tracking"]["providers"][0]["events"]
        n = visible_count(events, epoch)
        assert len(shown) == n >= k
        assert [e["description"] for e in shown] == [e.message for e in events[:n]][::-1]
        assert info["track_info"]["latest_event"] == shown[0]
        assert all(OFFSET.match(e["time_iso"]) and UTC.match(e["time_utc"]) for e in shown)
        newest = events[n - 1]
        assert shown[0]["address"]["city"] == newest.city
        assert shown[0]["time_raw"]["timezone"] == shown[0]["time_iso"][19:]
    final = p.track_info(number, events[-1].visible_at)
    assert final["latest_status"] == {
        "status": "Delivered",
        "sub_status": "Delivered_Other",
        "sub_status_descr": None,
    }
    stages = {m["key_stage"]: m["time_utc"] for m in final["milestone"]}
    assert stages["InfoReceived"] is not None and stages["Delivered"] is not None
    assert stages["Returned"] is None
    assert stages["InfoReceived"] < stages["Delivered"]


def test_throttle_signatures_burst_daily_and_ban() -> None:
    p = personality()
    poll = Ask("batch", ["A"])
    burst = p.throttled(poll, 1, "quota:1s", START, 3)
    assert burst.status == 429
    assert json.loads(burst.body)["data"]["errors"][0]["message"] == (
        "Request frequency exceeds the allowed limit"
    )
    daily = p.throttled(poll, 3600, "quota:1d", START, 100)
    assert daily.status == 200 and json.loads(daily.body)["code"] == -18019907
    assert p.throttled(poll, 60, "quota:2d", START, 1).status == 200
    register = p.throttled(Ask("register", ["A"]), 60, "quota:1d", START, 100)
    assert register.status == 200 and json.loads(register.body)["code"] == -18019908
    assert p.throttled(poll, 1, "concurrency", START, 0).status == 429
    disabled = p.blocked(poll, 401, 600)
    assert disabled.status == 401 and json.loads(disabled.body)["code"] == -18010004
    assert p.blocked(poll, 403, 600).status == 403
    assert p.unauthorized(poll).status == 401
    assert json.loads(p.unauthorized(poll).body)["code"] == -18010002


def test_capacity_caps_registrations_and_getquota_reports_it() -> None:
    p = personality(capacity=2)
    reg = call(p, "register", [{"number": n} for n in numbers(3)])
    assert len(reg["data"]["accepted"]) == 2
    assert reg["data"]["rejected"][0]["error"]["code"] == -18019908
    quota = call(p, "getquota", b"")["data"]
    assert (quota["quota_total"], quota["quota_used"], quota["quota_remain"]) == (2, 2, 0)


def test_push_body_and_sign() -> None:
    p = personality()
    number = numbers(1)[0]
    events = journey(p.model, number)
    assert p.push_body(number, events[0].visible_at - 1) is None
    body = p.push_body(number, events[2].visible_at)
    assert body is not None
    doc = json.loads(body)
    assert doc["event"] == "TRACKING_UPDATED"
    assert doc["data"]["number"] == number and doc["data"]["carrier"] == p.carrier_key
    assert len(doc["data"]["track_info"]["tracking"]["providers"][0]["events"]) == 3
    headers = dict(p.push_headers(body, "s3cret"))
    expected = hashlib.sha256(body.decode().encode() + b"/s3cret").hexdigest()
    assert headers[b"sign"].decode() == expected
    assert dict(p.push_headers(body, "other"))[b"sign"].decode() != expected


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
                "/track/v2.2/register",
                "/track/v2.2/gettrackinfo",
                "/track/v2.2/getquota",
                "/track/v2.2/stoptrack",
                "/track/v2.2/",
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


# -- the app in process ----------------------------------------------------------------------------


def make_app(tmp_path: Path, *behaviours: dict[str, Any]) -> CarrierApp:
    fleet = fleet_of(*behaviours)
    clock = ManualClock(t=0.0, start_epoch=START)
    journal = Journal("seventeen", tmp_path / "carrier-seventeen.jsonl")
    return create_carrier_app(fleet.carriers[0], fleet, clock, KEYS, journal)


def run(app: CarrierApp, calls: list[tuple[str, Any, str | None]]) -> list[httpx.Response]:
    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            out = []
            for endpoint, body, token in calls:
                headers = {"17token": token} if token else {}
                url = f"/track/v2.2/{endpoint}"
                out.append(await client.post(url, json=body, headers=headers))
            return out

    return asyncio.run(main())


def test_app_register_then_poll_with_a_daily_quota(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"type": "quota", "limit": 2, "per": "1d", "routes": ["batch"]})
    asked = [{"number": n} for n in numbers(3)]
    replies = run(
        app,
        [
            ("gettrackinfo", asked, None),
            ("register", asked, "token-a"),
            ("gettrackinfo", asked, "token-a"),
            ("gettrackinfo", asked, "token-a"),
            ("gettrackinfo", asked, "token-a"),
        ],
    )
    assert [r.status_code for r in replies] == [401, 200, 200, 200, 200]
    assert replies[0].json()["code"] == -18010002
    assert len(replies[1].json()["data"]["accepted"]) == 3
    assert len(replies[2].json()["data"]["accepted"]) == 3
    assert replies[4].json()["code"] == -18019907  # HTTP 200: the daily limit's signature
    app.journal.flush()
    assert app.journal.path is not None
    lines = [json.loads(x) for x in app.journal.path.read_text().splitlines()]
    assert [(x["route"], x["numbers"], x["outcome"], x["cause"]) for x in lines] == [
        ("batch", 0, "error", "auth"),
        ("register", 3, "ok", None),
        ("batch", 3, "ok", None),
        ("batch", 3, "ok", None),
        ("batch", 3, "throttled", "quota:1d"),
    ]


def test_personality_keys_come_from_the_spec_name() -> None:
    fleet = fleet_of()
    spec = CarrierSpec(name="other", personality="17track")
    p = make_personality(spec, fleet.timeline_model(spec))
    assert isinstance(p, SeventeenTrack)
    assert p.carrier_key != personality().carrier_key
    assert 100_000 <= p.carrier_key < 190_000
