"""The Shopify sandbox end to end in virtual time: a fleet carrier, the Shopify store, the
tracking app, one in-process transport. Both limits show in the store's change log: a carrier
quota stops events arriving; a small plan bucket spaces the app's write-backs."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from mocks.app import create_carrier_app
from mocks.journal import Journal
from mocks.push.wiring import PushWiring
from mocks.shopify.build import ShopifyCredentials, ShopifySandbox, build_shopify
from mocks.store.config import CarrierEndpoint, StoreConfig
from mocks.store.db import StoreDB
from mocks.virtual.loop import run as run_virtual
from mocks.virtual.transport import InProcess, url
from mocks.virtual.world import WorldSpec, run_world
from peakbench.adapters import shopify as sa
from peakbench.config.fleet import FleetSpec
from peakbench.measure.segments import DEFAULT_SEGMENT_BYTES
from peakbench.plan.clock import ClockSpec, LoopClock, next_utc_midnight
from peakbench.plan.schedule import write_schedule
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0
DAY = 86400.0
KEY = "carrier-key-1"


Send = Callable[[sa.Operation], Awaitable[sa.Result]]


async def _start_shopify(
    transport: InProcess, config: StoreConfig, db: StoreDB, clock: LoopClock, key: str
) -> tuple[ShopifySandbox, httpx.AsyncClient, Send]:
    """The Shopify store and its app on ``transport`` (``store.test``, ``app.test``), started;
    with the client they share and a sender of Admin GraphQL operations to the store."""
    creds = ShopifyCredentials.derive(key, "cs_" + key.removeprefix("ck_"))
    client = httpx.AsyncClient(transport=transport, trust_env=False)
    world = build_shopify(
        config, db, clock, creds, client, store_url=url("store.test"), app_url=url("app.test")
    )
    transport.add("store.test", world.store_app)
    transport.add("app.test", world.app.asgi)
    await world.start()

    async def send(op: sa.Operation) -> sa.Result:
        req = sa.request(op, creds.access_token)
        resp = await client.post(
            url("store.test") + req.path, json=dict(req.json or {}), headers=dict(req.headers)
        )
        return sa.parse_response(resp.json())

    return world, client, send


def _world(
    tmp: Path,
    behaviours: list[dict[str, Any]],
    plugin: dict[str, Any],
    parcels: int,
    age: float,
    span: float = 2 * DAY,
) -> tuple[list[tuple[str, float, int]], dict[str, Any], list[tuple[float, str]]]:
    """Ship ``parcels`` parcels (labels ``age`` seconds before the start) through GraphQL at
    t=0, run ``span`` store seconds; returns the change log (number, t, shown), the app's stats and
    the app's carrier calls (t, outcome)."""

    async def main() -> tuple[list[tuple[str, float, int]], dict[str, Any], list[Any]]:
        clock = LoopClock(START, asyncio.get_running_loop())
        fleet = FleetSpec.model_validate(
            {"seed": 5, "carriers": [{"name": "acme", "behaviours": behaviours}]}
        )
        journal = Journal("acme", tmp / "carrier-acme.jsonl")
        transport = InProcess({})
        transport.add(
            "acme.test", create_carrier_app(fleet.carriers[0], fleet, clock, [KEY], journal)
        )
        config = StoreConfig(
            plugin=StoreConfig.from_json({"platform": "shopify", "plugin": plugin}).plugin,
            carriers={"acme": CarrierEndpoint("acme", url("acme.test"), "generic", KEY)},
            platform="shopify",
        )
        db = StoreDB(tmp / "store.sqlite")
        world, client, send = await _start_shopify(transport, config, db, clock, "ck_test")

        for seq in range(parcels):
            order = sa.parse_created_order((await send(sa.create_order(seq))).data)
            number = make_tracking_number(START - age, "domestic", seq)
            sa.parse_fulfillment(
                (await send(sa.fulfil(order.fulfillment_order_ids, number, "ACME"))).data
            )
        await clock.sleep(span)
        stats = world.app.stats()
        await world.stop()
        await client.aclose()
        changes = db.conn.execute(
            "SELECT tracking_number, t, shown_count FROM tracking_changes ORDER BY t, id"
        ).fetchall()
        calls = db.conn.execute("SELECT t, outcome FROM plugin_requests ORDER BY t").fetchall()
        db.close()
        journal.close()
        return [tuple(c) for c in changes], stats, [tuple(c) for c in calls]

    return run_virtual(main())


def test_fulfilments_reach_the_app_and_its_write_backs_are_the_store_change_log(
    tmp_path: Path,
) -> None:
    changes, stats, calls = _world(tmp_path, [], {"interval": "1h"}, parcels=3, age=0.0)
    assert stats["webhooks"] >= 3 and stats["parcels"] == 3 and stats["rejected_webhooks"] == 0
    assert calls and all(outcome == "ok" for _, outcome in calls)
    assert len(changes) == stats["events_written"] > 3
    for number in {n for n, _, _ in changes}:  # shown counts climb one write at a time
        shown = [s for n, _, s in changes if n == number]
        assert shown == list(range(1, len(shown) + 1))


def test_a_carrier_quota_makes_the_events_stop(tmp_path: Path) -> None:
    """Two calls a day: the app's first two hourly polls pass, the rest of the day is refused
    and nothing new reaches the store until the quota's window rolls over."""
    free, _, _ = _world(tmp_path / "free", [], {"interval": "1h"}, parcels=3, age=0.0)
    quota = [{"type": "quota", "limit": 2, "per": "1d"}]
    plugin = {"interval": "1h", "on_throttle": "ignore"}
    limited, stats, calls = _world(tmp_path / "quota", quota, plugin, parcels=3, age=0.0)
    refused = [t for t, outcome in calls if outcome == "throttled"]
    assert stats["carrier_refused"] == len(refused) > 10
    first_refusal = refused[0]
    assert first_refusal < 3 * 3600 + 1
    rollover = next_utc_midnight(START) - START  # the quota's day is a UTC day
    assert [t for _, t, _ in limited if first_refusal <= t < rollover] == []  # events stopped
    assert [t for _, t, _ in limited if t >= rollover]  # and resume with the new day
    assert [t for _, t, _ in free if first_refusal <= t < rollover]  # without it they flowed
    assert len(limited) < len(free)


def test_a_small_plan_bucket_spaces_the_write_backs(tmp_path: Path) -> None:
    """A 10-point bucket restoring 1 point/s holds one fulfillmentEventCreate (10 points):
    the app waits 10 s between writes, where the standard plan writes them all at once."""
    age = 3 * DAY  # every parcel has several scans visible at the first poll
    wide, _, _ = _world(tmp_path / "wide", [], {"interval": "1h"}, parcels=4, age=age)
    small = {"interval": "1h", "shopify_restore_rate": 1, "shopify_bucket": 10}
    narrow, stats, _ = _world(tmp_path / "narrow", [], small, parcels=4, age=age)
    first_wide = [t for _, t, _ in wide if t < 2 * 3600]
    first_narrow = [t for _, t, _ in narrow if t < 2 * 3600]
    assert len(first_wide) >= 8 and len(set(first_wide)) == 1  # one instant
    gaps = [b - a for a, b in itertools.pairwise(first_narrow)]
    assert gaps and min(gaps) >= 10.0 - 0.01
    assert stats["graphql_waited_s"] >= 10.0 * (len(first_narrow) - 1) - 0.1
    assert max(first_narrow) - min(first_narrow) >= 10.0 * (len(first_narrow) - 1) - 0.1


def test_aggregator_mode_registers_each_number_and_writes_back_what_is_pushed(
    tmp_path: Path,
) -> None:
    async def main() -> tuple[list[Any], list[Any], dict[str, Any], int]:
        clock = LoopClock(START, asyncio.get_running_loop())
        fleet = FleetSpec.model_validate(
            {"seed": 5, "carriers": [{"name": "ts", "personality": "trackship"}]}
        )
        journal = Journal("ts", tmp_path / "carrier-ts.jsonl")
        transport = InProcess({})
        transport.add(
            "ts.test", create_carrier_app(fleet.carriers[0], fleet, clock, [KEY], journal)
        )
        config = StoreConfig(
            plugin=StoreConfig.from_json(
                {"platform": "shopify", "plugin": {"app_mode": "aggregator"}}
            ).plugin,
            carriers={"ts": CarrierEndpoint("ts", url("ts.test"), "trackship", KEY)},
            platform="shopify",
        )
        db = StoreDB(tmp_path / "store.sqlite")
        world, client, send = await _start_shopify(transport, config, db, clock, "ck_agg")

        order = sa.parse_created_order((await send(sa.create_order(1))).data)
        number = make_tracking_number(START, "domestic", 1)
        await send(sa.fulfil(order.fulfillment_order_ids, number, "UPS"))
        await clock.sleep(60)
        push = {
            "tracking_number": number,
            "tracking_event_status": "in_transit",
            "events": [
                {"status": "in_transit", "datetime": "2026-11-27 07:00:00", "message": "Picked up"},
                {"status": "in_transit", "datetime": "2026-11-27 09:00:00", "message": "Departed"},
            ],
        }
        answer = await client.post(url("app.test") + "/aggregator", json=push)
        await clock.sleep(60)
        stats = world.app.stats()
        await world.stop()
        await client.aclose()
        calls = db.conn.execute("SELECT carrier, outcome, status FROM plugin_requests").fetchall()
        changes = db.conn.execute("SELECT shown_count FROM tracking_changes ORDER BY t").fetchall()
        db.close()
        journal.close()
        return [tuple(c) for c in calls], [c[0] for c in changes], stats, answer.status_code

    calls, changes, stats, status = run_virtual(main())
    assert calls == [("ts", "ok", 200)]  # one register call to the aggregator, accepted
    assert status == 200 and stats["pushes"] == 1 and stats["carrier_calls"] == 1
    assert changes == [1, 2] and stats["events_written"] == 2


def test_the_app_stops_even_when_stopped_at_a_poll_instant(tmp_path: Path) -> None:
    """Stop lands as the 2 h poll's carrier call completes (Python 3.11's wait_for may swallow
    that cancellation): the app still ends, and the run returns."""
    _, stats, calls = _world(tmp_path, [], {"interval": "1h"}, parcels=3, age=0.0, span=7200)
    assert stats["passes"] == 2 and len(calls) >= 1


def test_the_virtual_world_builds_the_shopify_store_when_the_config_says_so(
    tmp_path: Path,
) -> None:
    """``run_world`` with ``platform: shopify``: the Shopify store and app start, run an hour
    of store time and stop; the store file is the one the analysis reads."""

    fleet = FleetSpec.model_validate({"seed": 5, "carriers": [{"name": "acme"}]})
    store = StoreConfig.from_json(
        {"platform": "shopify", "carriers": {"acme": {"base_url": "http://unused"}}}
    )
    write_schedule(tmp_path / "schedule.csv", [])
    (tmp_path / "shopify-replay.json").write_text('{"orders": "create"}')
    clock = ClockSpec(start_epoch=START, scale=1.0, wall_epoch=0.0)
    creds = ShopifyCredentials.from_json({"consumer_key": "ck_w", "consumer_secret": "cs_w"})

    async def main() -> tuple[float, bool]:
        return await run_world(
            tmp_path, fleet, store, clock, WorldSpec(3600.0, 1), creds,
            {"acme": [KEY]}, PushWiring(), DEFAULT_SEGMENT_BYTES,
        )  # fmt: skip

    end, finished = run_virtual(main())
    assert finished and end == 3600.0
    assert (tmp_path / "journals/replay.jsonl").exists()

    con = sqlite3.connect(tmp_path / "store.sqlite")
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    con.close()
    assert "orders_key" in indexes  # the Shopify store's own index: it, not WooCommerce's, ran
