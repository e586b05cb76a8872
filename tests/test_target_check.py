"""``peakbench target check``: the sandbox end to end (a real store process), real-store kinds
against respx with response shapes from the vendors' docs, refusals and redaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import yaml
from rich.console import Console
from test_adapter_shopify import EVENT, FULFILLED, ORDER_CREATED, ORDER_READ, cost

from peakbench.cli.main import main
from peakbench.config.profile import Profile
from peakbench.run.target import run_check

KEY, SECRET = "ck_5a1e2d3c4b5a69788796", "cs_9f1b2c3d4e5f60718293aa"
TOKEN = "shpat_feedc0ffee0123456789"
WOO = "https://staging.shop.test"
ENV = {"PEAKBENCH_WC_KEY": KEY, "PEAKBENCH_WC_SECRET": SECRET, "PEAKBENCH_SHOPIFY_TOKEN": TOKEN}


def _check(profile: Profile, env: dict[str, str] = ENV, **kw: Any) -> tuple[int, str]:
    out = StringIO()
    code = run_check(profile, env, Console(file=out, width=140), **kw)
    return code, out.getvalue()


def _woo(make_profile: Callable[..., Profile], **target: Any) -> Profile:
    return make_profile(
        target={"kind": "woocommerce", "url": WOO, "staging": True, "auth": "basic", **target}
    )


def test_sandbox_target_check_starts_a_store_and_passes(
    make_profile: Callable[..., Profile],
) -> None:
    code, out = _check(make_profile())
    assert code == 0, out
    for step in ("store started", "reachable", "order created", "shipped", "read back"):
        assert f"✓ {step}" in out, out
    assert "status=pending" in out and "target ok" in out
    assert "cs_" not in out and "ck_" not in out  # the generated credentials stay hidden


# WooCommerce REST API docs (woocommerce.github.io/woocommerce-rest-api-docs/): an order,
# the 401 body; Shipment Tracking docs (woocommerce.com/document/shipment-tracking/): the item.
ORDER = {"id": 727, "number": "727", "order_key": "wc_order_58d2d042d1d", "status": "processing"}
DENIED = {
    "code": "woocommerce_rest_cannot_view",
    "message": "Sorry, you cannot list resources.",
    "data": {"status": 401},
}
ITEM = {
    "tracking_id": "ac3c4d0a6a13fa0e0fc4a6f0c6c3ad09",
    "tracking_provider": "generic",
    "tracking_number": "PBD0",
    "date_shipped": "2026-11-27",
}
PAGE = (
    '<p class="tracking-status" data-status="in_transit">In transit</p>'
    '<li class="tracking-event" data-occurred="2026-11-28T03:10:00Z">x</li>'
)


def _woo_routes(router: respx.MockRouter, key: str = KEY) -> dict[str, respx.Route]:
    def authed(ok: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
        def answer(request: httpx.Request) -> httpx.Response:
            header = httpx.BasicAuth(key, SECRET)._auth_header  # what a valid client sends
            good = request.headers.get("authorization") == header
            return ok if good else httpx.Response(401, json=DENIED)

        return answer

    return {
        "root": router.get("/wp-json/").respond(200, json={"name": "Shop", "namespaces": []}),
        "list": router.get("/wp-json/wc/v3/orders").mock(
            side_effect=authed(httpx.Response(200, json=[ORDER], headers={"X-WP-Total": "1"}))
        ),
        "create": router.post("/wp-json/wc/v3/orders").mock(
            side_effect=authed(httpx.Response(201, json=ORDER))
        ),
        "ship": router.post("/wp-json/wc-shipment-tracking/v3/orders/727/shipment-trackings").mock(
            side_effect=authed(httpx.Response(201, json=ITEM))
        ),
        "page": router.get("/order-tracking/727", params={"key": "wc_order_58d2d042d1d"}).respond(
            200, text=PAGE
        ),
        "delete": router.delete("/wp-json/wc/v3/orders/727").mock(
            side_effect=authed(httpx.Response(200, json=ORDER))
        ),
        "plugins": router.get("/wp-json/wc/v3/system_status").mock(
            side_effect=authed(httpx.Response(200, json=STATUS))
        ),
        "products": router.get("/wp-json/wc/v3/products", params={"sku": "peakbench-test"}).mock(
            side_effect=authed(httpx.Response(200, json=[{"id": 31, "sku": "peakbench-test"}]))
        ),
    }


STATUS = {
    "active_plugins": [
        {"plugin": "woocommerce/woocommerce.php", "name": "WooCommerce", "version": "7.8.2"},
        {
            "plugin": "woo-advanced-shipment-tracking/woocommerce-advanced-shipment-tracking.php",
            "name": "Advanced Shipment Tracking for WooCommerce",
            "version": "3.9.2",
        },
    ]
}


def test_woocommerce_target_check_passes_and_cleans_up(
    make_profile: Callable[..., Profile],
) -> None:
    with respx.mock(base_url=WOO) as router:
        routes = _woo_routes(router)
        code, out = _check(_woo(make_profile))
    assert code == 0, out
    assert all(r.called for r in routes.values()), out
    assert "status=in_transit, 1 event(s)" in out and "order 727 deleted" in out
    assert routes["delete"].calls.last.request.url.params["force"] == "true"
    assert "Advanced Shipment Tracking for WooCommerce 3.9.2" in out
    assert "WooCommerce 7.8.2" not in out  # not a logistics plugin
    created = json.loads(routes["create"].calls.last.request.content)
    assert {i["product_id"] for i in created["line_items"]} == {31}
    assert SECRET not in out and KEY not in out


def test_refused_credentials_fail_with_exit_3_and_no_secret(
    make_profile: Callable[..., Profile],
) -> None:
    with respx.mock(base_url=WOO, assert_all_called=False) as router:
        routes = _woo_routes(router, key="ck_other")
        code, out = _check(_woo(make_profile))
    assert code == 3
    assert "basic auth refused: HTTP 401 woocommerce_rest_cannot_view" in out
    assert not routes["create"].called and SECRET not in out


def test_query_key_auth_is_redacted_in_errors(make_profile: Callable[..., Profile]) -> None:
    with respx.mock(base_url=WOO) as router:
        router.get("/wp-json/").mock(
            side_effect=httpx.ConnectError(
                f"boom {WOO}/wp-json/?consumer_key={KEY}&consumer_secret={SECRET}"
            )
        )
        code, out = _check(_woo(make_profile, auth="query"))
    assert code == 3 and "✗ reachable" in out and "ConnectError" in out
    assert SECRET not in out and KEY not in out


def test_a_host_not_marked_as_staging_is_refused(
    make_profile: Callable[..., Profile], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _check(make_profile(target={"kind": "woocommerce", "url": WOO}))
    assert code == 2 and "not mark it as staging" in out
    # staging: true but a production-looking host: refused unless --allow-production
    profile = make_profile(
        target={"kind": "woocommerce", "url": "https://shop.example.com", "staging": True}
    )
    code, out = _check(profile)
    assert code == 2 and "looks like a production host" in out
    with respx.mock(base_url="https://shop.example.com") as router:
        _woo_routes(router)
        assert _check(profile, allow_production=True)[0] == 0
    # through the command line: one line, exit 2, nothing sent
    path = tmp_path / "prod.yaml"
    data = profile.model_dump(mode="json")
    path.write_text(yaml.safe_dump(data))
    with respx.mock(assert_all_called=False) as router:
        assert main(["target", "check", str(path)]) == 2
        assert not router.calls
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("error")]
    assert len(lines) == 1 and "shop.example.com" in lines[0]


def test_missing_env_credentials_are_refused(make_profile: Callable[..., Profile]) -> None:
    code, out = _check(_woo(make_profile, secret_env="MY_WC_SECRET"), env={"PEAKBENCH_WC_KEY": KEY})
    assert code == 2 and "set the environment variable MY_WC_SECRET" in out
    shop = make_profile(
        target={"kind": "shopify", "shop": "peak-dev.myshopify.com", "staging": True}
    )
    code, out = _check(shop, env={})
    assert code == 2 and "PEAKBENCH_SHOPIFY_TOKEN" in out


def _shopify(dev: bool) -> Callable[[httpx.Request], httpx.Response]:
    """Answers by operation with the documented shapes (see tests/test_adapter_shopify.py)."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Shopify-Access-Token"] == TOKEN
        query = json.loads(request.content)["query"]
        number = None
        if "fulfillmentCreate(" in query:
            number = json.loads(request.content)["variables"]["fulfillment"]["trackingInfo"][
                "number"
            ]
            answer.number = number  # type: ignore[attr-defined]
        if "shop {" in query:
            plan = {"partnerDevelopment": dev}
            body = {
                "data": {"shop": {"name": "Peak Dev", "plan": plan}},
                "extensions": cost(2, 2, 998),
            }
        elif "orderCreate(" in query:
            body = ORDER_CREATED
        elif "fulfillmentCreate(" in query:
            body = FULFILLED
        elif "fulfillmentEventCreate(" in query:
            body = EVENT
        elif "orderDelete(" in query:
            body = {
                "data": {
                    "orderDelete": {"deletedId": "gid://shopify/Order/1073459963", "userErrors": []}
                },
                "extensions": cost(10, 10, 950),
            }
        else:
            body = json.loads(json.dumps(ORDER_READ))
            tracked = body["data"]["order"]["fulfillments"][0]["trackingInfo"][0]
            tracked["number"] = getattr(answer, "number", "?")
        return httpx.Response(200, json=body)

    return answer


def test_shopify_target_check_passes_on_a_development_store(
    make_profile: Callable[..., Profile],
) -> None:
    profile = make_profile(
        target={"kind": "shopify", "shop": "peak-dev.myshopify.com", "staging": True}
    )
    url = "https://peak-dev.myshopify.com/admin/api/2025-07/graphql.json"
    with respx.mock:
        route = respx.post(url).mock(side_effect=_shopify(dev=True))
        code, out = _check(profile, sleep=lambda s: None)
    assert code == 0, out
    assert "development store: yes" in out and "order #1001 deleted" in out
    assert "displayStatus=IN_TRANSIT" in out and TOKEN not in out
    assert route.call_count == 7  # reachable, shop, create, fulfil, event, read, delete


def test_shopify_store_that_is_not_a_development_store_fails_unless_allowed(
    make_profile: Callable[..., Profile],
) -> None:
    profile = make_profile(
        target={"kind": "shopify", "shop": "peak-dev.myshopify.com", "staging": True}
    )
    url = "https://peak-dev.myshopify.com/admin/api/2025-07/graphql.json"
    with respx.mock:
        route = respx.post(url).mock(side_effect=_shopify(dev=False))
        code, out = _check(profile, sleep=lambda s: None)
        assert code == 3 and "not a development store" in out
        assert route.call_count == 2  # nothing was created
        assert _check(profile, sleep=lambda s: None, allow_production=True)[0] == 0
