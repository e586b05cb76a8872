"""What a real store needs from a profile and the adapter: the real date, its own products, extra
ship fields, a trusted CA, and an OAuth error that names the home URL."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from peakbench.adapters import woocommerce as wc
from peakbench.config.loader import ProfileError, parse_profile
from peakbench.config.profile import Profile
from peakbench.run.preflight import oauth_hint


def test_clock_start_now_and_the_default_at_scale_one(make_profile: Callable[..., Profile]) -> None:
    now = make_profile(clock={"start": "now"})
    assert abs(now.start_epoch - time.time()) < 5
    text = "name: t\ncarriers: [{name: generic}]\nclock: {scale: %s, duration: 1h}\n"
    real = parse_profile(text % 1, "t.yaml")
    assert abs(real.start_epoch - time.time()) < 5  # scale 1 without a start: the real date
    sandbox = parse_profile(text % 1200, "t.yaml")
    assert sandbox.clock.start.isoformat() == "2026-11-27T00:00:00-05:00"


def test_orders_buy_the_profiles_products_and_ship_with_extra_fields() -> None:
    body = wc.create_order(3, 7, [41, 42]).json or {}
    assert {i["product_id"] for i in body["line_items"]} <= {41, 42}
    assert wc.create_order(3, 7).json == wc.create_order(3, 7, wc.SANDBOX_PRODUCTS).json
    ship = wc.ship(9, "usps", "9400X", None, "/wp-json/wc-ast/v3", {"status_shipped": 1})
    assert ship.path == "/wp-json/wc-ast/v3/orders/9/shipment-trackings"
    assert ship.json == {
        "status_shipped": 1,
        "tracking_provider": "usps",
        "tracking_number": "9400X",
    }


def test_oauth_refusal_names_the_home_url() -> None:
    hint = oauth_hint("oauth1", "http://127.0.0.1:8080", "http://localhost:8080", None)
    assert "home URL (http://localhost:8080)" in hint
    assert "set target.url: http://localhost:8080" in hint
    assert oauth_hint("basic", "https://a.test", "https://a.test", None) == ""


def test_a_missing_ca_file_is_a_configuration_error(
    make_profile: Callable[..., Profile], tmp_path: Path
) -> None:
    target = {"kind": "woocommerce", "url": "https://shop.test", "staging": True}
    with pytest.raises(ProfileError, match=r"target\.ca_file: no CA file"):
        make_profile(target={**target, "ca_file": str(tmp_path / "nope.pem")})
