"""``peakbench target check``: prove a target store works before a run.

Reachable, authenticated, one test order created, shipped with a tracking number, read back
through the profile's readout, then deleted; each step printed with its outcome and timing.
Real stores must be marked ``staging: true`` (and look like staging, or be a Shopify
development store) unless ``--allow-production``; credentials come from the environment
variables the profile names and never appear in output. For the sandbox target the check starts
a sandbox store of its own and checks it the same way.

Exit codes (DESIGN.md): 0 every step passed, 2 refused or misconfigured, 3 a step failed.
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from peakbench.adapters import shopify as sh
from peakbench.adapters import woocommerce as wc
from peakbench.adapters.readout import needs_credentials, observe, readout_request
from peakbench.adapters.request import Request
from peakbench.adapters.shopify_client import CostBucket, ShopifyClient
from peakbench.config.profile import Profile
from peakbench.config.store import SandboxTarget
from peakbench.config.targets import (
    HtmlReadout,
    ShopifyTarget,
    WooCommerceTarget,
)
from peakbench.plan.clock import ClockSpec, WallClock
from peakbench.plan.timeline import make_tracking_number
from peakbench.run.checker import (
    EXIT_OK,
    EXIT_REFUSED,
    Checker,
    Secrets,
    TargetRefused,
    _StepFailed,
    exit_code,
    refusal,
    shopify_token,
    woocommerce_credentials,
)
from peakbench.run.preflight import (
    http_detail,
    json_or_none,
    oauth_hint,
    resolve_products,
    tls_verify,
)

# -- WooCommerce (and the sandbox) ----------------------------------------------------------------


def check_woocommerce(
    checker: Checker,
    http: httpx.Client,
    target: WooCommerceTarget,
    creds: wc.Credentials,
    carrier: str,
    tracking_number: str,
    seed: int = 0,
    plugins: list[wc.Plugin] | None = None,
) -> None:
    """The steps against a WooCommerce REST API (``http`` has the store's base URL).

    ``plugins``: when given, the store's active plugins (from WooCommerce's system status) are
    read into it."""
    base = target.url

    def send(request: Request, api: bool = True) -> httpx.Response:
        if api:
            request = wc.authorize(request, base, creds, target.auth)
        body = dict(request.json) if request.json is not None else None
        return http.request(request.method, request.url(base), json=body, headers=request.headers)

    order: wc.OrderHandle | None = None
    home: str | None = None
    try:
        with checker.step("reachable") as s:
            response = send(Request("GET", "/wp-json/"), api=False)
            s["detail"] = f"{http_detail(response)} from {base}/wp-json/"
            index = json_or_none(response)
            home = index.get("home") if isinstance(index, dict) else None
        with checker.step("authenticated") as s:
            response = send(wc.list_orders())
            mode = wc.resolve_auth(target.auth, base)
            if response.is_success:
                s["detail"] = f"{mode} auth accepted (order list readable)"
            elif response.status_code in (401, 403):
                s["outcome"], s["detail"] = "fail", f"{mode} auth refused: {http_detail(response)}"
                s["detail"] += oauth_hint(mode, base, home, wc.error_code(json_or_none(response)))
            else:
                s["outcome"] = "warn"
                s["detail"] = f"order list answered {http_detail(response)}; the next step tells"
        if plugins is not None:
            with checker.step("plugins") as s:
                response = send(wc.system_status())
                if not response.is_success:
                    s["outcome"] = "warn"
                    s["detail"] = f"system status unreadable: {http_detail(response)}"
                else:
                    plugins.extend(wc.parse_active_plugins(json_or_none(response)))
                    s["detail"] = wc.describe_plugins(plugins)
        with checker.step("products") as s:
            products = list(target.products)
            if products:
                s["detail"] = f"product ids {products} from the profile"
            else:
                products = resolve_products(send, target.product_sku)
                s["detail"] = f"product id {products[0]} (SKU {target.product_sku})"
        with checker.step("order created") as s:
            response = send(wc.create_order(0, seed, products))
            if not response.is_success:
                raise ValueError(f"create order: {http_detail(response)}")
            order = wc.parse_order(json_or_none(response) or {})
            s["detail"] = f"order {order.id} ({http_detail(response)})"
            total = (json_or_none(response) or {}).get("total")
            if total is not None and float(total or 0) <= 0:
                s["outcome"] = "warn"
                s["detail"] += f": total {total}, the products are not priced"
        with checker.step("shipped") as s:
            if target.ship_via == "meta":
                request = wc.ship_with_meta(
                    order.id, target.tracking_meta_key, carrier, tracking_number, None
                )
            else:
                request = wc.ship(
                    order.id,
                    carrier,
                    tracking_number,
                    None,
                    target.trackings_namespace,
                    target.ship_fields,
                )
            response = send(request)
            if not response.is_success:
                raise ValueError(f"ship: {http_detail(response)}")
            s["detail"] = f"{carrier} {tracking_number} via {target.ship_via}"
        with checker.step("read back") as s:
            request = readout_request(target.readout, order.id, order.order_key)
            response = send(request, api=needs_credentials(target.readout))
            if not response.is_success:
                raise ValueError(f"readout {request.path}: {http_detail(response)}")
            seen = observe(target.readout, response.text)
            s["detail"] = (
                f"{target.readout.kind} readout: status={seen.status or '—'}, "
                f"{seen.shown} event(s) shown"
            )
            if seen.status is None and seen.shown == 0:
                s["outcome"] = "warn"
                s["detail"] += " (nothing yet: expected before a carrier update; check the path)"
    except _StepFailed:
        pass
    if order is not None:
        with suppress(_StepFailed), checker.step("cleaned up") as s:
            response = send(wc.delete_order(order.id))
            if response.is_success:
                s["detail"] = f"order {order.id} deleted"
            else:
                s["outcome"] = "warn"
                s["detail"] = f"could not delete order {order.id} ({http_detail(response)})"


# -- Shopify --------------------------------------------------------------------------------------


def check_shopify(
    checker: Checker,
    http: httpx.Client,
    target: ShopifyTarget,
    token: str,
    tracking_number: str,
    carrier: str,
    allow_production: bool,
    *,
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """The steps against the Admin GraphQL API, under the cost bucket."""
    base = sh.endpoint(target.shop, target.api_version)

    def send(request: Request) -> tuple[int, Any]:
        body = dict(request.json) if request.json is not None else None
        response = http.request(
            request.method, request.url(base), json=body, headers=request.headers
        )
        return response.status_code, json_or_none(response)

    bucket = CostBucket(target.bucket_size, target.restore_rate, now())
    client = ShopifyClient(
        send, token, version=target.api_version, bucket=bucket, now=now, sleep=sleep
    )
    order: sh.ShopifyOrder | None = None
    try:
        with checker.step("reachable") as s:
            status, _ = send(sh.request(sh.shop_info(), token, target.api_version))
            s["detail"] = f"HTTP {status} from {base} (Admin API {target.api_version})"
        with checker.step("authenticated") as s:
            shop = (client.execute(sh.shop_info()).data or {}).get("shop") or {}
            dev = bool((shop.get("plan") or {}).get("partnerDevelopment"))
            s["detail"] = f"shop {shop.get('name')!r}, development store: {'yes' if dev else 'no'}"
            if not dev and not allow_production:
                s["outcome"] = "fail"
                s["detail"] += " — not a development store; pass --allow-production to go on"
        with checker.step("order created") as s:
            order = sh.parse_created_order(client.execute(sh.create_order(0)).data)
            if not order.fulfillment_order_ids:
                raise ValueError(f"order {order.name} has no fulfillment order to fulfil")
            s["detail"] = f"order {order.name} ({order.id})"
        with checker.step("shipped") as s:
            op = sh.fulfil(order.fulfillment_order_ids, tracking_number, carrier)
            fulfillment = sh.parse_fulfillment(client.execute(op).data)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            sh.parse_event(client.execute(sh.create_event(fulfillment, "in_transit", stamp)).data)
            s["detail"] = f"{carrier} {tracking_number}, event IN_TRANSIT written"
        with checker.step("read back") as s:
            seen = sh.parse_tracking(
                client.execute(sh.read_order(order.id, target.events_first)).data
            )
            s["detail"] = (
                f"displayStatus={seen.display_status or '—'}, "
                f"{seen.observation.shown} event(s), numbers {', '.join(seen.numbers) or '—'}"
            )
            if tracking_number not in seen.numbers:
                s["outcome"] = "fail"
                s["detail"] += f" — {tracking_number} not shown"
    except _StepFailed:
        pass
    if order is not None:
        with suppress(_StepFailed), checker.step("cleaned up") as s:
            try:
                sh.parse_deleted(client.execute(sh.delete_order(order.id)).data)
                s["detail"] = f"order {order.name} deleted"
            except sh.ShopifyError as exc:
                s["outcome"], s["detail"] = "warn", f"delete order {order.name} by hand: {exc}"
    if client.waited:
        checker.console.print(f"  cost bucket: waited {client.waited:.2f} s in total")


# -- the sandbox ----------------------------------------------------------------------------------


def check_sandbox(checker: Checker, profile: Profile, target: SandboxTarget) -> None:
    """Start a sandbox store (no carriers behind it) and check it like a WooCommerce store."""
    from peakbench.run.children import Child, ChildError

    creds = wc.Credentials(f"ck_{secrets.token_hex(20)}", f"cs_{secrets.token_hex(20)}")
    checker.secrets = Secrets(creds.consumer_key, creds.consumer_secret)
    carrier = profile.carriers[0].name
    spec = ClockSpec(profile.start_epoch, profile.clock.scale, time.time())
    with tempfile.TemporaryDirectory(prefix="peakbench-check-") as tmp:
        root = Path(tmp)
        store_cfg = {
            "plugin": target.plugin.model_dump(mode="json"),
            # nothing listens on the discard port: the plugin's polls fail fast and are ignored
            "carriers": {
                c.name: {"base_url": "http://127.0.0.1:9", "personality": "generic"}
                for c in profile.carriers
            },
        }
        (root / "store.json").write_text(json.dumps(store_cfg))
        (root / "clock.json").write_text(json.dumps(spec.to_json()))
        env = {
            "PEAKBENCH_STORE_CREDENTIALS": json.dumps(
                {"consumer_key": creds.consumer_key, "consumer_secret": creds.consumer_secret}
            ),
            "PEAKBENCH_CARRIER_KEYS": json.dumps({c.name: ["pk_check"] for c in profile.carriers}),
        }
        argv = [sys.executable, "-m", "mocks.store", "serve", "--config", str(root / "store.json")]
        argv += ["--clock", str(root / "clock.json"), "--db", str(root / "store.sqlite")]
        argv += ["--ready-file", str(root / "store.ready.json")]
        child = Child("store", argv, root / "store.log", env, root / "store.ready.json")
        began = time.perf_counter()
        child.start()
        try:
            try:
                ready = child.wait_ready(20.0)
            except ChildError as exc:
                checker.record("store started", "fail", str(exc), time.perf_counter() - began)
                return
            base = str(ready["base_url"])
            checker.record(
                "store started", "ok", f"sandbox store at {base}", time.perf_counter() - began
            )
            woo = WooCommerceTarget(
                url=base,
                staging=True,
                auth="basic",
                tracking_provider=carrier,
                readout=HtmlReadout(),
                products=list(wc.SANDBOX_PRODUCTS),
            )
            epoch = spec.start_epoch + WallClock(spec).now()
            number = make_tracking_number(epoch, "domestic", secrets.randbelow(10**6))
            with httpx.Client(timeout=10.0, trust_env=False) as http:
                check_woocommerce(checker, http, woo, creds, carrier, number, profile.seed)
        finally:
            child.stop()


# -- entry ----------------------------------------------------------------------------------------


def run_check(
    profile: Profile,
    env: Mapping[str, str],
    console: Console,
    allow_production: bool = False,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Check the profile's target; print each step; return the exit code (0, 2 or 3).

    ``transport`` replaces the network for tests (respx, httpx.MockTransport).
    """
    target = profile.target
    console.print(f"[bold]peakbench target check[/] {profile.name}: {target.kind} target")
    if isinstance(target, SandboxTarget):
        checker = Checker(console, Secrets())
        check_sandbox(checker, profile, target)
        return _verdict(console, checker)
    reason = refusal(target, allow_production)
    if reason:
        console.print(f"error: {reason}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_REFUSED
    carrier = profile.carriers[0].name
    number = make_tracking_number(time.time(), "domestic", secrets.randbelow(10**6))
    try:
        if isinstance(target, WooCommerceTarget):
            creds = woocommerce_credentials(target, env)
            checker = Checker(console, Secrets(creds.consumer_key, creds.consumer_secret))
            provider = target.tracking_provider or carrier
            with httpx.Client(
                timeout=target.timeout, verify=tls_verify(target), transport=transport
            ) as http:
                check_woocommerce(
                    checker, http, target, creds, provider, number, profile.seed, plugins=[]
                )
        else:
            token = shopify_token(target, env)
            checker = Checker(console, Secrets(token))
            with httpx.Client(timeout=target.timeout, transport=transport) as http:
                check_shopify(
                    checker, http, target, token, number, carrier, allow_production, sleep=sleep
                )
    except TargetRefused as exc:
        console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_REFUSED
    return _verdict(console, checker)


def _verdict(console: Console, checker: Checker) -> int:
    code = exit_code(checker.steps)
    total = sum(s.seconds for s in checker.steps)
    if code == EXIT_OK:
        console.print(f"[green]target ok[/] ({len(checker.steps)} steps, {total:.2f} s)")
    else:
        failed = next(s for s in checker.steps if s.outcome == "fail")
        console.print(f"[red]target check failed[/] at '{failed.name}' ({total:.2f} s)")
    return code
