"""Long runs: resources sampled per process stay flat under sustained load; growth is reported.

The CI soak is one real run of ~30 s wall of steady load (orders all the time, the carrier's daily
quota exhausted and its ban engaged), sampled every wall second. Tolerances are honest for a
shared, noisy machine: after a 10 s warm-up, memory may drift a few MiB and descriptors a few
(connections come and go), never keep climbing. The full 25-minute soak is docs/soak.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from _profiles import small

from mocks.store.db import StoreDB
from mocks.store.queue import CLEAN_BATCH, RETENTION_S, Action, ActionQueue, Complete, Fail
from peakbench.config.profile import Profile
from peakbench.config.resources import ResourcesSpec
from peakbench.measure.live import LiveFigures
from peakbench.measure.resources import (
    RESOURCES_JSONL,
    ResourceSampler,
    resources_summary,
    slope_per_hour,
)
from peakbench.plan.clock import ManualClock
from peakbench.plan.schedule import write_schedule

WARMUP_WALL_S = 10.0
RSS_GROWTH_MIB = {"orchestrator": 8.0, "mocks": 8.0, "store": 8.0, "locust": 16.0}
"""Most fitted growth after the warm-up, per process, over ~20 s of steady load."""
FD_GROWTH = {"orchestrator": 2, "mocks": 4, "store": 8, "locust": 8}
"""Most descriptors added after the warm-up (the store's follow Locust's keep-alive sockets)."""


def _soak_profile() -> dict[str, Any]:
    data = small("soak-ci", interval="10m", mode="wall")
    data["clock"].update({"scale": 1200, "duration": "10h"})  # 30 s of wall time
    data["peak"].update({"peak_orders_per_hour": 100, "order_window": None})
    data["resources"] = {"interval_wall_s": 1, "warmup_wall_s": WARMUP_WALL_S}
    return data


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path, str]:
    tmp = tmp_path_factory.mktemp("soak")
    profile = tmp / "soak-ci.yaml"
    profile.write_text(yaml.safe_dump(_soak_profile()))
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(tmp / "r")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    runs = sorted((tmp / "r").glob("*-soak-ci-*"))
    assert runs, proc.stdout + proc.stderr
    summary = json.loads((runs[-1] / "summary.json").read_text())
    return proc.returncode, summary, runs[-1], proc.stdout


def test_soak_writes_samples_of_every_process(soak: tuple[int, dict, Path, str]) -> None:
    _, summary, root, stdout = soak
    rows = [json.loads(line) for line in (root / RESOURCES_JSONL).read_text().splitlines()]
    names = {r["process"] for r in rows}
    assert {"orchestrator", "mocks", "store", "locust"} <= names
    mocks = [r for r in rows if r["process"] == "mocks"]
    assert len(mocks) >= 20, len(mocks)  # ~30 s sampled once a wall second
    walls = [r["wall"] for r in mocks]
    assert walls == sorted(walls) and walls[-1] >= 20
    assert [r["t"] for r in mocks] == sorted(r["t"] for r in mocks)
    assert all(r["rss"] > 10 * 2**20 and r["fds"] >= 3 and r["threads"] >= 1 for r in mocks)
    res = summary["resources"]
    assert set(res["processes"]) == names
    assert "resources" in stdout and "peak" in stdout


def test_soak_load_was_sustained_with_quota_and_ban(soak: tuple[int, dict, Path, str]) -> None:
    _, summary, _, _ = soak
    assert summary["orders"]["done"] >= 900, summary["orders"]
    carrier = summary["carriers"]["generic"]
    assert carrier["throttled"] > 0 and carrier["blocked"] > 0, carrier


def test_soak_memory_and_descriptors_stay_flat(soak: tuple[int, dict, Path, str]) -> None:
    _, summary, root, _ = soak
    res = summary["resources"]
    assert res["leak"] is False, res["findings"]
    rows = [json.loads(line) for line in (root / RESOURCES_JSONL).read_text().splitlines()]
    for name, limit in RSS_GROWTH_MIB.items():
        p = res["processes"][name]
        assert p["fit_samples"] >= 10, (name, p)
        slope = p["rss_mb"]["slope_per_hour"]
        growth = slope * p["fit_wall_s"] / 3600.0
        assert growth <= limit, (name, p["rss_mb"], p["fit_wall_s"])
        fds = [r["fds"] for r in rows if r["process"] == name and r["wall"] >= WARMUP_WALL_S]
        assert fds[-1] - fds[0] <= FD_GROWTH[name], (name, fds)
        threads = [r["threads"] for r in rows if r["process"] == name]
        assert max(threads) <= threads[0] + 4, (name, threads)


def _write_samples(root: Path, series: dict[str, list[tuple[float, int, int]]]) -> None:
    lines = []
    for name, points in series.items():
        for wall, rss, fds in points:
            row = {"t": wall * 100, "wall": wall, "process": name, "pid": 1, "count": 1}
            lines.append(json.dumps({**row, "rss": rss, "fds": fds, "threads": 2}))
    (root / RESOURCES_JSONL).write_text("\n".join(lines) + "\n{torn")


def test_summary_fits_slopes_after_the_warm_up_and_reports_leaks(tmp_path: Path) -> None:
    mib = 2**20
    hour = [float(s) for s in range(0, 3600, 60)]
    _write_samples(
        tmp_path,
        {
            # a warm-up climb, then flat: no leak
            "flat": [(w, (100 if w >= 300 else 50 + w // 6) * mib, 20) for w in hour],
            # +120 MiB and +100 descriptors an hour, steadily: a leak of both
            "leaky": [(w, int(200 * mib + w / 30 * mib), 10 + int(w / 36)) for w in hour],
        },
    )
    spec = ResourcesSpec(warmup_wall_s=300)
    res = resources_summary(tmp_path, spec)
    assert res is not None
    flat = res["processes"]["flat"]
    assert flat["rss_mb"]["start"] == 50 and flat["rss_mb"]["peak"] == 100
    assert abs(flat["rss_mb"]["slope_per_hour"]) < 0.01
    leaky = res["processes"]["leaky"]
    assert 115 < leaky["rss_mb"]["slope_per_hour"] < 125
    assert 95 < leaky["fds"]["slope_per_hour"] < 105
    found = {(f["process"], f["metric"]) for f in res["findings"]}
    assert found == {("leaky", "rss_mb"), ("leaky", "fds")}
    assert res["leak"] is True
    # the same climb over 30 s is below the floors: noise, not a finding
    (tmp_path / RESOURCES_JSONL).unlink()
    _write_samples(tmp_path, {"short": [(w, int(200 * mib + w * mib / 10), 10) for w in range(30)]})
    short = resources_summary(tmp_path, ResourcesSpec(warmup_wall_s=0))
    assert short is not None and short["findings"] == []
    assert slope_per_hour([(0, 1), (1, 1)]) is None
    assert resources_summary(tmp_path / "nowhere") is None


LEAKER = """
import os, sys, time
held = []
end = time.monotonic() + 2.5
while time.monotonic() < end:
    held.append(os.open(os.devnull, os.O_RDONLY))
    time.sleep(0.02)
sys.stdout.write("done\\n"); sys.stdout.flush()
time.sleep(30)
"""


class _Named:
    def __init__(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        self.name = name
        self.proc = proc


def test_sampler_catches_a_child_leaking_descriptors(tmp_path: Path) -> None:
    leaker = subprocess.Popen([sys.executable, "-c", LEAKER], stdout=subprocess.PIPE)
    try:
        spec = ResourcesSpec(interval_wall_s=0.2, warmup_wall_s=0.5)
        sampler = ResourceSampler(tmp_path, ManualClock(), spec)
        children = [_Named("leaker", leaker)]
        deadline = time.monotonic() + 3.5
        polls = 0
        while time.monotonic() < deadline and polls < 100:
            polls += sampler.poll(children)
            time.sleep(0.05)
        assert polls >= 8
    finally:
        leaker.kill()
        leaker.wait(5)
    assert not sampler.poll(children)  # the child ended: the steady state is over
    res = resources_summary(tmp_path, spec)
    assert res is not None
    found = {(f["process"], f["metric"]) for f in res["findings"]}
    assert ("leaker", "fds") in found
    assert not any(f["process"] == "orchestrator" for f in res["findings"])
    assert res["processes"]["leaker"]["fds"]["end"] >= 60


def test_live_figures_follow_one_segment_per_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long run's rotated journals: each poll reads only the newest segment of each."""
    profile = Profile.model_validate(small())
    write_schedule(tmp_path / "schedule.csv", [])
    journals = tmp_path / "journals"
    journals.mkdir()
    line = json.dumps({"t": 1.0, "carrier": "generic", "outcome": "ok"}) + "\n"
    for index in range(8):
        name = "carrier-generic.jsonl" if index == 0 else f"carrier-generic.{index}.jsonl"
        (journals / name).write_text(line * 3)
    figures = LiveFigures(profile, tmp_path, 0.0)
    assert figures.poll(0.0).carriers["requests"] == 24
    with (journals / "carrier-generic.7.jsonl").open("a") as fh:
        fh.write(line)
    opened: list[str] = []
    real_open = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting_open)
    assert figures.poll(1.0).carriers["requests"] == 25
    assert [n for n in opened if n.startswith("carrier-")] == ["carrier-generic.7.jsonl"]
    (journals / "carrier-generic.8.jsonl").write_text(line * 2)
    assert figures.poll(2.0).carriers["requests"] == 27
    assert figures.followed <= 2  # the carrier journal and the replay journal


def test_sampler_holds_no_descriptor_between_polls(tmp_path: Path) -> None:
    spec = ResourcesSpec(interval_wall_s=0.2)
    sampler = ResourceSampler(tmp_path, ManualClock(), spec)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        sampler.poll([])
        time.sleep(0.2)
    assert len(os.listdir("/proc/self/fd")) <= before
    assert len((tmp_path / RESOURCES_JSONL).read_text().splitlines()) >= 4


def test_store_queue_keeps_a_month_of_completed_actions(tmp_path: Path) -> None:
    """Action Scheduler's cleaner: the actions table holds a month, not the store's whole life."""
    db = StoreDB(tmp_path / "store.sqlite")
    clock = ManualClock()
    queue = ActionQueue(db, clock)

    async def done(action: Action) -> Complete:
        return Complete()

    async def broken(action: Action) -> Fail:
        return Fail("kept for the record")

    queue.register("ok", done)
    queue.register("bad", broken)
    for _ in range(2 * CLEAN_BATCH + 5):
        queue.schedule("ok", {}, 0.0)
    queue.schedule("bad", {}, 0.0)
    asyncio.run(queue.run_once())
    clock.advance(RETENTION_S / 3)
    queue.schedule("ok", {}, clock.now())
    asyncio.run(queue.run_once())
    assert queue.counts()["complete"] == 2 * CLEAN_BATCH + 6
    clock.advance(RETENTION_S)  # the first batch is now older than the retention
    left = []
    for _ in range(4):
        asyncio.run(queue.run_once())
        left.append(queue.counts()["complete"])
    assert left == [CLEAN_BATCH + 6, 6, 1, 1]  # a batch per run; the recent one stays
    assert queue.counts()["failed"] == 1
    db.close()
