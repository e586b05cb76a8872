"""The ASGI app of one mock carrier: the composition of personality, behaviours and journal.

Plain ASGI, no framework: this is the hot path a benchmark compares with WireMock. Per request:
read the body (capped) → authenticate → parse → behaviours admit or refuse → answer → journal →
injected latency (slept on the store clock) → send (possibly mangled) → release. Nothing here
keeps per-parcel state; the answer is a pure function of the tracking number and the store time
of arrival.

How a refusal reaches the client (``Refusal.form``): ``reply`` is worded by the personality
(its throttle signature, its ban, its 5xx envelope); ``reset`` aborts the TCP connection;
``waf`` (a CDN's HTML page) and ``hang`` are sent as :mod:`mocks.refusal_forms` says, and so are
mangled answers. Journal ``status`` is 0 when no
response was sent. A mangled answer (malformed, truncated, slow body) is journaled with outcome
``error`` and cause ``fault:<form>``: the caller did not get a usable answer.

Admin routes live under ``/__admin/`` (see :mod:`mocks.admin`): no auth, not journaled.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Sequence
from typing import Any

from mocks._asgi import (
    DISCONNECTED,
    TOO_LARGE,
    ConnectionDropped,
    Receive,
    Scope,
    Send,
    drop_connection,
    hung_up,
    lifespan,
    read_body,
    send_response,
)
from mocks.admin.routes import CarrierAdmin
from mocks.behaviours.pipeline import Pipeline, Refusal, build_pipeline
from mocks.carriers import make_personality
from mocks.carriers.base import Ask, Personality, Reply
from mocks.journal import BLOCKED, ERROR, OK, THROTTLED, Journal
from mocks.refusal_forms import HTML, hang, send_mangled, waf_headers, waf_page
from peakbench.config.behaviours import AnyBehaviourSpec
from peakbench.config.fleet import CarrierSpec, FleetSpec
from peakbench.plan.clock import Clock

MAX_BODY = 1 << 20
"""Largest request body read, in bytes (1 MiB); larger ones get 413."""

ANON = "anon"
NO_RESPONSE = 0
"""Journal status of a request answered by a reset or a hang: nothing was sent."""

OUTCOMES = {"quota": THROTTLED, "concurrency": THROTTLED, "ban": BLOCKED, "fault": ERROR}
"""Journal outcome of a refusal, by its kind."""

_BUG = b'{"error":{"code":"internal","message":"bug"}}'

log = logging.getLogger("mocks.app")


class CarrierApp:
    """ASGI callable serving one carrier (see the module docstring for the request path).

    ``remote_admin``: let non-loopback clients use ``/__admin/`` (off: 403 for them).
    """

    def __init__(
        self,
        carrier: CarrierSpec,
        fleet: FleetSpec,
        clock: Clock,
        keys: Sequence[str],
        journal: Journal,
        personality: Personality | None = None,
        max_body: int = MAX_BODY,
        remote_admin: bool = False,
    ) -> None:
        self.carrier = carrier
        self.clock = clock
        self.journal = journal
        self.max_body = max_body
        self.personality = personality or make_personality(carrier, fleet.timeline_model(carrier))
        self.seed = f"{fleet.seed}:{carrier.name}"
        self.labels = {key: f"k{i}" for i, key in enumerate(keys) if key}
        """Accepted API key → its journal label; empty: any non-empty key is ``k0``."""
        self._start_epoch = clock.spec.start_epoch
        self.specs: tuple[AnyBehaviourSpec, ...] = ()
        self.pipeline: Pipeline
        self.set_behaviours(carrier.behaviours)
        self.admin = CarrierAdmin(self, remote_admin)
        self._content_type = (b"content-type", self.personality.content_type)
        self._wants_query = bool(getattr(self.personality, "wants_query", False))
        """Personalities whose routes live in the query string (DHL) get ``path?query``."""
        self._public = frozenset(getattr(self.personality, "public_routes", ()))
        """Routes the vendor answers without a key (TrackShip's carrier lists)."""
        self._rate_headers = getattr(self.personality, "rate_headers", None)
        """Personalities that send rate-limit headers on every response (AfterShip)."""
        use_clock = getattr(self.personality, "use_clock", None)
        if callable(use_clock):  # OAuth personalities print token times on the wall clock
            use_clock(clock)

    # -- control (the admin API calls these) -------------------------------------------------------

    def set_behaviours(self, specs: Sequence[AnyBehaviourSpec]) -> None:
        """Replace the behaviours live with fresh state; requests in flight finish (and are
        released) on the pipeline that admitted them."""
        specs = tuple(specs)
        self.pipeline = build_pipeline(specs, self.seed, self._start_epoch)
        self.specs = specs

    def behaviours(self) -> list[dict[str, Any]]:
        """The current behaviour specs as JSON, in profile syntax."""
        return self.pipeline.describe()

    def reset(self) -> None:
        """Fresh behaviour state and counters; registrations too when the personality keeps any."""
        self.set_behaviours(self.specs)
        self.journal.reset_counters()
        reset = getattr(self.personality, "reset", None)
        if callable(reset):
            reset()

    # -- ASGI -------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            try:
                await self._http(scope, receive, send)
            except ConnectionDropped:
                raise
            except Exception:  # a bug must cost one request, never the server
                if hung_up(send):  # the client left while we answered: nothing went wrong
                    return
                log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
                with contextlib.suppress(Exception):  # the response may have started already
                    await send_response(send, 500, _BUG)
        elif kind == "lifespan":
            await lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path.startswith("/__admin/"):
            await self.admin.handle(path[9:], scope, receive, send)
            return
        personality = self.personality
        pipeline = self.pipeline
        t = self.clock.now()
        epoch = self._start_epoch + t
        if self._wants_query and scope.get("query_string"):
            path = f"{path}?{scope['query_string'].decode('latin-1')}"
        route, argument = personality.match(scope["method"], path)
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        body = b""
        too_large = False
        if personality.reads_body(route):
            # read before authenticating: OAuth token requests carry their credentials here
            read = await read_body(receive, self.max_body)
            if read is DISCONNECTED:
                return
            too_large = read is TOO_LARGE
            if isinstance(read, bytes):
                body = read
        credential = personality.credential(scope["headers"], body, epoch)
        label = (self.labels.get(credential) if self.labels else "k0") if credential else None
        if label is None and route in self._public:
            label = ANON
        content_type = self._content_type
        if label is None:
            reply = personality.unauthorized(personality.parse(route, argument, b""))
            outcome = ERROR
        elif too_large:
            reply = personality.too_large()
            outcome = ERROR
        else:
            ask = personality.parse(route, argument, body)
            refusal = pipeline.admit(route, label, ip, t, epoch)
            if refusal is None and (pipeline.mangles or pipeline.tracks_inflight):
                try:
                    await self._answer(pipeline, ask, route, label, ip, t, epoch, receive, send)
                finally:
                    pipeline.release(route, label, ip, self.clock.now())
                return
            if refusal is None:  # the hot path: nothing to release, nothing to spoil
                reply = personality.respond(ask, epoch)
                if self._rate_headers is not None:
                    reply = self._with_rate(reply, route, label, ip, t, epoch)
                outcome = OK if reply.status < 300 else ERROR
            else:
                outcome = OUTCOMES.get(refusal.kind, ERROR)
                refused = await self._refuse(
                    refusal, ask, route, label, ip, t, epoch, receive, send
                )
                if refused is None:
                    return
                reply, content_type = refused
        delay = pipeline.delay(route, t, label, ip) if pipeline.latencies else 0.0
        self.journal.record(
            t, route, label or ANON, ip, reply.numbers, reply.status, outcome, reply.cause, delay
        )
        if delay > 0:
            await self.clock.sleep(delay)
        await send_response(send, reply.status, reply.body, reply.headers, content_type)

    def _with_rate(
        self, reply: Reply, route: str, label: str, ip: str, t: float, epoch: float
    ) -> Reply:
        """``reply`` with the personality's rate-limit headers from the tightest quota (the
        personality's plan rate, all left, when none applies)."""
        found = self.pipeline.allowance(route, label, ip, t, epoch)
        if found is None:
            plan = int(getattr(self.personality, "plan_rate", 10))
            found = (plan, plan, 1.0)
        limit, left, reset_in = found
        headers = self._rate_headers(limit, left, math.ceil(epoch + reset_in))  # type: ignore[misc]
        return reply._replace(headers=reply.headers + headers)

    async def _refuse(
        self,
        refusal: Refusal,
        ask: Ask,
        route: str,
        label: str,
        ip: str,
        t: float,
        epoch: float,
        receive: Receive,
        send: Send,
    ) -> tuple[Reply, tuple[bytes, bytes]] | None:
        """The reply (and its content type) refusing a request the way ``refusal`` says; None
        when the refusal was to send nothing (``reset``, ``hang``: journaled and done here)."""
        form = refusal.form
        if form == "reset" or form == "hang":
            hang_s = refusal.hang_s if form == "hang" else 0.0
            outcome = OUTCOMES.get(refusal.kind, ERROR)
            numbers = len(ask.numbers)
            self.journal.record(
                t, route, label, ip, numbers, NO_RESPONSE, outcome, refusal.cause, hang_s
            )
            if form == "hang":
                await hang(receive, hang_s, self.clock)
            await drop_connection(send, receive, reset=form == "reset")
            return None
        personality = self.personality
        if form == "waf":
            page = waf_page(refusal.status, t)
            headers = waf_headers(refusal.status, t)
            return Reply(refusal.status, page, refusal.cause, len(ask.numbers), headers), HTML
        if refusal.kind == "ban":
            reply = personality.blocked(ask, refusal.status, refusal.retry_after)
        elif refusal.kind == "fault":
            reply = personality.failed(ask, refusal.status)._replace(cause=refusal.cause)
        else:
            reply = personality.throttled(
                ask, refusal.retry_after, refusal.cause, epoch, refusal.limit
            )
        return reply, self._content_type

    async def _answer(
        self,
        pipeline: Pipeline,
        ask: Ask,
        route: str,
        label: str,
        ip: str,
        t: float,
        epoch: float,
        receive: Receive,
        send: Send,
    ) -> None:
        """Answer an admitted request, mangling the answer when a fault behaviour says so."""
        reply = self.personality.respond(ask, epoch)
        if self._rate_headers is not None:
            reply = self._with_rate(reply, route, label, ip, t, epoch)
        outcome = OK if reply.status < 300 else ERROR
        delay = pipeline.delay(route, t, label, ip) if pipeline.latencies else 0.0
        mangle = (
            pipeline.mangle(route, t, label, ip) if pipeline.mangles and outcome == OK else None
        )
        if mangle is None:
            self.journal.record(
                t, route, label, ip, reply.numbers, reply.status, outcome, reply.cause, delay
            )
            if delay > 0:
                await self.clock.sleep(delay)
            await send_response(send, reply.status, reply.body, reply.headers, self._content_type)
            return
        form: str = mangle.form
        self.journal.record(
            t, route, label, ip, reply.numbers, reply.status, ERROR, f"fault:{form}", delay
        )
        if delay > 0:
            await self.clock.sleep(delay)
        await send_mangled(send, receive, mangle, reply, self._content_type, self.clock)


def create_carrier_app(
    carrier: CarrierSpec,
    fleet: FleetSpec,
    clock: Clock,
    keys: Sequence[str],
    journal: Journal,
    remote_admin: bool = False,
) -> CarrierApp:
    """The ASGI app of ``carrier``: accepts ``keys`` (any non-empty key when empty), journals
    every carrier request to ``journal``, reads the time from ``clock``."""
    return CarrierApp(carrier, fleet, clock, keys, journal, remote_admin=remote_admin)
