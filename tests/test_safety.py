"""Safety (issue 7): staging marking and ``--allow-production``, secrets kept out of every file a
run writes, and servers that stay on loopback unless told otherwise (and say so loudly)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from _profiles import small, valid_or_behind

from peakbench.cli.main import main
from peakbench.config.loader import parse_profile
from peakbench.config.targets import WooCommerceTarget, host_looks_like_staging
from peakbench.measure.results import load_run
from peakbench.run.checker import refusal

ROOT = Path(__file__).resolve().parents[1]
PUSH_SECRET = "whsec_" + os.urandom(12).hex()
GENERATED = re.compile(rb"\b(ck|cs)_[0-9a-f]{40}\b|\bpk_[0-9a-f]{24}\b")
"""The sandbox run's own store credentials and carrier keys (orchestrator.py draws them)."""


# -- staging marking ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["staging.shop.example", "shop-staging.example.com", "dev.shop.com", "qa2.shop.com",
     "uat-shop.com", "stg.shop.com", "shop.test", "shop.local", "localhost", "127.0.0.1",
     "shopstaging.com", "preview.shop.com", "sandbox1.shop.com"],
)  # fmt: skip
def test_staging_looking_hosts_pass_when_marked(host: str) -> None:
    target = WooCommerceTarget(url=f"https://{host}", staging=True)
    assert host_looks_like_staging(host)
    assert refusal(target, allow_production=False) is None


@pytest.mark.parametrize(
    "host",
    ["shop.example.com", "www.shop.com", "latest-deals.com", "devon-shop.co.uk", "qatar.shop",
     "contest.com", "www.protest.org", "stagecoach.com", "mystagingshop.com"],
)  # fmt: skip
def test_production_looking_hosts_are_refused_without_allow_production(host: str) -> None:
    target = WooCommerceTarget(url=f"https://{host}", staging=True)
    reason = refusal(target, allow_production=False)
    assert reason is not None and host in reason and "--allow-production" in reason
    assert refusal(target, allow_production=True) is None


def test_an_unmarked_target_is_refused_even_on_a_staging_host() -> None:
    target = WooCommerceTarget(url="https://staging.shop.example")
    reason = refusal(target, allow_production=False)
    assert reason is not None and "staging: true" in reason


def _real_profile(tmp_path: Path, url: str, staging: bool = True) -> Path:
    data = small("real")
    data["target"] = {"kind": "woocommerce", "url": url, "staging": staging,
                      "key_env": "PB_SAFE_KEY", "secret_env": "PB_SAFE_SECRET"}  # fmt: skip
    path = tmp_path / "real.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("url", "staging", "words"),
    [
        ("https://shop.example.com", True, ["shop.example.com", "production"]),
        ("https://staging.shop.example", False, ["staging: true"]),
    ],
)
def test_run_and_target_check_refuse_before_anything_starts(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    staging: bool,
    words: list[str],
) -> None:
    monkeypatch.setenv("PB_SAFE_KEY", "ck_refused_key")
    monkeypatch.setenv("PB_SAFE_SECRET", "cs_refused_secret")
    profile = str(_real_profile(tmp_path, url, staging))
    results = tmp_path / "results"
    assert main(["run", profile, "--results", str(results)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(w in err[0] for w in words), err
    assert "--allow-production" in err[0] or "staging" in err[0]
    assert not results.exists()
    assert main(["target", "check", profile]) == 2
    out = capsys.readouterr().out
    assert all(w in out for w in words) and "cs_refused_secret" not in out


# -- secrets never reach the run folder -----------------------------------------------------------


@pytest.fixture(scope="module")
def safety_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One small sandbox run (~20 s wall) whose aggregator signs its webhooks with a known
    secret; the store credentials and carrier keys are the orchestrator's own."""
    tmp = tmp_path_factory.mktemp("safety")
    data = small("safety", mode="wall")
    data["clock"]["duration"] = "8h"
    data["peak"]["order_window"] = "6h"
    data["target"]["plugin"] = {"preset": "saas-push", "aggregator": "trackship"}
    data["carriers"][0]["name"] = "usps"
    data["carriers"].append(
        {
            "name": "trackship",
            "personality": "trackship",
            "share": 1e-9,  # the aggregator ships nothing; it registers numbers and pushes
            "ingestion_lag": {"median": "5m", "p90": "15m"},
            "push": {
                "url": "/wp-json/wc/v1/tracking-webhook",
                "cadence": {"min": "30m", "max": "1h"},
                "secret_env": "PB_SAFETY_PUSH_SECRET",
            },
        }
    )
    profile = tmp / "safety.yaml"
    profile.write_text(yaml.safe_dump(data))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEAKBENCH_")}
    env["PB_SAFETY_PUSH_SECRET"] = PUSH_SECRET
    argv = [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(tmp / "r")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
    (root,) = (tmp / "r").iterdir()
    return proc, root


def test_secrets_reach_no_file_of_a_run(safety_run: tuple[Any, Path]) -> None:
    proc, root = safety_run
    summary = json.loads((root / "summary.json").read_text())
    valid_or_behind(summary, proc.returncode)
    pushes = (root / "journals" / "push-trackship.jsonl").read_text().splitlines()
    assert any(json.loads(line)["status"] == 200 for line in pushes), "no signed push went out"
    names = {p.name for p in root.iterdir()}
    assert {"run.json", "summary.json", "report.html", "summary.md", "junit.xml"} <= names
    assert {p.name for p in (root / "logs").iterdir()} >= {"mocks.log", "store.log"}
    checked = 0
    for path in root.rglob("*"):
        if path.is_file():  # every file, the SQLite database and reports included, as bytes
            raw = path.read_bytes()
            assert PUSH_SECRET.encode() not in raw, path
            assert not GENERATED.search(raw), (path, GENERATED.search(raw))
            checked += 1
    assert checked >= 15
    console = (proc.stdout + proc.stderr).encode()
    assert PUSH_SECRET.encode() not in console and not GENERATED.search(console)


def test_run_json_names_secret_variables_and_reloads(safety_run: tuple[Any, Path]) -> None:
    _, root = safety_run
    record = json.loads((root / "run.json").read_text())
    push = record["profile"]["carriers"][1]["push"]
    assert push["secret_env"] == "PB_SAFETY_PUSH_SECRET"  # a variable's name is not a secret
    profile, _, _ = load_run(root)  # and so the record still loads (report re-renders need it)
    assert profile.name == "safety"


# -- loopback -------------------------------------------------------------------------------------


def _listening(pid: int) -> list[str]:
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return [
        c.laddr.ip
        for p in procs
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]


def _start(argv: list[str], ready: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "did not start"
        time.sleep(0.05)
    return proc


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=15)
    return err


def _store_files(tmp: Path) -> list[str]:
    (tmp / "store.json").write_text(json.dumps({"plugin": {}, "carriers": {}}))
    clock = {"start_epoch": 1_795_755_600.0, "scale": 60.0, "wall_epoch": time.time()}
    (tmp / "clock.json").write_text(json.dumps(clock))
    fleet = parse_profile(yaml.safe_dump(small()), "p.yaml").fleet.model_dump(mode="json")
    (tmp / "fleet.json").write_text(json.dumps(fleet))
    return ["--clock", str(tmp / "clock.json")]


def test_mocks_and_store_bind_loopback_and_warn_when_told_otherwise(tmp_path: Path) -> None:
    py = sys.executable
    clock = _store_files(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEAKBENCH_")}
    env["PEAKBENCH_STORE_CREDENTIALS"] = json.dumps(
        {"consumer_key": "ck_a", "consumer_secret": "cs_b"}
    )
    store = [py, "-m", "mocks.store", "serve", "--config", str(tmp_path / "store.json"), *clock]
    mocks = [py, "-m", "mocks", "serve", "--config", str(tmp_path / "fleet.json"), *clock,
             "--journal-dir", str(tmp_path / "j")]  # fmt: skip
    runs = {
        "store": (store, ["--db", str(tmp_path / "s.sqlite")]),
        "mocks": (mocks, []),
    }
    for name, (argv, extra) in runs.items():
        ready = tmp_path / f"{name}.ready.json"
        proc = _start([*argv, *extra, "--ready-file", str(ready)], ready, env)
        try:
            addresses = _listening(proc.pid)
        finally:
            err = _stop(proc)
        assert addresses and set(addresses) == {"127.0.0.1"}, (name, addresses)
        assert "WARNING" not in err
        ready.unlink()
        # told otherwise: it listens where told, and says so on stderr
        proc = _start([*argv, *extra, "--ready-file", str(ready), "--host", "0.0.0.0"], ready, env)
        try:
            addresses = _listening(proc.pid)
        finally:
            err = _stop(proc)
        assert set(addresses) == {"0.0.0.0"}, (name, addresses)
        assert "WARNING" in err and "0.0.0.0" in err and "other machines" in err, err


def test_local_locust_workers_keep_their_master_on_loopback() -> None:
    from peakbench.run.loadgen import Scale, locust_argv

    argv = locust_argv(
        "py", Path("l.py"), Path("r.json"), "http://h", Path("c"), 4, Scale(processes=2)
    )
    assert argv[argv.index("--master-bind-host") + 1] == "127.0.0.1"
    assert "--web-host" not in argv  # headless: no web UI at all
    ui = locust_argv("py", Path("l.py"), Path("r.json"), "http://h", Path("c"), 4, Scale(ui=True))
    assert ui[ui.index("--web-host") + 1] == "127.0.0.1"
