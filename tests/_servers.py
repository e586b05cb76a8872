"""A real server for tests: an ASGI app under uvicorn on 127.0.0.1, a free port, in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import uvicorn

from mocks._server import listen, server_config


@contextmanager
def serving(app: Any, start_timeout_s: float = 10.0) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (``http://127.0.0.1:<port>``)."""
    sock = listen("127.0.0.1")
    server = uvicorn.Server(server_config(app, grace_s=0.5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


@contextmanager
def serving_store(folder: Path, consumer_key: str, consumer_secret: str) -> Iterator[str]:
    """The sandbox store (its database in ``folder``, a plugin polling hourly a carrier that is
    never reached) served until the block ends; yields its base URL."""
    from mocks.store.app import create_store_app
    from mocks.store.config import CarrierEndpoint, Credentials
    from mocks.store.db import StoreDB
    from mocks.store.plugin import Plugin
    from peakbench.config.store import PluginSpec
    from peakbench.plan.clock import ClockSpec, WallClock

    db = StoreDB(folder / "store.sqlite")
    clock = WallClock(ClockSpec(start_epoch=1_795_755_600.0, scale=60.0, wall_epoch=time.time()))
    carriers = {"acme": CarrierEndpoint("acme", "http://127.0.0.1:9", api_key="k")}
    plugin = Plugin(PluginSpec(interval=3600.0), carriers, db, clock)
    app = create_store_app(db, plugin, clock, Credentials(consumer_key, consumer_secret))
    try:
        with serving(app) as url:
            yield url
    finally:
        db.close()


class QuietHandler(BaseHTTPRequestHandler):
    """A keep-alive ``http.server`` handler for small fake servers: no request log, and
    ``reply`` sends a whole response (Nagle off: headers and body go out in two writes)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *_args: Any) -> None:
        pass

    def reply(self, status: int, body: str, ctype: str = "application/json") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
