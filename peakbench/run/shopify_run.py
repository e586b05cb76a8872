"""What a run does differently when its store speaks Shopify (the Shopify-shaped sandbox, or a
real development store): what it refuses before anything starts, what its replay is told
(``RUN/shopify-replay.json``), and how long the pre-creation phase before run second 0 lasts.

The replay itself is :mod:`mocks.virtual.shopify_replay` (virtual time) and
:mod:`loadtests.shopify_user` (wall time, Locust); both read ``shopify-replay.json``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from peakbench.adapters.shopify_pacer import precreate_lead
from peakbench.config.profile import Profile
from peakbench.config.shopify_replay import create_rate
from peakbench.config.targets import ShopifyTarget
from peakbench.plan.schedule import Item

SETTINGS_FILE = "shopify-replay.json"
SANDBOX_BUCKET = (1000.0, 50.0)
"""The cost bucket the replay assumes on the sandbox until a response reports its own
(points, points per second: Shopify's standard-plan Admin API bucket)."""


def speaks_shopify(profile: Profile) -> bool:
    """Whether the run's store is Shopify-shaped (real, or the sandbox with ``platform:
    shopify``)."""
    target = profile.target
    return isinstance(target, ShopifyTarget) or getattr(target, "platform", "") == "shopify"


def real_shopify(profile: Profile) -> ShopifyTarget | None:
    target = profile.target
    return target if isinstance(target, ShopifyTarget) else None


@dataclass(frozen=True, slots=True)
class ShopifyPlan:
    """The Shopify side of a run, decided before it starts."""

    settings: dict[str, Any]
    """The content of ``RUN/shopify-replay.json``."""
    orders: int
    peak_per_minute: int
    """Most orders the schedule creates in one store minute."""
    lead: float
    """Store seconds before run second 0 the pre-creation starts (0: ``orders: create``)."""


def settings(profile: Profile) -> dict[str, Any]:
    """What the replay needs besides the schedule (no secrets)."""
    spec = profile.replay.shopify
    real = real_shopify(profile)
    bucket, restore = (real.bucket_size, real.restore_rate) if real is not None else SANDBOX_BUCKET
    return {
        "orders": spec.orders,
        "create_per_minute": create_rate(spec, real is not None),
        "api_version": real.api_version if real is not None else "2025-07",
        "bucket_size": bucket,
        "restore_rate": restore,
        "events_first": real.events_first if real is not None else 50,
        "late_after": profile.replay.late_after,
        "precreate_margin": spec.precreate_margin,
        "real": real is not None,
    }


def peak_per_minute(order_times: Iterable[float]) -> int:
    """Most order arrivals in any 60 store seconds (a sliding window over sorted times)."""
    times = sorted(order_times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 60.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def plan(profile: Profile, items: Iterable[Item]) -> ShopifyPlan:
    """The pre-creation lead and the schedule's order peak, for :func:`refusal` and the run."""
    data = settings(profile)
    times = [i.t for i in items if i.kind == "order"]
    lead = 0.0
    if data["orders"] == "precreate" and times:
        lead = precreate_lead(
            len(times), data["create_per_minute"], data["restore_rate"], data["precreate_margin"]
        )
    return ShopifyPlan(data, len(times), peak_per_minute(times), lead)


def refusal(profile: Profile, shopify: ShopifyPlan, processes: int) -> str | None:
    """Why a Shopify run must not start (one line), or ``None``."""
    if processes > 1:
        return (
            "a Shopify replay runs in one Locust process (the cost bucket is one per app and "
            "store): drop --processes/--master"
        )
    rate = shopify.settings["create_per_minute"]
    if shopify.settings["orders"] == "create" and rate and shopify.peak_per_minute > rate:
        return (
            f"the schedule creates up to {shopify.peak_per_minute} orders in a store minute but "
            f"replay.shopify.create_per_minute is {rate:g} (a development store accepts 5): "
            "lower peak.peak_orders_per_hour, or set replay.shopify.orders: precreate"
        )
    return None


def precreate_wall_s(shopify: ShopifyPlan, scale: float) -> float:
    """Wall seconds to add to the warm-up so pre-creation ends before run second 0."""
    return math.ceil(shopify.lead / scale) if shopify.lead else 0.0


def token_env_json(token: str) -> Mapping[str, str]:
    """The store credentials a Shopify replay gets in its environment (never in a file)."""
    return {"access_token": token}


def preflight(profile: Profile, processes: int, env: Mapping[str, str]) -> str | None:
    """Before anything starts, for a profile whose store speaks Shopify: ValueError (one line)
    for what the run refuses; a real store's access token from the environment, else None."""
    from peakbench.plan.planner import build_plan
    from peakbench.run.checker import TargetRefused, shopify_token

    if not speaks_shopify(profile):
        return None
    if profile.candidates:
        raise ValueError("candidates compare sandbox plugins: a Shopify run measures one app")
    reason = refusal(profile, plan(profile, build_plan(profile).items), processes)
    if reason:
        raise ValueError(reason)
    real = real_shopify(profile)
    if real is None:
        return None
    try:
        return shopify_token(real, env)
    except TargetRefused as exc:
        raise ValueError(str(exc)) from None
