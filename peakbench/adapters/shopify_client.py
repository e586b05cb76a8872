"""Executing Admin GraphQL operations under Shopify's cost limit: the bucket mirror, one sans-I/O
attempt logic, and two thin loops over it.

:class:`CostBucket` mirrors the server's leaky bucket so a client waits *before* it would be
throttled. :class:`Attempts` is what both clients share (the per-operation cost estimates, the
wait before a call, what an answer means: done, retry after a wait on ``THROTTLED`` or HTTP 429,
or failed). :class:`ShopifyClient` drives a blocking transport (Locust, the target check) with
an injectable clock and sleep; :class:`AsyncShopifyClient` an awaitable one on a clock with
``now()`` and an awaitable ``sleep`` (the sandbox's tracking app, :mod:`mocks.shopify.writer`).
Both can report every call they make (``on_call``), e.g. to journal it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from peakbench.adapters.request import Request
from peakbench.adapters.shopify import (
    DEFAULT_COST,
    DEFAULT_VERSION,
    Cost,
    Operation,
    Result,
    ShopifyError,
    parse_response,
    request,
    throttle_wait,
)


class CostBucket:
    """The client's mirror of Shopify's leaky bucket (points, points per second).

    It restores at ``restore_rate`` up to ``maximum``, is charged the requested cost when a
    request leaves, and is re-synchronised from each response's ``throttleStatus`` (the server
    is the truth; it refunds requested − actual).
    """

    def __init__(self, maximum: float, restore_rate: float, now: float) -> None:
        self.maximum = maximum
        self.restore_rate = restore_rate
        self.available = maximum
        self._at = now

    def _restore(self, now: float) -> None:
        elapsed = max(0.0, now - self._at)
        self.available = min(self.maximum, self.available + elapsed * self.restore_rate)
        self._at = now

    def delay(self, cost: float, now: float) -> float:
        """Seconds to wait before a request of ``cost`` points fits (0 when it fits now)."""
        self._restore(now)
        need = min(cost, self.maximum) - self.available
        return 0.0 if need <= 0 else need / self.restore_rate

    def spend(self, cost: float, now: float) -> None:
        self._restore(now)
        self.available -= cost

    def observe(self, cost: Cost, now: float) -> None:
        if cost.maximum > 0 and cost.restore_rate > 0:
            self.maximum, self.restore_rate = cost.maximum, cost.restore_rate
            self.available, self._at = cost.available, now


@dataclass(frozen=True, slots=True)
class Answer:
    """What one call's answer means: ``result`` (done), ``retry_after`` seconds, or ``error``."""

    result: Result | None = None
    retry_after: float | None = None
    error: str | None = None
    throttled: bool = False
    cost: Cost | None = None


@dataclass(slots=True)
class ClientCounters:
    requests: int = 0
    throttled: int = 0
    """THROTTLED answers (the bucket mirror was behind the server's)."""
    waited: float = 0.0
    """Seconds spent waiting for the cost bucket or a throttle."""
    errors: int = 0


OnCall = Callable[[str, float, float, int, Answer], None]
"""Told of every call: (operation, start, seconds waited before it left, HTTP status or 0 when
the transport failed, answer)."""


class Attempts:
    """The sans-I/O part of both clients: estimates, the bucket, and judging answers."""

    def __init__(self, bucket: CostBucket, max_retries: int) -> None:
        self.bucket = bucket
        self.max_retries = max_retries
        self.estimates: dict[str, float] = {}
        """Last ``requestedQueryCost`` per operation name."""
        self.counters = ClientCounters()

    def delay(self, op: Operation, now: float) -> float:
        """Seconds to wait before ``op`` fits the bucket (its last requested cost, else 10)."""
        return self.bucket.delay(self.estimates.get(op.name, DEFAULT_COST), now)

    def spend(self, op: Operation, now: float) -> None:
        """``op`` leaves now: charge the bucket its estimate."""
        self.bucket.spend(self.estimates.get(op.name, DEFAULT_COST), now)
        self.counters.requests += 1

    def judge(self, op: Operation, status: int, body: Any, now: float) -> Answer:
        result = parse_response(body) if isinstance(body, Mapping) else None
        cost = result.cost if result is not None else None
        if cost is not None:
            self.bucket.observe(cost, now)
            if cost.requested > 0:
                self.estimates[op.name] = cost.requested
        if result is not None and result.throttled:
            self.counters.throttled += 1
            wait = throttle_wait(cost) if cost else 1.0
            return Answer(retry_after=math.ceil(wait * 1000) / 1000, throttled=True, cost=cost)
        if status == 429:  # throttled without a GraphQL body: wait a second's restore
            self.counters.throttled += 1
            return Answer(retry_after=1.0, throttled=True, cost=cost)
        if not 200 <= status < 300 or result is None:
            self.counters.errors += 1
            detail = "; ".join(result.errors) if result and result.errors else "no JSON"
            return Answer(error=f"HTTP {status}: {detail}", cost=cost)
        if result.errors and result.data is None:
            self.counters.errors += 1
            return Answer(error="; ".join(result.errors), cost=cost)
        return Answer(result=result, cost=cost)

    def exhausted(self, op: Operation) -> ShopifyError:
        return ShopifyError(f"{op.name}: still throttled after {self.max_retries} retries")


Send = Callable[[Request], tuple[int, Any]]
"""Sends a request, returns (HTTP status, parsed JSON body or None)."""
AsyncSend = Callable[[Request], Awaitable[tuple[int, Any]]]
"""As :data:`Send`, awaitable; raises :class:`ShopifyError` when the transport fails."""


class _Client:
    attempts: Attempts

    @property
    def estimates(self) -> dict[str, float]:
        """Last ``requestedQueryCost`` per operation name."""
        return self.attempts.estimates

    @property
    def bucket(self) -> CostBucket:
        return self.attempts.bucket

    @property
    def max_retries(self) -> int:
        return self.attempts.max_retries

    @max_retries.setter
    def max_retries(self, value: int) -> None:
        self.attempts.max_retries = value

    @property
    def counters(self) -> ClientCounters:
        return self.attempts.counters


class ShopifyClient(_Client):
    """Executes operations through ``send``, waiting on the cost bucket before each request
    and, on THROTTLED, for the time the restore rate implies; ``sleep``/``now`` are injectable
    (wall seconds)."""

    def __init__(
        self,
        send: Send,
        token: str,
        *,
        version: str = DEFAULT_VERSION,
        bucket: CostBucket,
        now: Callable[[], float],
        sleep: Callable[[float], None],
        max_retries: int = 5,
        on_call: OnCall | None = None,
    ) -> None:
        self.send = send
        self._token = token
        self.version = version
        self.attempts = Attempts(bucket, max_retries)
        self.now = now
        self.sleep = sleep
        self.on_call = on_call

    @property
    def waited(self) -> float:
        """Total seconds slept for the bucket or a throttle."""
        return self.attempts.counters.waited

    def _wait(self, seconds: float) -> float:
        if seconds > 0:
            self.attempts.counters.waited += seconds
            self.sleep(seconds)
        return max(0.0, seconds)

    def execute(self, op: Operation) -> Result:
        """Send ``op`` and return its result; ShopifyError on HTTP/GraphQL errors or after
        ``max_retries`` throttled attempts."""
        a = self.attempts
        waited = 0.0
        for _ in range(a.max_retries + 1):
            waited += self._wait(a.delay(op, self.now()))
            a.spend(op, self.now())
            start = self.now()
            status, body = self.send(request(op, self._token, self.version))
            answer = a.judge(op, status, body, self.now())
            if self.on_call is not None:
                self.on_call(op.name, start, waited, status, answer)
            if answer.retry_after is not None:
                waited = self._wait(answer.retry_after)
                continue
            if answer.result is None:
                raise ShopifyError(answer.error or "failed")
            return answer.result
        raise a.exhausted(op)


class Clock(Protocol):
    """What :class:`AsyncShopifyClient` asks of a clock (``peakbench.plan.clock.Clock`` has it:
    the adapters import no later stage)."""

    def now(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class AsyncShopifyClient(_Client):
    """:class:`ShopifyClient` on asyncio: ``send`` is awaited, waits are ``clock.sleep``."""

    def __init__(
        self,
        send: AsyncSend,
        token: str,
        clock: Clock,
        bucket: CostBucket,
        *,
        version: str = DEFAULT_VERSION,
        max_retries: int = 5,
        on_call: OnCall | None = None,
    ) -> None:
        self.send = send
        self._token = token
        self.clock = clock
        self.version = version
        self.attempts = Attempts(bucket, max_retries)
        self.on_call = on_call

    async def _wait(self, seconds: float) -> float:
        if seconds > 0:
            self.attempts.counters.waited += seconds
            await self.clock.sleep(seconds)
        return max(0.0, seconds)

    async def execute(self, op: Operation) -> Result:
        """As :meth:`ShopifyClient.execute`; a transport failure is a ShopifyError too."""
        a, now = self.attempts, self.clock.now
        waited = 0.0
        for _ in range(a.max_retries + 1):
            waited += await self._wait(a.delay(op, now()))
            a.spend(op, now())
            start = now()
            try:
                status, body = await self.send(request(op, self._token, self.version))
            except ShopifyError as exc:
                a.counters.errors += 1
                if self.on_call is not None:
                    self.on_call(op.name, start, waited, 0, Answer(error=str(exc)))
                raise
            answer = a.judge(op, status, body, now())
            if self.on_call is not None:
                self.on_call(op.name, start, waited, status, answer)
            if answer.retry_after is not None:
                waited = await self._wait(answer.retry_after)
                continue
            if answer.result is None:
                raise ShopifyError(answer.error or "failed")
            return answer.result
        raise a.exhausted(op)
