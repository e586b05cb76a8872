"""The store a profile targets: the built-in sandbox, or a real WooCommerce or Shopify staging
store reached through the adapters (peakbench/adapters/, docs/targets.md).

Secrets never live in a profile: it names the environment variables that hold them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from peakbench.config.base import Spec
from peakbench.config.store import PluginSpec, SandboxTarget


class HtmlReadout(Spec):
    """Read what the customer sees from the order's HTML tracking page with CSS selectors.

    ``page`` is a path (or absolute URL) with ``{order_id}`` and ``{order_key}`` placeholders. The
    status is the ``status_attribute`` (or ``text``) of the first ``status_selector`` match; each
    ``event_selector`` match is one shown event, its time read from ``event_time_attribute``
    (or ``text``). The defaults match the sandbox store's page.
    """

    kind: Literal["html"] = "html"
    page: str = "/order-tracking/{order_id}?key={order_key}"
    status_selector: str = "p.tracking-status"
    status_attribute: str = "data-status"
    """An attribute name, or ``text`` for the element's text."""
    event_selector: str | None = "li.tracking-event"
    event_time_attribute: str | None = "data-occurred"
    event_exclude: str | None = None
    """A CSS selector for placeholders among the ``event_selector`` matches: an element that
    matches it, or holds a match, is not an event."""
    event_exclude_text: str | None = None
    """An element whose text contains this is a placeholder, not an event: TrackShip's
    "Tracking is still not yet available" row is a ``.tracking_detail`` like a real event."""
    event_time_format: str | None = None
    """``strptime`` format of localized event times (``%B %d, %Y %I:%M %p`` reads "December 2,
    2026 12:28 am"); ``None``: ISO-8601. Times without a zone are in ``timezone``."""
    event_time_selector: str | None = None
    """Read each event's time from this descendant's ``event_time_attribute`` instead of the
    event element's own."""
    timezone: str = "UTC"
    """IANA zone of times shown without one (the store's ``timezone_string``)."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like 'UTC'") from None
        return value


class JsonReadout(Spec):
    """Read tracking from a REST JSON route with small paths (``a.b[0]``, ``list[key=value]``).

    E.g. TrackShip's status meta: ``route: /wp-json/wc/v3/orders/{order_id}``, ``status:
    meta_data[key=ts_shipment_status].value[0].status``. ``events`` names a list of events and
    ``event_time`` the time field inside each; ``newest`` a single newest-event time instead.
    """

    kind: Literal["json"] = "json"
    route: str = "/wp-json/wc/v3/orders/{order_id}"
    status: str
    events: str | None = None
    event_time: str | None = None
    newest: str | None = None


_STAGING_MARKERS = ("staging", "stage", "stg", "dev", "test", "qa", "sandbox", "preview", "uat")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def host_looks_local(host: str) -> bool:
    """True for a loopback host name or address."""
    return host.lower().strip("[]") in _LOCAL_HOSTS


def host_looks_like_staging(host: str) -> bool:
    """True for a loopback host or one whose name carries a staging marker (``staging``,
    ``dev``, ``test``, ``qa``, a ``.local``/``.test`` domain, …) at either end of a label part."""
    host = host.lower().strip("[]")
    if host_looks_local(host) or host.endswith((".local", ".test", ".localhost")):
        return True
    parts = [p for label in host.split(".") for p in label.replace("_", "-").split("-")]
    # a marker is a whole part (``dev``, ``qa2``); only the long ones may also prefix or end a
    # word (``mystaging``): ``latest``, ``devon``, ``qatar`` or ``contest`` are production names
    return any(
        re.fullmatch(rf"{m}\d*", p) or (len(m) >= 7 and (p.startswith(m) or p.endswith(m)))
        for p in parts
        for m in _STAGING_MARKERS
    )


class QueueProbe(Spec):
    """Sample the store's background queue during a run through the must-use plugin
    ``wordpress/peakbench-queue-probe.php`` (read-only, behind the REST keys)."""

    route: str = "/wp-json/peakbench/v1/queue"
    every: float = Field(default=10.0, ge=1.0, le=3600.0)
    """Wall seconds between two samples."""
    timeout: float = Field(default=5.0, gt=0, le=60)
    """Wall seconds per read (the run's watch loop waits for it)."""


class WooCommerceTarget(Spec):
    """A real WooCommerce staging store, reached through its REST API (secrets from env vars)."""

    kind: Literal["woocommerce"] = "woocommerce"
    url: str = Field(pattern=r"^https?://[^/\s]+(/\S*)?$")
    """The site's base URL (the one ``/wp-json/`` hangs from)."""
    staging: bool = False
    """Must be ``true``: peakbench refuses stores not marked as staging."""
    auth: Literal["auto", "basic", "query", "oauth1"] = "auto"
    """``auto`` = Basic over HTTPS, OAuth 1.0a over HTTP (what the official client does)."""
    key_env: str = "PEAKBENCH_WC_KEY"
    """Environment variable holding the consumer key (``ck_…``)."""
    secret_env: str = "PEAKBENCH_WC_SECRET"
    """Environment variable holding the consumer secret (``cs_…``)."""
    ship_via: Literal["shipment-trackings", "meta"] = "shipment-trackings"
    """Add a shipment-tracking item (official plugin / AST), or write order meta."""
    trackings_namespace: str = "/wp-json/wc-shipment-tracking/v3"
    """AST also serves ``/wp-json/wc-ast/v3``."""
    tracking_meta_key: str = "_peakbench_tracking"
    """Order meta key written when ``ship_via: meta``."""
    tracking_provider: str | None = None
    """Provider slug for shipment items; default: the profile's first carrier name."""
    ship_fields: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Extra fields sent with every ship request, e.g. AST's ``status_shipped: 1`` (without it
    AST never hands the number to TrackShip)."""
    products: list[int] = Field(default_factory=list)
    """Product ids the replay's orders buy. Empty: the product with SKU ``product_sku`` is
    found (or created, a simple $10 product) before the run starts."""
    product_sku: str = Field(default="peakbench-test", min_length=1)
    plugins: list[str] = Field(default_factory=list)
    """The store's logistics plugins and versions (``TrackShip for WooCommerce 2.0.7``): read
    from WooCommerce's system status when a run starts, so run.json and the report name what
    was measured. A profile need not set it."""
    readout: Annotated[HtmlReadout | JsonReadout, Field(discriminator="kind")] = HtmlReadout()
    queue_probe: QueueProbe | None = None
    """Sample Action Scheduler and WP-Cron during a run (``None``: not sampled)."""
    verify_tls: bool = True
    ca_file: str | None = None
    """PEM file of a CA to trust for the store's certificate (a staging store's local CA,
    e.g. ``ca.pem`` from ``peakbench mocks ca``), besides the system's."""
    timeout: float = Field(default=30.0, gt=0, le=600)
    """Wall seconds per request."""

    @field_validator("url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("ca_file")
    @classmethod
    def _ca_file_exists(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"no CA file at {value}")
        return value

    @model_validator(mode="after")
    def _no_plain_http_secrets(self) -> WooCommerceTarget:
        plain = self.url.startswith("http://") and not host_looks_local(self.host)
        if plain and self.auth in ("basic", "query"):
            raise ValueError(
                f"auth {self.auth!r} would send the consumer secret in clear over http: "
                "use https or auth: oauth1"
            )
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def plugin(self) -> PluginSpec:
        """Real stores run their own plugin; only the sandbox has a :class:`PluginSpec`."""
        raise TypeError("a woocommerce target has no sandbox plugin")


class ShopifyTarget(Spec):
    """A Shopify development store, reached through the Admin GraphQL API."""

    kind: Literal["shopify"] = "shopify"
    shop: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
    """The store's ``*.myshopify.com`` domain."""
    staging: bool = False
    """Must be ``true``; a store that is not a development store is refused unless
    ``--allow-production``."""
    api_version: str = Field(default="2025-07", pattern=r"^(\d{4}-(01|04|07|10)|unstable)$")
    token_env: str = "PEAKBENCH_SHOPIFY_TOKEN"
    """Environment variable holding the Admin API access token (``shpat_…``)."""
    bucket_size: float = Field(default=1000.0, gt=0)
    """Assumed cost bucket (points) until a response reports ``throttleStatus``."""
    restore_rate: float = Field(default=50.0, gt=0)
    """Assumed points restored per wall second until a response reports it."""
    events_first: int = Field(default=50, gt=0, le=250)
    """How many fulfilment events a readout asks for."""
    timeout: float = Field(default=30.0, gt=0, le=600)
    """Wall seconds per request."""

    @property
    def host(self) -> str:
        return self.shop

    @property
    def plugin(self) -> PluginSpec:
        """Real stores run their own plugin; only the sandbox has a :class:`PluginSpec`."""
        raise TypeError("a shopify target has no sandbox plugin")


def _target_kind(value: Any) -> str:
    kind = value.get("kind", "sandbox") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) else "sandbox"


Target = Annotated[
    Annotated[SandboxTarget, Tag("sandbox")]
    | Annotated[WooCommerceTarget, Tag("woocommerce")]
    | Annotated[ShopifyTarget, Tag("shopify")],
    Discriminator(
        _target_kind,
        custom_error_type="target_kind",
        custom_error_message="kind must be one of 'sandbox', 'woocommerce', 'shopify'",
    ),
]
"""The store a profile targets, chosen by ``kind`` (``sandbox`` when omitted)."""

RealTarget = WooCommerceTarget | ShopifyTarget
