"""The Shopify adapter against Admin GraphQL response shapes from Shopify's documentation.

Shapes: orderCreate (shopify.dev/docs/api/admin-graphql/2025-07/mutations/orderCreate),
fulfillmentCreate (…/2025-07/mutations/fulfillmentCreate), fulfillmentEventCreate
(…/2025-07/mutations/fulfillmentEventCreate), Order.fulfillments / Fulfillment.events
(…/2025-07/objects/Fulfillment), cost and THROTTLED (shopify.dev/docs/apps/build/apis/
graphql-admin/rate-limits; the throttled body as posted in
community.shopify.com/t/throttled/254776).
No real sleeps: the client gets a fake clock whose sleep advances it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from peakbench.adapters import shopify as sh
from peakbench.adapters.request import Request
from peakbench.adapters.shopify_client import CostBucket, ShopifyClient
from peakbench.adapters.woocommerce import Observation

SHOP = "peak-dev.myshopify.com"
URL = f"https://{SHOP}/admin/api/2025-07/graphql.json"
TOKEN = "shpat_0123456789abcdef"


def cost(requested: float, actual: float | None, available: float, rate: float = 50.0) -> dict:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": 1000.0,
                "currentlyAvailable": available,
                "restoreRate": rate,
            },
        }
    }


ORDER_CREATED = {
    "data": {
        "orderCreate": {
            "order": {
                "id": "gid://shopify/Order/1073459963",
                "name": "#1001",
                "fulfillmentOrders": {
                    "nodes": [{"id": "gid://shopify/FulfillmentOrder/1046000818", "status": "OPEN"}]
                },
            },
            "userErrors": [],
        }
    },
    "extensions": cost(16, 12, 988),
}
FULFILLED = {
    "data": {
        "fulfillmentCreate": {
            "fulfillment": {
                "id": "gid://shopify/Fulfillment/1069019873",
                "status": "SUCCESS",
                "displayStatus": "FULFILLED",
                "trackingInfo": [{"number": "PBD0000000000005", "company": "UPS", "url": None}],
            },
            "userErrors": [],
        }
    },
    "extensions": cost(10, 10, 978),
}
EVENT = {
    "data": {
        "fulfillmentEventCreate": {
            "fulfillmentEvent": {
                "id": "gid://shopify/FulfillmentEvent/944956395",
                "status": "IN_TRANSIT",
                "happenedAt": "2026-11-28T03:10:00Z",
            },
            "userErrors": [],
        }
    },
    "extensions": cost(10, 10, 968),
}
ORDER_READ = {
    "data": {
        "order": {
            "id": "gid://shopify/Order/1073459963",
            "name": "#1001",
            "displayFulfillmentStatus": "FULFILLED",
            "fulfillments": [
                {
                    "id": "gid://shopify/Fulfillment/1069019873",
                    "displayStatus": "IN_TRANSIT",
                    "deliveredAt": None,
                    "trackingInfo": [{"number": "PBD0000000000005", "company": "UPS"}],
                    "events": {
                        "nodes": [
                            {"status": "CONFIRMED", "happenedAt": "2026-11-27T14:30:00Z"},
                            {"status": "IN_TRANSIT", "happenedAt": "2026-11-28T03:10:00Z"},
                        ]
                    },
                }
            ],
        }
    },
    "extensions": cost(13, 5, 960),
}
THROTTLED = {
    "errors": [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ],
    "extensions": cost(752, None, 666),
}


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.t += seconds


def _client(clock: FakeClock, available: float = 1000.0) -> ShopifyClient:
    def send(request: Request) -> tuple[int, Any]:
        response = httpx.request(
            request.method,
            request.url(sh.endpoint(SHOP)),
            json=dict(request.json or {}),
            headers=dict(request.headers),
        )
        return response.status_code, response.json()

    bucket = CostBucket(1000.0, 50.0, clock.now())
    bucket.available = available
    return ShopifyClient(send, TOKEN, bucket=bucket, now=clock.now, sleep=clock.sleep)


def _by_operation(answers: dict[str, list[dict]], seen: list[dict]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Shopify-Access-Token"] == TOKEN
        body = json.loads(request.content)
        seen.append(body)
        for name, queue in answers.items():
            if f" {name}(" in body["query"] or f"{name}(" in body["query"].split("{", 2)[1]:
                return httpx.Response(200, json=queue.pop(0))
        raise AssertionError(body["query"])

    return answer


def test_create_fulfil_event_and_read_back() -> None:
    clock, seen = FakeClock(), []
    answers = {
        "orderCreate": [ORDER_CREATED],
        "fulfillmentCreate": [FULFILLED],
        "fulfillmentEventCreate": [EVENT],
        "order": [ORDER_READ],
    }
    with respx.mock:
        respx.post(URL).mock(side_effect=_by_operation(answers, seen))
        client = _client(clock)
        order = sh.parse_created_order(client.execute(sh.create_order(7, seed=1)).data)
        fulfil = sh.fulfil(order.fulfillment_order_ids, "PBD0000000000005", "UPS")
        fulfillment = sh.parse_fulfillment(client.execute(fulfil).data)
        event = sh.create_event(fulfillment, "in_transit", "2026-11-28T03:10:00Z")
        assert sh.parse_event(client.execute(event).data) == "IN_TRANSIT"
        tracking = sh.parse_tracking(client.execute(sh.read_order(order.id, 20)).data)
    assert order == sh.ShopifyOrder(
        "gid://shopify/Order/1073459963", "#1001", ("gid://shopify/FulfillmentOrder/1046000818",)
    )
    assert fulfillment == "gid://shopify/Fulfillment/1069019873"
    assert tracking.observation == Observation(2, "2026-11-28T03:10:00Z", "IN_TRANSIT")
    assert tracking.numbers == ("PBD0000000000005",)
    # what went over the wire
    created = seen[0]["variables"]
    assert created["order"]["financialStatus"] == "PAID" and created["order"]["test"] is True
    assert {"key": "_peakbench_ref", "value": "7"} in created["order"]["customAttributes"]
    assert created["options"] == {"sendReceipt": False, "sendFulfillmentReceipt": False}
    assert seen[1]["variables"]["fulfillment"] == {
        "lineItemsByFulfillmentOrder": [
            {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1046000818"}
        ],
        "trackingInfo": {"number": "PBD0000000000005", "company": "UPS"},
        "notifyCustomer": False,
    }
    assert seen[2]["variables"]["fulfillmentEvent"]["status"] == "IN_TRANSIT"
    assert seen[3]["variables"] == {"id": "gid://shopify/Order/1073459963", "events": 20}
    assert clock.slept == []  # a full bucket never waits
    assert client.estimates == {
        "orderCreate": 16,
        "fulfillmentCreate": 10,
        "fulfillmentEventCreate": 10,
        "order": 13,
    }


def test_the_bucket_waits_before_a_request_would_exceed_it() -> None:
    clock = FakeClock()
    low = {"data": {"shop": {"name": "Peak"}}, "extensions": cost(10, 1, 3.0)}
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(200, json=low))
        client = _client(clock, available=4.0)
        client.execute(sh.shop_info())  # 4 available, 10 assumed: wait (10 - 4) / 50 s
        assert clock.slept == [0.12]
        client.execute(sh.shop_info())  # the server says 3 left: wait (10 - 3) / 50 s
        assert clock.slept == [0.12, 0.14]
    assert route.call_count == 2


def test_throttled_waits_what_the_restore_rate_implies_then_retries() -> None:
    clock = FakeClock()
    ok = {"data": {"shop": {"name": "Peak"}}, "extensions": cost(752, 700, 900)}
    with respx.mock:
        route = respx.post(URL).mock(
            side_effect=[httpx.Response(200, json=THROTTLED), httpx.Response(200, json=ok)]
        )
        result = _client(clock).execute(sh.shop_info())
    assert route.call_count == 2 and result.data == {"shop": {"name": "Peak"}}
    # (752 requested - 666 available) / 50 per second = 1.72 s, then the bucket holds 752
    assert clock.slept[0] == 1.72
    assert sum(clock.slept) == pytest.approx(1.72, abs=0.01)
    assert sh.throttle_wait(sh.parse_cost(THROTTLED)) == pytest.approx(1.72)  # type: ignore[arg-type]


def test_throttled_for_good_gives_up_after_the_retries() -> None:
    clock = FakeClock()
    with respx.mock:
        route = respx.post(URL).mock(return_value=httpx.Response(429, json=THROTTLED))
        client = _client(clock)
        client.max_retries = 3
        with pytest.raises(sh.ShopifyError, match="still throttled after 3 retries"):
            client.execute(sh.shop_info())
    assert route.call_count == 4 and len(clock.slept) >= 3


def test_bad_token_and_user_errors_are_one_line_errors() -> None:
    clock = FakeClock()
    # what Shopify answers for a wrong X-Shopify-Access-Token
    denied = {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }
    with respx.mock:
        respx.post(URL).mock(return_value=httpx.Response(401, json=denied))
        with pytest.raises(sh.ShopifyError, match=r"HTTP 401: \[API\] Invalid API key"):
            _client(clock).execute(sh.shop_info())
    refused = {
        "fulfillmentCreate": {
            "fulfillment": None,
            "userErrors": [
                {"field": ["fulfillment"], "message": "Fulfillment order does not exist."}
            ],
        }
    }
    with pytest.raises(sh.ShopifyError, match="fulfillment: Fulfillment order does not exist"):
        sh.parse_fulfillment(refused)


def test_an_order_without_a_fulfillment_order_cannot_be_shipped() -> None:
    def created(*nodes: str) -> dict[str, Any]:
        fos = {"nodes": [{"id": n} for n in nodes]}
        order = {"id": "gid://shopify/Order/1", "name": "#1001", "fulfillmentOrders": fos}
        return {"orderCreate": {"order": order, "userErrors": []}}

    assert sh.parse_created_order(created()).fulfillment_order_ids == ()
    with pytest.raises(sh.ShopifyError, match="has no fulfillment order"):
        sh.parse_shippable_order(created())
    one = sh.parse_shippable_order(created("gid://shopify/FulfillmentOrder/9"))
    assert one.fulfillment_order_ids == ("gid://shopify/FulfillmentOrder/9",)


def test_parse_tracking_before_any_fulfilment_and_after_delivery() -> None:
    empty = {"order": {"id": "gid://shopify/Order/1", "fulfillments": []}}
    assert sh.parse_tracking(empty).observation == Observation(0, None, None)
    delivered = json.loads(json.dumps(ORDER_READ["data"]))
    fulfillment = delivered["order"]["fulfillments"][0]
    fulfillment.update(displayStatus="DELIVERED", deliveredAt="2026-11-29T16:00:00Z")
    fulfillment["events"]["nodes"].append(
        {"status": "DELIVERED", "happenedAt": "2026-11-29T11:00:00-05:00"}
    )
    seen = sh.parse_tracking(delivered)
    assert seen.observation == Observation(3, "2026-11-29T11:00:00-05:00", "DELIVERED")
    assert seen.delivered_at == "2026-11-29T16:00:00Z"
    with pytest.raises(sh.ShopifyError, match="order not found"):
        sh.parse_tracking({"order": None})


def test_cost_bucket_restores_over_time_and_resyncs_from_the_server() -> None:
    bucket = CostBucket(100.0, 10.0, now=0.0)
    bucket.spend(95.0, now=0.0)
    assert bucket.delay(25.0, now=0.0) == pytest.approx(2.0)
    assert bucket.delay(25.0, now=2.0) == 0.0
    assert bucket.delay(500.0, now=2.0) == pytest.approx(7.5)  # capped at the bucket size
    bucket.observe(sh.Cost(10, 5, 2000.0, 40.0, 100.0), now=3.0)
    assert (bucket.maximum, bucket.available) == (2000.0, 40.0)
    assert bucket.delay(50.0, now=3.0) == pytest.approx(0.1)
