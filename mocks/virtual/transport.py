"""In-process HTTP between the world's parts, routed by host to ASGI apps, with timeouts in
loop time.

Two clients reach the apps. :class:`InProcess` is an httpx transport: the pushers' httpx
clients are the ones they use over sockets, only their transport changes. :class:`Direct` is
the plugin's client on the hot path (every carrier call): the few httpx methods the plugin uses
(``get``, ``post``, ``aclose``), answering with a :class:`Reply` that has the attributes the
plugin reads, and raising httpx's exceptions. It skips httpx's request and response models,
URL parser and cookie jar, which cost more than the carrier's answer; what goes over the wire
between the apps is the same bytes.

httpx's ASGI transport does not enforce timeouts (the network backend does), so both do, on
the loop's clock: a carrier that hangs times the request out after the client's read timeout
of store time, as a socket would. An app that drops the connection (a reset fault) or fails
reaches the client as a transport error, as over a socket.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Coroutine, Generator, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import orjson

Asgi = Any
"""An ASGI application callable."""

T = TypeVar("T")


async def within(seconds: float | None, coro: Coroutine[Any, Any, T]) -> T:
    """``await coro`` under a timeout of ``seconds`` of loop time (none when None), as
    ``async with asyncio.timeout(seconds)`` gives it: :class:`TimeoutError` when it runs out.

    ``coro`` is first run by hand up to its first suspension. Most in-process exchanges never
    suspend (a store request that touches only its database answers at once): those end there,
    at the instant they began, where no timeout can fall due, and skip the timer a timeout
    would set and cancel (a heap push and a cancelled handle per request, in a heap of every
    pending timer of the world). An exchange that suspends goes on under the timeout, from the
    same loop instant, exactly as if it had been awaited inside it."""
    try:
        waiting = coro.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    if seconds is None:
        return await _resume(coro, waiting)
    async with asyncio.timeout(seconds):
        return await _resume(coro, waiting)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, T], waiting: Any) -> Generator[Any, None, T]:
    """The rest of ``coro``, suspended on ``waiting`` (what it yielded to the event loop), as
    ``await`` would run it: what the task sends or throws goes into ``coro``."""
    while True:
        try:
            try:
                yield waiting
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # the task throws (a cancellation): into the coroutine
                waiting = coro.throw(exc)
            else:
                waiting = coro.send(None)
        except StopIteration as done:
            result: T = done.value
            return result


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
        try:  # wait_for, not within: it runs the exchange as a task a loop pass later, and the
            # order of what the pushers and the Shopify app do at one instant rests on that
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


class Reply:
    """An answer as :class:`Direct` gives it: what the plugin reads of an httpx response."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes):
        self.status_code = status_code
        self.headers = headers
        """Header names in lower case (ASGI apps send them so); the last value of a repeat."""
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` when it is not (as httpx raises)."""
        return orjson.loads(self.content)


Headers = Mapping[str, str] | Iterable[tuple[str, str]] | None


class Direct:
    """The plugin's in-process client: ``get``/``post``/``aclose`` to the ASGI app of the URL's
    host (``http://name.peakbench.test/...``), timed out in loop time."""

    def __init__(self, apps: Mapping[str, Asgi]):
        self._routes = dict(apps)

    def add(self, host: str, app: Asgi) -> None:
        """Serve ``app`` at ``host`` from now on."""
        self._routes[host] = app

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Headers = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Reply:
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        return await self.request("GET", url, b"", _headers(headers), timeout)

    async def post(
        self,
        url: str,
        *,
        content: bytes | str | None = None,
        json: Any = None,
        headers: Headers = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Reply:
        raw = _headers(headers)
        if json is not None:
            body = orjson.dumps(json)
            if not any(k == b"content-type" for k, _ in raw):
                raw.append((b"content-type", b"application/json"))
        elif isinstance(content, str):
            body = content.encode("utf-8")
        else:
            body = content or b""
        raw.append((b"content-length", str(len(body)).encode("latin-1")))
        return await self.request("POST", url, body, raw, timeout)

    async def request(
        self,
        method: str,
        url: str,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        timeout: float | httpx.Timeout | None,
    ) -> Reply:
        scheme, _, rest = url.partition("://")
        if scheme not in ("http", "https") or not rest:
            raise httpx.UnsupportedProtocol(f"not an in-process URL: {url!r}")
        host, slash, target = rest.partition("/")
        path, _, query = f"{slash}{target}".partition("?")
        app = self._routes.get(host.rpartition("@")[2].partition(":")[0])
        if app is None:
            raise httpx.ConnectError(f"no server at {host}")
        seconds = timeout.read if isinstance(timeout, httpx.Timeout) else timeout
        exchange = call(app, method, path or "/", query.encode("latin-1"), headers, body, host)
        try:
            status, out, data = await within(seconds, exchange)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out (store time)") from None
        except httpx.HTTPError:
            raise
        except Exception as exc:  # the app hung up or failed: what a socket client would see
            raise httpx.RemoteProtocolError(f"server disconnected: {exc!r}") from exc
        return Reply(
            status, {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in out}, data
        )

    async def aclose(self) -> None:
        """Nothing to close: there are no connections."""


def _headers(headers: Headers) -> list[tuple[bytes, bytes]]:
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in items]


def url(host: str) -> str:
    """The base URL of an in-process server."""
    return f"http://{host}"
