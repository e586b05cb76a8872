"""The ASGI app of one mock carrier: the composition of personality, behaviours and journal.

Plain ASGI, no framework: this is the hot path a benchmark compares with WireMock. Per request:
read the body (capped) → authenticate → parse → ban check → quotas → answer → journal →
injected latency (slept on the store clock) → send. Nothing here keeps per-parcel state; the
answer is a pure function of the tracking number and the store time of arrival.

Admin routes (no auth, not journaled): ``GET /__admin/health`` → ``{"ok": true, "carrier"}``,
``GET /__admin/counters`` → ``{"carrier", "t", "requests", "ok", "throttled", "blocked",
"errors", "dropped"}``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from mocks.behaviours.pipeline import build_pipeline
from mocks.carriers import make_personality
from mocks.carriers.base import Personality, Reply
from mocks.journal import BLOCKED, ERROR, OK, THROTTLED, Journal
from peakbench.clock import Clock
from peakbench.config.fleet import CarrierSpec, FleetSpec

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 1 << 20
"""Largest request body read, in bytes (1 MiB); larger ones get 413."""

ANON = "anon"
_TOO_LARGE = object()
_DISCONNECTED = object()
_JSON = b"application/json"

log = logging.getLogger("mocks.app")


class CarrierApp:
    """ASGI callable serving one carrier (see the module docstring for the request path)."""

    def __init__(
        self,
        carrier: CarrierSpec,
        fleet: FleetSpec,
        clock: Clock,
        keys: Sequence[str],
        journal: Journal,
        personality: Personality | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        self.carrier = carrier
        self.clock = clock
        self.journal = journal
        self.max_body = max_body
        self.personality = personality or make_personality(carrier, fleet.timeline_model(carrier))
        self.pipeline = build_pipeline(carrier.behaviours, f"{fleet.seed}:{carrier.name}")
        self.labels = {key: f"k{i}" for i, key in enumerate(keys) if key}
        """Accepted API key → its journal label; empty: any non-empty key is ``k0``."""
        self._start_epoch = clock.spec.start_epoch
        self._content_type = (b"content-type", self.personality.content_type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            try:
                await self._http(scope, receive, send)
            except Exception:  # a bug must cost one request, never the server
                log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
                with contextlib.suppress(Exception):  # the response may have started already
                    await _send(send, 500, b'{"error":{"code":"internal","message":"bug"}}', ())
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path.startswith("/__admin/"):
            await self._admin(path, send)
            return
        personality = self.personality
        t = self.clock.now()
        epoch = self._start_epoch + t
        route, argument = personality.match(scope["method"], path)
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        body = b""
        too_large = False
        if personality.reads_body(route):
            # read before authenticating: OAuth token requests carry their credentials here
            read = await _read_body(receive, self.max_body)
            if read is _DISCONNECTED:
                return
            too_large = read is _TOO_LARGE
            if isinstance(read, bytes):
                body = read
        credential = personality.credential(scope["headers"], body, epoch)
        label = (self.labels.get(credential) if self.labels else "k0") if credential else None
        outcome = ERROR
        reply: Reply
        if label is None:
            reply = personality.unauthorized(personality.parse(route, argument, b""))
        elif too_large:
            reply = personality.too_large()
        else:
            ask = personality.parse(route, argument, body)
            refusal = self.pipeline.admit(route, label, ip, t, epoch)
            if refusal is None:
                reply = personality.respond(ask, epoch)
                outcome = OK if reply.status < 300 else ERROR
            elif refusal.kind == "quota":
                reply = personality.throttled(
                    ask, refusal.retry_after, refusal.cause, epoch, refusal.limit
                )
                outcome = THROTTLED
            else:
                reply = personality.blocked(ask, refusal.status, refusal.retry_after)
                outcome = BLOCKED
        delay = self.pipeline.delay(route, t) if self.pipeline.latencies else 0.0
        self.journal.record(
            t, route, label or ANON, ip, reply.numbers, reply.status, outcome, reply.cause, delay
        )
        if delay > 0:
            await self.clock.sleep(delay)
        await _send(send, reply.status, reply.body, reply.headers, self._content_type)

    async def _admin(self, path: str, send: Send) -> None:
        if path == "/__admin/health":
            body = json.dumps({"ok": True, "carrier": self.carrier.name}).encode()
            await _send(send, 200, body, ())
        elif path == "/__admin/counters":
            counters = {
                "carrier": self.carrier.name,
                "t": round(self.clock.now(), 3),
                **self.journal.counters.as_dict(),
                "dropped": self.journal.dropped,
            }
            await _send(send, 200, json.dumps(counters).encode(), ())
        else:
            body = b'{"error":{"code":"not_found","message":"no such admin route"}}'
            await _send(send, 404, body, ())


async def _read_body(receive: Receive, limit: int) -> bytes | object:
    """The request body, or ``_TOO_LARGE`` past ``limit`` bytes, or ``_DISCONNECTED``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return _DISCONNECTED
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return _TOO_LARGE
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    headers: tuple[tuple[bytes, bytes], ...],
    content_type: tuple[bytes, bytes] = (b"content-type", _JSON),
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [content_type, (b"content-length", b"%d" % len(body)), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_carrier_app(
    carrier: CarrierSpec, fleet: FleetSpec, clock: Clock, keys: Sequence[str], journal: Journal
) -> CarrierApp:
    """The ASGI app of ``carrier``: accepts ``keys`` (any non-empty key when empty), journals
    every carrier request to ``journal``, reads the time from ``clock``."""
    return CarrierApp(carrier, fleet, clock, keys, journal)
