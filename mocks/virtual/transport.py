"""In-process HTTP between the world's parts: an httpx transport that routes by host to ASGI
apps, with timeouts in loop time.

The plugin's and the pushers' httpx clients are the ones they use over sockets; only their
transport changes. httpx's ASGI transport does not enforce timeouts (the network backend does),
so this one does, on the loop's clock: a carrier that hangs times the request out after the
client's read timeout of store time, as a socket would. An app that drops the connection (a
reset fault) or fails reaches the client as a transport error, as over a socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

Asgi = Any
"""An ASGI application callable."""


async def call(
    app: Asgi,
    method: str,
    path: str,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    host: str = "localhost",
    client: tuple[str, int] = ("127.0.0.1", 1),
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One HTTP exchange with an ASGI app, in-process: (status, headers, body).

    What a server gives an app: the request body in one message, then ``http.disconnect``
    once the response is complete. An exception from the app propagates (the caller decides
    what a hung-up connection means)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", host.encode("latin-1")), *(headers or ())],
        "server": (host, 80),
        "client": client,
    }
    sent_body = False
    done = asyncio.Event()
    status = 500
    out_headers: list[tuple[bytes, bytes]] = []
    parts: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            out_headers = list(message.get("headers") or ())
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            if chunk:
                parts.append(chunk)
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    done.set()
    return status, out_headers, b"".join(parts)


class InProcess(httpx.AsyncBaseTransport):
    """Routes each request to the ASGI app of its URL's host (``name.peakbench.test``)."""

    def __init__(self, apps: Mapping[str, Asgi]):
        self._routes = dict(apps)

    def add(self, host: str, app: Asgi) -> None:
        """Serve ``app`` at ``host`` from now on."""
        self._routes[host] = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        app = self._routes.get(host)
        if app is None:
            raise httpx.ConnectError(f"no server at {host}", request=request)
        timeout = request.extensions.get("timeout", {}).get("read")
        exchange = call(
            app,
            request.method,
            request.url.path,
            request.url.query,
            [(k.lower(), v) for k, v in request.headers.raw if k.lower() != b"host"],
            await request.aread(),
            host,
        )
        try:
            status, headers, body = await (
                exchange if timeout is None else asyncio.wait_for(exchange, timeout)
            )
            return httpx.Response(status, headers=headers, content=body, request=request)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out (store time)", request=request) from None
        except httpx.HTTPError:
            raise
        except Exception as exc:  # the app hung up or failed: what a socket client would see
            raise httpx.RemoteProtocolError(
                f"server disconnected: {exc!r}", request=request
            ) from exc


def url(host: str) -> str:
    """The base URL of an in-process server."""
    return f"http://{host}"
