"""The target store and, for the sandbox, its reference logistics plugin and its presets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, model_validator

from peakbench.config.base import Duration, Spec

Preset = Literal["direct-polling", "saas-push", "live-refresh", "well-behaved", "tracking-app"]
Platform = Literal["woocommerce", "shopify"]
ShopifyPlan = Literal["standard", "advanced", "plus", "enterprise"]

PRESETS: dict[str, dict[str, Any]] = {
    # bh-wc-shipment-tracking-updates: hourly, chunks of 35, errors logged and ignored
    "direct-polling": {},
    # TrackShip for WooCommerce: register on ship, the aggregator pushes; nothing polls
    "saas-push": {"request_timeout": 10.0},
    # refresh on a tracking-page view when the cached status is older than the TTL, plus a
    # slow background poll for parcels nobody looks at
    "live-refresh": {"interval": 6 * 3600.0, "ttl": 1800.0},
    # honours Retry-After, backs off with jitter, spreads calls under a daily budget, and
    # stops calling a carrier that keeps refusing (circuit breaker)
    "well-behaved": {"batch_size": 40, "on_throttle": "backoff", "budget_per_day": 250.0},
    # a Shopify tracking app (AfterShip/ParcelPanel/17TRACK-style): fulfilment webhooks in,
    # carrier polls (or an aggregator) behind it, fulfillmentEventCreate write-backs out
    "tracking-app": {"interval": 2 * 3600.0, "batch_size": 40, "on_throttle": "backoff"},
}
"""Each preset's knobs that differ from the field defaults; a profile's own keys win."""


class PluginSpec(Spec):
    """The sandbox's reference plugin: a named preset (``preset:``) plus overrides of its knobs.

    Presets model real plugin archetypes (reference/carriers.md §2): ``direct-polling``,
    ``saas-push``, ``live-refresh``, ``well-behaved`` (:data:`PRESETS` lists what each changes).
    Every job runs on a queue with Action Scheduler's semantics: a WP-Cron ``tick`` starts a run
    (``cron: traffic`` only when the store gets a request, as WP-Cron does), a run claims
    ``claim_batch`` due actions per batch, runs ``concurrency`` batches at once, and stops
    starting actions after ``time_limit``. Pollers enqueue one action per ``batch_size`` open
    shipments every ``interval``. All durations are store time.
    """

    strategy: Preset = Field(
        default="direct-polling", validation_alias=AliasChoices("preset", "strategy")
    )
    """The preset (``preset:`` in profiles; ``strategy:`` is the older spelling)."""
    interval: Duration = Field(default=3600.0, gt=0)
    batch_size: int = Field(default=35, gt=0, le=1000)
    concurrency: int = Field(default=1, gt=0, le=64)
    """Concurrent batches: queue runners working at once, each on its own claimed batch."""
    claim_batch: int = Field(default=25, gt=0)
    time_limit: Duration = Field(default=30.0, gt=0)
    tick: Duration = Field(default=60.0, gt=0)
    cron: Literal["system", "traffic"] = "system"
    """``system``: a real cron fires every tick; ``traffic``: WP-Cron, which fires only when a
    request reaches the store after the tick is due (full-page caching starves it)."""
    request_timeout: Duration = Field(default=10.0, gt=0)
    on_throttle: Literal["ignore", "stop-run", "backoff"] = "ignore"
    """On a 429/403: ``ignore`` logs it and moves on (like most plugins), ``stop-run`` ends the
    queue run, ``backoff`` postpones the action by Retry-After (or an exponential backoff)."""
    # -- live-refresh --------------------------------------------------------------------------
    ttl: Duration = Field(default=1800.0, gt=0)
    """live-refresh: a view refreshes a shipment whose last check is older than this."""
    # -- well-behaved --------------------------------------------------------------------------
    budget_per_day: float | None = Field(default=None, gt=0)
    """Carrier calls per day per carrier (a token bucket refilled evenly); keep it below the
    daily quota minus ``burst``. None: no budget."""
    burst: int = Field(default=5, gt=0)
    """Token bucket capacity: calls allowed back to back."""
    backoff: Duration = Field(default=60.0, gt=0)
    """First backoff after a refusal or error without Retry-After; doubles per attempt."""
    backoff_max: Duration = Field(default=6 * 3600.0, gt=0)
    jitter: float = Field(default=0.5, ge=0, le=1)
    """Share of a backoff drawn at random (0.5: uniform in [delay/2, delay])."""
    breaker_threshold: int = Field(default=3, gt=0)
    """Consecutive refusals (429/403/401) that open a carrier's circuit breaker."""
    breaker_cooldown: Duration = Field(default=1800.0, gt=0)
    """How long an open breaker waits before letting one trial call through (half-open);
    doubles each time the trial is refused."""
    # -- saas-push -----------------------------------------------------------------------------
    aggregator: str | None = None
    """saas-push: the fleet carrier to register numbers with (default: the first carrier with
    the ``trackship`` personality)."""
    register_retry: Duration = Field(default=300.0, gt=0)
    """saas-push: a transport error is retried once, this much later (TrackShip: 5 min)."""
    # -- tracking-app (the Shopify sandbox; docs/shopify.md) ------------------------------------
    app_mode: Literal["poll", "aggregator"] = "poll"
    """tracking-app: ``poll`` the carriers every ``interval`` in batches of ``batch_size``
    (``on_throttle`` and the well-behaved guard knobs apply), or register each number with the
    ``aggregator`` and wait for its pushes."""
    shopify_plan: ShopifyPlan = "standard"
    """tracking-app: the store's plan, which sets the app's GraphQL cost bucket."""
    shopify_restore_rate: float | None = Field(default=None, gt=0)
    """tracking-app: cost points restored per second (None: the plan's)."""
    shopify_bucket: float | None = Field(default=None, gt=0)
    """tracking-app: cost bucket size in points (None: the plan's)."""
    webhook_timeout: Duration = Field(default=5.0, gt=0)
    """tracking-app: how long Shopify waits for the app to answer a webhook (5 s)."""

    @model_validator(mode="before")
    @classmethod
    def _preset_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        name = data.get("preset", data.get("strategy", "direct-polling"))
        defaults = PRESETS.get(name) if isinstance(name, str) else None
        return {**defaults, **data} if defaults else data

    @property
    def preset(self) -> str:
        return self.strategy


CandidateName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,30}$")]
Candidates = dict[CandidateName, PluginSpec]
"""A profile's ``candidates:``: name → plugin preset plus overrides; ``peakbench run`` replays
the same peak once per candidate and compares them (peakbench/run/candidates.py)."""


class SandboxTarget(Spec):
    """The built-in sandbox store: WooCommerce-shaped with the reference plugin (default), or
    Shopify-shaped (``platform: shopify``) with the ``tracking-app`` preset as its app."""

    kind: Literal["sandbox"] = "sandbox"
    platform: Platform = "woocommerce"
    plugin: PluginSpec = PluginSpec()

    @model_validator(mode="before")
    @classmethod
    def _shopify_runs_the_app(cls, data: Any) -> Any:
        """A Shopify sandbox whose plugin names no preset runs the tracking app."""
        if isinstance(data, dict) and data.get("platform") == "shopify":
            plugin = data.get("plugin") or {}
            if isinstance(plugin, dict) and "preset" not in plugin and "strategy" not in plugin:
                return {**data, "plugin": {**plugin, "preset": "tracking-app"}}
        return data

    @model_validator(mode="after")
    def _preset_fits_platform(self) -> SandboxTarget:
        app = self.plugin.strategy == "tracking-app"
        if (self.platform == "shopify") != app:
            raise ValueError(
                "plugin.preset: the tracking-app preset runs on platform: shopify, and a "
                f"shopify sandbox runs only it (got platform {self.platform}, preset "
                f"{self.plugin.strategy})"
            )
        return self
