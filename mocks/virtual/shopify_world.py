"""The Shopify half of the virtual world: the Shopify store and its tracking app on the world's
in-process transport (``platform: shopify`` in ``store.json``), and the Shopify replay.

The store answers at ``store.peakbench.test`` (where the WooCommerce store would), the app at
``trackapp.peakbench.test``; webhooks, write-backs, carrier calls and aggregator pushes all go
through the one transport, so everything runs in store time. Credentials: the run's
``PEAKBENCH_STORE_CREDENTIALS``, read by :meth:`ShopifyCredentials.from_json` (the one way every
composition root gets them): the orchestrator puts the harness's ``access_token``, the app's
``app_token`` and its webhook secret ``app_secret`` there, so the world and the Locust user
agree; a bare consumer pair (a store run alone) derives them.

The replay (:class:`~mocks.virtual.shopify_replay.ShopifyScheduleReplay`) reads
``RUN/shopify-replay.json``; with ``orders: precreate`` the world's clock starts at ``-lead``
(:func:`clock_start`) so the pre-creation ends before run second 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import httpx

from mocks.shopify.build import ShopifyCredentials, ShopifySandbox, build_shopify
from mocks.store.config import CarrierEndpoint, StoreConfig
from mocks.store.db import StoreDB
from mocks.virtual.shopify_replay import ShopifyScheduleReplay, world_lead
from mocks.virtual.transport import InProcess, url
from peakbench.adapters.shopify_pacer import ShopifySettings
from peakbench.plan.clock import Clock

APP_HOST = "trackapp.peakbench.test"
SETTINGS_FILE = "shopify-replay.json"
APP_JOURNAL = "shopify-app.jsonl"
"""The tracking app's GraphQL calls, one line each (``journals/``; the summary's
``shopify.app``)."""


def load_settings(root: Path) -> ShopifySettings:
    """``RUN/shopify-replay.json`` (ValueError/OSError: a bad run folder)."""
    return ShopifySettings.load(root / SETTINGS_FILE)


def clock_start(root: Path, orders: int) -> float:
    """The run second the world's clock starts at: ``-lead`` (the file's ``lead``, else what
    pre-creating ``orders`` orders needs), 0 for ``orders: create``."""
    data = json.loads((root / SETTINGS_FILE).read_text(encoding="utf-8"))
    settings = ShopifySettings.from_json(data)
    if settings.orders != "precreate":
        return 0.0
    lead = data.get("lead")
    return -float(lead) if isinstance(lead, int | float) else -world_lead(settings, orders)


def build_virtual_shopify(
    store: StoreConfig,
    endpoints: Mapping[str, CarrierEndpoint],
    db: StoreDB,
    clock: Clock,
    credentials: ShopifyCredentials,
    transport: InProcess,
    client: httpx.AsyncClient,
    store_host: str,
    journal_dir: Path | None = None,
) -> ShopifySandbox:
    """Build the store and the app for ``endpoints`` (the fleet as the world serves it) and add
    both to ``transport``; the caller starts and stops them (``start``/``stop``). The app
    journals its GraphQL calls in ``journal_dir`` (:data:`APP_JOURNAL`) when given."""
    config = StoreConfig(plugin=store.plugin, carriers=endpoints, platform="shopify")
    sandbox = build_shopify(
        config,
        db,
        clock,
        credentials,
        client,
        store_url=url(store_host),
        app_url=url(APP_HOST),
        lifespan=False,
        journal=journal_dir / APP_JOURNAL if journal_dir is not None else None,
    )
    transport.add(store_host, sandbox.store_app)
    transport.add(APP_HOST, sandbox.app.asgi)
    return sandbox


def shopify_replay(
    root: Path,
    clock: Clock,
    sandbox: ShopifySandbox,
    credentials: ShopifyCredentials,
    scheduled: dict[str, int],
    segment_bytes: int,
) -> ShopifyScheduleReplay:
    """The replay of ``root``'s schedule against ``sandbox``'s store with the harness's token."""
    return ShopifyScheduleReplay(
        clock,
        sandbox.store_app,
        credentials.access_token,
        load_settings(root),
        root / "journals" / "replay.jsonl",
        root / "progress.json",
        scheduled,
        seed=0,
        segment_bytes=segment_bytes,
    )
