"""How a refusal or a spoiled answer reaches a carrier's client, beyond the personality's words.

``waf``: a CDN's HTML denial page (Cloudflare's for 429, Akamai's otherwise); ``hang``: nothing
sent until the client gives up or ``hang_s`` store seconds pass (``reset`` is
:func:`mocks._asgi.drop_connection`); a mangled answer is ``malformed``, ``truncated`` or a
``slow-body``. Journal ``status`` is 0 when no response was sent; a mangled answer is journaled
with outcome ``error`` and cause ``fault:<form>`` (:mod:`mocks.app`).
"""

from __future__ import annotations

import asyncio

from mocks._asgi import Receive, Send, drop_connection, send_response, wait_disconnect
from mocks.behaviours.pipeline import Mangle
from mocks.carriers.base import Reply
from peakbench.plan.clock import Clock

Header = tuple[bytes, bytes]

SLOW_BODY_CHUNKS = 16
"""A slow body is dribbled in at most this many pieces."""

HTML: Header = (b"content-type", b"text/html; charset=utf-8")


def waf_page(status: int, t: float) -> bytes:
    """A CDN's HTML denial page: Cloudflare's "1015 rate limited" for 429, else Akamai's
    "Access Denied", with a reference number as they print one."""
    reference = f"{int(t * 1000) & 0xFFFFFFFF:08x}"
    if status == 429:
        return (
            "<!DOCTYPE html>\n<html><head><title>Access denied | rate limited</title></head>"
            '<body><div id="cf-error-details"><h1>Error 1015</h1>'
            "<h2>You are being rate limited</h2><p>The owner of this website has banned you "
            f"temporarily from accessing this website.</p><p>Ray ID: {reference}</p>"
            "</div></body></html>\n"
        ).encode()
    return (
        "<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"
        "\nYou don't have permission to access this resource on this server.<P>\n"
        f"Reference&#32;&#35;18&#46;{reference}\n</BODY>\n</HTML>\n"
    ).encode()


def waf_headers(status: int, t: float) -> tuple[Header, ...]:
    """The CDN's response headers that go with :func:`waf_page`."""
    if status == 429:
        return ((b"server", b"cloudflare"), (b"cf-ray", b"%08x-IAD" % (int(t * 1000) & 0xFFFFFFFF)))
    return ((b"server", b"AkamaiGHost"), (b"connection", b"close"))


async def hang(receive: Receive, hang_s: float, clock: Clock) -> None:
    """Send nothing until the client disconnects or ``hang_s`` store seconds pass (0:
    only the client ends it)."""
    if hang_s <= 0:
        await wait_disconnect(receive)
        return
    gone = asyncio.ensure_future(wait_disconnect(receive))
    timer = asyncio.ensure_future(clock.sleep(hang_s))
    try:
        await asyncio.wait((gone, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        timer.cancel()


async def send_mangled(
    send: Send, receive: Receive, mangle: Mangle, reply: Reply, content_type: Header, clock: Clock
) -> None:
    """Send ``reply`` broken the way ``mangle`` says: ``malformed`` (invalid JSON),
    ``truncated`` (the first ``cut`` of the body; with ``honest`` a Content-Length to
    match, a parse error, else the full length promised and the connection closed, a
    transport error), ``slow-body`` (dribbled over ``body_s``)."""
    body = reply.body
    form = mangle.form
    if form == "malformed":
        # a closing bracket of the wrong kind: invalid in every JSON parser
        broken = body[:-1] + b",]" if body else b"{"
        await send_response(send, reply.status, broken, reply.headers, content_type)
        return
    start = {
        "type": "http.response.start",
        "status": reply.status,
        "headers": [content_type, (b"content-length", b"%d" % len(body)), *reply.headers],
    }
    if form == "truncated":
        kept = body[: int(len(body) * mangle.cut)]
        if mangle.honest:
            await send_response(send, reply.status, kept, reply.headers, content_type)
            return
        # promise the whole body, send part of it, hang up: the client's read fails
        await send(start)
        await send({"type": "http.response.body", "body": kept, "more_body": True})
        await drop_connection(send, receive, reset=False)
        return
    # slow-body: headers now, the body dribbled over body_s store seconds
    await send(start)
    pieces = max(1, min(SLOW_BODY_CHUNKS, len(body)))
    step = -(-len(body) // pieces)
    pause = mangle.body_s / pieces
    for i in range(0, len(body), step):
        if pause > 0:
            await clock.sleep(pause)
        more = i + step < len(body)
        await send({"type": "http.response.body", "body": body[i : i + step], "more_body": more})
    if not body:
        await send({"type": "http.response.body", "body": b""})
