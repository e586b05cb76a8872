"""The sandbox plugin's calls to carriers: the HTTP client it needs, and each call recorded.

Every call lands in the store's ``plugin_requests`` table (store time asked, carrier, numbers,
status, outcome, store and wall duration) and in :class:`PluginCounters`. The client is httpx's
``AsyncClient`` over sockets or the virtual world's in-process transport (:class:`Client`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from mocks.store.config import CarrierEndpoint
from mocks.store.db import StoreDB
from mocks.store.policy import Reply, classify, classify_one
from mocks.store.presets import status_msg
from peakbench.plan.clock import Clock


class Answer(Protocol):
    """What the plugin reads of an HTTP answer (an httpx response has it)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    def json(self) -> Any: ...


class Client(Protocol):
    """What the plugin asks of its HTTP client: httpx's ``AsyncClient`` over sockets, or the
    virtual world's in-process :class:`mocks.virtual.transport.Direct`."""

    async def get(self, url: str, *, headers: Mapping[str, str], timeout: float) -> Answer: ...
    async def post(
        self,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str],
        timeout: float,
    ) -> Answer: ...
    async def aclose(self) -> None: ...


@dataclass(slots=True)
class PluginCounters:
    """What the plugin did since start: scheduling passes and carrier calls by outcome."""

    runs: int = 0
    requests: int = 0
    ok: int = 0
    throttled: int = 0
    blocked: int = 0
    errors: int = 0
    """Other HTTP errors, malformed answers, timeouts and connection failures."""
    webhooks: int = 0


class CarrierCalls:
    """The plugin's carrier calls over ``client``, each waiting at most ``timeout`` seconds
    (wall, or store seconds for the in-process transport)."""

    def __init__(self, client: Client, timeout: float, db: StoreDB, clock: Clock) -> None:
        self.client = client
        self.timeout = timeout
        self.db = db
        self.clock = clock
        self.counters = PluginCounters()

    async def fetch(
        self, carrier: CarrierEndpoint, numbers: list[str], *, single: bool = False
    ) -> Reply:
        """One batch call (or, ``single``, ``GET /v1/trackings/{number}`` of ``numbers[0]``);
        the outcome is recorded in ``plugin_requests`` and the counters."""
        t0 = self.clock.now()
        w0 = time.monotonic()
        headers = {"X-Api-Key": carrier.api_key} if carrier.api_key else {}
        try:
            if single:
                resp = await self.client.get(
                    f"{carrier.base_url}/v1/trackings/{numbers[0]}",
                    headers=headers,
                    timeout=self.timeout,
                )
                reply = classify_one(
                    numbers[0], resp.status_code, _json_or_none(resp), resp.headers
                )
            else:
                resp = await self.client.post(
                    f"{carrier.base_url}/v1/trackings/batch",
                    json={"tracking_numbers": numbers},
                    headers=headers,
                    timeout=self.timeout,
                )
                reply = classify(resp.status_code, _json_or_none(resp), resp.headers)
        except httpx.TimeoutException:
            reply = Reply(0, "timeout")
        except httpx.HTTPError:
            reply = Reply(0, "error")
        wall = time.monotonic() - w0
        self.db.record_request(  # one statement: a transaction of its own
            t0, carrier.name, len(numbers), reply.status, reply.outcome, self.clock.now() - t0, wall
        )
        self._count(reply)
        return reply

    def _count(self, reply: Reply) -> None:
        c = self.counters
        c.requests += 1
        if reply.outcome == "ok":
            c.ok += 1
        elif reply.outcome == "throttled":
            c.throttled += 1
        elif reply.outcome == "blocked":
            c.blocked += 1
        else:
            c.errors += 1

    async def register(self, aggregator: CarrierEndpoint, body: bytes) -> tuple[Reply, str]:
        """POST a TrackShip registration form; the reply and the ``status_msg`` to store
        (``connection_issue`` on a transport error). Recorded and counted like a fetch."""
        t0, w0 = self.clock.now(), time.monotonic()
        try:
            resp = await self.client.post(
                f"{aggregator.base_url}/v1/shipment/create/ts4wc",
                content=body,
                headers={"content-type": "application/x-www-form-urlencoded"},
                timeout=self.timeout,
            )
            doc = _json_or_none(resp)
            reply = classify(
                resp.status_code, {"data": []} if resp.status_code == 200 else doc, resp.headers
            )
            msg = status_msg(doc) or f"http_{resp.status_code}"
        except httpx.TimeoutException:
            reply, msg = Reply(0, "timeout"), "connection_issue"
        except httpx.HTTPError:
            reply, msg = Reply(0, "error"), "connection_issue"
        with self.db.transaction():
            self.db.record_request(
                t0,
                aggregator.name,
                1,
                reply.status,
                reply.outcome,
                self.clock.now() - t0,
                time.monotonic() - w0,
            )
        self._count(reply)
        return reply, msg


def _json_or_none(resp: Answer) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None
