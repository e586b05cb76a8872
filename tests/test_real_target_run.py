"""``peakbench run`` against a "real" WooCommerce store: a sandbox store started here, not by the
run, whose plugin polls the mock fleet the run starts on a fixed shared port. The run drives it
through the adapters (OAuth 1.0a, HTML readout) and samples refresh latency from its views."""

from __future__ import annotations

import calendar
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from _profiles import finished_run, kept_up

ROOT = Path(__file__).resolve().parents[1]
START = "2026-11-27T00:00:00Z"
SCALE = 2400.0
KEY, SECRET = f"ck_{secrets.token_hex(20)}", f"cs_{secrets.token_hex(20)}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _profile(store_url: str, fleet_port: int, **target: Any) -> dict[str, Any]:
    return {
        "name": "real",
        "seed": 11,
        "clock": {"start": START, "scale": SCALE, "duration": "12h"},
        "target": {
            "kind": "woocommerce",
            "url": store_url,
            "staging": True,
            "auth": "oauth1",
            "key_env": "PB_TEST_WC_KEY",
            "secret_env": "PB_TEST_WC_SECRET",
            "readout": {"kind": "html"},
            "products": [101, 102, 103],  # the sandbox's catalogue has no product routes
            **target,
        },
        "peak": {"curve": "flat", "peak_orders_per_hour": 40, "order_window": "8h"},
        "fulfilment": {"median": "30m", "p90": "1h"},
        "carriers": [
            {
                "name": "generic",
                "hosts": ["127.0.0.1"],  # the store calls the shared port by address
                "ingestion_lag": {"median": "5m", "p90": "15m"},
            }
        ],
        "listen": {"mode": "shared", "port": fleet_port},
        "slo": {"staleness_p95": "2h"},
        "replay": {"users": 16, "warmup_wall_s": 4},
    }


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEAKBENCH_")}
    return {**env, **extra}


def _run(tmp: Path, profile: dict[str, Any], env: dict[str, str]) -> subprocess.CompletedProcess:
    path = tmp / f"{profile['name']}.yaml"
    path.write_text(yaml.safe_dump(profile))
    argv = [sys.executable, "-m", "peakbench", "run", str(path), "--results", str(tmp / "results")]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def fleet_port() -> int:
    return _free_port()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, fleet_port: int) -> Iterator[str]:
    """A sandbox store playing the real one; its plugin polls the run's fleet every 30 min."""
    tmp = tmp_path_factory.mktemp("store")
    plugin = {"interval": "30m", "batch_size": 35, "on_throttle": "ignore"}
    carriers = {"generic": {"base_url": f"http://127.0.0.1:{fleet_port}"}}
    (tmp / "store.json").write_text(json.dumps({"plugin": plugin, "carriers": carriers}))
    start = calendar.timegm(time.strptime(START, "%Y-%m-%dT%H:%M:%SZ"))
    clock = {"start_epoch": float(start), "scale": SCALE, "wall_epoch": time.time() + 6}
    (tmp / "clock.json").write_text(json.dumps(clock))
    argv = [sys.executable, "-m", "mocks.store", "serve", "--config", str(tmp / "store.json")]
    argv += ["--clock", str(tmp / "clock.json"), "--db", str(tmp / "store.sqlite")]
    argv += ["--ready-file", str(tmp / "ready.json")]
    creds = json.dumps({"consumer_key": KEY, "consumer_secret": SECRET})
    # the store's plugin brings its own carrier key; the run's fleet accepts any
    keys = json.dumps({"generic": ["store-own-key"]})
    env = _env(PEAKBENCH_STORE_CREDENTIALS=creds, PEAKBENCH_CARRIER_KEYS=keys)
    proc = subprocess.Popen(argv, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 15
        while not (tmp / "ready.json").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "store did not start"
            time.sleep(0.05)
        yield str(json.loads((tmp / "ready.json").read_text())["base_url"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_run_against_a_woocommerce_store_samples_refresh_latency(
    tmp_path: Path, store: str, fleet_port: int
) -> None:
    proc = _run(
        tmp_path,
        _profile(store, fleet_port),
        _env(PB_TEST_WC_KEY=KEY, PB_TEST_WC_SECRET=SECRET),
    )
    root, summary = finished_run(tmp_path / "results", proc)
    kept_up(summary, proc.returncode)  # a wall-time run: a busy machine may fall behind
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    assert summary["valid"], summary["invalid_reasons"]
    assert summary["target"] == "woocommerce" and summary["plugin"] is None
    for kind in ("orders", "ships", "views"):
        assert summary[kind]["scheduled"] > 0
        assert summary[kind]["done"] == summary[kind]["scheduled"], (kind, summary[kind])
    refresh = summary["refresh_latency_s"]
    assert refresh["method"] == "sampled"
    assert refresh["count"] > 0 and refresh["resolution_s"] > 0
    assert summary["staleness_s"]["count"] == summary["views"]["done"]
    assert summary["carriers"]["generic"]["ok"] > 0  # the store's plugin reached the fleet
    assert summary["queue"] is None
    assert not (root / "store.sqlite").exists()
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert KEY not in text and SECRET not in text, path


def _refused(tmp_path: Path, profile: dict[str, Any], env: dict[str, str]) -> str:
    proc = _run(tmp_path, profile, env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert not (tmp_path / "results").exists()  # nothing started
    return lines[0]


def test_missing_credentials_are_refused_before_anything_starts(tmp_path: Path) -> None:
    line = _refused(tmp_path, _profile("http://127.0.0.1:9", 9), _env(PB_TEST_WC_KEY=KEY))
    assert "PB_TEST_WC_SECRET" in line


def test_a_production_looking_host_is_refused(tmp_path: Path) -> None:
    profile = _profile("https://shop.example.com", 9, auth="basic")
    line = _refused(tmp_path, profile, _env(PB_TEST_WC_KEY=KEY, PB_TEST_WC_SECRET=SECRET))
    assert "shop.example.com" in line and "--allow-production" in line


def test_a_shopify_run_faster_than_the_create_limit_is_refused(tmp_path: Path) -> None:
    """A real Shopify store runs (docs/targets.md), but not a schedule that creates orders faster
    than ``replay.shopify.create_per_minute`` allows: one line, exit 2, nothing started."""
    profile = _profile("http://127.0.0.1:9", 9)
    profile["target"] = {"kind": "shopify", "shop": "peak-dev.myshopify.com", "staging": True}
    profile.setdefault("replay", {})["shopify"] = {"orders": "create", "create_per_minute": 0.5}
    line = _refused(tmp_path, profile, _env(PEAKBENCH_SHOPIFY_TOKEN="shpat_x"))
    assert "create_per_minute is 0.5" in line and "precreate" in line
