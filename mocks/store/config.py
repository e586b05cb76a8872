"""What the sandbox store is told at start: its plugin, the carriers it may call, its credentials.

``RUN/store.json`` is ``{"plugin": PluginSpec, "carriers": {"<name>": {"base_url",
"personality"}}, "platform": "woocommerce" | "shopify"}`` (``platform`` optional, default
``woocommerce``; ``shopify`` builds the Shopify-shaped store and its tracking app,
:mod:`mocks.shopify`); secrets (store credentials, carrier API keys) come from the composition
root, never from files.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peakbench.config.store import PluginSpec

PLATFORMS = ("woocommerce", "shopify")


@dataclass(frozen=True, slots=True)
class CarrierEndpoint:
    """One carrier the plugin polls: where it listens and the API key the plugin sends."""

    name: str
    base_url: str
    personality: str = "generic"
    api_key: str | None = field(default=None, repr=False)
    """First key of the carrier in ``PEAKBENCH_CARRIER_KEYS``; ``None`` sends no key (→ 401)."""


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """The parsed ``store.json`` (without secrets)."""

    plugin: PluginSpec
    carriers: Mapping[str, CarrierEndpoint]
    platform: str = "woocommerce"
    """``woocommerce`` (the REST store and its plugin) or ``shopify`` (:mod:`mocks.shopify`)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoreConfig:
        """Validate ``store.json``'s content; raises ValueError with a one-line reason."""
        if not isinstance(data, Mapping):
            raise ValueError("store config: expected a JSON object")
        platform = data.get("platform", "woocommerce")
        if platform not in PLATFORMS:
            raise ValueError(f"store config: platform must be one of {', '.join(PLATFORMS)}")
        raw_plugin = data.get("plugin") or (
            {"preset": "tracking-app"} if platform == "shopify" else {}
        )
        plugin = PluginSpec.model_validate(raw_plugin)
        if (platform == "shopify") != (plugin.strategy == "tracking-app"):
            raise ValueError("store config: the tracking-app preset runs on platform shopify only")
        raw = data.get("carriers") or {}
        if not isinstance(raw, Mapping):
            raise ValueError("store config: 'carriers' must be an object")
        carriers: dict[str, CarrierEndpoint] = {}
        for name, entry in raw.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("base_url"), str):
                raise ValueError(f"store config: carriers.{name}.base_url must be a string")
            carriers[name] = CarrierEndpoint(
                name=name,
                base_url=entry["base_url"].rstrip("/"),
                personality=str(entry.get("personality", "generic")),
            )
        return cls(plugin=plugin, carriers=carriers, platform=str(platform))

    @classmethod
    def load(cls, path: Path) -> StoreConfig:
        return cls.from_json(json.loads(path.read_text()))

    def with_keys(self, carrier_keys: Mapping[str, Sequence[str]]) -> StoreConfig:
        """The same config with each carrier's first API key filled in."""
        carriers = {
            name: CarrierEndpoint(
                c.name, c.base_url, c.personality, next(iter(carrier_keys.get(name, ())), None)
            )
            for name, c in self.carriers.items()
        }
        return StoreConfig(plugin=self.plugin, carriers=carriers, platform=self.platform)


@dataclass(frozen=True, slots=True)
class Credentials:
    """The WooCommerce REST consumer key/secret pair the store accepts."""

    consumer_key: str
    consumer_secret: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Credentials:
        try:
            return cls(str(data["consumer_key"]), str(data["consumer_secret"]))
        except (KeyError, TypeError) as exc:
            raise ValueError("store credentials need consumer_key and consumer_secret") from exc

    def accepts(self, key: str | None, secret: str | None) -> bool:
        """Constant-time check of a presented pair."""
        if key is None or secret is None:
            return False
        ok_key = hmac.compare_digest(key.encode(), self.consumer_key.encode())
        ok_secret = hmac.compare_digest(secret.encode(), self.consumer_secret.encode())
        return ok_key and ok_secret

    def __repr__(self) -> str:  # never leak the secret into logs
        return f"Credentials(consumer_key={self.consumer_key[:6]}…)"
