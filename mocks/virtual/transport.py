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


class InProcess(httpx.AsyncBaseTransport):
    """Routes each request to the ASGI app of its URL's host (``name.peakbench.test``)."""

    def __init__(self, apps: Mapping[str, Asgi], client: tuple[str, int] = ("127.0.0.1", 1)):
        self._routes = {
            host: httpx.ASGITransport(app=app, client=client) for host, app in apps.items()
        }

    def add(self, host: str, app: Asgi, client: tuple[str, int] = ("127.0.0.1", 1)) -> None:
        """Serve ``app`` at ``host`` from now on."""
        self._routes[host] = httpx.ASGITransport(app=app, client=client)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route = self._routes.get(request.url.host)
        if route is None:
            raise httpx.ConnectError(f"no server at {request.url.host}", request=request)
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            if timeout is None:
                return await route.handle_async_request(request)
            return await asyncio.wait_for(route.handle_async_request(request), timeout)
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
