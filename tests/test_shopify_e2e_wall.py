"""End to end in wall time: ``peakbench run`` of a small Shopify profile with real processes
(mock fleet, the sandbox store serving the Shopify store with its app mounted, Locust running
:class:`loadtests.shopify_user.ShopifyReplayUser`) on loopback, in a subprocess. It asserts only
what holds on any machine that keeps up: valid (or invalid only for falling behind), every item
executed, the Shopify replay's and the app's GraphQL calls counted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from _profiles import kept_up, valid_or_behind
from _shopify_profiles import scheduled, shopify_small


def test_a_wall_time_shopify_run_replays_every_item_through_locust(tmp_path: Path) -> None:
    data = shopify_small("shopify-wall", mode="wall")
    # a GraphQL call costs the one-process store more than a REST call: half the small
    # profile's rate (≈20 items a wall second at x1200, 36 s wall) leaves room on a shared machine
    data["clock"]["scale"] = 1200
    data["peak"]["peak_orders_per_hour"] = 30
    data["replay"]["warmup_wall_s"] = 6  # Locust starts its users before run second 0
    (tmp_path / "shopify-wall.yaml").write_text(yaml.safe_dump(data))
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", "shopify-wall.yaml", "--results", "results"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    runs = sorted((tmp_path / "results").glob("*-shopify-wall-*"))
    assert runs, proc.stdout + proc.stderr
    root = runs[-1]
    summary = json.loads((root / "summary.json").read_text())
    valid_or_behind(summary, proc.returncode)
    kept_up(summary, proc.returncode)
    assert summary["valid"], summary["invalid_reasons"]
    assert summary["clock"]["mode"] == "wall"
    assert (root / "locust_stats.csv").exists()  # Locust replayed, not the virtual world
    kinds = scheduled(root)
    for kind, key in (("order", "orders"), ("ship", "ships"), ("view", "views")):
        assert summary[key]["done"] + summary[key]["dropped"] == kinds[kind] > 50, key
        assert summary[key]["failed"] == 0, key
    shopify = summary["shopify"]
    assert shopify["orders"]["created"] == kinds["order"]
    assert shopify["graphql"]["calls"] >= sum(kinds.values())
    assert shopify["app"]["by_operation"]["fulfillmentEventCreate"]["calls"] > 0
    assert summary["carriers"]["generic"]["requests"] > 0
