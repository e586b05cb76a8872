"""Run the sandbox store as a process: a run's child, or alone (`peakbench store serve`).

Binds 127.0.0.1 port 0 itself, hands the socket to uvicorn, writes the ready file (if any)
atomically once listening, exits 0 on SIGTERM/SIGINT after stopping the plugin and closing the
database, and shuts down within about a second when its parent dies. :func:`serve_store` is what
both ``python -m mocks.store serve`` and ``peakbench store serve`` call; secrets are passed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import uvicorn
import uvloop

from mocks._server import base_url, listen, server_config, watch_parent, write_ready_file
from mocks.shopify.build import ShopifyCredentials, build_shopify
from mocks.store.app import create_store_app
from mocks.store.config import Credentials, StoreConfig
from mocks.store.db import StoreDB
from mocks.store.plugin import Plugin
from peakbench.plan.clock import ClockSpec, WallClock

GRACEFUL_S = 2
"""Wall seconds uvicorn waits for open connections at shutdown."""


async def _announce(
    server: uvicorn.Server,
    sock: socket.socket,
    ready_file: Path | None,
    host: str,
    on_ready: Callable[[dict[str, Any]], None] | None,
) -> None:
    """Write the ready file and tell ``on_ready`` once uvicorn listens, then end the server if
    the parent dies."""
    while not server.started:
        if server.should_exit:
            return
        await asyncio.sleep(0.01)
    port = sock.getsockname()[1]
    ready = {"pid": os.getpid(), "port": port, "base_url": base_url(host, port)}
    if ready_file is not None:
        write_ready_file(ready_file, ready)
    if on_ready is not None:
        on_ready(ready)

    def orphaned() -> None:  # the orchestrator is gone
        server.should_exit = True

    await watch_parent(orphaned)


async def _serve(
    config: StoreConfig,
    clock_spec: ClockSpec,
    db: StoreDB,
    ready_file: Path | None,
    host: str,
    credentials: Credentials,
    on_ready: Callable[[dict[str, Any]], None] | None,
    shopify: ShopifyCredentials | None,
    app_journal: Path | None,
) -> bool:
    clock = WallClock(clock_spec)
    sock = listen(host)
    app: Any
    if shopify is not None:  # the Shopify store with its tracking app mounted in it
        app = build_shopify(
            config,
            db,
            clock,
            shopify,
            httpx.AsyncClient(trust_env=False),
            store_url=base_url(host, sock.getsockname()[1]),
            journal=app_journal,
        ).store_app
    else:
        app = create_store_app(
            db, Plugin(config.plugin, config.carriers, db, clock), clock, credentials
        )
    server = uvicorn.Server(server_config(app, GRACEFUL_S))

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    # uvicorn swaps in its own handlers while serving and re-raises the signal after shutdown;
    # ours then receives it, so the process ends by returning (exit 0), not by the signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    watcher = asyncio.create_task(_announce(server, sock, ready_file, host, on_ready))
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        sock.close()
    return bool(server.started)


def serve_store(
    config: StoreConfig | Mapping[str, Any],
    clock_spec: ClockSpec,
    db_path: Path,
    ready_file: Path | None,
    host: str = "127.0.0.1",
    credentials: Credentials | Mapping[str, Any] | None = None,
    carrier_keys: Mapping[str, Sequence[str]] | None = None,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
    app_journal: Path | None = None,
) -> int:
    """Serve the sandbox store until SIGTERM/SIGINT or the parent's death; returns an exit code.

    ``config`` is ``store.json``'s content (or a parsed :class:`StoreConfig`); with ``platform:
    shopify`` it serves the Shopify store (:mod:`mocks.shopify`, its tracking app under
    ``/apps/tracking``; its tokens are ``credentials``' ``access_token``, ``app_token`` and
    ``app_secret``, read by :meth:`ShopifyCredentials.from_json`, which derives them from a bare
    pair); ``credentials`` the consumer key/secret the REST API accepts; ``app_journal``: where
    the Shopify app journals its GraphQL calls; ``carrier_keys`` the API keys per carrier (the
    plugin uses the first); ``ready_file`` and ``on_ready`` get ``{"pid", "port", "base_url"}``
    once it listens. Returns 0 after a clean shutdown, 1 when the server never started.
    """
    cfg = config if isinstance(config, StoreConfig) else StoreConfig.from_json(config)
    cfg = cfg.with_keys(carrier_keys or {})
    for name, carrier in cfg.carriers.items():
        if carrier.api_key is None:  # the run goes on: every call will be refused with 401
            print(f"store: no API key for carrier {name!r}", file=sys.stderr)
    if credentials is None:
        raise ValueError("the store needs credentials (PEAKBENCH_STORE_CREDENTIALS)")
    creds = (
        credentials if isinstance(credentials, Credentials) else Credentials.from_json(credentials)
    )
    shopify = None
    if cfg.platform == "shopify":
        pair = {"consumer_key": creds.consumer_key, "consumer_secret": creds.consumer_secret}
        shopify = ShopifyCredentials.from_json(
            pair if isinstance(credentials, Credentials) else credentials
        )
    db = StoreDB(db_path)
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            started = runner.run(
                _serve(cfg, clock_spec, db, ready_file, host, creds, on_ready, shopify, app_journal)
            )
    finally:
        db.close()
    return 0 if started else 1
