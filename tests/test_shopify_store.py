"""The Shopify sandbox store: the adapter's documents, calculated cost, the cost bucket's
boundaries, THROTTLED, auth, the order status page, and webhook signatures and retries.

Everything runs in virtual time on an in-process transport; the webhook signature is checked
with Shopify's documented algorithm written out here (shopify.dev/docs/apps/build/webhooks/
subscribe/https: "base64-encoded HMAC-SHA256 of the raw request body, keyed with the app's
client secret"), not with the code under test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mocks.shopify.bucket import LeakyBucket, Plan
from mocks.shopify.build import ShopifyCredentials, build_shopify
from mocks.shopify.webhooks import RETRY_DELAYS_S, Subscription, WebhookSender
from mocks.store.config import StoreConfig
from mocks.store.db import StoreDB
from mocks.virtual.loop import run as run_virtual
from mocks.virtual.transport import InProcess, url
from peakbench.adapters import shopify as sa
from peakbench.adapters.woocommerce import parse_tracking_page
from peakbench.config.store import SandboxTarget
from peakbench.plan.clock import LoopClock, ManualClock

START = 1_795_755_600.0
CREDS = ShopifyCredentials.derive("ck_test", "cs_test")


def _documented_signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


Scenario = Callable[[httpx.AsyncClient, LoopClock, StoreDB, list[Any]], Awaitable[Any]]


def _with_store(tmp: Path, scenario: Scenario, plugin: dict[str, Any] | None = None) -> Any:
    """Run ``scenario(client, clock, db, received)`` against a store whose webhooks go to a
    recording receiver (``received``: (headers, raw body))."""

    async def main() -> Any:
        clock = LoopClock(START, asyncio.get_running_loop())
        received: list[Any] = []

        async def hook(request: Request) -> Response:
            received.append((dict(request.headers), await request.body()))
            return JSONResponse({})

        transport = InProcess(
            {"hooks.test": Starlette(routes=[Route("/webhooks", hook, methods=["POST"])])}
        )
        config = StoreConfig.from_json({"platform": "shopify", "plugin": plugin or {}})
        db = StoreDB(tmp / "store.sqlite")
        client = httpx.AsyncClient(transport=transport, trust_env=False)
        world = build_shopify(
            config, db, clock, CREDS, client, store_url=url("store.test"), app_url=url("hooks.test")
        )
        transport.add("store.test", world.store_app)
        try:
            return await scenario(client, clock, db, received)
        finally:
            await world.sender.drain()
            await world.stop()
            await client.aclose()
            db.close()

    return run_virtual(main())


async def _post(
    client: httpx.AsyncClient, op: sa.Operation, token: str = CREDS.access_token
) -> tuple[int, Any]:
    req = sa.request(op, token)
    resp = await client.post(
        url("store.test") + req.path, json=dict(req.json or {}), headers=dict(req.headers)
    )
    return resp.status_code, resp.json()


def test_the_adapters_documents_run_and_the_page_shows_what_was_written(tmp_path: Path) -> None:
    async def scenario(
        client: httpx.AsyncClient, clock: LoopClock, db: StoreDB, got: list[Any]
    ) -> None:
        status, body = await _post(client, sa.create_order(7))
        assert status == 200
        order = sa.parse_created_order(sa.parse_response(body).data)
        assert order.id.startswith("gid://shopify/Order/") and order.fulfillment_order_ids
        fid = sa.parse_fulfillment(
            sa.parse_response(
                (await _post(client, sa.fulfil(order.fulfillment_order_ids, "PB1", "acme")))[1]
            ).data
        )
        before = sa.parse_tracking(
            sa.parse_response((await _post(client, sa.read_order(order.id)))[1]).data
        )
        assert before.display_status == "FULFILLED" and before.observation.shown == 0
        for status_, at in (
            ("in_transit", "2026-11-27T06:00:00Z"),
            ("delivered", "2026-11-28T09:00:00Z"),
        ):
            result = sa.parse_response((await _post(client, sa.create_event(fid, status_, at)))[1])
            assert sa.parse_event(result.data) in ("IN_TRANSIT", "DELIVERED")
        _, body = await _post(client, sa.read_order(order.id))
        seen = sa.parse_tracking(sa.parse_response(body).data)
        assert seen.display_status == "DELIVERED" and seen.delivered_at == "2026-11-28T09:00:00Z"
        assert seen.observation.shown == 2 and seen.numbers == ("PB1",)
        changes = db.conn.execute(
            "SELECT tracking_number, shown_count, status FROM tracking_changes"
        ).fetchall()
        assert [tuple(c) for c in changes] == [("PB1", 1, "in_transit"), ("PB1", 2, "delivered")]
        # the customer's page, reached with the order's token, reads like the WooCommerce page
        page_url = (
            await _post(
                client, sa.Operation("p", f'{{ order(id: "{order.id}") {{ statusPageUrl }} }}')
            )
        )[1]
        link = page_url["data"]["order"]["statusPageUrl"]
        page = await client.get(link)
        parsed = parse_tracking_page(page.text)
        assert page.status_code == 200 and parsed.shown == 2 and parsed.status == "delivered"
        assert (await client.get(link + "x")).status_code == 404
        deleted = sa.parse_deleted(
            sa.parse_response((await _post(client, sa.delete_order(order.id)))[1]).data
        )
        assert deleted == order.id

    _with_store(tmp_path, scenario)


def test_costs_follow_shopifys_rules_and_a_bad_token_is_a_401(tmp_path: Path) -> None:
    async def scenario(
        client: httpx.AsyncClient, clock: LoopClock, db: StoreDB, got: list[Any]
    ) -> None:
        _, body = await _post(client, sa.create_order(1))
        cost = body["extensions"]["cost"]
        assert cost["requestedQueryCost"] == 10 == cost["actualQueryCost"]  # a mutation: 10
        order_id = body["data"]["orderCreate"]["order"]["id"]
        _, body = await _post(client, sa.read_order(order_id, events_first=50))
        cost = body["extensions"]["cost"]
        # order 1 + fulfillments(first: 5) × (1 + trackingInfo(first: 5) × 1 + events: 2 + 50 × 1)
        assert cost["requestedQueryCost"] == 1 + 5 * (1 + 5 + 52)
        assert cost["actualQueryCost"] == 1  # the order, no fulfilments yet
        assert set(cost["throttleStatus"]) == {
            "maximumAvailable",
            "currentlyAvailable",
            "restoreRate",
        }
        status, body = await _post(client, sa.shop_info(), token="shpat_wrong")
        assert status == 401 and body == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }
        _, body = await _post(client, sa.Operation("x", "{ order(id: 1) { nope } }"))
        assert "errors" in body and "data" not in body

    _with_store(tmp_path, scenario)


def test_the_bucket_passes_an_exact_fit_throttles_one_point_more_and_restores() -> None:
    clock = ManualClock()
    bucket = LeakyBucket(Plan(maximum=50.0, restore_rate=10.0), clock.now())
    assert bucket.take(40.0, clock.now()) and bucket.status(clock.now()).available == 10.0
    assert not bucket.take(11.0, clock.now())  # one point more than available
    assert bucket.take(10.0, clock.now())  # exactly what is available
    clock.advance(2.0)
    assert bucket.status(clock.now()).available == 20.0  # 2 s × 10 points/s
    clock.advance(100.0)
    assert bucket.status(clock.now()).available == 50.0  # never above the maximum
    assert Plan.of("standard").restore_rate == 100.0 and Plan.of("plus").restore_rate == 1000.0


def test_a_small_plan_answers_throttled_as_shopify_shapes_it(tmp_path: Path) -> None:
    """The app's token on a 25-point bucket restoring 5 points/s: two mutations fit, the third
    is THROTTLED (HTTP 200, no data, actualQueryCost null); 1 s later it fits again."""

    async def scenario(
        client: httpx.AsyncClient, clock: LoopClock, db: StoreDB, got: list[Any]
    ) -> None:
        answers = [await _post(client, sa.create_order(i), token=CREDS.app_token) for i in range(3)]
        assert [
            a[1]["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] for a in answers
        ] == [15, 5, 5]
        status, body = answers[2]
        assert status == 200 and "data" not in body
        assert body["errors"] == [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ]
        assert body["extensions"]["cost"]["actualQueryCost"] is None
        result = sa.parse_response(body)
        assert result.throttled and sa.throttle_wait(result.cost) == 1.0  # type: ignore[arg-type]
        await clock.sleep(1.0)
        assert "data" in (await _post(client, sa.create_order(9), token=CREDS.app_token))[1]
        # the harness's own token has its own (plan-sized) bucket
        assert "data" in (await _post(client, sa.create_order(10)))[1]

    _with_store(tmp_path, scenario, {"shopify_restore_rate": 5, "shopify_bucket": 25})


def test_fulfilment_webhooks_carry_shopifys_headers_and_a_valid_signature(tmp_path: Path) -> None:
    async def scenario(
        client: httpx.AsyncClient, clock: LoopClock, db: StoreDB, got: list[Any]
    ) -> Any:
        order = sa.parse_created_order(
            sa.parse_response((await _post(client, sa.create_order(1)))[1]).data
        )
        fid = sa.parse_fulfillment(
            sa.parse_response(
                (await _post(client, sa.fulfil(order.fulfillment_order_ids, "PB9", "UPS")))[1]
            ).data
        )
        await _post(client, sa.create_event(fid, "out_for_delivery", "2026-11-27T08:00:00Z"))
        await asyncio.sleep(0.1)
        return got

    got = _with_store(tmp_path, scenario)
    assert [h["x-shopify-topic"] for h, _ in got] == ["fulfillments/create", "fulfillments/update"]
    for headers, raw in got:
        assert headers["x-shopify-hmac-sha256"] == _documented_signature(raw, CREDS.app_secret)
        assert headers["x-shopify-api-version"] == "2025-07"
        assert headers["x-shopify-shop-domain"].endswith(".myshopify.com")
        assert headers["x-shopify-webhook-id"] and headers["x-shopify-triggered-at"].endswith("Z")
    create, update = (json.loads(raw) for _, raw in got)
    assert create["tracking_number"] == "PB9" and create["tracking_company"] == "UPS"
    assert create["admin_graphql_api_id"].startswith("gid://shopify/Fulfillment/")
    assert create["shipment_status"] is None and update["shipment_status"] == "out_for_delivery"
    assert create["status"] == "success" and create["tracking_numbers"] == ["PB9"]


def test_a_failing_app_gets_the_original_delivery_eight_more_times_then_it_is_dropped() -> None:
    async def main() -> tuple[list[float], list[str], Any]:
        clock = LoopClock(START, asyncio.get_running_loop())
        seen: list[float] = []
        signatures: list[str] = []

        async def down(request: Request) -> Response:
            seen.append(clock.now())
            signatures.append(request.headers["x-shopify-hmac-sha256"])
            return JSONResponse({}, 500)

        transport = InProcess({"app.test": Starlette(routes=[Route("/w", down, methods=["POST"])])})
        async with httpx.AsyncClient(transport=transport) as client:
            sender = WebhookSender(
                client, clock, Subscription(url("app.test") + "/w", "s3cret"),
                shop_domain="x.myshopify.com", api_version="2025-07",
            )  # fmt: skip
            sender.emit("fulfillments/update", {"id": 1})
            await sender.drain()
        return seen, signatures, sender.counters

    seen, signatures, counters = run_virtual(main())
    assert len(seen) == 1 + 8 and len(set(signatures)) == 1
    assert [round(b - a, 3) for a, b in itertools.pairwise(seen)] == list(RETRY_DELAYS_S)
    assert 4 * 3600 <= seen[-1] - seen[0] <= 4.5 * 3600
    assert counters.abandoned == 1 and counters.delivered == 0


def test_platform_and_preset_go_together_and_old_configs_stay_woocommerce() -> None:
    assert StoreConfig.from_json({}).platform == "woocommerce"
    assert StoreConfig.from_json({"plugin": {"preset": "saas-push"}}).plugin.strategy == "saas-push"
    shop = StoreConfig.from_json({"platform": "shopify", "plugin": {"interval": "30m"}})
    assert shop.plugin.strategy == "tracking-app" and shop.plugin.interval == 1800.0
    assert SandboxTarget.model_validate({"platform": "shopify"}).plugin.strategy == "tracking-app"
    with pytest.raises(ValidationError, match="tracking-app preset runs on platform: shopify"):
        SandboxTarget.model_validate({"plugin": {"preset": "tracking-app"}})
    with pytest.raises(ValueError, match="platform must be one of"):
        StoreConfig.from_json({"platform": "magento"})
