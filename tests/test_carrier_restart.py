"""Registrations survive a mock restart: the start sequence the fleet server runs (``resume``),
on real files, re-feeds the registration log; ``--fresh`` starts without them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from mocks.app import CarrierApp, create_carrier_app
from mocks.journal import Journal
from mocks.recovery import resume
from mocks.registrations import registrations_path
from peakbench.config.fleet import CarrierSpec, FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0
KEY_A, KEY_B = "store-key-a", "store-key-b"
FLEET = FleetSpec.model_validate(
    {"seed": 3, "carriers": [{"name": "ts", "personality": "trackship"}]}
)
NUMBERS = [make_tracking_number(START - 2 * 86400 + i, "domestic", i) for i in range(3)]


def start(journals: Path, fresh: bool = False) -> tuple[CarrierApp, str]:
    clock = ManualClock(60.0, START)

    def build(carrier: CarrierSpec, journal: Journal) -> CarrierApp:
        return create_carrier_app(carrier, FLEET, clock, [KEY_A, KEY_B], journal)

    keys = {"ts": [KEY_A, KEY_B]}
    apps, recoveries, _ = resume(journals, FLEET, clock, keys, build, fresh=fresh)
    return apps[0], recoveries[0].line()


def post(app: CarrierApp, path: str, doc: dict[str, object], key: str | None = None) -> int:
    async def main() -> int:
        transport = httpx.ASGITransport(app=app)
        headers = {"trackship-api-key": key} if key else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            reply = await client.post(path, content=json.dumps(doc), headers=headers)
            return reply.status_code

    return asyncio.run(main())


def register(app: CarrierApp, number: str, order_id: int, key: str) -> int:
    doc = {
        "order_id": order_id,
        "tracking_number": number,
        "tracking_provider": "usps",
        "destination_country": "US",
        "user_key": key,
    }
    return post(app, "/v1/shipment/create/ts4wc", doc)


def test_trackship_registrations_survive_a_restart_per_account(tmp_path: Path) -> None:
    app, first = start(tmp_path)
    assert "registration" not in first
    for i, number in enumerate(NUMBERS):
        assert register(app, number, 100 + i, KEY_A) == 200
    assert register(app, NUMBERS[0], 900, KEY_B) == 200
    delete = {"order_id": 101, "tracking_number": NUMBERS[1], "tracking_provider": "usps"}
    assert post(app, "/v1/shipment/delete", delete, KEY_A) == 200
    body_before = app.personality.push_body(NUMBERS[2], START)  # type: ignore[attr-defined]
    app.journal.close()
    log = registrations_path(tmp_path, "ts").read_text()
    assert KEY_A not in log and KEY_B not in log  # accounts are hashes, never the keys

    app, again = start(tmp_path)
    assert "3 registration(s) recovered" in again  # A's two left, and B's one
    personality = app.personality
    assert list(personality.registered()) == [NUMBERS[0], NUMBERS[2]]  # type: ignore[attr-defined]
    assert personality.push_body(NUMBERS[2], START) == body_before  # type: ignore[attr-defined]
    assert json.loads(body_before or b"{}")["order_id"] == 102  # the order fields came back
    # still per account: B's delete leaves A's registration
    gone = {"order_id": 900, "tracking_number": NUMBERS[0], "tracking_provider": "usps"}
    assert post(app, "/v1/shipment/delete", gone, KEY_B) == 200
    assert list(personality.registered()) == [NUMBERS[0], NUMBERS[2]]  # type: ignore[attr-defined]
    app.journal.close()
    lines = registrations_path(tmp_path, "ts").read_text().splitlines()
    assert len(lines) == 4  # compacted to the three at start, then B's drop

    app, fresh = start(tmp_path, fresh=True)
    assert list(app.personality.registered()) == []  # type: ignore[attr-defined]
    assert "registration" not in fresh
    app.journal.close()
