"""Build the Shopify sandbox (store + tracking app) from a :class:`StoreConfig`: the entry point
for composition roots (the virtual world, the store process, tests, the run path).

Usage (virtual time, one in-process transport)::

    creds = ShopifyCredentials.derive(consumer_key, consumer_secret)   # or from_json(...)
    world = build_shopify(config, db, clock, creds, client,
                          store_url="http://store.peakbench.test",
                          app_url="http://trackapp.peakbench.test")
    transport.add("store.peakbench.test", world.store_app)
    transport.add("trackapp.peakbench.test", world.app.asgi)
    # world.store_app's lifespan (or world.start()/world.stop()) runs the app's poller/writer

The harness (replay, probes) calls the store with ``X-Shopify-Access-Token:
creds.access_token`` at ``/admin/api/2025-07/graphql.json`` using the documents of
:mod:`peakbench.adapters.shopify`; ``Order.statusPageUrl`` (or
:func:`mocks.shopify.app.page_path` of the order's token, the ``orders.order_key`` column) is the
customer's page, which renders the markup ``peakbench.adapters.woocommerce.parse_tracking_page``
reads, so a view journals exactly like a WooCommerce tracking-page view. The app's own token
(``creds.app_token``) has the plan's bucket (``shopify_plan`` and overrides); the harness's token
has the plan's default bucket, as a second app on the same shop would.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from mocks.shopify.app import create_shopify_app, page_path
from mocks.shopify.bucket import Plan
from mocks.shopify.store import ShopifyStore
from mocks.shopify.trackapp import TrackingApp
from mocks.shopify.webhooks import Subscription, WebhookSender
from mocks.shopify.writer import app_client
from mocks.store.config import StoreConfig
from mocks.store.db import StoreDB
from peakbench.adapters.shopify import DEFAULT_VERSION
from peakbench.adapters.shopify_client import CostBucket
from peakbench.plan.clock import Clock

SHOP_DOMAIN = "peakbench-sandbox.myshopify.com"
APP_MOUNT = "/apps/tracking"
"""Where a single-process store (wall time) serves the tracking app."""


@dataclass(frozen=True, slots=True)
class ShopifyCredentials:
    """``access_token``: the harness's Admin API token; ``app_token``: the tracking app's;
    ``app_secret``: the app's client secret, which signs webhooks."""

    access_token: str = field(repr=False)
    app_token: str = field(repr=False)
    app_secret: str = field(repr=False)

    @classmethod
    def derive(cls, consumer_key: str, consumer_secret: str) -> ShopifyCredentials:
        """Tokens derived from the WooCommerce pair a run already has
        (``PEAKBENCH_STORE_CREDENTIALS``): HMAC-SHA256 of a label keyed with the secret."""

        def part(label: str) -> str:
            key = f"{consumer_key}:{consumer_secret}".encode()
            return hmac.new(key, label.encode(), hashlib.sha256).hexdigest()[:32]

        return cls("shpat_" + part("admin"), "shpat_" + part("app"), part("webhooks"))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShopifyCredentials:
        """``{"access_token", "app_token", "app_secret"}``, or a WooCommerce pair to derive
        them from; ValueError otherwise."""
        if all(isinstance(data.get(k), str) for k in ("access_token", "app_token", "app_secret")):
            return cls(data["access_token"], data["app_token"], data["app_secret"])
        if isinstance(data.get("consumer_key"), str) and isinstance(
            data.get("consumer_secret"), str
        ):
            return cls.derive(data["consumer_key"], data["consumer_secret"])
        raise ValueError(
            "shopify credentials need access_token, app_token and app_secret "
            "(or consumer_key and consumer_secret to derive them)"
        )


@dataclass(slots=True)
class ShopifySandbox:
    """What :func:`build_shopify` made."""

    store: ShopifyStore
    store_app: Starlette
    app: TrackingApp
    sender: WebhookSender
    journal: TextIO | None = None
    """The app's GraphQL journal (``journal=`` of :func:`build_shopify`), closed by ``stop``."""

    async def start(self) -> None:
        await self.app.start()

    async def stop(self) -> None:
        await self.sender.close()
        await self.app.stop()
        if self.journal is not None:
            self.journal.close()


def build_shopify(
    config: StoreConfig,
    db: StoreDB,
    clock: Clock,
    credentials: ShopifyCredentials,
    client: httpx.AsyncClient,
    *,
    store_url: str,
    app_url: str | None = None,
    lifespan: bool = True,
    journal: Path | None = None,
) -> ShopifySandbox:
    """The Shopify store and its tracking app over ``db``.

    ``store_url``: where the app reaches the store (and the base of ``statusPageUrl``);
    ``app_url``: where the store reaches the app (None: the app is mounted in the store app at
    :data:`APP_MOUNT`, one process). ``client`` carries every request between them and to
    the carriers. ``lifespan``: the store app's lifespan starts and stops the app.
    ``journal``: where the app journals each of its GraphQL calls (a run's
    ``journals/shopify-app.jsonl``; None: nowhere)."""
    spec = config.plugin
    plan = Plan.of(spec.shopify_plan)
    app_plan = Plan.of(spec.shopify_plan, spec.shopify_restore_rate, spec.shopify_bucket)
    base = store_url.rstrip("/")
    app_base = (app_url or base + APP_MOUNT).rstrip("/")
    sender = WebhookSender(
        client,
        clock,
        Subscription(app_base + "/webhooks", credentials.app_secret),
        shop_domain=SHOP_DOMAIN,
        api_version=DEFAULT_VERSION,
        timeout=spec.webhook_timeout,
    )
    store = ShopifyStore(
        db,
        clock,
        config.carriers,
        shop_domain=SHOP_DOMAIN,
        page_url=lambda row: base + page_path(row.order_key),
        on_fulfillment=sender.emit,
    )
    journal_file = journal.open("w", encoding="utf-8") if journal is not None else None
    writer = app_client(
        client,
        base,
        credentials.app_token,
        clock,
        CostBucket(app_plan.maximum, app_plan.restore_rate, clock.now()),
        timeout=spec.request_timeout,
        max_retries=20,
        journal=journal_file,
    )
    app = TrackingApp(
        spec,
        config.carriers,
        db,
        clock,
        secret=credentials.app_secret,
        shopify=writer,
        client=client,
        shop_domain=SHOP_DOMAIN,
    )
    sandbox: ShopifySandbox
    extra = [Mount(APP_MOUNT, app=app.asgi)] if app_url is None else []
    store_app = create_shopify_app(
        store,
        clock,
        {credentials.access_token: plan, credentials.app_token: app_plan},
        extra_routes=extra,
        on_start=(lambda: sandbox.start()) if lifespan else None,
        on_stop=(lambda: sandbox.stop()) if lifespan else None,
        stats=app.stats,
    )
    sandbox = ShopifySandbox(store, store_app, app, sender, journal_file)
    return sandbox
