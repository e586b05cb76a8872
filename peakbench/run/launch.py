"""What the run's children are given: their command lines and the files in the run folder they
read (``store.json``, ``replay.json``), per DESIGN.md's child contract. Secrets never go here:
children get them in their environment only."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from peakbench.config.profile import Profile
from peakbench.config.targets import ShopifyTarget, WooCommerceTarget
from peakbench.run.loadgen import Scale
from peakbench.run.shopify_run import SETTINGS_FILE


def locustfile() -> Path:
    """The installed ``loadtests/locustfile.py``."""
    spec = importlib.util.find_spec("loadtests")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "locustfile.py"


def mocks_argv(python: str, root: Path, store_url: str | None) -> list[str]:
    """The carrier fleet's command line; pushing carriers (``push:``) learn the store's URL from
    ``store_url`` (a real store) or from the sandbox store's ready file once it listens."""
    return [
        python, "-m", "mocks", "serve",
        "--config", str(root / "fleet.json"),
        "--clock", str(root / "clock.json"),
        "--journal-dir", str(root / "journals"),
        "--ready-file", str(root / "mocks.ready.json"),
        *(
            ["--store-url", store_url]
            if store_url is not None
            else ["--store-ready-file", str(root / "store.ready.json")]
        ),
    ]  # fmt: skip


def store_config(profile: Profile, fleet: dict[str, Any]) -> dict[str, Any]:
    """``store.json``: the sandbox plugin's settings and where each carrier listens (from the
    fleet's ready file)."""
    personalities = {c.name: c.personality for c in profile.carriers}
    return {
        "platform": getattr(profile.target, "platform", "woocommerce"),
        "plugin": profile.target.plugin.model_dump(mode="json"),
        "carriers": {
            name: {"base_url": c["base_url"], "personality": personalities.get(name)}
            for name, c in fleet["carriers"].items()
        },
    }


def store_argv(python: str, root: Path) -> list[str]:
    """The sandbox store's command line."""
    return [
        python, "-m", "mocks.store", "serve",
        "--config", str(root / "store.json"),
        "--clock", str(root / "clock.json"),
        "--db", str(root / "store.sqlite"),
        "--ready-file", str(root / "store.ready.json"),
    ] + (  # a Shopify store's tracking app journals its GraphQL calls (summary shopify.app)
        ["--app-journal", str(root / "journals" / "shopify-app.jsonl")]
        if (root / SETTINGS_FILE).exists() else []
    )  # fmt: skip


def replay_config(
    root: Path, profile: Profile, scale: Scale, real: WooCommerceTarget | ShopifyTarget | None
) -> dict[str, Any]:
    """``replay.json``: what the Locust processes replay, where they write, and how the load
    shape sizes the pool (``users: auto | N``, min/max, headroom)."""
    replay: dict[str, Any] = {
        "clock": json.loads((root / "clock.json").read_text()),
        # relative to replay.json's folder (the run folder), as the replay reads them
        "schedule": "schedule.csv",
        "journal": "journals/replay.jsonl",
        "progress": "progress.json",
        "late_after": profile.replay.late_after,
        "drop_after": profile.replay.drop_after,
        "users": profile.replay.users,
        "sizing": profile.replay.model_dump(mode="json"),
        "workers": scale.workers,
    }
    if real is not None:
        # the store's settings, never its secrets (Locust gets those in its environment)
        replay["target"] = real.model_dump(mode="json")
    if (root / SETTINGS_FILE).exists():  # a Shopify store: the Shopify user replays
        replay["shopify"] = SETTINGS_FILE
    return replay
