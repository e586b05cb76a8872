"""The Shopify half of the virtual world: the Shopify store and its tracking app on the world's
in-process transport (``platform: shopify`` in ``store.json``).

The store answers at ``store.peakbench.test`` (where the WooCommerce store would), the app at
``trackapp.peakbench.test``; webhooks, write-backs, carrier calls and aggregator pushes all go
through the one transport, so everything runs in store time. Credentials: the run's
``PEAKBENCH_STORE_CREDENTIALS`` pair, from which :meth:`ShopifyCredentials.derive` makes the
harness's access token, the app's token and the app's webhook secret.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from mocks.shopify.build import ShopifyCredentials, ShopifySandbox, build_shopify
from mocks.store.config import CarrierEndpoint, Credentials, StoreConfig
from mocks.store.db import StoreDB
from mocks.virtual.transport import InProcess, url
from peakbench.plan.clock import Clock

APP_HOST = "trackapp.peakbench.test"


def build_virtual_shopify(
    store: StoreConfig,
    endpoints: Mapping[str, CarrierEndpoint],
    db: StoreDB,
    clock: Clock,
    credentials: Credentials,
    transport: InProcess,
    client: httpx.AsyncClient,
    store_host: str,
) -> ShopifySandbox:
    """Build the store and the app for ``endpoints`` (the fleet as the world serves it) and add
    both to ``transport``; the caller starts and stops them (``start``/``stop``)."""
    config = StoreConfig(plugin=store.plugin, carriers=endpoints, platform="shopify")
    creds = ShopifyCredentials.derive(credentials.consumer_key, credentials.consumer_secret)
    sandbox = build_shopify(
        config,
        db,
        clock,
        creds,
        client,
        store_url=url(store_host),
        app_url=url(APP_HOST),
        lifespan=False,
    )
    transport.add(store_host, sandbox.store_app)
    transport.add(APP_HOST, sandbox.app.asgi)
    return sandbox
