"""The few ASGI pieces the mock apps share: types, reading a body, sending a response, and
ending a connection without one (how a WAF resets or a hung gateway gives up).

Plain ASGI on purpose: the carrier app is the hot path a benchmark compares with WireMock.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"
TOO_LARGE = object()
"""What :func:`read_body` returns past its limit."""
DISCONNECTED = object()
"""What :func:`read_body` returns when the client went away first."""

_LINGER_RESET = struct.pack("ii", 1, 0)
_DRAIN_MESSAGES = 64
"""Most request messages read while waiting for a dropped connection to be noticed."""


class ConnectionDropped(Exception):
    """Raised where a server gives the app no handle on the connection (e.g. an in-process
    test transport): the client then sees an error instead of a response, as with a reset."""


async def read_body(receive: Receive, limit: int) -> bytes | object:
    """The request body, or :data:`TOO_LARGE` past ``limit`` bytes, or :data:`DISCONNECTED`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return DISCONNECTED
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return TOO_LARGE
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    content_type: tuple[bytes, bytes] = (b"content-type", JSON),
) -> None:
    """A whole response with an honest Content-Length."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [content_type, (b"content-length", b"%d" % len(body)), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def drop_connection(send: Send, receive: Receive, reset: bool) -> None:
    """Close the client's connection without (the rest of) a response.

    ``reset``: abort with a TCP RST (SO_LINGER 0), as a WAF or a crashed proxy does; else a
    plain close (FIN), as a gateway giving up. Waits until the server has noticed, so it
    neither answers 500 for us nor logs an error. uvicorn's protocols hand the app their
    request cycle's bound ``send``, whose ``transport`` is the connection.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionDropped("connection dropped on purpose")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError, TypeError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        transport.abort()
    else:
        transport.close()
    # the server notices on its next loop turn; the bound covers a body still being buffered
    for _ in range(_DRAIN_MESSAGES):
        if (await receive())["type"] == "http.disconnect":
            return
    await asyncio.sleep(0)


async def wait_disconnect(receive: Receive) -> None:
    """Return once the client is gone, reading and discarding any request body meanwhile."""
    while (await receive())["type"] != "http.disconnect":
        pass


def hung_up(send: Send) -> bool:
    """Whether the connection behind uvicorn's ``send`` is already closed (a write to it then
    fails before the server has noticed the disconnect)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return transport is not None and bool(transport.is_closing())


async def lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge startup and shutdown: the mocks have nothing to set up."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
