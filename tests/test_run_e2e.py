"""End to end: real processes (mock fleet, sandbox store, Locust) on loopback, small profiles."""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from _profiles import kept_up, small

from peakbench.config.profile import Profile
from peakbench.measure.results import load_run
from peakbench.plan.timeline import journey

SECRET = re.compile(r"\b(ck|cs)_[0-9a-f]{40}\b|\bpk_[0-9a-f]{24}\b")
SMALL: dict[str, Any] = small()


def _run(
    tmp_path: Path, name: str, interval: str, mode: str | None = None
) -> tuple[int, dict[str, Any], Path]:
    data = json.loads(json.dumps(SMALL))
    data["name"] = name
    data["target"]["plugin"]["interval"] = interval
    if mode is not None:
        data["clock"]["mode"] = mode
    profile = tmp_path / f"{name}.yaml"
    profile.write_text(yaml.safe_dump(data))
    results = tmp_path / "results"
    # as a new user types it: from the folder the profile is in, with relative paths
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", profile.name, "--results", "results"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    runs = sorted(results.glob(f"*-{name}-*"))
    assert runs, proc.stdout + proc.stderr
    summary = json.loads((runs[-1] / "summary.json").read_text())
    return proc.returncode, summary, runs[-1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, dict[str, Any], Path]]:
    tmp = tmp_path_factory.mktemp("e2e")
    runs = {interval: _run(tmp, f"poll-{interval}", interval) for interval in ("3h", "1h", "10m")}
    # the same contract in wall time: real processes, sockets and Locust
    runs["wall-1h"] = _run(tmp, "wall-poll-1h", "1h", mode="wall")
    return runs


def test_runs_are_valid_and_follow_the_contract(runs: dict[str, Any]) -> None:
    for interval, (code, summary, root) in sorted(runs.items(), key=lambda kv: "wall" in kv[0]):
        if interval.startswith("wall"):
            kept_up(summary, code)
        assert summary["valid"], (interval, summary["invalid_reasons"])
        assert code in (0, 1), interval
        assert code == (0 if summary["slo"]["passed"] else 1)
        for key in (
            "profile",
            "target",
            "plugin",
            "seed",
            "clock",
            "orders",
            "views",
            "refresh_latency_s",
            "staleness_s",
            "outages",
            "carriers",
            "complaints",
            "slo",
            "valid",
            "invalid_reasons",
        ):
            assert key in summary, key
        for dist in ("refresh_latency_s", "staleness_s"):
            assert set(summary[dist]) >= {
                "count",
                "p50",
                "p90",
                "p95",
                "p99",
                "max",
                "resolution_s",
            }
        assert summary["orders"]["done"] == summary["orders"]["scheduled"] > 300
        assert summary["views"]["done"] > 100
        wall = summary["clock"]["mode"] == "wall"
        assert wall == interval.startswith("wall"), interval
        for name in (
            "run.json",
            "summary.json",
            "schedule.csv",
            "store.sqlite",
            *(["locust_stats.csv"] if wall else []),  # Locust replays in wall time only
            "journals/replay.jsonl",
            "journals/carrier-generic.jsonl",
        ):
            assert (root / name).exists(), name


def test_polling_faster_helps_until_the_daily_quota_bites(runs: dict[str, Any]) -> None:
    slow, mid, fast = (runs[i][1] for i in ("3h", "1h", "10m"))
    # no quota trouble at 3 h or 1 h, and fresher pages at 1 h
    assert slow["outages"] == [] and mid["outages"] == []
    assert mid["refresh_latency_s"]["p50"] < slow["refresh_latency_s"]["p50"]
    assert mid["staleness_s"]["p95"] <= slow["staleness_s"]["p95"]
    # every 10 minutes exhausts the 300/day quota: outages, refusals, staler pages than hourly
    assert fast["outages"], "polling every 10 minutes must hit the daily quota"
    assert fast["carriers"]["generic"]["throttled"] + fast["carriers"]["generic"]["blocked"] > 0
    assert fast["longest_outage_s"] > 3600
    assert fast["staleness_s"]["p95"] > mid["staleness_s"]["p95"]
    assert fast["refresh_latency_s"]["p95"] > mid["refresh_latency_s"]["p95"]
    assert any(o["views_affected"] > 0 for o in fast["outages"])


def _near_rank(value: float, values: list[float], p: float) -> bool:
    """An HDR percentile (3 significant digits) of the nearest rank, give or take one rank."""
    values = sorted(values)
    k = math.ceil(p / 100 * len(values)) - 1
    lo, hi = values[max(0, k - 1)], values[min(len(values) - 1, k + 1)]
    return lo * (1 - 1e-3) - 1e-3 <= value <= hi * (1 + 1e-3) + 1e-3


def test_summary_agrees_with_a_recomputation_from_the_journals(runs: dict[str, Any]) -> None:
    _, summary, root = runs["10m"]
    profile, clock, _ = load_run(root)
    assert isinstance(profile, Profile)
    model = profile.fleet.timeline_model(profile.carriers[0])
    # carrier counters, straight from the journal lines
    lines = [
        json.loads(x) for x in (root / "journals/carrier-generic.jsonl").read_text().splitlines()
    ]
    outcomes = [x["outcome"] for x in lines]
    c = summary["carriers"]["generic"]
    assert c["requests"] == len(lines)
    assert (c["ok"], c["throttled"], c["blocked"]) == (
        outcomes.count("ok"),
        outcomes.count("throttled"),
        outcomes.count("blocked"),
    )
    # staleness of every view, recomputed with plain code
    stale = []
    for row in (root / "journals/replay.jsonl").read_text().splitlines():
        view = json.loads(row)
        if view["kind"] != "view" or not view["ok"]:
            continue
        events = journey(model, view["tracking_number"])
        visible = [e.visible_at - clock.start_epoch for e in events]
        n_visible = bisect.bisect_right(visible, view["start"])
        shown = view["shown"]
        stale.append(view["start"] - visible[shown] if shown < n_visible else 0.0)
    st = summary["staleness_s"]
    assert st["count"] == len(stale)
    for p in (50, 90, 95, 99):
        assert _near_rank(st[f"p{p}"], stale, p), p
    # refresh latency: the change log in the store's database, read with SQL
    con = sqlite3.connect(root / "store.sqlite")
    latencies = []
    end = summary["clock"]["end"]
    for (number,) in con.execute("SELECT tracking_number FROM shipments"):
        changes = con.execute(
            "SELECT t, shown_count FROM tracking_changes WHERE tracking_number=? ORDER BY t",
            (number,),
        ).fetchall()
        for i, event in enumerate(journey(model, number)):
            vis = event.visible_at - clock.start_epoch
            if vis > end:
                break
            first = next((t for t, n in changes if n > i), None)
            latencies.append(max(0.0, (first if first is not None else end) - vis))
    rl = summary["refresh_latency_s"]
    assert rl["count"] == len(latencies)
    for p in (50, 90, 95, 99):
        assert _near_rank(rl[f"p{p}"], latencies, p), p
    # the same folder recomputes to the same summary
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "report", str(root), "--recompute"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode in (0, 1), proc.stderr
    again = json.loads((root / "summary.json").read_text())
    assert again["staleness_s"] == summary["staleness_s"]
    assert again["outages"] == summary["outages"]


def test_ctrl_c_ends_every_child_and_keeps_partial_results(tmp_path: Path) -> None:
    data = json.loads(json.dumps(SMALL))
    data["name"] = "interrupted"
    data["clock"]["mode"] = "wall"
    data["clock"]["scale"] = 600  # 72 s of wall time: it will be interrupted long before
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump(data))
    results = tmp_path / "results"
    proc = subprocess.Popen(
        [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(results)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    replay = None
    while time.monotonic() < deadline:
        found = list(results.glob("*-interrupted-*/journals/replay.jsonl"))
        if found and found[0].stat().st_size > 2000:
            replay = found[0]
            break
        time.sleep(0.2)
    assert replay is not None, "the replay never started"
    root = replay.parent.parent
    pids = [
        json.loads((root / f).read_text())["pid"] for f in ("mocks.ready.json", "store.ready.json")
    ]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    summary = json.loads((root / "summary.json").read_text())
    assert summary["partial"] is True and summary["valid"] is False
    assert any("interrupted" in r for r in summary["invalid_reasons"])
    assert summary["orders"]["done"] > 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), f"child {pid} left behind"


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_secrets_never_reach_results_or_logs(runs: dict[str, Any]) -> None:
    _, _, root = runs["1h"]
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".log", ".csv"):
            text = path.read_text(errors="replace")
            assert not SECRET.search(text), path
    assert os.environ.get("PEAKBENCH_STORE_CREDENTIALS") is None
