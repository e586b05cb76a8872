"""The Locust user that executes the shared replay schedule against a WooCommerce-shaped store.

A user is an executor, not a customer: it takes the next scheduled item, sleeps until the item's
due wall time (the only sleep anywhere), executes it and records it. Requests are named by what
they do ("order:create", "order:ship", "view:tracking") so Locust's CSVs group them; freshness
goes to the replay journal only. Each request is reported to Locust once, by the user itself
(:meth:`ReplayUser._report`), with what ``catch_response`` would have recorded.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

import gevent
from gevent.event import Event
from locust import constant, task
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, FastHttpUser
from locust.exception import CatchResponseError, StopUser

from loadtests.orders import OrderBook
from loadtests.replay import Outcome, Replay
from loadtests.storefront import Storefront
from peakbench.adapters import woocommerce as wc
from peakbench.adapters.request import query_string
from peakbench.plan.clock import epoch_of, iso
from peakbench.plan.schedule import Item

NAMES = {
    "order": "order:create",
    "ship": "order:ship",
    "view": "view:tracking",
    "probe": "probe:tracking",
}
_DAYS: dict[int, str] = {}
"""Calendar dates by day number (a run spans a few days: bounded)."""


class ReplayUser(FastHttpUser):
    """Executes items of :attr:`replay`; configured by the locustfile before users spawn."""

    wait_time = constant(0)  # pacing comes from the schedule's due times, not from Locust
    connection_timeout = 10.0
    network_timeout = 60.0
    concurrency = 1  # one request at a time per user: a bigger pool would only hold sockets

    replay: ClassVar[Replay]
    ready: ClassVar[Event] = Event()
    """Set once :attr:`replay` exists (a worker waits for its share from the master)."""
    ready_timeout_s: ClassVar[float] = 120.0
    orders: ClassVar[OrderBook]
    store: ClassVar[Storefront]
    """Builds the requests and reads the views of the target store (sandbox or real)."""

    @task
    def execute_all(self) -> None:
        """Execute items until the schedule is exhausted. One task call for all of them: Locust's
        per-task scheduling would otherwise cost more CPU per item than the request itself."""
        if not self.ready.wait(self.ready_timeout_s):
            raise StopUser()
        replay = self.replay
        # The loop runs once a request: everything it touches is bound to a local once. The
        # clock arithmetic is WallClock.wall_at/now inlined (same formulas, same time source).
        take, release, record = replay.take, replay.release, replay.record
        wall_epoch, scale = replay.config.clock.wall_epoch, replay.config.clock.scale
        drop_after = replay.config.drop_after
        execute = {
            "order": self._create,
            "ship": self._ship,
            "view": self._view,
            "probe": self._probe,
        }
        sleep, wall = gevent.sleep, time.time
        while (item := take()) is not None:
            try:
                due = item.t
                delay = wall_epoch + due / scale - wall()
                if delay > 0:
                    sleep(delay)
                start = (wall() - wall_epoch) * scale
                if drop_after is not None and start - due > drop_after:
                    replay.drop(item, start)
                    continue
                try:
                    outcome = execute[item.kind](item)
                except Exception as exc:  # a bug here must cost one item, not the whole replay
                    outcome = Outcome(False, 0, f"replay error: {exc!r}")
                record(item, start, (wall() - wall_epoch) * scale, outcome)
            finally:
                release()
        raise StopUser()

    def _create(self, item: Item) -> Outcome:
        self.orders.begin(item.ref)
        handle: wc.OrderHandle | None = None
        try:
            request = self.store.create(item.ref, self.replay.config.seed)
            outcome, body = self._send(request, NAMES["order"], as_json=True)
            if outcome.ok:
                try:
                    handle = wc.parse_order(body)
                except ValueError as exc:
                    return Outcome(False, outcome.status, str(exc))
            return outcome
        finally:
            self.orders.end(item.ref, handle)

    def _handle(self, item: Item) -> wc.OrderHandle | None:
        handle = self.orders.get(item.ref, self.connection_timeout + self.network_timeout)
        if handle is None:
            # Still a request Locust should count: the customer/warehouse action did not happen.
            self.environment.events.request.fire(
                request_type="POST" if item.kind == "ship" else "GET",
                name=NAMES[item.kind],
                response_time=0,
                response_length=0,
                response=None,
                context={},
                exception=LookupError(f"order ref {item.ref} was not created"),
                start_time=time.time(),
                url=None,
            )
        return handle

    def _ship(self, item: Item) -> Outcome:
        handle = self._handle(item)
        if handle is None:
            return Outcome(False, 0, f"order ref {item.ref} was not created")
        request = self.store.ship(handle, item.carrier, item.tracking_number, self._day(item.t))
        outcome, _ = self._send(request, NAMES["ship"], as_json=False)
        return outcome

    def _day(self, t: float) -> str:
        """The store's calendar date (UTC) at run second ``t``, as YYYY-MM-DD (cached per day)."""
        epoch = epoch_of(self.replay.clock.spec, t)
        day = int(epoch // 86400)
        text = _DAYS.get(day)
        if text is None:
            text = _DAYS[day] = iso(epoch)[:10]
        return text

    def _probe(self, item: Item) -> Outcome:
        """A freshness probe read: the same request and reading as a view, named apart."""
        return self._view(item, NAMES["probe"])

    def _view(self, item: Item, name: str = NAMES["view"]) -> Outcome:
        handle = self._handle(item)
        if handle is None:
            return Outcome(False, 0, f"order ref {item.ref} was not created")
        sent = self._fetch(self.store.view(handle))
        response, content = sent[0], sent[1]
        status = int(response.status_code or 0)
        error = sent[2] or self._error(status, response)
        seen = None
        if error is None:
            try:
                # bytes first: the sandbox page needs no decoding (see tracking_page)
                seen = self.store.read_view(content or b"", lambda: response.text or "")
            except ValueError as exc:
                error = str(exc)
        self._report(sent, name, error)
        return Outcome(error is None, status, error, seen)

    def _error(self, status: int, response: Any) -> str | None:
        if 200 <= status < 300:
            return None
        error = _http_error(status, response)
        return None if error is None else self.store.scrub(error)

    def _fetch(self, request: wc.Request) -> _Sent:
        """Send ``request`` through the FastHttpSession's own HTTP client, as
        ``FastHttpSession.request`` does (same URL, headers, body, timing and length), without
        reporting it: the caller judges the response and calls :meth:`_report` exactly once.
        ``catch_response=True`` did the same through a context manager that copies the response,
        at ~15 µs a request."""
        session = self.client
        url = request.path
        if request.params:
            url += "?" + query_string(request.params)
        url = session._build_url(url)
        headers = dict(request.headers) if request.headers else {}
        if session.auth_header:  # credentials in --host, as Locust adds them
            headers["Authorization"] = session.auth_header
        if "Accept-Encoding" not in headers and "accept-encoding" not in headers:
            headers["Accept-Encoding"] = "gzip, deflate, br"
        payload = None
        if request.json is not None:
            body = request.json
            payload = json.dumps(body if isinstance(body, dict) else dict(body))
            if "Content-Type" not in headers and "content-type" not in headers:
                headers["Content-Type"] = "application/json"
            if "Accept" not in headers and "accept" not in headers:
                headers["Accept"] = "application/json"
        start_time = time.time()
        started = time.perf_counter()
        response = session._send_request_safe_mode(
            request.method, url, payload=payload, headers=headers
        )
        error = None
        content = None
        try:
            content = response.content
        except FAILURE_EXCEPTIONS as exc:  # the body never arrived: no response
            error = self.store.scrub(f"no response: {exc!r}")
        elapsed_ms = (time.perf_counter() - started) * 1000
        return (response, content, error, request.method, url, start_time, elapsed_ms)

    def _report(self, sent: _Sent, name: str, error: str | None) -> None:
        """Fire Locust's ``request`` event once for a :meth:`_fetch`: what
        ``response.success()``/``response.failure(error)`` under ``catch_response`` reported."""
        response, content, _, method, url, start_time, elapsed_ms = sent
        self.environment.events.request.fire(
            request_type=method,
            name=name,
            context=self.context(),
            response=response,
            exception=None if error is None else CatchResponseError(error),
            start_time=start_time,
            url=url,
            response_time=elapsed_ms,
            response_length=len(content) if content else 0,
        )

    def _send(
        self, request: wc.Request, name: str, as_json: bool
    ) -> tuple[Outcome, dict[str, Any]]:
        """Send an API request; ok is a 2xx whose body is JSON when ``as_json``."""
        body: dict[str, Any] = {}
        sent = self._fetch(request)
        response = sent[0]
        status = int(response.status_code or 0)
        error = sent[2] or self._error(status, response)
        if error is None and as_json:
            try:
                parsed = response.json()
            except ValueError:
                error = "response is not JSON"
            else:
                if isinstance(parsed, dict):
                    body = parsed
                else:
                    error = "response is not a JSON object"
        self._report(sent, name, error)
        return Outcome(error is None, status, error), body


_Sent = tuple[Any, bytes | None, str | None, str, str, float, float]
"""What :meth:`ReplayUser._fetch` returns: (response, body bytes, error reading it, method,
absolute URL, start time (epoch seconds), response time (ms))."""


def _http_error(status: int, response: Any) -> str | None:
    if status == 0:
        return f"no response: {getattr(response, 'error', None)!r}"
    if 200 <= status < 300:
        return None
    try:  # WooCommerce errors name themselves: {"code": "woocommerce_rest_…", "message": …}
        code = response.json().get("code")
    except Exception:
        code = None
    return f"HTTP {status} {code}" if isinstance(code, str) else f"HTTP {status}"
