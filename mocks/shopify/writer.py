"""The tracking app's Admin GraphQL client: the adapter's
:class:`~peakbench.adapters.shopify_client.AsyncShopifyClient` over an httpx client the caller
supplies, on the store's Clock.

With a ``journal`` (a text file the caller owns), every GraphQL call is one line in the format
of the replay's ``journals/shopify.jsonl`` (:func:`peakbench.adapters.shopify_pacer.call_line`,
phase ``app``): a run's ``journals/shopify-app.jsonl``, which the summary's ``shopify.app``
reads (the app's THROTTLED answers and the store seconds it waited for its bucket).
"""

from __future__ import annotations

from typing import Any, TextIO

import httpx

from peakbench.adapters.request import Request
from peakbench.adapters.shopify import DEFAULT_VERSION, ShopifyError
from peakbench.adapters.shopify_client import Answer, AsyncShopifyClient, CostBucket
from peakbench.adapters.shopify_pacer import Verdict, call_line
from peakbench.plan.clock import Clock


def app_client(
    client: httpx.AsyncClient,
    base_url: str,
    token: str,
    clock: Clock,
    bucket: CostBucket,
    *,
    version: str = DEFAULT_VERSION,
    timeout: float = 10.0,
    max_retries: int = 5,
    journal: TextIO | None = None,
) -> AsyncShopifyClient:
    """The app's client of the store at ``base_url``: it waits on ``bucket`` before each request
    and, on THROTTLED, for what the restore rate implies; ``journal`` gets a line per call."""
    base = base_url.rstrip("/")

    async def send(req: Request) -> tuple[int, Any]:
        try:
            resp = await client.post(
                base + req.path,
                json=dict(req.json or {}),
                headers=dict(req.headers),
                timeout=timeout,
            )
            return resp.status_code, resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ShopifyError(type(exc).__name__) from None

    def on_call(op: str, start: float, waited: float, status: int, answer: Answer) -> None:
        if journal is not None:
            verdict = Verdict(throttled=answer.throttled, cost=answer.cost, error=answer.error)
            journal.write(
                call_line(op, 0, "app", start, clock.now(), waited, status, verdict) + "\n"
            )

    return AsyncShopifyClient(
        send, token, clock, bucket, version=version, max_retries=max_retries, on_call=on_call
    )
