"""Webhook delivery: POST a push, retry on non-2xx or timeout with the vendor's schedule.

A push is a job on one number; each try asks its :class:`PushSource` for the body *at that
moment*, so a retry after the number's state advanced sends the newer state, as vendors resend
their latest state. Retries wait in a heap ordered by store time (released by the runner's
step), never in a sleeping task; at most ``concurrency`` POSTs are in flight. Every attempt is
journaled (:mod:`mocks.push.journal`); after the last try of the schedule the push is given up.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from mocks.push.journal import PushJournal
from peakbench.plan.clock import Clock

Headers = tuple[tuple[bytes, bytes], ...]


class PushSource(Protocol):
    """What delivery needs from the runner: the current body of a number, and the outcome."""

    def payload(self, number: str) -> tuple[bytes, Headers, int] | None:
        """``(body, headers, events in it)`` of ``number``'s newest known state, or None when
        there is nothing to push (the source then closes the push itself); never raises."""
        ...

    def finished(self, number: str, count: int, delivered: bool) -> bool:
        """A push ended; True when another push of ``number`` is due at once."""
        ...


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How one POST went."""

    status: int | None
    """HTTP status, None when no answer came."""
    error: str | None
    """None on 2xx, else ``http``, ``timeout``, ``connect``, ``transport`` or ``no_url``."""
    latency_s: float
    """Store seconds from sending to the answer (or the failure)."""


def next_delay(delays: tuple[float, ...], attempt: int) -> float | None:
    """Store seconds until the retry after failed try number ``attempt`` (1-based), or None
    when the schedule is exhausted."""
    return delays[attempt - 1] if 0 < attempt <= len(delays) else None


async def post_once(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: Headers,
    timeout_wall: float,
    clock: Clock,
) -> AttemptResult:
    """One POST of ``body``; never raises on network trouble (a failed try is data)."""
    t0 = clock.now()
    status: int | None = None
    error: str | None
    try:
        response = await client.post(
            url,
            content=body,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers],
            timeout=timeout_wall,
        )
        status = response.status_code
        error = None if 200 <= status < 300 else "http"
    except httpx.TimeoutException:
        error = "timeout"
    except httpx.ConnectError:
        error = "connect"
    except httpx.HTTPError:
        error = "transport"
    return AttemptResult(status, error, max(0.0, clock.now() - t0))


class Delivery:
    """Delivers pushes of one carrier to ``url()`` (None: target unknown yet; the try fails
    with ``no_url`` and is retried like any failure)."""

    def __init__(
        self,
        source: PushSource,
        client: httpx.AsyncClient,
        url: Callable[[], str | None],
        clock: Clock,
        journal: PushJournal,
        retry_delays: tuple[float, ...],
        timeout_wall: float,
        concurrency: int,
    ) -> None:
        self.source = source
        self.client = client
        self.url = url
        self.clock = clock
        self.journal = journal
        self.retry_delays = retry_delays
        self.timeout_wall = timeout_wall
        self.concurrency = concurrency
        self._ready: deque[tuple[str, int]] = deque()
        self._retries: list[tuple[float, int, str, int]] = []
        self._seq = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, number: str) -> None:
        """Queue the first try of a push of ``number`` (call :meth:`pump` to start it)."""
        self._ready.append((number, 1))
        self._idle.clear()

    def release(self, t: float) -> int:
        """Queue every retry due by run second ``t``; returns how many."""
        released = 0
        while self._retries and self._retries[0][0] <= t:
            _, _, number, attempt = heapq.heappop(self._retries)
            self._ready.append((number, attempt))
            released += 1
        if released:
            self._idle.clear()
        return released

    def next_t(self) -> float:
        """Run second of the earliest waiting retry (inf when none)."""
        return self._retries[0][0] if self._retries else math.inf

    @property
    def waiting(self) -> int:
        """Pushes waiting for a retry."""
        return len(self._retries)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def pump(self) -> None:
        """Start queued tries while fewer than ``concurrency`` are in flight."""
        while self._ready and len(self._tasks) < self.concurrency:
            number, attempt = self._ready.popleft()
            task = asyncio.create_task(self._attempt(number, attempt))
            self._tasks.add(task)
            task.add_done_callback(self._done)
        if not self._ready and not self._tasks:
            self._idle.set()

    async def drain(self) -> None:
        """Wait until nothing is queued or in flight (retries waiting in the heap excepted)."""
        self.pump()
        await self._idle.wait()

    async def close(self) -> None:
        """Cancel the tries in flight (shutdown); waiting retries are dropped."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._ready.clear()
        self._retries.clear()
        self._idle.set()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.pump()

    async def _attempt(self, number: str, attempt: int) -> None:
        payload = self.source.payload(number)
        if payload is None:  # nothing to tell (the source has closed the push)
            return
        body, headers, count = payload
        t = self.clock.now()
        url = self.url()
        if url is None:
            result = AttemptResult(None, "no_url", 0.0)
        else:
            result = await post_once(self.client, url, body, headers, self.timeout_wall, self.clock)
        delay = None if result.error is None else next_delay(self.retry_delays, attempt)
        next_t = None if delay is None else t + result.latency_s + delay
        self.journal.record(
            t,
            number,
            f"{number}:{count}",
            attempt,
            result.status,
            result.error,
            result.latency_s,
            next_t,
        )
        if next_t is not None:
            self._seq += 1
            heapq.heappush(self._retries, (next_t, self._seq, number, attempt + 1))
        elif self.source.finished(number, count, result.error is None):
            self._ready.append((number, 1))
