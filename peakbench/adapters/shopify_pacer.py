"""When a Shopify replay's GraphQL calls may leave, and what each answer means (sans-I/O).

One :class:`Pacer` per replay process (the cost bucket is one per app and store): it mirrors
the store's leaky bucket (:class:`~peakbench.adapters.shopify_client.CostBucket`) and keeps
``orderCreate`` under the profile's create rate (``replay.shopify.create_per_minute``). A caller
*reserves* a slot before it sends (:meth:`Pacer.reserve`, atomic: concurrent users get
successive slots), waits until the slot, marks the call sent (:meth:`Pacer.sent`), and hands the
answer to :meth:`Pacer.judge`, which re-synchronises the bucket from ``throttleStatus`` and says
whether the call is done, must be retried after a wait (``THROTTLED``, HTTP 429), or failed.
The virtual-time replay (asyncio) and the Locust user (gevent) drive the same pacer with their
own sleep and transport, in store seconds. :func:`call_line` is one line of
``journals/shopify.jsonl``: every GraphQL call the replay made, with its cost and its waits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peakbench.adapters import shopify as sh
from peakbench.adapters.shopify_client import CostBucket

CREATE = "orderCreate"
MAX_RETRIES = 5
"""THROTTLED answers one call may get before it counts as failed (ShopifyClient's default)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an answer means: ``result`` (done), ``retry_after`` store seconds, or ``error``."""

    result: sh.Result | None = None
    retry_after: float | None = None
    error: str | None = None
    throttled: bool = False
    cost: sh.Cost | None = None


@dataclass(frozen=True, slots=True)
class ShopifySettings:
    """``RUN/shopify-replay.json``: what the Shopify replay needs besides the schedule."""

    orders: str = "create"
    """``create`` or ``precreate`` (``replay.shopify.orders``)."""
    create_per_minute: float | None = None
    api_version: str = sh.DEFAULT_VERSION
    bucket_size: float = 1000.0
    restore_rate: float = 50.0
    events_first: int = 50
    late_after: float = 300.0
    precreate_margin: float = 1.25

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShopifySettings:
        rate = data.get("create_per_minute")
        return cls(
            orders=str(data.get("orders", "create")),
            create_per_minute=None if rate is None else float(rate),
            api_version=str(data.get("api_version", sh.DEFAULT_VERSION)),
            bucket_size=float(data.get("bucket_size", 1000.0)),
            restore_rate=float(data.get("restore_rate", 50.0)),
            events_first=int(data.get("events_first", 50)),
            late_after=float(data.get("late_after", 300.0)),
            precreate_margin=float(data.get("precreate_margin", 1.25)),
        )

    @classmethod
    def load(cls, path: Path) -> ShopifySettings:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


class Pacer:
    """Slots for GraphQL calls under the cost bucket and the create rate (store seconds)."""

    def __init__(
        self,
        bucket_size: float,
        restore_rate: float,
        create_per_minute: float | None,
        now: float,
    ) -> None:
        self.bucket = CostBucket(bucket_size, restore_rate, now)
        self.create_gap = 60.0 / create_per_minute if create_per_minute else 0.0
        """Store seconds between two ``orderCreate`` calls (0: unpaced)."""
        self.estimates: dict[str, float] = {}
        """Last ``requestedQueryCost`` per operation name."""
        self._next_create = float("-inf")
        self._pending = 0.0
        """Points reserved by calls not sent yet (the server's bucket does not know them)."""

    def cost(self, op: sh.Operation) -> float:
        return self.estimates.get(op.name, sh.DEFAULT_COST)

    def reserve(self, op: sh.Operation, now: float) -> float:
        """Reserve the next slot for ``op``: the store time it may leave (``>= now``)."""
        cost = self.cost(op)
        at = now + self.bucket.delay(cost, now)
        if op.name == CREATE and self.create_gap:
            at = max(at, self._next_create)
            self._next_create = at + self.create_gap
        self.bucket.spend(cost, now)
        self._pending += cost
        return at

    def sent(self, op: sh.Operation) -> None:
        """The reserved call left: the server's bucket counts it from now on."""
        self._pending = max(0.0, self._pending - self.cost(op))

    def judge(self, op: sh.Operation, status: int, body: Any, now: float) -> Verdict:
        """Read one answer (``body``: parsed JSON or ``None``)."""
        try:
            result = sh.parse_response(body) if isinstance(body, Mapping) else None
        except sh.ShopifyError as exc:
            return Verdict(error=f"HTTP {status}: {exc}")
        cost = result.cost if result is not None else None
        if cost is not None:
            self.bucket.observe(cost, now)
            self.bucket.available -= self._pending
            if cost.requested > 0:
                self.estimates[op.name] = cost.requested
        if result is not None and result.throttled:
            wait = sh.throttle_wait(cost) if cost is not None else 1.0
            return Verdict(retry_after=max(wait, 0.001), throttled=True, cost=cost)
        if status == 429:  # throttled without a GraphQL body: a second's restore
            return Verdict(retry_after=1.0, throttled=True, cost=cost)
        if not 200 <= status < 300 or result is None:
            detail = "; ".join(result.errors) if result and result.errors else "no JSON body"
            return Verdict(error=f"HTTP {status}: {detail}", cost=cost)
        if result.errors and result.data is None:
            return Verdict(error="; ".join(result.errors), cost=cost)
        return Verdict(result=result, cost=cost)


def call_line(
    op: str,
    ref: int,
    phase: str,
    start: float,
    end: float,
    waited: float,
    status: int,
    verdict: Verdict | None,
    error: str | None = None,
) -> str:
    """One line of ``journals/shopify.jsonl`` (times in run seconds; ``waited``: store seconds
    the call waited for its slot before it left; ``phase``: ``precreate`` or ``window``)."""
    cost = verdict.cost if verdict is not None else None
    line: dict[str, Any] = {
        "op": op,
        "ref": ref,
        "phase": phase,
        "start": round(start, 3),
        "end": round(end, 3),
        "waited": round(waited, 3),
        "status": status,
        "throttled": bool(verdict is not None and verdict.throttled),
        "error": error if error is not None else verdict.error if verdict is not None else None,
    }
    if cost is not None:
        line["requested"] = cost.requested
        line["actual"] = cost.actual
        line["available"] = cost.available
    return json.dumps(line, separators=(",", ":"))


def precreate_lead(
    orders: int, create_per_minute: float | None, restore_rate: float, margin: float
) -> float:
    """Store seconds before run second 0 to start creating ``orders`` orders one after another
    under the pace (an orderCreate every ``60 / create_per_minute`` s, and never faster than
    the bucket restores a mutation's cost), times ``margin``, plus 10 s."""
    if not orders:
        return 0.0
    gap = 60.0 / create_per_minute if create_per_minute else 0.0
    per_order = max(gap, sh.DEFAULT_COST / restore_rate)
    return round(orders * per_order * margin + 10.0, 3)
