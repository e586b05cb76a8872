"""The freshness probe: its reads are planned on a fixed period within a request budget, and on
the sandbox (which has the exact change log) its refresh latency agrees with the exact figure
to within one period."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml
from _profiles import finished_run, kept_up, small

from peakbench.plan.probe import ProbeSpec, Shipment, effective_period, probe_items


def _ships(n: int, every: float = 60.0) -> list[Shipment]:
    return [Shipment(i, "generic", f"PB{i:06d}", i * every) for i in range(n)]


def test_each_open_shipment_is_read_once_a_period_from_its_shipment_to_the_end() -> None:
    spec = ProbeSpec(period=600, max_reads_per_s=100)
    items, period = probe_items(spec, _ships(5), 3600, 1.0)
    assert period == 600
    assert {i.kind for i in items} == {"probe"}
    for ref in range(5):
        times = sorted(i.t for i in items if i.ref == ref)
        assert times[0] > ref * 60 and times[0] - ref * 60 <= 600
        assert all(abs(b - a - 600) < 1e-6 for a, b in itertools.pairwise(times))
        assert times[-1] < 3600 <= times[-1] + 600
    # phases spread the reads over the period instead of bursting at its start
    assert len({round(i.t % 600) for i in items}) == 5


def test_the_budget_stretches_the_period() -> None:
    spec = ProbeSpec(period=60, max_reads_per_s=2)
    assert effective_period(spec, _ships(10), 3600, 1.0) == 60  # 10 open / 60 s < 2 per s
    # 100 open at ×30: read each once a minute would be 50 wall reads per second
    stretched = effective_period(spec, _ships(100, 1.0), 3600, 30.0)
    assert stretched == 1500  # 100 × 30 / 2
    items, period = probe_items(spec, _ships(100, 1.0), 3600, 30.0)
    assert period == stretched
    per_wall_second = Counter(int(i.t / 30.0) for i in items)
    assert max(per_wall_second.values()) <= 2  # flat at the budget, never a burst


def test_the_probe_agrees_with_the_exact_figure_on_the_sandbox(tmp_path: Path) -> None:
    data = small("probe", interval="10m")
    data["clock"] = {"start": "2026-11-27T00:00:00Z", "scale": 600, "duration": "6h"}
    data["peak"] = {"curve": "flat", "peak_orders_per_hour": 12, "order_window": "4h"}
    data["carriers"][0]["behaviours"] = []
    data["probe"] = {"period": "10m", "max_reads_per_s": 200}
    data["replay"] = {"users": 16, "warmup_wall_s": 3}
    (tmp_path / "probe.yaml").write_text(yaml.safe_dump(data))
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", "probe.yaml", "--results", "results"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    root, summary = finished_run(tmp_path / "results", proc)
    kept_up(summary, proc.returncode)  # a wall-time run: a busy machine may fall behind
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert summary["valid"], summary["invalid_reasons"]
    exact, probe = summary["refresh_latency_s"], summary["probe"]
    assert exact["method"] == "exact" and probe["period_s"] == 600
    assert probe["reads"]["done"] == probe["reads"]["scheduled"] > 0
    seen = probe["refresh_latency_s"]
    assert seen["resolution_s"] == 600 and seen["count"] > 30
    for q in ("p50", "p95"):
        assert abs(seen[q] - exact[q]) <= 600, (q, seen, exact)
    # probe reads are not customer views
    assert summary["views"]["scheduled"] == sum(
        1 for line in (root / "schedule.csv").open() if ",view," in line
    )
