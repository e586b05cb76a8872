"""One port, several vendor hosts: route each request to a carrier by its Host header.

A store whose plugin calls ``https://api.aftership.com`` reaches the mock through a hosts entry,
a proxy or a URL rewrite, but the Host header still says which vendor it meant; the router
hands the request to the carrier app claiming that host (``CarrierSpec.host_names``). A request
for a host nobody claims gets 421 Misdirected Request with a JSON error listing the hosts served;
``/__admin/`` goes to the fleet admin (:class:`mocks.admin.routes.FleetAdmin`).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Sequence

from mocks._asgi import Receive, Scope, Send, lifespan, send_response
from mocks.admin.routes import FleetAdmin
from mocks.app import CarrierApp

log = logging.getLogger("mocks.hosts")

MAX_REMEMBERED = 256
"""Raw Host values remembered with their carrier; more (a flood of junk hosts) start over."""


class HostRouter:
    """ASGI app dispatching to ``apps`` by Host header (``remote_admin``: see the admin)."""

    def __init__(self, apps: Sequence[CarrierApp], remote_admin: bool = False) -> None:
        if not apps:
            raise ValueError("a host router needs at least one carrier")
        self.by_name = {app.carrier.name: app for app in apps}
        self.by_host: dict[bytes, CarrierApp] = {}
        for app in apps:
            for host in app.carrier.host_names:
                self.by_host[host.encode()] = app
        self.admin = FleetAdmin(self.by_name, apps[0].clock, remote_admin)
        self._raw: dict[bytes, CarrierApp | None] = {}
        served = sorted(h.decode() for h in self.by_host)
        self._served = served

    def carrier_for(self, raw_host: bytes) -> CarrierApp | None:
        """The app claiming a raw Host value (``Api.AfterShip.com:443`` → aftership's)."""
        if raw_host in self._raw:
            return self._raw[raw_host]
        host = raw_host.strip().lower()
        colon = host.rfind(b":")
        if colon > host.rfind(b"]"):  # a port, not part of an IPv6 literal
            host = host[:colon]
        found = self.by_host.get(host.rstrip(b"."))
        if len(self._raw) >= MAX_REMEMBERED:
            self._raw.clear()
        self._raw[raw_host] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        raw = b""
        for name, value in scope["headers"]:
            if name == b"host":
                raw = value
                break
        app = self.carrier_for(raw) if raw else None
        path: str = scope["path"]
        if path.startswith("/__admin/"):
            try:
                await self.admin.handle(path[9:], scope, receive, send, app)
            except Exception:  # a bug must cost one request, never the server
                log.exception("unhandled error on admin %s %s", scope.get("method"), path)
                with contextlib.suppress(Exception):
                    await send_response(send, 500, b'{"error":{"code":"internal"}}')
        elif app is not None:
            await app(scope, receive, send)
        else:
            host = raw.decode("latin-1")[:200]
            served = ", ".join(self._served)
            message = f"no mock carrier serves host {host!r}; hosts served: {served}"
            body = json.dumps({"error": {"code": "misdirected", "message": message}}).encode()
            await send_response(send, 421, body)
