"""The pure parts of the plugin presets: the well-behaved poller's guard, TrackShip's wire format.

- :class:`Guard` (``well-behaved``): a token bucket that spreads calls under a daily budget, an
  exponential backoff with jitter that honours ``Retry-After``, and a circuit breaker that opens
  after repeated refusals and half-opens after a cool-down.
- :func:`register_body` / :func:`webhook_tracking` (``saas-push``): the register call TrackShip
  for WooCommerce sends when an order ships, and how a TrackShip webhook body becomes the events
  the store shows (reference/carriers.md §5).

No I/O and no clock here: every method takes the run second ``now``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mocks.store.policy import MAX_BACKOFF_S, Reply

# -- well-behaved ---------------------------------------------------------------------------------


class GuardSpec(Protocol):
    """The settings a guard is made from (the plugin's and the Shopify app's specs have them)."""

    @property
    def budget_per_day(self) -> float | None: ...
    @property
    def burst(self) -> int: ...
    @property
    def breaker_threshold(self) -> int: ...
    @property
    def breaker_cooldown(self) -> float: ...


@dataclass(slots=True)
class Guard:
    """What the well-behaved poller knows about one carrier (all times run seconds).

    ``rate`` calls per store second refill a bucket of ``burst`` tokens (None: no budget); the
    breaker opens after ``threshold`` consecutive refusals for ``cooldown`` seconds (or the
    carrier's Retry-After, if longer), then lets one trial call through.
    """

    rate: float | None
    burst: int
    threshold: int
    cooldown: float
    tokens: float = 0.0
    refilled: float = 0.0
    refusals: int = 0
    open_until: float = -math.inf
    opened: int = 0
    """Times the breaker opened in a row (each doubles the cool-down)."""
    trial: bool = False
    """Half-open: a trial call is in flight, everyone else waits."""

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    @classmethod
    def of(cls, spec: GuardSpec, now: float) -> Guard:
        """A fresh guard from ``spec`` at run second ``now`` (a full bucket)."""
        rate = None if spec.budget_per_day is None else spec.budget_per_day / 86400.0
        return cls(rate, spec.burst, spec.breaker_threshold, spec.breaker_cooldown, refilled=now)

    def wait(self, now: float) -> float:
        """Store seconds until a call may go out (0: go now, and a token is taken)."""
        if now < self.open_until:
            return self.open_until - now
        if self.refusals >= self.threshold:  # half-open: one trial call at a time
            if self.trial:
                return self.cooldown / 4
            self.trial = True
        if self.rate is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.refilled) * self.rate)
            self.refilled = now
            if self.tokens < 1.0:
                self.trial = False
                return (1.0 - self.tokens) / self.rate
            self.tokens -= 1.0
        return 0.0

    def record(self, reply: Reply, now: float) -> None:
        """Learn from a call's answer: success closes the breaker, refusals may open it."""
        self.trial = False
        if reply.outcome == "ok":
            self.refusals, self.opened = 0, 0
            return
        if reply.outcome not in ("throttled", "blocked"):
            return
        self.refusals += 1
        if self.refusals >= self.threshold:
            cooldown = min(self.cooldown * 2.0**self.opened, MAX_BACKOFF_S)
            self.open_until = now + max(cooldown, reply.retry_after or 0.0)
            self.opened += 1

    @property
    def is_open(self) -> bool:
        return self.refusals >= self.threshold


def backoff_delay(
    reply: Reply, attempts: int, base: float, cap: float, jitter: float, rng: random.Random
) -> float:
    """Store seconds to wait before retrying after ``reply``: its ``Retry-After`` when given,
    else ``base`` doubled per attempt (capped), of which a ``jitter`` share is random."""
    if reply.retry_after is not None:
        return reply.retry_after
    delay = min(base * 2.0 ** max(attempts - 1, 0), cap)
    return delay * (1.0 - jitter * rng.random())


# -- saas-push (TrackShip) ------------------------------------------------------------------------

TS_STATUS = {
    "pre_transit": "info_received",
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "available_for_pickup": "out_for_delivery",
    "failure": "failed_attempt",
    "delivered": "delivered",
    "exception": "exception",
    "on_hold": "exception",
    "return_to_sender": "exception",
}
"""TrackShip ``tracking_event_status`` → the neutral vocabulary the store shows."""


def register_body(order_id: int, number: str, provider: str, user_key: str, domain: str) -> bytes:
    """The body of ``POST /v1/shipment/create/ts4wc`` (sent without a JSON content type)."""
    doc = {
        "order_id": order_id,
        "custom_order_id": str(order_id),
        "tracking_number": number,
        "tracking_provider": provider,
        "postal_code": "",
        "destination_country": "",
        "user_key": user_key,
        "domain": domain,
        "ts4wc": "2.0.7",
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def status_msg(body: Any) -> str:
    """The ``status_msg`` TrackShip answered (what the plugin stores), at most 30 characters."""
    if isinstance(body, Mapping):
        msg = body.get("status_msg")
        if isinstance(msg, str):
            return msg[:30]
    return ""


@dataclass(frozen=True, slots=True)
class PushedTracking:
    """A webhook's tracking in the store's terms."""

    tracking_number: str
    status: str
    events: list[dict[str, Any]] = field(default_factory=list)


def _event(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    loc = raw.get("tracking_location")
    loc = loc if isinstance(loc, Mapping) else {}
    when = str(raw.get("datetime") or "")
    status = TS_STATUS.get(str(raw.get("status") or ""), "in_transit")
    return {
        "code": str(raw.get("status") or ""),
        "status": status,
        "description": str(raw.get("message") or ""),
        "location": {
            "city": loc.get("city") or "",
            "state": loc.get("state") or "",
            "country": loc.get("country") or "",
        },
        # TrackShip sends local "Y-m-d H:i:s" without a zone; kept as local ISO, as received
        "occurred_at": when.replace(" ", "T", 1),
    }


def webhook_tracking(payload: Mapping[str, Any]) -> PushedTracking | None:
    """A TrackShip webhook body as the events to show (origin then destination events, oldest
    first); None when it names no tracking number or its events are not a list."""
    number = payload.get("tracking_number")
    events = payload.get("events")
    dest = payload.get("destination_events") or []
    if not isinstance(number, str) or not isinstance(events, list) or not isinstance(dest, list):
        return None
    shown = [e for e in map(_event, [*events, *dest]) if e is not None]
    status = TS_STATUS.get(str(payload.get("tracking_event_status") or ""), "pending")
    if not shown:
        status = "pending"
    return PushedTracking(number, status, shown)
