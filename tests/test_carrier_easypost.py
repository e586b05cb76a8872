"""The EasyPost trackers personality: pure shapes and signatures, then the official client
against a real mock server on 127.0.0.1 (only ``api_base`` and the key changed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import easypost
import pytest
from _servers import serving
from easypost.errors import NotFoundError, RateLimitError, UnauthorizedError
from easypost.util import validate_webhook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocks.app import CarrierApp, create_carrier_app
from mocks.carriers import make_personality
from mocks.carriers.base import Ask
from mocks.carriers.easypost import EasyPost, number_of, status_of, tracker_id
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import journey, make_tracking_number, visible_count

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
KEY = "EZAK-key-0"
UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
STATUSES = {"unknown", "pre_transit", "in_transit", "out_for_delivery", "delivered", "failure"}


def fleet_of(*behaviours: dict[str, Any]) -> FleetSpec:
    carrier = {"name": "acme", "personality": "easypost", "behaviours": list(behaviours)}
    return FleetSpec.model_validate({"seed": 9, "carriers": [carrier]})


def personality() -> EasyPost:
    fleet = fleet_of()
    p = make_personality(fleet.carriers[0], fleet.timeline_model(fleet.carriers[0]))
    assert isinstance(p, EasyPost)
    return p


def numbers(count: int, shipped: float = START - 4 * DAY) -> list[str]:
    lanes = ("domestic", "cross-border")
    return [make_tracking_number(shipped + i * 60, lanes[i % 2], i) for i in range(count)]


def ask(p: EasyPost, method: str, path: str, body: bytes = b"", epoch: float = START) -> Any:
    route, argument = p.match(method, path)
    reply = p.respond(p.parse(route, argument, body), epoch)
    return reply.status, json.loads(reply.body)


# -- pure personality ------------------------------------------------------------------------------


def test_routes_and_both_auth_schemes() -> None:
    p = personality()
    assert p.match("POST", "/v2/trackers") == ("register", "")
    assert p.match("GET", "/v2/trackers") == ("batch", "")
    assert p.match("GET", "/v2/trackers/trk_ab") == ("track", "trk_ab")
    assert p.match("DELETE", "/v2/trackers/trk_ab") == ("delete", "trk_ab")
    assert p.match("POST", "/v2/trackers/batch") == ("batch", "batch")
    assert p.match("GET", "/v2/trackers?page_size=5") == ("batch", "page_size=5")
    assert p.match("PUT", "/v2/trackers/trk_ab") == ("other", "")
    assert p.match("GET", "/v2/trackers/a/b") == ("other", "")
    basic = b"Basic " + base64.b64encode(b"EZAK-1:")
    assert p.credential([(b"authorization", basic)], b"", 0.0) == "EZAK-1"
    assert p.credential([(b"authorization", b"Bearer EZAK-2")], b"", 0.0) == "EZAK-2"
    assert p.credential([(b"authorization", b"Basic !!!")], b"", 0.0) is None
    assert p.credential([(b"x-api-key", b"EZAK-1")], b"", 0.0) is None
    number = numbers(1)[0]
    assert re.fullmatch(r"trk_[0-9a-f]{32}", tracker_id(number))
    assert number_of(tracker_id(number)) == number and number_of("trk_zz") is None


def test_tracker_details_oldest_first_with_status_mapping() -> None:
    p = personality()
    number = numbers(1)[0]
    events = journey(p.model, number)
    epoch = events[3].visible_at
    status, doc = ask(p, "GET", f"/v2/trackers/{tracker_id(number)}", epoch=epoch)
    assert (status, doc["error"]["code"], doc["error"]["errors"]) == (404, "NOT_FOUND", [])
    body = json.dumps({"tracker": {"tracking_code": number, "carrier": "acme"}}).encode()
    status, created = ask(p, "POST", "/v2/trackers", body, epoch)
    assert status == 201 and created["object"] == "Tracker"
    assert created["id"] == tracker_id(number) and created["tracking_code"] == number
    status, again = ask(p, "POST", "/v2/trackers", body, epoch)
    assert status == 200 and again["id"] == created["id"]  # deduplicated by tracking code
    details = created["tracking_details"]
    n = visible_count(events, epoch)
    assert [d["message"] for d in details] == [e.message for e in events[:n]]
    assert all(d["object"] == "TrackingDetail" and UTC.match(d["datetime"]) for d in details)
    assert details[0]["status"] == "pre_transit" and details[0]["status_detail"] == "label_created"
    assert details[0]["tracking_location"]["object"] == "TrackingLocation"
    assert created["status"] == details[-1]["status"] == "in_transit"
    assert {d["status"] for d in details} <= STATUSES
    _, done = ask(p, "GET", f"/v2/trackers/{created['id']}", epoch=events[-1].visible_at)
    assert (done["status"], done["finalized"]) == ("delivered", True)
    form = b"tracker%5Btracking_code%5D=" + numbers(2)[1].encode() + b"&tracker%5Bcarrier%5D=x"
    status, other = ask(p, "POST", "/v2/trackers", form)
    assert status == 201 and other["tracking_code"] == numbers(2)[1]
    _, page = ask(p, "GET", "/v2/trackers")
    assert [t["tracking_code"] for t in page["trackers"]] == [numbers(2)[1], number]
    assert page["has_more"] is False


def test_unknown_status_before_scans_and_bad_bodies() -> None:
    p = personality()
    future = numbers(1, shipped=START + DAY)[0]
    status, doc = ask(
        p, "POST", "/v2/trackers", json.dumps({"tracker": {"tracking_code": future}}).encode()
    )
    assert status == 201 and (doc["status"], doc["tracking_details"]) == ("unknown", [])
    for body, code in (
        (b"{nope", "BAD_REQUEST"),
        (b'{"tracker": {}}', "PARAMETER.REQUIRED"),
        (b'{"tracker": {"tracking_code": "no way!"}}', "TRACKER.TRACKING_CODE.INVALID"),
    ):
        status, doc = ask(p, "POST", "/v2/trackers", body)
        assert status in (400, 422) and doc["error"]["code"] == code


def test_throttle_and_ban_envelopes() -> None:
    p = personality()
    reply = p.throttled(Ask("track", ("X",)), 30, "quota:1s", START, 5)
    assert reply.status == 429
    assert json.loads(reply.body)["error"]["code"] == "RATE_LIMITED"
    assert json.loads(reply.body)["error"]["errors"] == []
    assert p.blocked(Ask("track", ()), 403, 60).status == 403
    assert p.blocked(Ask("track", ()), 429, 60).status == 429
    assert json.loads(p.unauthorized(Ask("track", ())).body)["error"]["code"].startswith("APIKEY")


def test_push_event_and_signature_validate_with_the_client() -> None:
    p = personality()
    number = numbers(1)[0]
    events = journey(p.model, number)
    assert p.push_body(number, events[0].visible_at - 1) is None
    body = p.push_body(number, events[1].visible_at)
    assert body is not None
    headers = {k.decode(): v.decode() for k, v in p.push_headers(body, "whsec")}
    expected = "hmac-sha256-hex=" + hmac.new(b"whsec", body, hashlib.sha256).hexdigest()
    assert headers["X-Hmac-Signature"] == expected
    event = validate_webhook(body, headers, "whsec")  # the official client's own check
    assert event["object"] == "Event" and event["description"] == "tracker.updated"
    assert event["result"]["tracking_code"] == number
    assert len(event["result"]["tracking_details"]) == 2
    assert event["previous_attributes"] == {"status": "pre_transit"}


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
        st.sampled_from(["/v2/trackers", "/v2/trackers/", "/v2/trackers/trk_", "/"]),
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


# -- the official client against a real server -----------------------------------------------------


def make_app(tmp_path: Path, *behaviours: dict[str, Any]) -> CarrierApp:
    fleet = fleet_of(*behaviours)
    clock = ManualClock(t=0.0, start_epoch=START)
    journal = Journal("acme", tmp_path / "carrier-acme.jsonl")
    return create_carrier_app(fleet.carriers[0], fleet, clock, [KEY], journal)


def test_client_creates_and_retrieves_a_tracker(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    number = numbers(1)[0]
    with serving(app) as base:
        client = easypost.EasyPostClient(KEY, api_base=f"{base}/v2", timeout=10)
        created = client.tracker.create(tracking_code=number, carrier="acme")
        fetched = client.tracker.retrieve(created.id)
        listed = client.tracker.all(page_size=5)
        with pytest.raises(NotFoundError):
            client.tracker.retrieve("trk_ffff")
        with pytest.raises(UnauthorizedError):
            easypost.EasyPostClient("nope", api_base=f"{base}/v2").tracker.retrieve(created.id)
    assert type(created).__name__ == "Tracker" and created.id == tracker_id(number)
    events = journey(app.personality.model, number)  # type: ignore[attr-defined]
    shown = visible_count(events, START)
    assert fetched.tracking_code == number and len(fetched.tracking_details) == shown > 0
    assert (fetched.status, fetched.status_detail) == status_of(events[shown - 1])
    assert fetched.tracking_details[0].tracking_location.city
    assert [t.id for t in listed["trackers"]] == [created.id]


def test_client_raises_rate_limit_error_on_the_quota(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"type": "quota", "limit": 1, "per": 3600})
    number = numbers(1)[0]
    with serving(app) as base:
        client = easypost.EasyPostClient(KEY, api_base=f"{base}/v2", timeout=10)
        created = client.tracker.create(tracking_code=number, carrier="acme")
        with pytest.raises(RateLimitError) as caught:
            client.tracker.retrieve(created.id)
    assert caught.value.http_status == 429
    assert json.loads(caught.value.http_body or "")["error"]["code"] == "RATE_LIMITED"
