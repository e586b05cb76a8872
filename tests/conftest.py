from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from peakbench.config.loader import parse_profile
from peakbench.config.profile import Profile

BASE: dict[str, Any] = {
    "name": "tiny",
    "seed": 7,
    "clock": {"start": "2026-11-27T00:00:00-05:00", "scale": 3600, "duration": "12h"},
    "peak": {"curve": "flat", "peak_orders_per_hour": 30, "order_window": "8h"},
    "fulfilment": {"median": "1h", "p90": "2h"},
    "carriers": [{"name": "generic", "behaviours": []}],
}


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def make_profile() -> Callable[..., Profile]:
    """A small valid profile, with any field overridden by nested keyword dicts."""

    def make(**extra: Any) -> Profile:
        return parse_profile(yaml.safe_dump(_merge(BASE, extra)), "test.yaml")

    return make
