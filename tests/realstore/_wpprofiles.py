"""Profiles against the real store, written as YAML the way a QA engineer would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from _wpstore import REPO, RealStore

AST_READOUT = {
    "kind": "json",
    "route": "/wp-json/wc-ast/v3/orders/{order_id}/shipment-trackings",
    "status": "[0].tracking_number",
}


def woocommerce_target(store: RealStore, **extra: Any) -> dict[str, Any]:
    """The profile's ``target`` for the store (Basic auth over HTTPS, its CA trusted)."""
    return {
        "kind": "woocommerce",
        "url": store.url,
        "staging": True,
        "auth": "basic",
        "ca_file": str(store.ca_file),
        "key_env": "PEAKBENCH_WC_KEY",
        "secret_env": "PEAKBENCH_WC_SECRET",
        "trackings_namespace": "/wp-json/wc-ast/v3",
        "tracking_provider": "usps",
        "ship_fields": {"status_shipped": 1},
        **extra,
    }


def write(tmp: Path, profile: dict[str, Any]) -> Path:
    path = tmp / f"{profile['name']}.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return path


def peakbench(
    store: RealStore, *args: str, timeout: float = 240, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m peakbench ARGS`` with the store's keys in the environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PEAKBENCH_")}
    return subprocess.run(
        [sys.executable, "-m", "peakbench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**base, **store.env(), **env},
    )
