"""Candidate comparison on real runs: same seed → no significant difference; throttled → worse."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from _profiles import small
from rich.console import Console

from peakbench.measure.samples import OrderSample, RunSamples, load_samples
from peakbench.report.compare import SAME, WORSE, compare
from peakbench.report.comparison import comparison_html, render_comparison

SMALL: dict[str, Any] = small()
# the same seed and plan, but a carrier that allows 60 requests a day and bans for 3 hours
THROTTLED = [
    {"type": "latency", "distribution": "fixed", "delay": "200ms"},
    {"type": "quota", "limit": 60, "per": "1d"},
    {"type": "block", "violations": 5, "within": "10m", "ban": "3h"},
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three real runs at once (~30 s wall): a baseline, its twin, and a throttled candidate."""
    tmp = tmp_path_factory.mktemp("compare")
    results = tmp / "results"
    procs = {}
    for name in ("base", "twin", "throttled"):
        data = json.loads(json.dumps(SMALL))
        data["name"] = name
        if name == "throttled":
            data["carriers"][0]["behaviours"] = THROTTLED
        profile = tmp / f"{name}.yaml"
        profile.write_text(yaml.safe_dump(data))
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(results)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    out = {}
    for name, proc in procs.items():
        log, _ = proc.communicate(timeout=150)
        found = sorted(results.glob(f"*-{name}-*"))
        assert found and (found[-1] / "summary.json").exists(), log
        out[name] = found[-1]
    return out


def _render(comparison: Any) -> str:
    console = Console(file=StringIO(), width=100)
    render_comparison(console, comparison)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def test_samples_agree_with_the_summary(runs: dict[str, Path]) -> None:
    root = runs["throttled"]
    summary = json.loads((root / "summary.json").read_text())
    samples = load_samples(root)
    done = sum(o.done for o in samples.orders)
    assert done == summary["orders"]["done"]
    complaints = 1000 * sum(o.complaints for o in samples.orders) / done
    assert complaints == pytest.approx(summary["complaints"]["expected_per_1000_orders"], abs=1e-3)
    views = [v for o in samples.orders for v in o.staleness]
    assert len(views) == summary["staleness_s"]["count"]
    stale = sum(o.stale_views for o in samples.orders) / len(views)
    assert stale == pytest.approx(summary["stale_views_share"], abs=1e-4)
    refresh = sorted(v for o in samples.orders for v in o.refresh)
    assert len(refresh) == summary["refresh_latency_s"]["count"]
    # the summary's HDR percentile is the nearest rank give or take one, to 3 digits
    k = math.ceil(0.95 * len(refresh)) - 1
    lo, hi = refresh[max(0, k - 1)], refresh[min(len(refresh) - 1, k + 1)]
    assert lo * 0.999 - 1e-3 <= summary["refresh_latency_s"]["p95"] <= hi * 1.001 + 1e-3
    hit = sum(o.outage_hit for o in samples.orders)
    assert hit == sum(o["orders_affected"] for o in summary["outages"])


def test_two_runs_of_the_same_seed_show_no_significant_difference(runs: dict[str, Path]) -> None:
    for name in ("base", "twin"):
        assert json.loads((runs[name] / "summary.json").read_text())["valid"], name
    result = compare([runs["base"], runs["twin"]])
    (pair,) = result.pairs
    assert pair.same_plan and pair.paired and result.same_plan
    assert result.warnings == ()
    for m in pair.metrics:
        assert m.verdict == SAME, (m.metric.key, m.diff, m.low, m.high)
        assert m.low is not None and m.high is not None and m.low <= 0 <= m.high
    text = _render(result)
    assert "same seed (11) and schedule" in text
    assert text.count("no significant difference") == len(pair.metrics)
    assert not any(line.rstrip().endswith(("worse", "better")) for line in text.splitlines())


def test_a_throttled_carrier_is_significantly_worse(runs: dict[str, Path], tmp_path: Path) -> None:
    result = compare([runs["base"], runs["twin"], runs["throttled"]], resamples=1000)
    twin, throttled = result.pairs
    assert all(m.verdict == SAME for m in twin.metrics)
    for key in ("staleness_p95", "outage_s_per_order", "outage_orders_share"):
        assert throttled.verdict(key) == WORSE, key
    assert throttled.candidate.longest_outage_s > 3600
    assert throttled.baseline.longest_outage_s == 0
    text = _render(result)
    lines = [line.rstrip() for line in text.splitlines()]
    assert sum(line.startswith(" staleness p95") and line.endswith("worse") for line in lines) == 1
    # the CLI: exit 1 with --fail-on-worse, and an HTML page with the same verdicts
    page = tmp_path / "compare.html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "peakbench",
            "compare",
            str(runs["base"]),
            str(runs["throttled"]),
            "--resamples",
            "500",
            "--html",
            str(page),
            "--fail-on-worse",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "worse" in proc.stdout
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and '<script src="http' not in html
    assert 'data-metric="staleness_p95">worse<' in html
    assert comparison_html(result).count('data-metric="staleness_p95"') == 2


def _run(seed: int, plan: str, shift: float, n: int = 400) -> RunSamples:
    orders = tuple(
        OrderSample(
            ref=i,
            done=True,
            shipped=True,
            staleness=(float(i % 50) * 60 + shift, 0.0),
            refresh=(float(i % 70) * 60 + shift,),
            complaints=0.01,
        )
        for i in range(n)
    )
    return RunSamples(
        root=Path(f"/runs/{plan}-{shift:g}"),
        profile="synthetic",
        seed=seed,
        plan=plan,
        end=43200.0,
        stale_after=3600.0,
        resolution_s=1.0,
        orders=orders,
        outages=(),
        valid=True,
        invalid_reasons=(),
    )


def test_verdicts_on_synthetic_samples_and_the_plan_check() -> None:
    same = compare([_run(1, "p", 0.0), _run(1, "p", 0.0)], resamples=300)
    assert all(m.verdict == SAME and m.low == m.high == 0 for m in same.pairs[0].metrics)
    slower = compare([_run(1, "p", 0.0), _run(1, "p", 600.0)], resamples=300, seed=3)
    assert slower.pairs[0].verdict("staleness_p95") == WORSE
    assert slower.pairs[0].verdict("refresh_latency_p95") == WORSE
    faster = compare([_run(1, "p", 600.0), _run(1, "p", 0.0)], resamples=300, seed=3)
    assert faster.pairs[0].verdict("staleness_p95") == "better"
    again = compare([_run(1, "p", 0.0), _run(1, "p", 600.0)], resamples=300, seed=3)
    assert again == slower  # seeded: the same intervals every time
    other = compare([_run(1, "p", 0.0), _run(2, "q", 0.0)], resamples=300)
    assert not other.same_plan and not other.pairs[0].paired
    assert any("seed 1 vs 2" in w for w in other.warnings)
    text = _render(other)
    assert "WARNING" in text and "not paired" in text
    with pytest.raises(ValueError):
        compare([_run(1, "p", 0.0)])


def _copy_run(src: Path, dest: Path, slo: dict[str, Any]) -> Path:
    """A copy of a run folder whose recorded profile carries extra SLOs."""
    shutil.copytree(src, dest)
    record = json.loads((dest / "run.json").read_text())
    record["profile"]["slo"] = {**record["profile"]["slo"], **slo}
    (dest / "run.json").write_text(json.dumps(record))
    return dest


def test_report_with_a_baseline_on_real_runs(runs: dict[str, Path], tmp_path: Path) -> None:
    slo = {"baseline": {"staleness_p95": "+10%", "longest_outage": "+30m"}}
    worse = _copy_run(runs["throttled"], tmp_path / "worse", slo)
    proc = _cli("report", str(worse), "--baseline", str(runs["base"]))
    assert proc.returncode in (1, 3), proc.stderr
    summary = json.loads((worse / "summary.json").read_text())
    failed = {c["name"] for c in summary["slo"]["checks"] if not c["passed"]}
    assert {"baseline.staleness_p95_s", "baseline.longest_outage_s"} <= failed
    cases = ET.parse(worse / "junit.xml").getroot().iter("testcase")
    names = {c.get("name"): c.find("failure") is not None for c in cases}
    assert names["baseline.staleness_p95_s"] is True
    # the baseline against itself passes its relative checks
    same = _copy_run(runs["base"], tmp_path / "same", slo)
    proc = _cli("report", str(same), "--baseline", str(runs["base"]))
    summary = json.loads((same / "summary.json").read_text())
    relative = [c for c in summary["slo"]["checks"] if c["name"].startswith("baseline.")]
    assert len(relative) == 2 and all(c["passed"] for c in relative), relative


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peakbench", *args], capture_output=True, text=True, timeout=120
    )
