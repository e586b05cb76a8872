"""The TrackShip personality served by the real carrier app on 127.0.0.1 (carriers.md §5)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from mocks.app import create_carrier_app
from mocks.carriers import make_personality
from mocks.carriers.trackship import STATUS_MSG_MAX, TrackShipPersonality, wp_time
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import journey, make_tracking_number, visible_count

START = 1_795_755_600.0
KEY = "ts-user-key-1"
REGISTER = "/v1/shipment/create/ts4wc"
PUSH_FIELDS = [
    "order_id",
    "tracking_number",
    "tracking_event_status",
    "last_event_time",
    "first_event_time",
    "updated_at",
    "tracking_est_delivery_date",
    "events",
    "destination_events",
    "origin_country",
    "destination_country",
    "destination_state",
    "destination_city",
    "delivery_number",
    "delivery_provider",
    "shipping_service",
]
EVENT_STATUSES = {
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "available_for_pickup",
    "delivered",
    "on_hold",
    "exception",
    "failure",
    "return_to_sender",
    "unknown",
}


def fleet(behaviours: list[dict[str, Any]] | None = None) -> FleetSpec:
    carrier = {"name": "trackship", "personality": "trackship", "behaviours": behaviours or []}
    return FleetSpec.model_validate({"seed": 4, "carriers": [carrier]})


class Served:
    def __init__(self, url: str, clock: ManualClock, personality: Any, journal: Path) -> None:
        self.url = url
        self.clock = clock
        self.personality: TrackShipPersonality = personality
        self.journal = journal


def serve(tmp_path: Path, behaviours: list[dict[str, Any]] | None = None) -> Iterator[Served]:
    spec = fleet(behaviours)
    clock = ManualClock(t=0.0, start_epoch=START)
    path = tmp_path / "carrier-trackship.jsonl"
    journal = Journal("trackship", path)
    app = create_carrier_app(spec.carriers[0], spec, clock, [KEY], journal)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield Served(url, clock, app.personality, path)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        journal.close()


@pytest.fixture
def ts(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path)


def register_body(number: str, order_id: int = 12, provider: str = "usps", **extra: Any) -> bytes:
    doc = {
        "order_id": order_id,
        "custom_order_id": f"#{order_id}",
        "tracking_number": number,
        "tracking_provider": provider,
        "postal_code": "10001",
        "destination_country": "US",
        "user_key": KEY,
        "domain": "shop.test",
        "ts4wc": "2.0.7",
        **extra,
    }
    return json.dumps(doc).encode()


def number(seq: int, lane: str = "domestic", days_ago: float = 2.0) -> str:
    return make_tracking_number(START - days_ago * 86400, lane, seq)


def test_register_parses_the_raw_body_whatever_the_content_type(ts: Served) -> None:
    n = number(1)
    # the plugin sends a JSON string with WordPress's default form content type
    form = {"content-type": "application/x-www-form-urlencoded"}
    r = httpx.post(ts.url + REGISTER, content=register_body(n), headers=form)
    assert r.status_code == 200
    doc = r.json()
    assert list(doc) == ["status", "status_msg", "trackers_balance", "user_plan"]
    assert doc["status"] == "ok" and doc["status_msg"] == "pending_trackship"
    assert len(doc["status_msg"]) <= STATUS_MSG_MAX
    balance = int(doc["trackers_balance"])
    again = httpx.post(ts.url + REGISTER, content=register_body(n)).json()
    assert int(again["trackers_balance"]) == balance  # registering twice costs nothing
    other = httpx.post(ts.url + REGISTER, content=register_body(number(2), 13)).json()
    assert int(other["trackers_balance"]) == balance - 1
    assert set(ts.personality.registered()) == {n, number(2)}


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        (register_body(number(3), provider="pigeon-post"), 400, "carrier_unsupported"),
        (register_body("1Z999AA10123456784"), 400, "invalid_tracking"),
        (register_body(""), 400, "invalid_tracking"),
        (b'{"user_key": "ts-user-key-1", "tracking_number": ', 401, "unauthorized_api_key"),
        (b'["ts-user-key-1"]', 401, "unauthorized_api_key"),
        (register_body(number(3), user_key="wrong"), 401, "unauthorized_api_key"),
    ],
)
def test_register_refusals_carry_short_error_slugs(
    ts: Served, body: bytes, status: int, slug: str
) -> None:
    r = httpx.post(ts.url + REGISTER, content=body)
    assert r.status_code == status
    doc = r.json()
    assert doc == {"status": "error", "status_msg": slug}
    assert len(doc["status_msg"]) <= STATUS_MSG_MAX
    assert list(ts.personality.registered()) == []


def test_delete_plan_and_supported_carriers(ts: Served) -> None:
    n = number(4)
    httpx.post(ts.url + REGISTER, content=register_body(n, 44))
    headers = {"trackship-api-key": KEY, "app-name": "trackship-for-woocommerce"}
    body = {"order_id": 44, "tracking_number": n, "tracking_provider": "usps"}
    r = httpx.post(ts.url + "/v1/shipment/delete", json=body, headers=headers)
    assert r.status_code == 200
    assert list(ts.personality.registered()) == []
    assert ts.personality.push_body(n, START + 5 * 86400) is None  # tracks only registered
    plan = httpx.post(ts.url + "/v1/user-plan/get", json={"user_key": KEY}).json()
    assert {"subscription_plan", "tracker_balance", "period", "email"} <= set(plan)
    carriers = httpx.get(
        ts.url + "/v1/shipping_carriers/supported", headers={"trackship-api-key": KEY}
    ).json()
    assert {"label": "USPS", "slug": "usps"} in carriers["data"]
    assert all(set(c) == {"label", "slug"} for c in carriers["data"])
    r = httpx.post(ts.url + "/v1/shipment/delete", json=body, headers={"app-name": "x"})
    assert r.status_code == 401


def test_throttled_register_in_trackship_words(tmp_path: Path) -> None:
    quota = {"type": "quota", "limit": 2, "per": "1m", "routes": ["register"]}
    for served in serve(tmp_path, [quota]):
        statuses = []
        for seq in range(4):
            r = httpx.post(served.url + REGISTER, content=register_body(number(10 + seq), seq))
            statuses.append(r.status_code)
        assert statuses == [200, 200, 429, 429]
        assert r.json()["status"] == "error"
        assert len(r.json()["status_msg"]) <= STATUS_MSG_MAX
        assert int(r.headers["retry-after"]) > 0
        assert len(list(served.personality.registered())) == 2
    lines = [json.loads(x) for x in (tmp_path / "carrier-trackship.jsonl").read_text().splitlines()]
    assert [x["route"] for x in lines] == ["register"] * 4
    assert [x["outcome"] for x in lines] == ["ok", "ok", "throttled", "throttled"]


def test_push_body_has_the_webhook_fields_oldest_first() -> None:
    spec = fleet()
    model = spec.timeline_model(spec.carriers[0])
    personality = make_personality(spec.carriers[0], model)
    assert isinstance(personality, TrackShipPersonality)
    n = number(20, days_ago=0)
    personality.respond(personality.parse("register", "", register_body(n, 77)), START)
    events = journey(model, n)
    assert personality.push_body(n, events[0].visible_at - 1) is None  # nothing visible yet
    for k in range(1, len(events) + 1):
        epoch = events[k - 1].visible_at
        doc = json.loads(personality.push_body(n, epoch) or b"null")
        assert list(doc) == PUSH_FIELDS
        assert doc["order_id"] == 77 and doc["tracking_number"] == n
        assert isinstance(doc["events"], list) and doc["destination_events"] is None
        assert len(doc["events"]) == k == visible_count(events, epoch)
        shown = [e["datetime"] for e in doc["events"]]
        assert shown == [wp_time(e.occurred_at, e.utc_offset_s) for e in events[:k]]
        assert all(set(e) >= {"message", "datetime", "tracking_location"} for e in doc["events"])
        assert all("city" in e["tracking_location"] for e in doc["events"])
        assert doc["tracking_event_status"] in EVENT_STATUSES
        assert doc["updated_at"] == wp_time(epoch)
        assert doc["last_event_time"] == shown[-1] and doc["first_event_time"] == shown[0]
    assert doc["tracking_event_status"] == "delivered"
    headers = dict(personality.push_headers(b"{}", ""))
    assert headers[b"content-type"] == b"application/json"


def test_cross_border_push_splits_destination_events() -> None:
    spec = fleet()
    model = spec.timeline_model(spec.carriers[0])
    personality = TrackShipPersonality("trackship", model)
    n = number(21, lane="cross-border", days_ago=0)
    personality.respond(personality.parse("register", "", register_body(n, 78)), START)
    events = journey(model, n)
    doc = json.loads(personality.push_body(n, events[-1].visible_at) or b"null")
    assert doc["origin_country"] == "CN" and doc["destination_country"] == "US"
    assert isinstance(doc["destination_events"], list) and doc["destination_events"]
    assert {e["tracking_location"]["country"] for e in doc["events"]} == {"CN"}
    assert {e["tracking_location"]["country"] for e in doc["destination_events"]} == {"US"}
    assert len(doc["events"]) + len(doc["destination_events"]) == len(events)
