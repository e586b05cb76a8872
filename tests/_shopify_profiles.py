"""Small Shopify profiles for the end-to-end tests: :func:`_profiles.small` on the Shopify-shaped
sandbox with its tracking app, a carrier whose hourly quota the app's polls outgrow (the
carrier-side throttle) and an app cost bucket too small for its write-backs (the app-side
GraphQL throttle)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from _profiles import small

HOURLY_QUOTA: list[dict[str, Any]] = [
    {"type": "latency", "distribution": "fixed", "delay": "200ms"},
    {"type": "quota", "limit": 5, "per": "1s"},
    {"type": "quota", "limit": 8, "per": "1h"},
]


def shopify_small(name: str, orders: str = "create", mode: str | None = None) -> dict[str, Any]:
    """The small profile's schedule replayed against the Shopify sandbox (``orders``:
    ``replay.shopify.orders``; ``mode``: ``wall`` or the default virtual time)."""
    data = small(name, behaviours=HOURLY_QUOTA, warmup_wall_s=2, mode=mode)
    data["target"] = {
        "kind": "sandbox",
        "platform": "shopify",
        "plugin": {
            "preset": "tracking-app",
            "interval": "30m",
            "batch_size": 10,
            "on_throttle": "backoff",
            "shopify_restore_rate": 0.5,  # a write-back costs 10: one every 20 s at most
            "shopify_bucket": 20,
        },
    }
    data["replay"]["shopify"] = {"orders": orders}
    return data


def scheduled(root: Path) -> Counter[str]:
    """Items per kind in the run's ``schedule.csv``."""
    with (root / "schedule.csv").open(encoding="utf-8") as fh:
        return Counter(row["kind"] for row in csv.DictReader(fh))
