"""Shopify's webhook delivery: ``fulfillments/create`` and ``fulfillments/update`` to an app.

Each delivery is a POST of the JSON body to the subscription's address with Shopify's headers
(shopify.dev/docs/apps/build/webhooks/delivery-structure): ``X-Shopify-Topic``,
``X-Shopify-Hmac-Sha256`` (base64 of HMAC-SHA256 over the raw body, keyed with the app's client
secret), ``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``, ``X-Shopify-Webhook-Id``,
``X-Shopify-Triggered-At`` and ``X-Shopify-Event-Id``. A 2xx within ``timeout`` (Shopify: 5 s)
is a success; anything else is retried with the ORIGINAL body and headers (Shopify: "retried a
total of 8 times over 4 hours using an exponential backoff schedule",
shopify.dev/changelog/updates-to-webhook-retry-mechanism, 2024-09-10). Shopify publishes the
count and the window, not the intervals: :data:`RETRY_DELAYS_S` (60 s doubling, 4.1 h in
all) is ASSUMED.

The caller supplies the httpx client (the virtual world's in-process transport, or sockets) and
the Clock; every wait is a ``clock.sleep``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from peakbench.plan.clock import Clock, epoch_of, iso

RETRY_DELAYS_S = (60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3840.0, 7200.0)
"""Waits before retries 1..8 (ASSUMED intervals; Shopify documents 8 retries over 4 hours)."""
TIMEOUT_S = 5.0
TOPICS = ("fulfillments/create", "fulfillments/update")


def sign(body: bytes, secret: str) -> str:
    """``X-Shopify-Hmac-Sha256`` of ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """Constant-time check of a presented ``X-Shopify-Hmac-Sha256``."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


@dataclass(frozen=True, slots=True)
class Subscription:
    """Where the app listens, and the secret Shopify signs with."""

    address: str
    secret: str
    topics: tuple[str, ...] = TOPICS


@dataclass(slots=True)
class DeliveryCounters:
    sent: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    abandoned: int = 0
    """Deliveries that failed every attempt."""


class WebhookSender:
    """Delivers topics to one subscription in background tasks; :meth:`close` cancels them."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        clock: Clock,
        subscription: Subscription,
        *,
        shop_domain: str,
        api_version: str,
        timeout: float = TIMEOUT_S,
        retry_delays: tuple[float, ...] = RETRY_DELAYS_S,
    ) -> None:
        self.client = client
        self.clock = clock
        self.subscription = subscription
        self.shop_domain = shop_domain
        self.api_version = api_version
        self.timeout = timeout
        self.retry_delays = retry_delays
        self.counters = DeliveryCounters()
        self._tasks: set[asyncio.Task[None]] = set()
        self._seq = 0

    def headers(self, topic: str, body: bytes) -> dict[str, str]:
        self._seq += 1
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign(body, self.subscription.secret),
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": str(uuid.UUID(int=self._seq)),
            "X-Shopify-Event-Id": str(uuid.UUID(int=(1 << 64) + self._seq)),
            "X-Shopify-Triggered-At": iso(epoch_of(self.clock.spec, self.clock.now())),
        }

    def emit(self, topic: str, payload: dict[str, Any]) -> None:
        """Queue a delivery of ``topic`` (ignored when the subscription does not include it)."""
        if topic not in self.subscription.topics:
            return
        body = json.dumps(payload, separators=(",", ":")).encode()
        task = asyncio.get_running_loop().create_task(
            self._deliver(body, self.headers(topic, body))
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, body: bytes, headers: dict[str, str]) -> bool:
        try:
            resp = await self.client.post(
                self.subscription.address, content=body, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError:
            return False
        return 200 <= resp.status_code < 300

    async def _deliver(self, body: bytes, headers: dict[str, str]) -> None:
        self.counters.sent += 1
        for attempt in range(len(self.retry_delays) + 1):
            if attempt:
                await self.clock.sleep(self.retry_delays[attempt - 1])
            if await self._attempt(body, headers):
                self.counters.delivered += 1
                return
            self.counters.failed_attempts += 1
        self.counters.abandoned += 1

    async def drain(self) -> None:
        """Wait for the deliveries in flight (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
