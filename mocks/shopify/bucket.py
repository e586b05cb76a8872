"""Shopify's server-side leaky bucket of GraphQL cost points, one per app token, on store time.

A request whose requested cost is at most what the bucket holds passes and is charged that
cost; afterwards the bucket is refunded ``requested − actual``. A request that asks for more is
refused (THROTTLED) and charged nothing. The bucket refills continuously at ``restore_rate``
points per second up to ``maximum`` (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits:
"Limits are enforced with a leaky bucket: your quota refills continuously").

Restore rates per plan are Shopify's published table (Standard 100, Advanced 200, Plus 1000,
Commerce Components 2000 points/s). The bucket sizes are ASSUMED: Shopify's current table gives
only rates; :data:`BUCKET_SECONDS` seconds of restore (20 s, the ratio of the older published
pair 1000 points / 50 points/s) is used. Both are configurable (``shopify_restore_rate``,
``shopify_bucket``).
"""

from __future__ import annotations

from dataclasses import dataclass

PLAN_RESTORE_RATE = {"standard": 100.0, "advanced": 200.0, "plus": 1000.0, "enterprise": 2000.0}
"""Points per second by plan (shopify.dev rate-limits table, read 2026)."""
BUCKET_SECONDS = 20.0
"""ASSUMED bucket size, in seconds of restore."""


@dataclass(frozen=True, slots=True)
class Plan:
    """One app's limit: ``maximum`` points, ``restore_rate`` points per store second."""

    maximum: float
    restore_rate: float

    @classmethod
    def of(cls, name: str, restore_rate: float | None = None, maximum: float | None = None) -> Plan:
        """The plan ``name`` (standard, advanced, plus, enterprise) with optional overrides."""
        rate = restore_rate if restore_rate is not None else PLAN_RESTORE_RATE[name]
        return cls(maximum if maximum is not None else rate * BUCKET_SECONDS, rate)


@dataclass(frozen=True, slots=True)
class Status:
    """``throttleStatus`` as Shopify reports it."""

    maximum: float
    available: float
    restore_rate: float

    def to_json(self) -> dict[str, float]:
        return {
            "maximumAvailable": float(self.maximum),
            "currentlyAvailable": float(int(self.available)),
            "restoreRate": float(self.restore_rate),
        }


class LeakyBucket:
    """Points available to one app token (all times run seconds from the store's clock)."""

    def __init__(self, plan: Plan, now: float) -> None:
        self.plan = plan
        self.available = plan.maximum
        self._at = now

    def _restore(self, now: float) -> None:
        elapsed = max(0.0, now - self._at)
        self.available = min(self.plan.maximum, self.available + elapsed * self.plan.restore_rate)
        self._at = max(self._at, now)

    def take(self, cost: float, now: float) -> bool:
        """Charge ``cost`` if the bucket holds it (an exact fit passes); False: throttled."""
        self._restore(now)
        if cost > self.available + 1e-9:
            return False
        self.available -= cost
        return True

    def refund(self, points: float, now: float) -> None:
        self._restore(now)
        self.available = min(self.plan.maximum, self.available + max(0.0, points))

    def status(self, now: float) -> Status:
        self._restore(now)
        return Status(self.plan.maximum, self.available, self.plan.restore_rate)
