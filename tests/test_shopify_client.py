"""The official Python client, ``ShopifyAPI`` (PyPI), against the sandbox served over HTTPS on
loopback: only the shop's URL and the token differ from a real store.

The client's GraphQL call (``shopify.GraphQL().execute``) returns the raw JSON text and raises
urllib's ``HTTPError`` for a non-2xx; it has no retry or throttle handling of its own. So a
THROTTLED answer (HTTP 200) surfaces in the returned body, where its users check
``errors[0].extensions.code``, with ``extensions.cost.throttleStatus`` to compute the wait.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import shopify
import uvicorn

from mocks._server import base_url, listen, server_config
from mocks.shopify.build import ShopifyCredentials, build_shopify
from mocks.store.config import StoreConfig
from mocks.store.db import StoreDB
from mocks.tls import client_context, issue
from peakbench.adapters import shopify as sa
from peakbench.plan.clock import ClockSpec, WallClock

CREDS = ShopifyCredentials.derive("ck_client", "cs_client")
VERSION = "2025-07"


@contextmanager
def https_store(tmp: Path) -> Iterator[tuple[str, Path]]:
    """The Shopify sandbox (app bucket: 20 points, 1 point/s) under uvicorn with TLS."""
    issued = issue(tmp / "ca")
    sock = listen("127.0.0.1")
    base = base_url("127.0.0.1", sock.getsockname()[1], tls=True)
    db = StoreDB(tmp / "store.sqlite")
    clock = WallClock(ClockSpec(start_epoch=1_795_755_600.0, scale=1.0, wall_epoch=time.time()))
    plugin = {"shopify_restore_rate": 1, "shopify_bucket": 20}
    config = StoreConfig.from_json({"platform": "shopify", "plugin": plugin})
    client = httpx.AsyncClient(verify=client_context(issued.ca_cert), trust_env=False)
    world = build_shopify(config, db, clock, CREDS, client, store_url=base)
    server = uvicorn.Server(server_config(world.store_app, 0.2, tls=(issued.cert, issued.key)))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield base, issued.ca_cert
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
        db.close()


def _activate(base: str, token: str) -> None:
    session = shopify.Session("peakbench-sandbox.myshopify.com", VERSION, token)
    shopify.ShopifyResource.activate_session(session)
    shopify.ShopifyResource.set_site(f"{base}/admin/api/{VERSION}")  # the shop's URL


def _run(op: sa.Operation) -> dict[str, object]:
    text = shopify.GraphQL().execute(op.query, dict(op.variables))
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


def test_shopifyapi_runs_the_harness_documents_and_meets_throttled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with https_store(tmp_path) as (base, ca):
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the client's urllib trusts the local CA
        _activate(base, CREDS.access_token)
        try:
            shop = _run(sa.shop_info())
            assert shop["data"] == {
                "shop": {
                    "name": "peakbench-sandbox",
                    "myshopifyDomain": "peakbench-sandbox.myshopify.com",
                    "plan": {"partnerDevelopment": True},
                }
            }
            created = sa.parse_created_order(sa.parse_response(_run(sa.create_order(3))).data)
            fulfil = sa.fulfil(created.fulfillment_order_ids, "PB77", "acme")
            fid = sa.parse_fulfillment(sa.parse_response(_run(fulfil)).data)
            _run(sa.create_event(fid, "in_transit", "2026-11-27T07:00:00Z"))
            seen = sa.parse_tracking(sa.parse_response(_run(sa.read_order(created.id))).data)
            assert seen.display_status == "IN_TRANSIT" and seen.observation.shown == 1

            # the tracking app's token is on a 20-point bucket: two mutations, then THROTTLED
            _activate(base, CREDS.app_token)
            bodies = [
                _run(sa.create_event(fid, "in_transit", "2026-11-27T08:00:00Z")) for _ in range(3)
            ]
            assert "data" in bodies[0] and "data" in bodies[1]
            errors = bodies[2]["errors"]
            assert isinstance(errors, list) and errors[0]["extensions"]["code"] == "THROTTLED"
            assert sa.parse_response(bodies[2]).throttled  # the harness's parser agrees

            # a wrong token: the client raises urllib's HTTPError 401
            _activate(base, "shpat_wrong")
            with pytest.raises(urllib.error.HTTPError) as refused:
                _run(sa.shop_info())
            assert refused.value.code == 401
        finally:
            shopify.ShopifyResource.clear_session()
