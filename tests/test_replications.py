"""Replications: N seeds per candidate, compared on seed-to-seed variation (virtual time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from _profiles import small

from peakbench.report.compare import SAME, WORSE, compare
from peakbench.report.replicated import compare_sets, t_interval, welch_interval
from peakbench.run.replications import set_runs

SEEDS = 3


def _run(tmp: Path, data: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"{data['name']}.yaml"
    profile.write_text(yaml.safe_dump(data))
    return subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(tmp / "r")],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _set(tmp: Path, name: str, seed: int, quota: int = 300) -> Path:
    data = small(name, interval="1h")
    data["seed"] = seed
    data["replications"] = SEEDS
    data["carriers"][0]["behaviours"][1]["limit"] = quota
    proc = _run(tmp, data)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    found = sorted((tmp / "r").glob(f"*-{name}-replications-*"))
    assert found, proc.stdout[-2000:]
    return found[-1]


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("replications")
    return {
        "base": _set(tmp, "base", 11),
        "twin": _set(tmp, "twin", 11),
        "other-seeds": _set(tmp, "other", 11 + SEEDS),
        "throttled": _set(tmp, "throttled", 11, quota=60),
    }


def test_a_set_holds_one_run_per_seed(sets: dict[str, Path]) -> None:
    doc = json.loads((sets["base"] / "replications.json").read_text())
    assert doc["seeds"] == list(range(11, 11 + SEEDS)) and doc["complete"]
    runs = set_runs(sets["base"])
    assert runs is not None and len(runs) == SEEDS
    seeds = [json.loads((r / "summary.json").read_text())["seed"] for r in runs]
    assert seeds == doc["seeds"]


def test_same_seed_twins_compare_as_identical(sets: dict[str, Path]) -> None:
    base, twin = set_runs(sets["base"]), set_runs(sets["twin"])
    assert base and twin
    one = compare([base[0], twin[0]], resamples=200)
    assert all(m.verdict == SAME and m.diff in (0.0, None) for m in one.pairs[0].metrics)
    result = compare_sets([base, twin])
    pair = result.pairs[0]
    assert pair.paired
    for m in pair.metrics:
        assert m.verdict == SAME, m
        assert m.low == m.high == 0.0 or m.low is None, m


def test_other_seeds_of_one_plugin_show_no_significant_difference(sets: dict[str, Path]) -> None:
    base, other = set_runs(sets["base"]), set_runs(sets["other-seeds"])
    assert base and other
    pair = compare_sets([base, other]).pairs[0]
    assert not pair.paired  # different seeds: unpaired, seed-to-seed variation on both sides
    assert all(m.verdict == SAME for m in pair.metrics), [
        (m.metric.key, m.low, m.high) for m in pair.metrics
    ]


def test_a_throttled_carrier_is_still_significantly_worse(sets: dict[str, Path]) -> None:
    base, throttled = set_runs(sets["base"]), set_runs(sets["throttled"])
    assert base and throttled
    pair = compare_sets([base, throttled]).pairs[0]
    assert pair.paired
    worse = {m.metric.key for m in pair.metrics if m.verdict == WORSE}
    assert {"staleness_p95", "refresh_latency_p95"} <= worse, pair.metrics


def test_compare_takes_replication_set_folders(sets: dict[str, Path]) -> None:
    proc = subprocess.run(
        [
            sys.executable, "-m", "peakbench", "compare",
            str(sets["base"]), str(sets["throttled"]), "--fail-on-worse",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "t intervals over the runs' seeds" in " ".join(proc.stdout.split())


def test_t_intervals_at_their_boundaries() -> None:
    assert t_interval([1.0], 0.95) is None
    assert t_interval([2.0, 2.0, 2.0], 0.95) == (2.0, 2.0)
    lo, hi = t_interval([1.0, 2.0, 3.0], 0.95) or (0, 0)
    # mean 2, sd 1, n 3: t(0.975, 2) = 4.303 → half-width 4.303 / sqrt(3) = 2.484
    assert lo == pytest.approx(2 - 2.4841, abs=1e-3) and hi == pytest.approx(2 + 2.4841, abs=1e-3)
    assert welch_interval([1.0], [2.0, 3.0], 0.95) is None
    assert welch_interval([1.0, 1.0], [3.0, 3.0], 0.95) == (2.0, 2.0)
    wl, wh = welch_interval([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], 0.95) or (0, 0)
    assert wl < 1.0 < wh and (wl + wh) / 2 == pytest.approx(1.0)
