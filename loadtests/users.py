"""The Locust user that executes the shared replay schedule against a WooCommerce-shaped store.

A user is an executor, not a customer: it takes the next scheduled item, sleeps until the item's
due wall time (the only sleep anywhere), executes it and records it. Requests are named by what
they do ("order:create", "order:ship", "view:tracking") so Locust's CSVs group them; freshness
goes to the replay journal only.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar
from urllib.parse import urlencode

import gevent
from gevent.event import Event
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

from loadtests.orders import OrderBook
from loadtests.replay import Outcome, Replay
from loadtests.storefront import Storefront
from peakbench.adapters import woocommerce as wc
from peakbench.clock import epoch_of, iso
from peakbench.schedule import Item

NAMES = {"order": "order:create", "ship": "order:ship", "view": "view:tracking"}
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
        while (item := self.replay.take()) is not None:
            try:
                self._run(item)
            finally:
                self.replay.release()
        raise StopUser()

    def _run(self, item: Item) -> None:
        delay = self.replay.clock.wall_at(item.t) - time.time()
        if delay > 0:
            gevent.sleep(delay)
        start = self.replay.clock.now()
        if self.replay.should_drop(item, start):
            self.replay.drop(item, start)
            return
        try:
            outcome = self._execute(item)
        except Exception as exc:  # a bug here must cost one item, not the whole replay
            outcome = Outcome(False, 0, f"replay error: {exc!r}")
        self.replay.record(item, start, self.replay.clock.now(), outcome)

    def _execute(self, item: Item) -> Outcome:
        if item.kind == "order":
            return self._create(item)
        if item.kind == "ship":
            return self._ship(item)
        return self._view(item)

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

    def _view(self, item: Item) -> Outcome:
        handle = self._handle(item)
        if handle is None:
            return Outcome(False, 0, f"order ref {item.ref} was not created")
        request = self.store.view(handle)
        with self._request(request, NAMES["view"]) as response:
            status = int(response.status_code or 0)
            error = self._error(status, response)
            if error is None:
                try:
                    # bytes first: the sandbox page needs no decoding (see tracking_page)
                    seen = self.store.read_view(
                        response.content or b"", lambda: response.text or ""
                    )
                except ValueError as exc:
                    error = str(exc)
                else:
                    response.success()
                    return Outcome(True, status, None, seen)
            response.failure(error)
            return Outcome(False, status, error)

    def _error(self, status: int, response: Any) -> str | None:
        if 200 <= status < 300:
            return None
        error = _http_error(status, response)
        return None if error is None else self.store.scrub(error)

    def _request(self, request: wc.Request, name: str) -> Any:
        url = request.path
        if request.params:
            url += "?" + urlencode(request.params)
        body, headers = request.json, request.headers
        # Locust copies the headers and serialises the body itself: no copies of our own
        return self.client.request(
            request.method,
            url,
            name=name,
            json=body if body is None or isinstance(body, dict) else dict(body),
            headers=headers if isinstance(headers, dict) else dict(headers),
            catch_response=True,
        )

    def _send(
        self, request: wc.Request, name: str, as_json: bool
    ) -> tuple[Outcome, dict[str, Any]]:
        """Send an API request; ok is a 2xx whose body is JSON when ``as_json``."""
        body: dict[str, Any] = {}
        with self._request(request, name) as response:
            status = int(response.status_code or 0)
            error = self._error(status, response)
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
            if error is None:
                response.success()
            else:
                response.failure(error)
        return Outcome(error is None, status, error), body


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
