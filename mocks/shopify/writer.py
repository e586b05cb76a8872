"""The tracking app's Admin GraphQL client: :class:`peakbench.adapters.shopify.ShopifyClient`'s
loop, on asyncio and the store's Clock.

The adapter's client is synchronous (Locust's gevent world); an app inside the asyncio sandbox
needs the same behaviour without blocking the loop. This class reuses the adapter's pure parts
(:func:`~peakbench.adapters.shopify.request`, :func:`~peakbench.adapters.shopify.parse_response`,
:class:`~peakbench.adapters.shopify.CostBucket`, :func:`~peakbench.adapters.shopify.throttle_wait`)
and differs only in I/O: an httpx client the caller supplies and ``clock.sleep``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from peakbench.adapters.shopify import (
    DEFAULT_COST,
    DEFAULT_VERSION,
    CostBucket,
    Operation,
    Result,
    ShopifyError,
    parse_response,
    request,
    throttle_wait,
)
from peakbench.plan.clock import Clock


@dataclass(slots=True)
class WriterCounters:
    requests: int = 0
    throttled: int = 0
    """THROTTLED answers (the client's bucket mirror was behind the server's)."""
    waited: float = 0.0
    """Store seconds spent waiting for the cost bucket or a throttle."""
    errors: int = 0


class AsyncShopifyClient:
    """Executes operations against ``base_url``, waiting on the cost bucket before each request
    and, on THROTTLED, for what the restore rate implies."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        token: str,
        clock: Clock,
        bucket: CostBucket,
        *,
        version: str = DEFAULT_VERSION,
        timeout: float = 10.0,
        max_retries: int = 5,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.clock = clock
        self.bucket = bucket
        self.version = version
        self.timeout = timeout
        self.max_retries = max_retries
        self.estimates: dict[str, float] = {}
        self.counters = WriterCounters()

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.counters.waited += seconds
            await self.clock.sleep(seconds)

    async def execute(self, op: Operation) -> Result:
        """Send ``op``; ShopifyError on HTTP/GraphQL errors or after ``max_retries`` throttles."""
        for _ in range(self.max_retries + 1):
            cost = self.estimates.get(op.name, DEFAULT_COST)
            await self._wait(self.bucket.delay(cost, self.clock.now()))
            self.bucket.spend(cost, self.clock.now())
            req = request(op, self._token, self.version)
            self.counters.requests += 1
            try:
                resp = await self.client.post(
                    self.base_url + req.path,
                    json=dict(req.json or {}),
                    headers=dict(req.headers),
                    timeout=self.timeout,
                )
                body = resp.json()
            except (httpx.HTTPError, ValueError) as exc:
                self.counters.errors += 1
                raise ShopifyError(f"{op.name}: {type(exc).__name__}") from None
            result = parse_response(body) if isinstance(body, Mapping) else None
            if result is not None and result.cost is not None:
                self.bucket.observe(result.cost, self.clock.now())
                if result.cost.requested > 0:
                    self.estimates[op.name] = result.cost.requested
            if (result is not None and result.throttled) or resp.status_code == 429:
                self.counters.throttled += 1
                cost_info = result.cost if result is not None else None
                wait = throttle_wait(cost_info) if cost_info else 1.0
                await self._wait(math.ceil(wait * 1000) / 1000)
                continue
            if not 200 <= resp.status_code < 300 or result is None:
                self.counters.errors += 1
                raise ShopifyError(f"HTTP {resp.status_code}")
            if result.errors and result.data is None:
                self.counters.errors += 1
                raise ShopifyError("; ".join(result.errors))
            return result
        raise ShopifyError(f"{op.name}: still throttled after {self.max_retries} retries")
