"""The Shopify replay: its pacer (cost bucket, create rate, THROTTLED), the run's refusals and
pre-creation lead, and the virtual-time replay against a Shopify-shaped GraphQL store.

The store here stands in for Shopify (an external service): a small ASGI app with Shopify's
leaky bucket (``extensions.cost``, ``THROTTLED``) on the world's clock, answering the adapter's
documents with the documented response shapes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from mocks.virtual import loop as virtual_loop
from mocks.virtual.shopify_replay import ShopifyScheduleReplay, world_lead
from peakbench.adapters import shopify as sh
from peakbench.adapters.shopify_pacer import Pacer, ShopifySettings, precreate_lead
from peakbench.measure.shopify_figures import shopify_lines, shopify_summary
from peakbench.plan.clock import ClockSpec
from peakbench.plan.schedule import Item
from peakbench.run.progress import count_kinds
from peakbench.run.shopify_run import peak_per_minute

TOKEN = "shpat_test_token"


def _cost(requested: float, available: float, size: float, rate: float) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested,
            "throttleStatus": {
                "maximumAvailable": size,
                "currentlyAvailable": available,
                "restoreRate": rate,
            },
        }
    }


# -- the pacer -------------------------------------------------------------------------------


def test_create_rate_spaces_order_creations_and_not_other_calls() -> None:
    pacer = Pacer(1000.0, 50.0, 5.0, now=0.0)
    create = sh.create_order(1)
    slots = [pacer.reserve(create, 0.0) for _ in range(4)]
    assert slots == [0.0, 12.0, 24.0, 36.0]
    assert pacer.reserve(sh.read_order("gid://shopify/Order/1"), 0.0) == 0.0


def test_bucket_holds_calls_back_and_throttled_means_retry_after_the_restore() -> None:
    pacer = Pacer(30.0, 10.0, None, now=0.0)
    op = sh.create_order(1)
    assert [pacer.reserve(op, 0.0) for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]
    body = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": _cost(10.0, 4.0, 30.0, 10.0),
    }
    verdict = pacer.judge(op, 200, body, 0.5)
    assert verdict.throttled and verdict.retry_after == pytest.approx(0.6)
    assert verdict.result is None and verdict.error is None
    ok = {"data": {"orderCreate": {"order": None}}, "extensions": _cost(10.0, 20.0, 30.0, 10.0)}
    done = pacer.judge(op, 200, ok, 1.0)
    assert done.result is not None and not done.throttled
    assert pacer.judge(op, 401, {"errors": "[API] Invalid API key"}, 1.0).error == (
        "HTTP 401: [API] Invalid API key"
    )
    assert pacer.judge(op, 429, None, 1.0).retry_after == 1.0


def test_peak_per_minute_and_precreate_lead() -> None:
    assert peak_per_minute([0, 10, 59.9, 60, 61, 200]) == 4
    assert peak_per_minute([]) == 0
    # 100 orders, one every 12 s at 5/min, × margin 1.25, + 10 s
    assert precreate_lead(100, 5.0, 50.0, 1.25) == 1510.0
    assert precreate_lead(0, 5.0, 50.0, 1.25) == 0.0
    settings = ShopifySettings(orders="create", create_per_minute=5.0)
    assert world_lead(settings, 100) == 0.0


# -- the virtual-time replay against a Shopify-shaped store ----------------------------------


class GraphQLStore:
    """Orders, fulfilments and events, behind a leaky bucket on the world's clock."""

    def __init__(self, now: Any, size: float = 40.0, rate: float = 10.0) -> None:
        self.now, self.size, self.rate = now, size, rate
        self.available, self.at = size, now()
        self.orders: dict[str, dict[str, Any]] = {}
        self.throttled = 0
        self.created_at: list[float] = []

    def _take(self, cost: float) -> float | None:
        t = self.now()
        self.available = min(self.size, self.available + (t - self.at) * self.rate)
        self.at = t
        if self.available < cost:
            return None
        self.available -= cost
        return self.available

    def answer(self, token: str, doc: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if token != TOKEN:
            return 401, {"errors": "[API] Invalid API key or access token"}
        query, variables = doc["query"], doc["variables"]
        cost = 5.0 if query.startswith("query") else 10.0
        left = self._take(cost)
        if left is None:
            self.throttled += 1
            return 200, {
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": _cost(cost, self.available, self.size, self.rate),
            }
        ext = _cost(cost, left, self.size, self.rate)
        if "orderCreate" in query:
            n = len(self.orders) + 1
            oid = f"gid://shopify/Order/{n}"
            self.orders[oid] = {"fo": f"gid://shopify/FulfillmentOrder/{n}", "f": None}
            self.created_at.append(self.now())
            nodes = [{"id": self.orders[oid]["fo"], "status": "OPEN"}]
            order = {"id": oid, "name": f"#{1000 + n}", "fulfillmentOrders": {"nodes": nodes}}
            return 200, {
                "data": {"orderCreate": {"order": order, "userErrors": []}},
                "extensions": ext,
            }
        if "fulfillmentCreate" in query:
            fo = variables["fulfillment"]["lineItemsByFulfillmentOrder"][0]["fulfillmentOrderId"]
            oid = next(o for o, row in self.orders.items() if row["fo"] == fo)
            number = variables["fulfillment"]["trackingInfo"]["number"]
            self.orders[oid]["f"] = number
            f = {"id": f"gid://shopify/Fulfillment/{oid[-1]}", "status": "SUCCESS"}
            return 200, {
                "data": {"fulfillmentCreate": {"fulfillment": f, "userErrors": []}},
                "extensions": ext,
            }
        row = self.orders.get(variables["id"])
        fulfillments = []
        if row and row["f"]:
            event = {"status": "IN_TRANSIT", "happenedAt": "2026-11-27T10:00:00Z"}
            fulfillments = [{
                "id": "gid://shopify/Fulfillment/1", "displayStatus": "IN_TRANSIT",
                "deliveredAt": None, "trackingInfo": [{"number": row["f"], "company": "ups"}],
                "events": {"nodes": [event]},
            }]  # fmt: skip
        order = {"id": variables["id"], "name": "#1", "fulfillments": fulfillments}
        return 200, {"data": {"order": order}, "extensions": ext}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        token = headers.get(b"x-shopify-access-token", b"").decode()
        status, answer = self.answer(token, json.loads(body))
        content = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": content})


class ShiftedClock:
    """The world's loop clock, starting at run second ``at`` (a pre-creation phase)."""

    virtual = True

    def __init__(self, at: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time() - at
        self.spec = ClockSpec(1_795_755_600.0, 1.0, 0.0)

    def now(self) -> float:
        return self._loop.time() - self._t0

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


def _schedule(orders: int, gap: float = 2.0) -> list[Item]:
    items = []
    for ref in range(1, orders + 1):
        t = ref * gap
        items.append(Item(t, "order", ref))
        items.append(Item(t + 30, "ship", ref, "ups", f"1Z{ref:08d}"))
        items.append(Item(t + 90, "view", ref, "ups", f"1Z{ref:08d}"))
    return sorted(items)


def _replay(root: Path, settings: ShopifySettings, items: list[Item], at: float = 0.0) -> Any:
    async def main() -> GraphQLStore:
        clock = ShiftedClock(at)
        store = GraphQLStore(clock.now)
        replay = ShopifyScheduleReplay(
            clock, store, TOKEN, settings, root / "journals" / "replay.jsonl",
            root / "progress.json", count_kinds(i.kind for i in items), segment_bytes=1 << 30,
        )  # fmt: skip
        try:
            await replay.run(items, lambda t: None)
        finally:
            replay.close()
        return store

    return virtual_loop.run(main())


def _journal(root: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (root / "journals" / "replay.jsonl").read_text().splitlines()]


def test_virtual_replay_creates_fulfils_and_reads_under_the_bucket(tmp_path: Path) -> None:
    settings = ShopifySettings(bucket_size=40.0, restore_rate=10.0, late_after=300.0)
    (tmp_path / "shopify-replay.json").write_text(json.dumps({"orders": "create"}))
    store = _replay(tmp_path, settings, _schedule(12, gap=0.25))  # 40 points/s asked, 10 back
    lines = _journal(tmp_path)
    assert len(lines) == 36 and all(x["ok"] for x in lines), [x for x in lines if not x["ok"]]
    views = [x for x in lines if x["kind"] == "view"]
    assert all(x["shown"] == 1 and x["page_status"] == "IN_TRANSIT" for x in views)
    assert all(x["start"] >= x["due"] for x in lines)  # created on schedule, never ahead
    summary = shopify_summary(tmp_path)
    assert summary is not None
    assert summary["orders"]["created"] == 12 and summary["orders"]["created_in_window"] == 12
    calls = summary["graphql"]
    assert calls["by_operation"]["orderCreate"]["calls"] >= 12
    # the bucket holds 4 mutations: the client waits for its slots rather than being throttled
    assert calls["waited_s"] > 0 and calls["throttled"] == store.throttled
    assert "created at their scheduled instants" in shopify_lines({"shopify": summary})[0]


def test_create_rate_makes_a_too_fast_schedule_late(tmp_path: Path) -> None:
    settings = ShopifySettings(create_per_minute=5.0, late_after=60.0)
    (tmp_path / "shopify-replay.json").write_text(json.dumps({"orders": "create"}))
    store = _replay(tmp_path, settings, _schedule(10))
    gaps = [b - a for a, b in zip(store.created_at, store.created_at[1:], strict=False)]
    assert min(gaps) >= 12.0 - 1e-6  # five a minute, never faster
    orders = [x for x in _journal(tmp_path) if x["kind"] == "order"]
    # ref k is due at 2k s and leaves at 2 + 12(k - 1) s: 10(k - 1) s late, > 60 s from ref 8
    assert [x["ref"] for x in orders if x["late"]] == [8, 9, 10]


def test_precreate_creates_every_order_before_run_second_0(tmp_path: Path) -> None:
    settings = ShopifySettings(orders="precreate", create_per_minute=5.0)
    (tmp_path / "shopify-replay.json").write_text(
        json.dumps({"orders": "precreate", "create_per_minute": 5.0})
    )
    items = _schedule(6)
    lead = world_lead(settings, 6)
    store = _replay(tmp_path, settings, items, at=-lead)
    assert len(store.created_at) == 6 and max(store.created_at) < 0
    lines = _journal(tmp_path)
    assert all(x["ok"] for x in lines) and not any(x["late"] for x in lines)
    ships = [x for x in lines if x["kind"] == "ship"]
    assert all(x["start"] == pytest.approx(x["due"]) for x in ships)  # the window is on time
    summary = shopify_summary(tmp_path)
    assert summary is not None
    assert summary["orders"]["created_before_window"] == 6
    assert summary["orders"]["created_in_window"] == 0
    assert "not part of the measured peak" in shopify_lines({"shopify": summary})[0]


def test_precreate_overrunning_the_window_is_counted(tmp_path: Path) -> None:
    settings = ShopifySettings(orders="precreate", create_per_minute=5.0)
    (tmp_path / "shopify-replay.json").write_text(json.dumps({"orders": "precreate"}))
    _replay(tmp_path, settings, _schedule(4), at=-20.0)  # room for 2 of 4 (one per 12 s)
    summary = shopify_summary(tmp_path)
    assert summary is not None
    assert summary["orders"]["created_before_window"] == 2
    assert summary["orders"]["created_in_window"] == 2
