"""The TrackShip-style inbound webhook: validation (carriers.md §5), queueing, applying.

Bodies come from the ``trackship`` aggregator mock's own :func:`push_document`, so the store
and the mock agree on the wire format by construction, not by copy.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks.carriers.trackship import push_document
from mocks.store.app import create_store_app
from mocks.store.config import CarrierEndpoint, Credentials
from mocks.store.db import StoreDB
from mocks.store.plugin import Plugin
from peakbench.config.store import PluginSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import TimelineModel, journey, make_tracking_number, visible_count

CREDS = Credentials("ck_hook", "cs_hook")
BASIC = {"Authorization": "Basic " + base64.b64encode(b"ck_hook:cs_hook").decode()}
HOOK = "/wp-json/wc/v1/tracking-webhook"
MODEL = TimelineModel(seed=3)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(t=0.0)


@pytest.fixture
def db(tmp_path: Path) -> StoreDB:
    return StoreDB(tmp_path / "store.sqlite")


@pytest.fixture
async def plugin(db: StoreDB, clock: ManualClock) -> AsyncIterator[Plugin]:
    carriers = {"acme": CarrierEndpoint("acme", "http://127.0.0.1:9", api_key="k")}
    p = Plugin(PluginSpec(), carriers, db, clock)
    yield p
    await p.stop()


@pytest.fixture
async def client(
    db: StoreDB, plugin: Plugin, clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_store_app(db, plugin, clock, CREDS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c


async def _shipped(
    client: httpx.AsyncClient, clock: ManualClock, ref: int
) -> tuple[dict[str, Any], str]:
    order = (
        await client.post("/wp-json/wc/v3/orders", json={"set_paid": True}, headers=BASIC)
    ).json()
    number = make_tracking_number(
        clock.spec.start_epoch, "cross-border" if ref % 2 else "domestic", ref
    )
    resp = await client.post(
        f"/wp-json/wc-shipment-tracking/v3/orders/{order['id']}/shipment-trackings",
        headers=BASIC,
        json={"tracking_provider": "acme", "tracking_number": number},
    )
    assert resp.status_code == 201
    return order, number


def _push(order_id: int, number: str, upto: int) -> dict[str, Any]:
    """TrackShip's body when it knows the first ``upto`` scans of the parcel."""
    events = journey(MODEL, number)
    return push_document(number, order_id, "", events, events[:upto], events[upto - 1].visible_at)


@pytest.mark.anyio
async def test_push_is_queued_then_applied_like_a_poll(
    client: httpx.AsyncClient, db: StoreDB, plugin: Plugin, clock: ManualClock
) -> None:
    order, number = await _shipped(client, clock, 1)  # cross-border: destination_events used
    body = _push(order["id"], number, 5)
    assert body["destination_events"] is not None
    shown = len(body["events"]) + len(body["destination_events"])
    resp = await client.post(HOOK, json=body, headers=BASIC)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "success"
    assert db.counts()["changes"] == 0  # enqueued, not applied in the request
    assert plugin.queue.counts()["pending"] >= 1

    clock.advance(60)
    await plugin.queue.run_once()
    changes = db.conn.execute(
        "SELECT tracking_number, t, shown_count FROM tracking_changes"
    ).fetchall()
    assert [tuple(c) for c in changes] == [(number, 60.0, shown)]
    page = (
        await client.get(f"/order-tracking/{order['id']}", params={"key": order["order_key"]})
    ).text
    assert len(re.findall(r'<li class="tracking-event"', page)) == shown

    late = _push(order["id"], number, 3)  # an older state arriving late changes nothing
    assert (await client.post(HOOK, json=late, headers=BASIC)).status_code == 200
    await plugin.queue.run_once()
    shipment = db.shipment(number)
    assert shipment is not None and shipment.shown_count == shown
    assert db.counts()["changes"] == 1


@pytest.mark.anyio
async def test_every_queued_push_drains_through_the_shared_queue(
    client: httpx.AsyncClient, db: StoreDB, plugin: Plugin, clock: ManualClock
) -> None:
    parcels = [await _shipped(client, clock, ref) for ref in range(2, 32, 2)]
    for order, number in parcels:
        events = journey(MODEL, number)
        upto = max(1, visible_count(events, events[-1].visible_at) - 1)
        assert (
            await client.post(HOOK, json=_push(order["id"], number, upto), headers=BASIC)
        ).status_code == 200
    assert plugin.queue.counts()["pending"] >= len(parcels)
    for _ in range(5):
        clock.advance(60)
        await plugin.queue.run_once()
    assert db.counts()["changes"] == len(parcels)
    assert plugin.stats()["webhooks"] == len(parcels)


@pytest.mark.anyio
async def test_bad_pushes_are_refused_and_never_crash(
    client: httpx.AsyncClient, db: StoreDB, plugin: Plugin, clock: ManualClock
) -> None:
    order, number = await _shipped(client, clock, 4)
    good = _push(order["id"], number, 2)
    bad: list[tuple[dict[str, Any], int, str]] = [
        ({**good, "events": "not a list"}, 400, "rest_invalid_param"),
        ({**good, "events": {"0": good["events"][0]}}, 400, "rest_invalid_param"),
        ({**good, "events": [1, 2]}, 400, "rest_invalid_param"),
        (
            {**good, "events": [{"message": "x", "datetime": "yesterday"}]},
            400,
            "rest_invalid_param",
        ),
        ({**good, "destination_events": "none"}, 400, "rest_invalid_param"),
        ({**good, "tracking_event_status": "teleported"}, 400, "rest_invalid_param"),
        ({**good, "updated_at": "2026-11-27T10:00:00Z"}, 400, "rest_invalid_param"),
        ({**good, "order_id": "abc"}, 400, "rest_invalid_param"),
        ({k: v for k, v in good.items() if k != "events"}, 400, "rest_missing_callback_param"),
        (
            {k: v for k, v in good.items() if k != "tracking_number"},
            400,
            "rest_missing_callback_param",
        ),
        (
            {**good, "tracking_number": "PB-NOT-OURS"},
            404,
            "woocommerce_rest_shipment_tracking_invalid_number",
        ),
        ({**good, "order_id": order["id"] + 999}, 404, "woocommerce_rest_shop_order_invalid_id"),
    ]
    for body, status, code in bad:
        resp = await client.post(HOOK, json=body, headers=BASIC)
        assert (resp.status_code, resp.json()["code"]) == (status, code), body
    # WordPress reads a JSON body only with a JSON content type: the fields are missing
    as_text = await client.post(
        HOOK, content=json.dumps(good), headers={**BASIC, "content-type": "text/plain"}
    )
    assert (as_text.status_code, as_text.json()["code"]) == (400, "rest_missing_callback_param")
    broken = await client.post(
        HOOK, content=b"{", headers={**BASIC, "content-type": "application/json"}
    )
    assert (broken.status_code, broken.json()["code"]) == (400, "rest_invalid_json")
    anonymous = await client.post(HOOK, json=good)
    assert anonymous.status_code == 401
    assert plugin.queue.counts()["pending"] == 0  # no refused push was enqueued
    assert (await client.post(HOOK, json=good, headers=BASIC)).status_code == 200
    assert plugin.queue.counts()["pending"] == 1
