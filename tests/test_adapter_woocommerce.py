"""The WooCommerce adapter's pure functions, on real-shaped JSON and HTML."""

from __future__ import annotations

import base64
import json
import time

import pytest

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
