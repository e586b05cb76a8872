"""The WooCommerce adapter's pure functions, on real-shaped JSON and HTML."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint

from peakbench.adapters import woocommerce as wc
from peakbench.adapters.readout import observe, read_html, read_json, readout_request
from peakbench.adapters.request import query_string
from peakbench.adapters.woocommerce import (
    Credentials,
    Observation,
    OrderHandle,
    auth_header,
    create_order,
    credentials_from_json,
    parse_order,
    parse_tracking_page,
    ship,
    tracking_page,
)
from peakbench.config.targets import HtmlReadout, JsonReadout

ORDER_RESPONSE = """{
  "id": 727, "parent_id": 0, "number": "727", "order_key": "wc_order_58d2d042d1d",
  "created_via": "rest-api", "version": "7.8.2", "status": "processing", "currency": "USD",
  "date_created": "2026-11-27T09:15:00", "date_created_gmt": "2026-11-27T14:15:00",
  "discount_total": "0.00", "shipping_total": "5.00", "total": "44.00", "customer_id": 0,
  "billing": {"first_name": "Ava", "last_name": "Smith", "address_1": "12 Market Street",
              "city": "Austin", "state": "TX", "postcode": "78701", "country": "US",
              "email": "customer7@example.com", "phone": "555-0100"},
  "shipping": {"first_name": "Ava", "last_name": "Smith", "address_1": "12 Market Street",
               "city": "Austin", "state": "TX", "postcode": "78701", "country": "US"},
  "line_items": [{"id": 315, "name": "Woo Single #1", "product_id": 101, "quantity": 2,
                  "subtotal": "39.00", "total": "39.00", "sku": "", "price": 19.5}],
  "meta_data": [{"id": 13106, "key": "_peakbench_ref", "value": "7"}],
  "set_paid": true
}"""

# What the sandbox store renders (newest first), with a theme's usual clutter around it.
PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8"><title>Order #727 &ndash; Shop</title></head>
<body class="woocommerce-page">
<nav><ul class="menu"><li class="menu-item">Home</li><li class="menu-item">Shop</li></ul></nav>
<section class="tracking">
  <h2>Tracking 1Z999AA10123456784</h2>
  <p class="tracking-status" data-status="out_for_delivery">Out for delivery</p>
  <ol class="tracking-events">
    <li class="tracking-event" data-status="out_for_delivery"
        data-occurred="2026-11-29T07:02:00-05:00">Out for delivery &mdash; Newark, NJ</li>
    <li data-occurred='2026-11-28T22:40:00-05:00' data-status='in_transit' class='tracking-event'>
      Arrived at destination facility</li>
    <LI   CLASS="tracking-event odd"   DATA-STATUS="in_transit"
          DATA-OCCURRED="2026-11-28T03:10:00-08:00"  >Departed origin facility</LI>
    <li class="tracking-event" data-status="info_received"
	data-occurred="2026-11-27T09:30:00-08:00">
      Shipping label created</li>
  </ol>
  <p class="tracking-note">Updated a moment ago</p>
</section>
</body></html>"""


def test_parse_tracking_page_counts_events_and_reads_the_newest() -> None:
    seen = parse_tracking_page(PAGE)
    assert seen == Observation(
        shown=4, newest_occurred="2026-11-29T07:02:00-05:00", status="out_for_delivery"
    )


def test_parse_tracking_page_compares_offsets_not_text() -> None:
    # 06:00Z is later than 09:00+08:00 (01:00Z) although it sorts lower as text.
    page = (
        '<p class="tracking-status" data-status="in_transit"></p>'
        '<li class="tracking-event" data-occurred="2026-11-28T09:00:00+08:00"></li>'
        '<li class="tracking-event" data-occurred="2026-11-28T06:00:00Z"></li>'
    )
    assert parse_tracking_page(page).newest_occurred == "2026-11-28T06:00:00Z"


def test_parse_tracking_page_before_any_event() -> None:
    page = '<div><p data-status="pending" class="tracking-status">No updates yet</p><ol></ol></div>'
    assert parse_tracking_page(page) == Observation(0, None, "pending")


def test_parse_tracking_page_ignores_lookalikes() -> None:
    page = (
        '<p class="tracking-status" data-status="delivered">Delivered</p>'
        '<li class="tracking-events">not an event</li>'
        '<li class="my-tracking-event">not an event</li>'
        '<div class="tracking-event">not an li</div>'
        '<link class="tracking-event"><li class="tracking-event" data-occurred="'
        '2026-11-28T06:00:00&#43;01:00" data-status="delivered">x</li>'
    )
    assert parse_tracking_page(page) == Observation(1, "2026-11-28T06:00:00+01:00", "delivered")


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><h1>Log in</h1><form></form></body></html>",
        '<li class="tracking-event" data-occurred="2026-11-28T06:00:00Z"></li>',
        '<p class="tracking-status" data-status="a"></p><p class="tracking-status"></p>',
        "",
    ],
)
def test_parse_tracking_page_rejects_pages_without_one_status(page: str) -> None:
    with pytest.raises(ValueError, match="not a tracking page"):
        parse_tracking_page(page)


def test_parse_tracking_page_is_fast() -> None:
    events = "".join(
        f'<li class="tracking-event" data-status="in_transit" data-occurred="2026-11-{i:02d}'
        f'T10:00:00-05:00"><span class="city">City {i}</span> Scan</li>'
        for i in range(1, 29)
    )
    filler = '<div class="product"><p class="price">$19.50</p><li class="menu">x</li></div>' * 100
    page = f'<html>{filler}<p class="tracking-status" data-status="in_transit">T</p>{events}</html>'
    began = time.perf_counter()
    for _ in range(200):
        seen = parse_tracking_page(page)
    per_page = (time.perf_counter() - began) / 200
    assert seen.shown == 28 and seen.newest_occurred == "2026-11-28T10:00:00-05:00"
    assert per_page < 0.002  # ~0.2 ms on the project's machines; a customer view must stay cheap


def test_parse_order_reads_id_and_key_of_a_woocommerce_order() -> None:
    assert parse_order(json.loads(ORDER_RESPONSE)) == OrderHandle(727, "wc_order_58d2d042d1d")


@pytest.mark.parametrize(
    "body",
    [
        {"order_key": "wc_order_x"},
        {"id": "727", "order_key": "wc_order_x"},
        {"id": True, "order_key": "wc_order_x"},
        {"id": 727},
        {"id": 727, "order_key": ""},
        {"code": "woocommerce_rest_cannot_create", "message": "Sorry", "data": {"status": 401}},
    ],
)
def test_parse_order_rejects_bodies_without_a_handle(body: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse_order(body)


def test_create_order_is_a_plausible_repeatable_paid_order() -> None:
    request = create_order(7, seed=3)
    assert (request.method, request.path) == ("POST", "/wp-json/wc/v3/orders")
    assert request == create_order(7, seed=3)
    assert create_order(8, seed=3).json != request.json
    body = request.json
    assert body is not None
    assert body["set_paid"] is True
    assert body["billing"]["country"] and body["shipping"]["country"] == body["billing"]["country"]
    assert "@" in body["billing"]["email"]
    assert 1 <= len(body["line_items"]) <= 2
    assert all(li["quantity"] >= 1 and li["product_id"] > 0 for li in body["line_items"])
    assert {"key": "_peakbench_ref", "value": "7"} in body["meta_data"]
    json.dumps(body)  # serialisable as is
    sizes = {len(create_order(ref).json["line_items"]) for ref in range(50)}  # type: ignore[index]
    assert sizes == {1, 2}


def test_ship_posts_a_shipment_tracking_item() -> None:
    request = ship(727, "acme", "PBD0000000000005", "2026-11-27")
    assert request.method == "POST"
    assert request.path == "/wp-json/wc-shipment-tracking/v3/orders/727/shipment-trackings"
    assert request.json == {
        "tracking_provider": "acme",
        "tracking_number": "PBD0000000000005",
        "date_shipped": "2026-11-27",
    }
    assert "date_shipped" not in (ship(727, "acme", "N").json or {})


def test_tracking_page_is_authorised_by_the_order_key_only() -> None:
    request = tracking_page(727, "wc_order_58d2d042d1d")
    assert (request.method, request.path) == ("GET", "/order-tracking/727")
    assert request.params == {"key": "wc_order_58d2d042d1d"}
    assert "Authorization" not in request.headers and request.json is None


def test_auth_header_is_http_basic() -> None:
    header = auth_header("ck_abc", "cs_xyz")
    scheme, token = header["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token).decode() == "ck_abc:cs_xyz"


def test_credentials_from_json_never_leaks_the_secret() -> None:
    creds = credentials_from_json('{"consumer_key": "ck_abc", "consumer_secret": "cs_xyz"}')
    assert creds == Credentials("ck_abc", "cs_xyz")
    assert "cs_xyz" not in repr(creds)
    for text in ("cs_xyz", '{"consumer_secret": "cs_xyz"}', '["ck", "cs_xyz"]'):
        with pytest.raises(ValueError) as info:
            credentials_from_json(text)
        assert "cs_xyz" not in str(info.value)


# -- auth modes, readouts (issue 4) ---------------------------------------------------------------

KEY, SECRET = "ck_4f1e2d3c4b5a69788796", "cs_0a1b2c3d4e5f60718293"
CREDS = Credentials(KEY, SECRET)


class _Validator(RequestValidator):
    """oauthlib's server side, configured like WooCommerce's: consumer key + secret, no token."""

    enforce_ssl = False
    allowed_signature_methods = ("HMAC-SHA256",)
    client_key_length = (10, 64)
    nonce_length = (8, 64)
    safe_characters = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
    dummy_client = "ck_dummy_dummy_dummy"

    def validate_client_key(self, client_key: str, request: object) -> bool:
        return client_key == KEY

    def get_client_secret(self, client_key: str, request: object) -> str:
        return SECRET if client_key == KEY else "dummy"

    def validate_timestamp_and_nonce(self, *args: object, **kwargs: object) -> bool:
        return True


def _oauth_valid(url: str, method: str) -> bool:
    ok, _ = SignatureOnlyEndpoint(_Validator()).validate_request(url, http_method=method)
    return bool(ok)


def test_oauth1_signature_verifies_with_oauthlibs_server_side() -> None:
    request = wc.authorize(wc.list_orders(), "http://shop.local", CREDS, "oauth1")
    url = request.url("http://shop.local")
    assert _oauth_valid(url, "GET")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["oauth_signature_method"] == "HMAC-SHA256" and query["per_page"] == "1"
    assert SECRET not in url and "Authorization" not in request.headers
    assert not _oauth_valid(url.replace("per_page=1", "per_page=2"), "GET")  # tampered query
    assert not _oauth_valid(url, "POST")  # the method is signed too
    forged = wc.authorize(wc.list_orders(), "http://shop.local", Credentials(KEY, "cs_x"), "oauth1")
    assert not _oauth_valid(forged.url("http://shop.local"), "GET")


def test_oauth1_matches_the_official_clients_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    from woocommerce.oauth import OAuth

    nonce = "4f5e6d7c8b9a0f1e2d3c4b5a69788796"
    monkeypatch.setattr(OAuth, "generate_nonce", staticmethod(lambda: nonce))
    base = "http://shop.local"
    official = OAuth(
        f"{base}/wp-json/wc/v3/orders/727?force=true",
        KEY,
        SECRET,
        version="wc/v3",
        method="DELETE",
        oauth_timestamp=1795755600,
    ).get_oauth_url()
    ours = wc.authorize(
        wc.delete_order(727), base, CREDS, "oauth1", timestamp="1795755600", nonce=nonce
    )
    theirs = dict(parse_qsl(urlsplit(official).query))
    assert dict(ours.params) == theirs


def test_auto_auth_is_basic_over_https_and_oauth_over_http() -> None:
    https = wc.authorize(wc.list_orders(), "https://staging.shop.com", CREDS)
    assert https.headers == wc.auth_header(KEY, SECRET) and "oauth_signature" not in https.params
    http = wc.authorize(wc.list_orders(), "http://localhost:8080", CREDS)
    assert "oauth_signature" in http.params and not http.headers
    query = wc.authorize(wc.list_orders(), "https://staging.shop.com", CREDS, "query")
    assert query.params == {"per_page": "1", "consumer_key": KEY, "consumer_secret": SECRET}


def _woo_auth_ok(request: httpx.Request) -> bool:
    """What WooCommerce's WC_REST_Authentication accepts, one scheme after the other."""
    if request.headers.get("authorization") == wc.auth_header(KEY, SECRET)["Authorization"]:
        return True
    query = dict(parse_qsl(request.url.query.decode()))
    if query.get("consumer_key") == KEY and query.get("consumer_secret") == SECRET:
        return True
    return "oauth_signature" in query and _oauth_valid(str(request.url), request.method)


@pytest.mark.parametrize(
    ("mode", "base"),
    [
        ("basic", "https://staging.shop.com"),
        ("query", "https://staging.shop.com"),
        ("oauth1", "http://staging.shop.com"),
    ],
)
def test_each_auth_mode_creates_an_order_through_httpx(mode: str, base: str) -> None:
    def create(request: httpx.Request) -> httpx.Response:
        if not _woo_auth_ok(request):
            # WooCommerce REST API docs, "Authentication": the 401 error shape
            body = {
                "code": "woocommerce_rest_cannot_create",
                "message": "Sorry, you are not allowed to create resources.",
                "data": {"status": 401},
            }
            return httpx.Response(401, json=body)
        assert json.loads(request.content)["set_paid"] is True
        return httpx.Response(201, text=ORDER_RESPONSE)

    with respx.mock(base_url=base) as router:
        router.post("/wp-json/wc/v3/orders").mock(side_effect=create)
        request = wc.authorize(wc.create_order(7), base, CREDS, mode)  # type: ignore[arg-type]
        good = httpx.request(
            request.method,
            request.url(base),
            json=dict(request.json or {}),
            headers=dict(request.headers),
        )
        bad_req = wc.authorize(wc.create_order(7), base, Credentials(KEY, "cs_no"), mode)  # type: ignore[arg-type]
        bad = httpx.request(
            bad_req.method,
            bad_req.url(base),
            json=dict(bad_req.json or {}),
            headers=dict(bad_req.headers),
        )
    assert good.status_code == 201 and wc.parse_order(good.json()).id == 727
    assert bad.status_code == 401 and wc.error_code(bad.json()) == "woocommerce_rest_cannot_create"


def test_ship_routes_for_ast_and_order_meta() -> None:
    ast = wc.ship(727, "usps", "9400", None, "/wp-json/wc-ast/v3")
    assert ast.path == "/wp-json/wc-ast/v3/orders/727/shipment-trackings"
    meta = wc.ship_with_meta(727, "_my_tracking", "usps", "9400", "2026-11-27")
    assert (meta.method, meta.path) == ("PUT", "/wp-json/wc/v3/orders/727")
    assert meta.json == {
        "status": "completed",
        "meta_data": [
            {
                "key": "_my_tracking",
                "value": {
                    "tracking_provider": "usps",
                    "tracking_number": "9400",
                    "date_shipped": "2026-11-27",
                },
            }
        ],
    }
    # Shipment Tracking docs (woocommerce.com/document/shipment-tracking/, "REST API"): the
    # created item as returned by POST …/shipment-trackings
    item = {
        "tracking_id": "ac3c4d0a6a13fa0e0fc4a6f0c6c3ad09",
        "tracking_provider": "Fedex",
        "tracking_link": "https://www.fedex.com/Tracking?tracknumbers=12345678",
        "tracking_number": "12345678",
        "date_shipped": "2016-09-15",
    }
    assert wc.parse_tracking_item(item) == "ac3c4d0a6a13fa0e0fc4a6f0c6c3ad09"
    with pytest.raises(ValueError):
        wc.parse_tracking_item({"code": "rest_no_route"})


# An order as WooCommerce REST v3 returns it (GET /orders/<id>), with TrackShip's status meta and
# the Shipment Tracking items meta (carriers.md §2: `_wc_shipment_tracking_items`,
# `ts_shipment_status`), and a plugin that keeps its events as JSON text in its own meta key.
ORDER_WITH_META = {
    "id": 727,
    "status": "completed",
    "meta_data": [
        {
            "id": 1,
            "key": "_wc_shipment_tracking_items",
            "value": [
                {"tracking_provider": "usps", "tracking_number": "9400111", "date_shipped": "1795"}
            ],
        },
        {
            "id": 2,
            "key": "ts_shipment_status",
            "value": [{"status": "out_for_delivery", "status_date": "2026-11-29 07:02:00"}],
        },
        {
            "id": 3,
            "key": "_acme_events",
            "value": json.dumps(
                [
                    {"status": "in_transit", "time": "2026-11-28T03:10:00-08:00"},
                    {"status": "out_for_delivery", "time": "2026-11-29T07:02:00-05:00"},
                    {"status": "info_received", "time": "2026-11-27T09:30:00-08:00"},
                ]
            ),
        },
    ],
}


def test_json_readout_of_trackship_status_meta() -> None:
    spec = JsonReadout(
        status="meta_data[key=ts_shipment_status].value[0].status",
        newest="meta_data[key=ts_shipment_status].value[0].status_date",
    )
    assert read_json(spec, ORDER_WITH_META) == Observation(
        0, "2026-11-29 07:02:00", "out_for_delivery"
    )


def test_json_readout_of_a_plugins_own_meta_holding_json_text() -> None:
    spec = JsonReadout(
        status="meta_data[key=_acme_events].value[-1].status",
        events="meta_data[key=_acme_events].value",
        event_time="time",
    )
    seen = read_json(spec, ORDER_WITH_META)
    assert seen == Observation(3, "2026-11-29T07:02:00-05:00", "info_received")


def test_json_readout_of_shipment_tracking_items_and_missing_paths() -> None:
    items = [{"tracking_id": "a1", "tracking_number": "9400111", "tracking_provider": "usps"}]
    spec = JsonReadout(
        route="/wp-json/wc-shipment-tracking/v3/orders/{order_id}/shipment-trackings",
        status="[0].tracking_provider",
        events="",
    )
    assert readout_request(spec, 727).path == spec.route.format(order_id=727)
    assert read_json(spec, items).status == "usps"
    assert read_json(JsonReadout(status="meta_data[key=nope].value"), ORDER_WITH_META) == (
        Observation(0, None, None)
    )
    with pytest.raises(ValueError, match="bad JSON path"):
        read_json(JsonReadout(status="a..b[x"), {})
    with pytest.raises(ValueError, match="not answer JSON"):
        observe(JsonReadout(status="a"), "<html>")


def test_html_readout_with_the_default_selectors_matches_the_sandbox_parser() -> None:
    assert read_html(HtmlReadout(), PAGE) == parse_tracking_page(PAGE)
    request = readout_request(HtmlReadout(), 727, "wc_order_x")
    assert request.url("https://s.test") == "https://s.test/order-tracking/727?key=wc_order_x"


def test_html_readout_with_a_themes_own_markup() -> None:
    page = """<div class="ast-tracking"><span class="ts4wc_status">In Transit</span>
      <ul class="history"><li><time datetime="2026-11-28T03:10:00Z">Nov 28</time> Departed</li>
      <li><time datetime="2026-11-28T22:40:00Z">Nov 28</time> Arrived</li></ul></div>"""
    spec = HtmlReadout(
        page="/my-account/view-order/{order_id}/",
        status_selector=".ts4wc_status",
        status_attribute="text",
        event_selector="ul.history time",
        event_time_attribute="datetime",
    )
    assert read_html(spec, page) == Observation(2, "2026-11-28T22:40:00Z", "In Transit")
    with pytest.raises(ValueError, match="not a tracking page"):
        read_html(spec, "<html><form class='login'></form></html>")


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=24), max_size=4))
def test_query_string_is_urlencode(params: dict[str, str]) -> None:
    assert query_string(params) == urlencode(params)


def test_query_string_of_a_tracking_page_key() -> None:
    assert query_string({"key": "wc_order_AbC-1.2~"}) == "key=wc_order_AbC-1.2~"
    assert query_string({"key": "a b&c"}) == "key=a+b%26c"
