"""The virtual-time Shopify replay against the Shopify-shaped sandbox store itself
(:mod:`mocks.shopify`): orders created, fulfilled with tracking and read back through Admin
GraphQL under the store's own per-token cost bucket, in store time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from mocks.shopify.build import ShopifyCredentials, build_shopify
from mocks.store.config import StoreConfig
from mocks.store.db import StoreDB
from mocks.virtual import loop as virtual_loop
from mocks.virtual.shopify_replay import ShopifyScheduleReplay
from mocks.virtual.transport import InProcess
from peakbench.adapters.shopify_pacer import ShopifySettings
from peakbench.measure.shopify_figures import shopify_summary
from peakbench.plan.clock import LoopClock
from peakbench.plan.schedule import Item
from peakbench.run.progress import count_kinds

HOST = "store.peakbench.test"


def _schedule(orders: int, gap: float) -> list[Item]:
    items = []
    for ref in range(1, orders + 1):
        items.append(Item(ref * gap, "order", ref))
        items.append(Item(ref * gap + 5, "ship", ref, "ups", f"1ZPB{ref:010d}"))
        items.append(Item(ref * gap + 60, "view", ref, "ups", f"1ZPB{ref:010d}"))
    return sorted(items)


def _run(root: Path, items: list[Item], settings: ShopifySettings) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        clock = LoopClock(1_795_755_600.0, asyncio.get_running_loop())
        config = StoreConfig.from_json({"platform": "shopify", "carriers": {}})
        creds = ShopifyCredentials.derive("ck_test", "cs_test")
        transport = InProcess({})
        client = httpx.AsyncClient(transport=transport, trust_env=False)
        db = StoreDB(root / "store.sqlite")
        sandbox = build_shopify(
            config, db, clock, creds, client, store_url=f"http://{HOST}", lifespan=False
        )
        transport.add(HOST, sandbox.store_app)
        replay = ShopifyScheduleReplay(
            clock, sandbox.store_app, creds.access_token, settings,
            root / "journals" / "replay.jsonl", root / "progress.json",
            count_kinds(i.kind for i in items), segment_bytes=1 << 30,
        )  # fmt: skip
        try:
            await replay.run(items, lambda t: None)
        finally:
            replay.close()
            await client.aclose()
            db.close()
        return {"orders": db.conn is not None}

    return virtual_loop.run(main())


def test_replay_drives_the_shopify_sandbox_store(tmp_path: Path) -> None:
    (tmp_path / "shopify-replay.json").write_text(json.dumps({"orders": "create"}))
    # 40 orders 2 s apart: 10-point mutations and reads faster than the harness token's
    # standard-plan bucket restores (50 points/s is plenty; the point is every call answers)
    items = _schedule(40, 2.0)
    _run(tmp_path, items, ShopifySettings())
    lines = [json.loads(x) for x in (tmp_path / "journals/replay.jsonl").read_text().splitlines()]
    assert len(lines) == len(items)
    failed = [x for x in lines if not x["ok"]]
    assert not failed, failed[:3]
    views = [x for x in lines if x["kind"] == "view"]
    assert all(x["shown"] == 0 for x in views)  # no carriers behind the app: nothing to show
    summary = shopify_summary(tmp_path)
    assert summary is not None
    assert summary["orders"]["created"] == 40
    by_op = summary["graphql"]["by_operation"]
    assert by_op["orderCreate"]["calls"] >= 40 and by_op["fulfillmentCreate"]["calls"] >= 40
    assert summary["graphql"]["lowest_available"] is not None  # the store reported its bucket


def test_a_burst_beyond_the_bucket_waits_instead_of_being_throttled(tmp_path: Path) -> None:
    (tmp_path / "shopify-replay.json").write_text(json.dumps({"orders": "create"}))
    # 150 orderCreates in 1.5 s: 1,500 points against the store's 1,000-point bucket
    items = _schedule(150, 0.01)
    _run(tmp_path, items, ShopifySettings(bucket_size=1000.0, restore_rate=50.0))
    lines = [json.loads(x) for x in (tmp_path / "journals/replay.jsonl").read_text().splitlines()]
    assert all(x["ok"] for x in lines)
    summary = shopify_summary(tmp_path)
    assert summary is not None
    calls = summary["graphql"]
    assert calls["throttled"] == 0  # the pacer kept under the cost limit
    assert calls["waited_s"] >= 5.0  # the burst outran the bucket: its calls waited
