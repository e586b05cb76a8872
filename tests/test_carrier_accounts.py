"""Registrations belong to the account (API key) that made them, on every registration-based
personality, over a real server: key B cannot read, stop or delete what key A registered, and
registers the same number afresh."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
from _servers import serving

from mocks.app import CarrierApp, create_carrier_app
from mocks.carriers.aftership import tracking_id
from mocks.carriers.easypost import tracker_id
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
KEY_A, KEY_B = "key-a-0123456789", "key-b-9876543210"
NUMBER = make_tracking_number(START - 3 * DAY, "domestic", 11)


def app_of(tmp_path: Path, personality: str) -> CarrierApp:
    carrier = {"name": "acme", "personality": personality}
    fleet = FleetSpec.model_validate({"seed": 3, "carriers": [carrier]})
    clock = ManualClock(t=0.0, start_epoch=START)
    journal = Journal("acme", tmp_path / f"carrier-{personality}.jsonl")
    return create_carrier_app(fleet.carriers[0], fleet, clock, [KEY_A, KEY_B], journal)


def test_aftership_tracking_of_key_a_is_404_for_key_b(tmp_path: Path) -> None:
    with serving(app_of(tmp_path, "aftership")) as base, httpx.Client(base_url=base) as http:
        a, b = {"as-api-key": KEY_A}, {"as-api-key": KEY_B}
        body = {"tracking_number": NUMBER, "slug": "acme"}
        created = http.post("/tracking/2026-07/trackings", json=body, headers=a)
        assert created.status_code == 201
        path = f"/tracking/2026-07/trackings/{tracking_id(NUMBER)}"
        assert http.get(path, headers=a).status_code == 200
        other = http.get(path, headers=b)
        assert other.status_code == 404 and other.json()["meta"]["code"] == 4004
        assert http.get(f"/v4/trackings/acme/{NUMBER}", headers=b).status_code == 404
        assert http.delete(path, headers=b).status_code == 404
        assert http.get("/tracking/2026-07/trackings", headers=b).json()["data"]["trackings"] == []
        again = http.post("/tracking/2026-07/trackings", json=body, headers=b)
        assert again.status_code == 201  # B's own tracking, not "already exists"
        assert http.get(path, headers=a).status_code == 200


def test_easypost_tracker_of_key_a_is_404_for_key_b(tmp_path: Path) -> None:
    def basic(key: str) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}

    with serving(app_of(tmp_path, "easypost")) as base, httpx.Client(base_url=base) as http:
        body = {"tracker": {"tracking_code": NUMBER, "carrier": "USPS"}}
        assert http.post("/v2/trackers", json=body, headers=basic(KEY_A)).status_code == 201
        path = f"/v2/trackers/{tracker_id(NUMBER)}"
        assert http.get(path, headers=basic(KEY_A)).status_code == 200
        other = http.get(path, headers=basic(KEY_B))
        assert other.status_code == 404 and other.json()["error"]["code"] == "NOT_FOUND"
        assert http.delete(path, headers=basic(KEY_B)).status_code == 404
        assert http.get("/v2/trackers", headers=basic(KEY_B)).json()["trackers"] == []
        assert http.get(path, headers=basic(KEY_A)).status_code == 200


def test_17track_number_of_key_a_is_not_registered_for_key_b(tmp_path: Path) -> None:
    def post(http: httpx.Client, endpoint: str, key: str) -> dict[str, Any]:
        reply = http.post(
            f"/track/v2.2/{endpoint}", json=[{"number": NUMBER}], headers={"17token": key}
        )
        assert reply.status_code == 200
        doc: dict[str, Any] = reply.json()
        return doc

    with serving(app_of(tmp_path, "17track")) as base, httpx.Client(base_url=base) as http:
        assert post(http, "register", KEY_A)["data"]["accepted"]
        assert post(http, "gettrackinfo", KEY_A)["data"]["accepted"]
        info = post(http, "gettrackinfo", KEY_B)["data"]
        assert info["accepted"] == [] and info["rejected"][0]["error"]["code"] == -18019902
        again = post(http, "register", KEY_B)["data"]
        assert again["accepted"] and not again["rejected"]  # not "already registered"


def test_trackship_registration_of_key_a_survives_key_b_deleting_it(tmp_path: Path) -> None:
    app = app_of(tmp_path, "trackship")
    register = {
        "order_id": 7,
        "tracking_number": NUMBER,
        "tracking_provider": "usps",
        "destination_country": "US",
        "user_key": KEY_A,
    }
    delete = {"order_id": 7, "tracking_number": NUMBER, "tracking_provider": "usps"}
    with serving(app) as base, httpx.Client(base_url=base) as http:
        created = http.post("/v1/shipment/create/ts4wc", content=json.dumps(register))
        assert created.status_code == 200 and created.json()["status"] == "ok"
        gone = http.post("/v1/shipment/delete", json=delete, headers={"trackship-api-key": KEY_B})
        assert gone.status_code == 200
        assert list(app.personality.registered()) == [NUMBER]  # type: ignore[attr-defined]
        http.post("/v1/shipment/delete", json=delete, headers={"trackship-api-key": KEY_A})
        assert list(app.personality.registered()) == []  # type: ignore[attr-defined]


def test_one_clients_token_storm_never_evicts_another_clients_tokens() -> None:
    from mocks.carriers._oauth import TokenDesk

    desk = TokenDesk(ttl_s=3600.0, capacity=100, per_client=3)

    def issue(client: str) -> str:
        client_id, secret = client.split(":")
        form = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
        assert desk.credential([], form.encode(), START) == client
        grant = desk.issue(START)
        assert grant is not None
        return grant.token

    def holder(token: str) -> str | None:
        return desk.credential([(b"authorization", f"Bearer {token}".encode())], b"", START)

    kept = issue("b:secret")
    storm = [issue("a:secret") for _ in range(10)]
    assert holder(kept) == "b:secret"  # B's token survives A's ten
    assert [holder(t) for t in storm[-3:]] == ["a:secret"] * 3
    assert all(holder(t) is None for t in storm[:-3])  # A keeps its newest three
    assert len(desk) == 4
