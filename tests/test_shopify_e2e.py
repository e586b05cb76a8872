"""End to end in virtual time: ``peakbench run`` of small Shopify profiles (the Shopify-shaped
sandbox and its tracking app) in a subprocess, as a user types it. The run must be valid, do
exactly what its schedule says, and show both throttles: the carrier's hourly quota refusing the
app's polls (carrier table, outages) and the app's small GraphQL bucket holding its write-backs
back (``shopify.app``), in summary.json and in every rendered report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from _shopify_profiles import scheduled, shopify_small

SECRET = re.compile(r"\bshpat_[0-9a-f]{32}\b|\b(ck|cs)_[0-9a-f]{40}\b")

Run = tuple[int, dict[str, Any], Path, str]


def _run(tmp: Path, data: dict[str, Any]) -> Run:
    (tmp / f"{data['name']}.yaml").write_text(yaml.safe_dump(data))
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", f"{data['name']}.yaml", "--results", "results"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp,
    )
    runs = sorted((tmp / "results").glob(f"*-{data['name']}-*"))
    assert runs, proc.stdout + proc.stderr
    summary = json.loads((runs[-1] / "summary.json").read_text())
    return proc.returncode, summary, runs[-1], proc.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    tmp = tmp_path_factory.mktemp("shopify-e2e")
    return {
        orders: _run(tmp, shopify_small(f"shopify-{orders}", orders))
        for orders in ("create", "precreate")
    }


def test_runs_are_valid_and_do_what_the_schedule_says(runs: dict[str, Run]) -> None:
    for orders, (code, summary, root, _) in runs.items():
        assert summary["valid"], (orders, summary["invalid_reasons"])
        assert code == (0 if summary["slo"]["passed"] else 1), orders
        kinds = scheduled(root)
        for kind, key in (("order", "orders"), ("ship", "ships"), ("view", "views")):
            counts = summary[key]
            assert counts["scheduled"] == counts["done"] == kinds[kind] > 50, (orders, key)
            assert counts["failed"] == counts["late"] == 0, (orders, key)
        for dist in ("refresh_latency_s", "staleness_s"):
            assert summary[dist]["count"] > 0 and summary[dist]["p95"] is not None, dist
        assert summary["complaints"]["expected_per_1000_orders"] > 0
        graphql = summary["shopify"]["graphql"]
        # one call per item, plus one per THROTTLED answer the replay honoured
        assert graphql["calls"] == sum(kinds.values()) + graphql["throttled"], orders
        assert graphql["by_operation"]["orderCreate"]["calls"] >= kinds["order"]


def test_the_carrier_side_throttle_is_visible(runs: dict[str, Run]) -> None:
    for orders, (_, summary, root, stdout) in runs.items():
        carrier = summary["carriers"]["generic"]
        assert carrier["throttled"] > 0, orders
        assert summary["outages"] and summary["longest_outage_s"] > 0, orders
        assert {o["cause"] for o in summary["outages"]} == {"quota:1h"}
        for text in (stdout, (root / "summary.md").read_text(), (root / "report.html").read_text()):
            assert f"{carrier['throttled']:,} throttled" in text, orders
            assert "quota:1h" in text, orders


def test_the_app_side_graphql_throttle_is_visible(runs: dict[str, Run]) -> None:
    for orders, (_, summary, root, stdout) in runs.items():
        app = summary["shopify"]["app"]
        writes = app["by_operation"]["fulfillmentEventCreate"]
        assert writes["calls"] > 50 and writes["failed"] == 0, orders
        # the bucket (20 points, 0.5 a second) holds a 10-point write back for 20 s at a time
        assert app["waited_s"] > 20.0 * 10 and app["lowest_available"] < 10, orders
        line = f"Tracking app GraphQL calls: {app['calls']:,}, {app['throttled']:,} THROTTLED"
        waited = f"{app['waited_s']:,.1f} s (store) waited for the app's own cost bucket"
        for text in (stdout, (root / "summary.md").read_text(), (root / "report.html").read_text()):
            flat = text.replace("&#x27;", "'")
            assert line in flat and waited in flat, orders


def test_precreated_orders_are_all_created_before_run_second_0(runs: dict[str, Run]) -> None:
    created = runs["precreate"][1]["shopify"]["orders"]
    assert created["mode"] == "precreate"
    assert created["created_before_window"] == created["created"] > 50
    assert created["created_in_window"] == 0 and created["precreated_from"] < 0
    assert runs["create"][1]["shopify"]["orders"]["created_in_window"] > 50


def test_no_token_reaches_the_results(runs: dict[str, Run]) -> None:
    for _, (_, _, root, stdout) in runs.items():
        assert not SECRET.search(stdout)
        for path in root.rglob("*"):
            if path.is_file() and path.suffix in (".json", ".jsonl", ".md", ".html", ".log"):
                assert not SECRET.search(path.read_text(errors="replace")), path


def test_the_fleet_starts_with_a_real_shopify_stores_credentials() -> None:
    """A real Shopify run gives its children ``{"access_token"}`` only: the fleet's push wiring
    takes that as no REST keys (pushes go to the store's app) instead of refusing to start."""
    from mocks.push.wiring import push_wiring
    from peakbench.config.fleet import FleetSpec

    fleet = FleetSpec.model_validate({"seed": 1, "carriers": [{"name": "generic"}]})
    env = {"PEAKBENCH_STORE_CREDENTIALS": json.dumps({"access_token": "shpat_x"})}
    assert push_wiring(fleet, env, None, None).store_credentials is None
    with pytest.raises(ValueError, match="consumer_key"):
        push_wiring(fleet, {"PEAKBENCH_STORE_CREDENTIALS": '{"key": "x"}'}, None, None)
