"""The admin API of a running fleet: counters, reset, live behaviours, journal export, clock,
and its OpenAPI document. Real servers on 127.0.0.1 port 0 (in a background thread)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks.admin.openapi import openapi_document
from mocks.app import create_carrier_app
from mocks.fleet import serving
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ClockSpec, ManualClock
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0
NUMBER = make_tracking_number(START - 2 * 86400, "domestic", 1)
KEY = {"X-Api-Key": "key-0"}


def fleet_of(*behaviours: dict[str, Any]) -> FleetSpec:
    return FleetSpec.model_validate(
        {"seed": 5, "carriers": [{"name": "acme", "behaviours": list(behaviours)}, {"name": "b"}]}
    )


@pytest.fixture
def acme(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    """A client on carrier acme (quota 2 per hour) of a running fleet, and its journal dir."""
    fleet = fleet_of({"type": "quota", "limit": 2, "per": "1h", "window": "bucket"})
    clock = ClockSpec(start_epoch=START, scale=60.0, wall_epoch=time.time())
    with serving(fleet, clock, tmp_path, {"acme": ["key-0"]}) as ready:
        url = ready["carriers"]["acme"]["base_url"]
        assert ready["carriers"]["acme"]["admin_url"] == f"{url}/__admin/"
        with httpx.Client(base_url=url, timeout=10) as client:
            yield client, tmp_path


def statuses(client: httpx.Client, count: int) -> list[int]:
    return [client.get(f"/v1/trackings/{NUMBER}", headers=KEY).status_code for _ in range(count)]


def test_counters_reset_and_clock(acme: tuple[httpx.Client, Path]) -> None:
    client, _ = acme
    assert client.get("/__admin/health").json() == {"ok": True, "carrier": "acme"}
    assert statuses(client, 3) == [200, 200, 429]
    counters = client.get("/__admin/counters").json()
    assert (counters["requests"], counters["ok"], counters["throttled"]) == (3, 2, 1)
    assert counters["carrier"] == "acme" and counters["dropped"] == 0

    reset = client.post("/__admin/reset")
    assert reset.status_code == 200 and reset.json()["ok"] is True
    assert client.get("/__admin/counters").json()["requests"] == 0
    assert statuses(client, 1) == [200]  # the quota starts over

    before = time.time()
    clock = client.get("/__admin/clock").json()
    assert set(clock) == {"t", "epoch", "scale", "start_epoch"}
    assert clock["scale"] == 60.0 and clock["start_epoch"] == START
    assert clock["epoch"] == pytest.approx(START + clock["t"], abs=0.01)
    assert 0 < clock["t"] < (before - time.time() + 60) * 60 + 60 * 60  # within the last minute


def test_admin_methods_and_unknown_routes(acme: tuple[httpx.Client, Path]) -> None:
    client, _ = acme
    wrong = client.get("/__admin/reset")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert client.delete("/__admin/behaviours").status_code == 405
    missing = client.get("/__admin/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    # the carrier's own routes also answer under its name, as on a shared port
    assert client.get("/__admin/carriers/acme/health").json()["carrier"] == "acme"
    assert client.get("/__admin/carriers/other/health").status_code == 404


def test_put_behaviours_replaces_them_live(acme: tuple[httpx.Client, Path]) -> None:
    client, _ = acme
    got = client.get("/__admin/behaviours").json()
    assert got == [{"type": "quota", "limit": 2, "per": 3600.0, "window": "bucket"}]
    new = [{"type": "quota", "limit": 1, "per": "1h", "window": "bucket"}]
    put = client.put("/__admin/behaviours", json=new)
    assert put.status_code == 200 and put.json()[0]["limit"] == 1
    assert statuses(client, 2) == [200, 429]
    assert client.put("/__admin/behaviours", json=[]).json() == []
    assert statuses(client, 3) == [200, 200, 200]
    added = client.post("/__admin/behaviours", json={"type": "fault", "kind": "5xx"})
    assert added.status_code == 200 and [b["type"] for b in added.json()] == ["fault"]
    assert statuses(client, 1) == [503]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([{"type": "quota", "limit": 0, "per": "1s"}], "behaviours[0].limit: "),
        (
            [{"type": "latency"}, {"type": "quota", "limt": 5, "per": "1s"}],
            "behaviours[1].limt: unknown field; did you mean 'limit'?",
        ),
        ([{"type": "teleport"}], "behaviours[0]: "),
        ([{"type": "quota", "limit": 5, "per": "fast"}], "behaviours[0].per: "),
        ({"not": "a list"}, "behaviours: "),
    ],
)
def test_put_behaviours_rejects_bad_specs_in_one_line(
    acme: tuple[httpx.Client, Path], body: Any, expected: str
) -> None:
    client, _ = acme
    response = client.put("/__admin/behaviours", json=body)
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("behaviour") and expected in message and "\n" not in message
    # nothing changed
    assert client.get("/__admin/behaviours").json()[0]["limit"] == 2


def test_bad_admin_bodies_are_400(acme: tuple[httpx.Client, Path]) -> None:
    client, _ = acme
    raw = client.put("/__admin/behaviours", content=b"[{", headers={"content-type": "text/plain"})
    assert raw.status_code == 400 and "not valid JSON" in raw.json()["error"]["message"]
    one = client.post("/__admin/behaviours", json={"type": "block", "violations": 1, "within": 1})
    assert one.status_code == 400 and one.json()["error"]["message"].startswith("behaviour")


def test_journal_export_is_jsonl_since_a_time_and_not_journaled(
    acme: tuple[httpx.Client, Path],
) -> None:
    client, journal_dir = acme
    statuses(client, 3)
    time.sleep(0.05)
    statuses(client, 1)
    exported = client.get("/__admin/journal")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [x["status"] for x in lines] == [200, 200, 429, 429]  # no admin request among them
    since = client.get("/__admin/journal", params={"since": lines[3]["t"]}).text.splitlines()
    assert [json.loads(x)["t"] for x in since] == [lines[3]["t"]]
    assert client.get("/__admin/journal", params={"since": "soon"}).status_code == 400
    # the export flushed the file too
    on_disk = (journal_dir / "carrier-acme.jsonl").read_text().splitlines()
    assert len(on_disk) == 4


def test_admin_refuses_remote_clients_unless_allowed(tmp_path: Path) -> None:
    fleet = fleet_of()
    clock = ManualClock(start_epoch=START)

    async def health(remote_admin: bool) -> tuple[int, int]:
        journal = Journal("acme", tmp_path / "acme.jsonl")
        app = create_carrier_app(fleet.carriers[0], fleet, clock, [], journal, remote_admin)
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            admin = await client.get("/__admin/health")
            carrier = await client.get(f"/v1/trackings/{NUMBER}", headers=KEY)
            return admin.status_code, carrier.status_code

    assert asyncio.run(health(False)) == (403, 200)
    assert asyncio.run(health(True)) == (200, 200)


def test_openapi_document_describes_every_admin_route(acme: tuple[httpx.Client, Path]) -> None:
    client, _ = acme
    doc = client.get("/__admin/openapi.json").json()
    assert doc == json.loads(json.dumps(openapi_document()))
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    for sub, methods in {
        "health": {"get"},
        "counters": {"get"},
        "reset": {"post"},
        "behaviours": {"get", "put", "post"},
        "journal": {"get"},
        "clock": {"get"},
        "openapi.json": {"get"},
    }.items():
        assert methods <= set(paths[f"/__admin/{sub}"])
        assert methods <= set(paths[f"/__admin/carriers/{{carrier}}/{sub}"])
    schemas = doc["components"]["schemas"]
    tags = set(schemas["BehaviourSpec"]["discriminator"]["mapping"])
    assert {"latency", "quota", "block", "fault", "concurrency"} <= tags
    assert "limit" in schemas["QuotaSpec"]["properties"]
    put = paths["/__admin/behaviours"]["put"]["requestBody"]["content"]["application/json"]
    assert put["schema"]["items"] == {"$ref": "#/components/schemas/BehaviourSpec"}

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    found = set(refs(doc))
    assert found and all(r.removeprefix("#/components/schemas/") in schemas for r in found)
