"""Before a run against a real WooCommerce store: trust its CA, find its products, name its
logistics plugins, and explain a refused OAuth 1.0a signature. Used by ``target check`` and
``run``; the requests are the adapter's (:mod:`peakbench.adapters.woocommerce`)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

import httpx

from peakbench.adapters import woocommerce as wc
from peakbench.adapters.request import Request
from peakbench.config.profile import Profile
from peakbench.config.targets import WooCommerceTarget


def json_or_none(response: httpx.Response) -> Any:
    """The response's JSON, or ``None`` when its body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def http_detail(response: httpx.Response) -> str:
    """``HTTP 401 woocommerce_rest_cannot_view``: the status and WooCommerce's error code."""
    code = wc.error_code(json_or_none(response))
    return f"HTTP {response.status_code}" + (f" {code}" if code else "")


def tls_verify(target: WooCommerceTarget) -> bool | ssl.SSLContext:
    """httpx's ``verify`` for the store: off, the system's CAs, or those plus ``ca_file``."""
    if not target.verify_tls:
        return False
    if target.ca_file is None:
        return True
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=target.ca_file)
    return context


def oauth_hint(mode: str, base: str, home: str | None, code: str | None) -> str:
    """Why an OAuth 1.0a signature may be refused: WooCommerce checks it against the site's
    home URL, so ``target.url`` must be that URL exactly."""
    if mode != "oauth1":
        return ""
    where = f" ({home})" if home else " (see its /wp-json/ index, field home)"
    hint = f"; WooCommerce verifies OAuth 1.0a signatures against the site's home URL{where}"
    if home and home.rstrip("/") != base.rstrip("/"):
        hint += f", but the profile's target.url is {base}: set target.url: {home.rstrip('/')}"
    return hint


def resolve_products(send: Callable[[Request], httpx.Response], sku: str) -> list[int]:
    """The id of the product with SKU ``sku``, created (simple, $10) when the store has none."""
    response = send(wc.find_products(sku))
    if not response.is_success:
        raise ValueError(f"find products: {http_detail(response)}")
    found = wc.parse_product_ids(json_or_none(response))
    if found:
        return found[:1]
    response = send(wc.create_product(sku))
    if not response.is_success:
        raise ValueError(f"create product {sku}: {http_detail(response)}")
    created = wc.parse_product_ids(json_or_none(response))
    if not created:
        raise ValueError(f"create product {sku}: no id in the answer")
    return created


def with_products(profile: Profile, creds: wc.Credentials) -> Profile:
    """``profile`` with its WooCommerce target's ``products`` filled from the store (by
    ``product_sku``, created when missing) unless the profile lists them, and its ``plugins``
    from the store's system status; ValueError with one line when the store cannot be asked."""
    target = profile.target
    if not isinstance(target, WooCommerceTarget):
        return profile
    with httpx.Client(timeout=target.timeout, verify=tls_verify(target)) as http:

        def send(request: Request) -> httpx.Response:
            request = wc.authorize(request, target.url, creds, target.auth)
            body = dict(request.json) if request.json is not None else None
            return http.request(
                request.method, request.url(target.url), json=body, headers=request.headers
            )

        try:
            products = target.products or resolve_products(send, target.product_sku)
            plugins = list(target.plugins)
            status = send(wc.system_status())
            if not plugins and status.is_success:
                found = wc.logistics_plugins(wc.parse_active_plugins(json_or_none(status)))
                plugins = [f"{p.name} {p.version}" for p in found]
        except httpx.HTTPError as exc:
            raise ValueError(f"cannot reach {target.url} to find its products: {exc}") from None
    resolved = target.model_copy(update={"products": products, "plugins": plugins})
    return profile.model_copy(update={"target": resolved})
