"""The sandbox store's HTTP contract, in-process (ASGITransport): orders, auth, tracking, page."""

from __future__ import annotations

import base64
import math
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from oauthlib import oauth1
from starlette.requests import Request

from mocks.store.app import create_store_app
from mocks.store.auth import ApiKey, Authenticator, NonceCache
from mocks.store.bodies import shipped_day
from mocks.store.config import CarrierEndpoint, Credentials
from mocks.store.db import StoreDB
from mocks.store.orders import BadRequest
from mocks.store.plugin import Plugin
from mocks.store.rest import json_body
from peakbench.config.store import PluginSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import TimelineModel, journey, make_tracking_number, visible_count

CREDS = Credentials("ck_test_key", "cs_test_secret")
BASIC = {"Authorization": "Basic " + base64.b64encode(b"ck_test_key:cs_test_secret").decode()}
ORDER = {
    "set_paid": True,
    "billing": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
    "shipping": {"first_name": "Ada", "city": "Chicago", "country": "US"},
    "line_items": [{"product_id": 93, "quantity": 2}, {"product_id": 22, "quantity": 1}],
    "meta_data": [{"key": "peakbench_ref", "value": "17"}],
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(t=100.0)


@pytest.fixture
def db(tmp_path: Path) -> StoreDB:
    return StoreDB(tmp_path / "store.sqlite")


@pytest.fixture
async def client(db: StoreDB, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    carriers = {"acme": CarrierEndpoint("acme", "http://127.0.0.1:9", api_key="k")}
    plugin = Plugin(PluginSpec(), carriers, db, clock)
    app = create_store_app(db, plugin, clock, CREDS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        yield c
    await plugin.stop()


def carrier_event(e: Any) -> dict[str, Any]:
    """A ScanEvent as the generic carrier sends it."""
    local = timezone(timedelta(seconds=e.utc_offset_s))
    return {
        "code": e.code,
        "status": e.status,
        "description": e.message,
        "location": {"city": e.city, "state": e.state, "country": e.country},
        "occurred_at": datetime.fromtimestamp(e.occurred_at, local).isoformat(),
    }


async def _order(client: httpx.AsyncClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    resp = await client.post("/wp-json/wc/v3/orders", json=body or ORDER, headers=BASIC)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


@pytest.mark.anyio
async def test_create_and_get_order_look_like_woocommerce(client: httpx.AsyncClient) -> None:
    order = await _order(client)
    assert order["status"] == "processing"
    assert re.fullmatch(r"wc_order_[A-Za-z0-9]{13}", order["order_key"])
    assert order["number"] == str(order["id"])
    assert order["date_created"] == "2026-11-27T05:01:40"  # ManualClock epoch + 100 s, UTC site
    assert order["date_created_gmt"] == order["date_created"]
    assert [li["quantity"] for li in order["line_items"]] == [2, 1]
    line_sum = sum(float(li["total"]) for li in order["line_items"])
    assert order["total"] == f"{line_sum:.2f}"
    assert order["currency"] == "USD"
    assert order["meta_data"][0]["key"] == "peakbench_ref"

    got = await client.get(f"/wp-json/wc/v3/orders/{order['id']}", headers=BASIC)
    assert got.status_code == 200
    assert got.json() == order

    unpaid = await _order(client, {"line_items": [{"product_id": 1}]})
    assert unpaid["status"] == "pending"
    assert unpaid["id"] == order["id"] + 1


@pytest.mark.anyio
async def test_auth_by_basic_or_query_params_else_401(client: httpx.AsyncClient) -> None:
    order = await _order(client)
    path = f"/wp-json/wc/v3/orders/{order['id']}"
    by_query = await client.get(
        path, params={"consumer_key": "ck_test_key", "consumer_secret": "cs_test_secret"}
    )
    assert by_query.status_code == 200
    wrong = base64.b64encode(b"ck_test_key:wrong").decode()
    unknown = base64.b64encode(b"ck_nobody:cs_test_secret").decode()
    for headers, params, code in (
        ({}, {}, "woocommerce_rest_cannot_view"),
        ({"Authorization": "Basic !!!not-base64"}, {}, "woocommerce_rest_cannot_view"),
        ({}, {"consumer_key": "ck_test_key"}, "woocommerce_rest_cannot_view"),
        ({"Authorization": "Basic " + unknown}, {}, "woocommerce_rest_cannot_view"),
        ({"Authorization": "Basic " + wrong}, {}, "woocommerce_rest_authentication_error"),
        (
            {},
            {"consumer_key": "ck_test_key", "consumer_secret": "x"},
            "woocommerce_rest_authentication_error",
        ),
    ):
        resp = await client.get(path, headers=headers, params=params)
        assert resp.status_code == 401
        assert resp.json()["code"] == code
        assert resp.json()["data"]["status"] == 401
    refused = await client.post("/wp-json/wc/v3/orders", json=ORDER)
    assert refused.status_code == 401
    assert refused.json()["code"] == "woocommerce_rest_cannot_create"


@pytest.mark.anyio
async def test_unknown_order_is_404(client: httpx.AsyncClient) -> None:
    for oid in ("999", "0", str(2**70)):
        resp = await client.get(f"/wp-json/wc/v3/orders/{oid}", headers=BASIC)
        assert resp.status_code == 404
        assert resp.json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    other = await client.get("/wp-json/wc/v3/nothing", headers=BASIC)
    assert other.status_code == 404
    assert other.json()["code"] == "rest_no_route"


@pytest.mark.anyio
async def test_ship_registers_tracking_and_completes_order(
    client: httpx.AsyncClient, db: StoreDB, clock: ManualClock
) -> None:
    order = await _order(client)
    number = make_tracking_number(clock.spec.start_epoch, "domestic", 1)
    path = f"/wp-json/wc-shipment-tracking/v3/orders/{order['id']}/shipment-trackings"
    clock.advance(50)
    resp = await client.post(
        path, headers=BASIC, json={"tracking_provider": "acme", "tracking_number": number}
    )
    assert resp.status_code == 201, resp.text
    item = resp.json()
    assert set(item) == {
        "tracking_id",
        "tracking_provider",
        "tracking_link",
        "tracking_number",
        "date_shipped",
    }
    assert item["tracking_provider"] == "acme"
    assert item["tracking_number"] == number
    assert item["date_shipped"] == "2026-11-27"
    assert f"/order-tracking/{order['id']}?key={order['order_key']}" in item["tracking_link"]

    again = await client.post(
        path, headers=BASIC, json={"tracking_provider": "ACME", "tracking_number": number}
    )
    assert again.status_code == 201
    assert again.json()["tracking_id"] == item["tracking_id"]

    listed = await client.get(path, headers=BASIC)
    assert listed.status_code == 200
    assert listed.json() == [item]
    got = await client.get(f"/wp-json/wc/v3/orders/{order['id']}", headers=BASIC)
    assert got.json()["status"] == "completed"
    assert got.json()["date_completed"] is not None
    shipment = db.shipment(number)
    assert shipment is not None
    assert shipment.shipped_t == pytest.approx(150.0)
    assert shipment.shown_count == 0
    assert not shipment.delivered

    bad = await client.post(
        path, headers=BASIC, json={"tracking_provider": "nope", "tracking_number": "X1"}
    )
    assert bad.status_code == 400
    missing = await client.post(
        "/wp-json/wc-shipment-tracking/v3/orders/4242/shipment-trackings",
        headers=BASIC,
        json={"tracking_provider": "acme", "tracking_number": "X2"},
    )
    assert missing.status_code == 404
    other = await _order(client)
    dup = await client.post(
        f"/wp-json/wc-shipment-tracking/v3/orders/{other['id']}/shipment-trackings",
        headers=BASIC,
        json={"tracking_provider": "acme", "tracking_number": number},
    )
    assert dup.status_code == 400


@pytest.mark.anyio
async def test_tracking_page_shows_events_newest_first(
    client: httpx.AsyncClient, db: StoreDB, clock: ManualClock
) -> None:
    order = await _order(client)
    page_path = f"/order-tracking/{order['id']}"
    before = await client.get(page_path, params={"key": order["order_key"]})
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/html")
    assert 'class="tracking-status" data-status="awaiting_shipment"' in before.text

    number = make_tracking_number(clock.spec.start_epoch, "domestic", 7)
    await client.post(
        f"/wp-json/wc-shipment-tracking/v3/orders/{order['id']}/shipment-trackings",
        headers=BASIC,
        json={"tracking_provider": "acme", "tracking_number": number},
    )
    events = journey(TimelineModel(), number)
    shown = [carrier_event(e) for e in events[: visible_count(events, events[3].visible_at)]]
    with db.transaction():
        assert db.apply_tracking(number, shown, shown[-1]["status"], clock.now())

    page = (await client.get(page_path, params={"key": order["order_key"]})).text
    items = re.findall(
        r'<li class="tracking-event" data-status="([^"]*)" '
        r'data-occurred="([^"]*)"',
        page,
    )
    assert [occ for _, occ in items] == [e["occurred_at"] for e in reversed(shown)]
    assert [st for st, _ in items] == [e["status"] for e in reversed(shown)]
    assert len(re.findall(r'<p class="tracking-status"', page)) == 1
    assert f'<p class="tracking-status" data-status="{shown[-1]["status"]}"' in page

    for params in ({"key": "wc_order_wrongwrongwro"}, {}, {"key": ""}):
        assert (await client.get(page_path, params=params)).status_code == 404
    assert (await client.get("/order-tracking/9999", params={"key": "x"})).status_code == 404


@pytest.mark.anyio
async def test_bad_bodies_are_400_never_500(client: httpx.AsyncClient) -> None:
    order = await _order(client)
    ship = f"/wp-json/wc-shipment-tracking/v3/orders/{order['id']}/shipment-trackings"
    bad_orders: list[Any] = [
        b"{not json",
        b"\xff\xfe",
        [1, 2],
        "text",
        {"line_items": "many"},
        {"line_items": [5]},
        {"line_items": [{"product_id": 1, "quantity": "abc"}]},
        {"line_items": [{"product_id": 1, "quantity": 0}]},
        {"line_items": [{"product_id": -3}]},
        {"line_items": [{"product_id": 1, "price": "free"}]},
        b'{"line_items": [{"product_id": 1, "total": 1e999}]}',
        b'{"line_items": [{"product_id": 1, "price": NaN}]}',
        {"set_paid": "yes"},
        {"status": "teleported"},
        {"billing": "nope"},
        {"billing": {"first_name": {"nested": 1}}},
        {"meta_data": {"key": "v"}},
        {"meta_data": [{"value": 1}]},
        {"shipping_lines": [1]},
        {"currency": "dollars"},
    ]
    bad_tracks: list[Any] = [
        b"{",
        [],
        {},
        {"tracking_provider": "acme"},
        {"tracking_provider": "acme", "tracking_number": 12345},
        {"tracking_provider": "acme", "tracking_number": "   "},
        {"tracking_provider": 3, "tracking_number": "X"},
        {"tracking_provider": "acme", "tracking_number": "X", "date_shipped": "soon"},
        {"tracking_provider": "acme", "tracking_number": "X", "date_shipped": 1e30},
        {"tracking_provider": "acme", "tracking_number": "X", "date_shipped": [1]},
    ]
    for path, bodies in (("/wp-json/wc/v3/orders", bad_orders), (ship, bad_tracks)):
        for body in bodies:
            kwargs: dict[str, Any] = (
                {"content": body} if isinstance(body, bytes) else {"json": body}
            )
            resp = await client.post(path, headers=BASIC, **kwargs)
            assert resp.status_code == 400, (body, resp.text)
            payload = resp.json()
            assert payload["data"]["status"] == 400
            assert payload["code"].startswith(("rest_", "woocommerce_rest_")), payload
    stats = (await client.get("/__admin/stats")).json()
    assert stats["orders"] == 1  # failed creations left no rows behind
    assert stats["shipments"] == 0


@pytest.mark.anyio
async def test_admin_health_and_stats(client: httpx.AsyncClient, clock: ManualClock) -> None:
    assert (await client.get("/__admin/health")).json() == {"ok": True}
    order = await _order(client)
    await client.post(
        f"/wp-json/wc-shipment-tracking/v3/orders/{order['id']}/shipment-trackings",
        headers=BASIC,
        json={"tracking_provider": "acme", "tracking_number": "PBX1"},
    )
    stats = (await client.get("/__admin/stats")).json()
    assert stats["t"] == pytest.approx(clock.now())
    assert (stats["orders"], stats["shipments"], stats["open_shipments"]) == (1, 1, 1)
    assert set(stats["queue"]) >= {"pending", "running", "complete", "failed"}
    assert set(stats["plugin"]) >= {"runs", "requests", "ok", "throttled", "blocked", "errors"}
    assert stats["changes"] == 0


@pytest.mark.anyio
async def test_list_filters_sorts_and_paginates_like_wordpress(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    ids = []
    for i in range(5):
        ids.append((await _order(client, {**ORDER, "set_paid": i % 2 == 0}))["id"])
        clock.advance(3600)
    resp = await client.get("/wp-json/wc/v3/orders", headers=BASIC, params={"per_page": 2})
    assert resp.status_code == 200
    assert [o["id"] for o in resp.json()] == ids[::-1][:2]  # newest first by default
    assert (resp.headers["x-wp-total"], resp.headers["x-wp-totalpages"]) == ("5", "3")
    base = "http://127.0.0.1/wp-json/wc/v3/orders"
    assert resp.headers["link"] == f'<{base}?per_page=2&page=2>; rel="next"'

    middle = await client.get(
        "/wp-json/wc/v3/orders",
        params=[("per_page", "2"), ("page", "2"), ("consumer_key", "ck_test_key"),
                ("consumer_secret", "cs_test_secret")],
    )  # fmt: skip
    assert middle.headers["link"] == (
        f'<{base}?per_page=2&page=1>; rel="prev", <{base}?per_page=2&page=3>; rel="next"'
    )  # credentials are not copied into the links
    beyond = await client.get("/wp-json/wc/v3/orders", headers=BASIC, params={"page": 9})
    assert beyond.json() == [] and beyond.headers["x-wp-total"] == "5"

    paid = await client.get(
        "/wp-json/wc/v3/orders", headers=BASIC, params={"status": "processing", "order": "asc"}
    )
    assert [o["id"] for o in paid.json()] == [ids[0], ids[2], ids[4]]
    both = await client.get(
        "/wp-json/wc/v3/orders",
        headers=BASIC,
        params=[("status[]", "pending"), ("status[]", "processing"), ("orderby", "id")],
    )
    assert both.headers["x-wp-total"] == "5"
    # orders were created at 05:01:40, 06:01:40, … 09:01:40 UTC; after/before are exclusive
    window = await client.get(
        "/wp-json/wc/v3/orders",
        headers=BASIC,
        params={"after": "2026-11-27T06:01:40", "before": "2026-11-27T09:01:40Z", "order": "asc"},
    )
    assert [o["id"] for o in window.json()] == [ids[2], ids[3]]
    for params in (
        {"per_page": "0"},
        {"per_page": "101"},
        {"page": "zero"},
        {"status": "lost"},
        {"order": "up"},
        {"orderby": "price"},
        {"after": "last tuesday"},
    ):
        bad = await client.get("/wp-json/wc/v3/orders", headers=BASIC, params=params)
        assert (bad.status_code, bad.json()["code"]) == (400, "rest_invalid_param"), params


@pytest.mark.anyio
async def test_update_delete_and_notes(client: httpx.AsyncClient, clock: ManualClock) -> None:
    order = await _order(client, {**ORDER, "set_paid": False})
    path = f"/wp-json/wc/v3/orders/{order['id']}"
    clock.advance(120)
    first_item = order["line_items"][0]["id"]
    resp = await client.put(
        path,
        headers=BASIC,
        json={
            "set_paid": True,
            "billing": {"phone": "555"},
            "meta_data": [{"key": "peakbench_ref", "value": "18"}, {"key": "new", "value": 1}],
            "line_items": [{"id": first_item, "quantity": 0}, {"product_id": 5, "quantity": 3}],
        },
    )
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["status"] == "processing" and got["date_paid"] == "2026-11-27T05:03:40"
    assert got["billing"]["phone"] == "555" and got["billing"]["first_name"] == "Ada"
    assert [(m["key"], m["value"]) for m in got["meta_data"]] == [
        ("peakbench_ref", "18"),
        ("new", 1),
    ]
    assert [li["product_id"] for li in got["line_items"]] == [22, 5]
    assert got["total"] == f"{sum(float(li['total']) for li in got['line_items']):.2f}"
    assert got["date_modified"] != got["date_created"]
    for body, status, code in (
        ({"status": "gone"}, 400, "rest_invalid_param"),
        ([], 400, "rest_invalid_json"),
    ):
        bad = await client.put(path, headers=BASIC, json=body)
        assert (bad.status_code, bad.json()["code"]) == (status, code)
    missing = await client.put("/wp-json/wc/v3/orders/999", headers=BASIC, json={})
    assert (missing.status_code, missing.json()["code"]) == (
        400,
        "woocommerce_rest_shop_order_invalid_id",
    )

    note = await client.post(f"{path}/notes", headers=BASIC, json={"note": "Left the depot."})
    assert note.status_code == 201
    assert note.json()["author"] == "system" and note.json()["customer_note"] is False
    empty = await client.post(f"{path}/notes", headers=BASIC, json={})
    assert empty.json()["code"] == "rest_missing_callback_param"
    listed = await client.get(f"{path}/notes", headers=BASIC)
    assert [n["note"] for n in listed.json()] == ["Left the depot."]

    trashed = await client.delete(path, headers=BASIC)
    assert trashed.json()["status"] == "trash"
    assert (await client.get("/wp-json/wc/v3/orders", headers=BASIC)).headers["x-wp-total"] == "0"
    assert (await client.delete(path, headers=BASIC, params={"force": "true"})).status_code == 200
    assert (await client.get(path, headers=BASIC)).status_code == 404
    wrong_method = await client.request("PATCH", "/wp-json/wc/v3/orders", headers=BASIC)
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (404, "rest_no_route")


@pytest.mark.anyio
async def test_tracking_items_under_every_ast_namespace(
    client: httpx.AsyncClient, db: StoreDB
) -> None:
    order = await _order(client)
    items = []
    for i, ns in enumerate(("wc-shipment-tracking/v3", "wc-ast/v3", "wc/v1", "wc/v2", "wc/v3")):
        resp = await client.post(
            f"/wp-json/{ns}/orders/{order['id']}/shipment-trackings",
            headers=BASIC,
            json={"tracking_provider": "acme", "tracking_number": f"PBNS{i}"},
        )
        assert resp.status_code == 201, (ns, resp.text)
        items.append(resp.json())
    base = f"/wp-json/wc-ast/v3/orders/{order['id']}/shipment-trackings"
    assert (await client.get(base, headers=BASIC)).json() == items
    one = await client.get(f"{base}/{items[1]['tracking_id']}", headers=BASIC)
    assert one.json() == items[1]
    gone = await client.delete(f"{base}/{items[1]['tracking_id']}", headers=BASIC)
    assert gone.status_code == 200 and gone.json() == items[1]
    assert db.shipment("PBNS1") is None
    again = await client.get(f"{base}/{items[1]['tracking_id']}", headers=BASIC)
    assert again.status_code == 404
    assert "acme" in (await client.get(f"{base}/providers", headers=BASIC)).json()["Sandbox"]


def _oauth_client(
    db: StoreDB, clock: ManualClock, auth: Authenticator
) -> tuple[httpx.AsyncClient, Plugin]:
    plugin = Plugin(
        PluginSpec(), {"acme": CarrierEndpoint("acme", "http://127.0.0.1:9")}, db, clock
    )
    app = create_store_app(db, plugin, clock, CREDS, authenticator=auth)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1"), plugin


@pytest.mark.anyio
async def test_oauth1_sha1_and_sha256_in_query_or_header(db: StoreDB, clock: ManualClock) -> None:
    keys = [ApiKey("ck_test_key", "cs_test_secret"), ApiKey("ck_ro", "cs_ro", "read")]
    skew = [0.0]
    auth = Authenticator(keys, now=lambda: time.time() + skew[0])
    http, plugin = _oauth_client(db, clock, auth)
    url = "http://127.0.0.1/wp-json/wc/v3/orders?per_page=5&status=any"

    def signed(
        method: str, key: str = "ck_test_key", secret: str = "cs_test_secret", **kw: Any
    ) -> tuple[str, dict[str, str]]:
        client = oauth1.Client(key, client_secret=secret, **kw)
        uri, headers, _ = client.sign(url, http_method=method)
        return uri, dict(headers)

    async with http:
        for kw in (
            {"signature_method": oauth1.SIGNATURE_HMAC_SHA1},
            {"signature_method": oauth1.SIGNATURE_HMAC_SHA256},
            {
                "signature_method": oauth1.SIGNATURE_HMAC_SHA1,
                "signature_type": oauth1.SIGNATURE_TYPE_QUERY,
            },
        ):
            uri, headers = signed("GET", **kw)
            resp = await http.get(uri, headers=headers)
            assert resp.status_code == 200, (kw, resp.text)
            replay = await http.get(uri, headers=headers)
            assert replay.json()["message"] == "Invalid nonce - nonce has already been used."
        uri, headers = signed("GET", secret="cs_other")
        assert "signature" in (await http.get(uri, headers=headers)).json()["message"]
        uri, headers = signed("GET", key="ck_nobody")
        assert (await http.get(uri, headers=headers)).json()[
            "message"
        ] == "Consumer key is invalid."
        plaintext = signed("GET", signature_method=oauth1.SIGNATURE_PLAINTEXT)
        assert (
            "method is invalid"
            in (await http.get(plaintext[0], headers=plaintext[1])).json()["message"]
        )
        partial = await http.get(
            "/wp-json/wc/v3/orders", params={"oauth_consumer_key": "ck_test_key"}
        )
        assert partial.json()["code"] == "woocommerce_rest_authentication_missing_parameter"
        skew[0] = 16 * 60  # the client's clock is 16 minutes behind the store's
        uri, headers = signed("GET")
        assert (await http.get(uri, headers=headers)).json()["message"] == "Invalid timestamp."
        skew[0] = 0.0

        uri, headers = signed("GET", key="ck_ro", secret="cs_ro")
        assert (await http.get(uri, headers=headers)).status_code == 200
        ro = base64.b64encode(b"ck_ro:cs_ro").decode()
        denied = await http.post(
            "/wp-json/wc/v3/orders", json=ORDER, headers={"Authorization": f"Basic {ro}"}
        )
        assert denied.status_code == 401
        assert denied.json()["message"] == "The API key provided does not have write permissions."
    await plugin.stop()


def test_nonce_cache_stays_bounded() -> None:
    cache = NonceCache(window_s=900, capacity=100)
    for i in range(1000):
        assert cache.use("ck", 1000 + i, f"n{i}", now=1000 + i)
    assert len(cache) <= 100
    assert not cache.use("ck", 1999, "n999", now=1999)
    assert cache.use("ck", 1998, "n999", now=1999)  # a nonce is unique per timestamp


def test_order_keys_use_every_letter_and_digit_at_every_position() -> None:
    from mocks.store.orders import new_order_key

    keys = [new_order_key()[len("wc_order_") :] for _ in range(4000)]
    assert len(set(keys)) == len(keys)
    for position in range(13):
        seen = {key[position] for key in keys}
        # 4,000 draws of 62 characters miss one with probability 62 × (61/62)^4000 ≈ 1e-26
        assert len(seen) == 62, (position, sorted(seen))


def _body(raw: bytes) -> Any:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    coro = json_body(request)
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    except BadRequest as exc:
        return exc.body()["code"]
    raise AssertionError("json_body waited")


def test_request_bodies_read_as_json_at_the_edges() -> None:
    assert _body(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
    assert _body(b'{"a": 1, "a": 2}') == {"a": 2}  # the last of a repeated key, as PHP
    assert _body(b"18446744073709551615") == 18446744073709551615  # the largest 64-bit
    big = _body(b"123456789012345678901234567890")  # beyond 64 bits: a float, as PHP reads it
    assert isinstance(big, float) and big == 1.2345678901234568e29
    assert math.isnan(_body(b"[NaN]")[0])  # not JSON, but read as before
    assert _body(b'"\\ud83d\\ude00"') == "\U0001f600"
    for bad in (b'{"a":', b"", b"\xff\xfe", b"[" * 100_000, b"{'a': 1}"):
        assert _body(bad) == "rest_invalid_json", bad


def _strptime_day(text: str) -> str:
    return datetime.strptime(text, "%Y-%m-%d").strftime("%Y-%m-%d")


def test_a_shipped_day_reads_as_strptime_reads_it() -> None:
    days = [
        (date0 + timedelta(days=k)).strftime("%Y-%m-%d")
        for date0 in (datetime(2023, 12, 25), datetime(2024, 2, 20), datetime(1999, 12, 30))
        for k in range(12)
    ]
    odd = [
        "2026-02-29",
        "2024-02-29",
        "2026-02-30",
        "2026-13-01",
        "2026-00-10",
        "2026-01-00",
        "2026-1-5",
        "2026-01-5",
        "0999-01-01",
        "1000-01-01",
        "9999-12-31",
        "10000-01-01",
        "2026-01-32",
        "2026/01/05",
        "20260105",
        "2026-01-0x",
        "٢٠٢٦-٠١-٠٥",
        " 2026-01-05",
        "",
    ]
    for text in days + odd:
        try:
            want: str | None = _strptime_day(text)
        except ValueError:
            want = None
        try:
            got: str | None = shipped_day(text)
        except ValueError:
            got = None
        assert got == want, text
