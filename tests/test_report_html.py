"""report.html against a short real run: the plots' data agree with the journals and the summary."""

from __future__ import annotations

import html
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from _profiles import small

from peakbench.report.figures import (
    carriers_figure,
    complaints_figure,
    rates_figure,
    staleness_figure,
)
from peakbench.report.html import render_html, write_report
from peakbench.report.series import cdf, read_series

# polling every 10 minutes exhausts the 300/day quota: throttles and an outage to draw
PROFILE: dict[str, Any] = small("report", interval="10m")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "p.yaml").write_text(yaml.safe_dump(PROFILE))
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(tmp / "p.yaml"), "--results", str(tmp)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    runs = sorted(tmp.glob("*-report-*"))
    assert runs and (runs[-1] / "summary.json").exists(), proc.stdout + proc.stderr
    return runs[-1], json.loads((runs[-1] / "summary.json").read_text())


def _journal(root: Path, name: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (root / "journals" / name).read_text().splitlines() if x]


def test_carrier_timeline_totals_equal_the_journal_and_the_summary(run: Any) -> None:
    root, summary = run
    series = read_series(root)
    lines = _journal(root, "carrier-generic.jsonl")
    assert summary["outages"], "the run must have been throttled for this test to mean anything"
    fig = carriers_figure(series)
    totals: dict[str, int] = {}
    for trace in fig.data:
        totals[trace.meta["outcome"]] = totals.get(trace.meta["outcome"], 0) + sum(trace.y)
    want = summary["carriers"]["generic"]
    assert totals == {k: want[k] for k in ("ok", "throttled", "blocked", "errors")}
    assert sum(totals.values()) == want["requests"] == len(lines)
    assert totals["throttled"] == sum(x["outcome"] == "throttled" for x in lines) > 0
    # requests after the replay ended (the plugin drains) are binned, not clamped away
    assert series.bins.end >= max(x["t"] for x in lines)
    # each outage is a shaded window spanning exactly its start and end (ms of store time)
    shades = [s for s in fig.layout.shapes if s.type == "rect"]
    start = series.start_epoch
    assert [(s.x0, s.x1) for s in shades] == [
        ((start + o["start"]) * 1000, (start + o["end"]) * 1000) for o in summary["outages"]
    ]
    # and labelled with its causes in order, first to last
    labels = [a.text for a in fig.layout.annotations if a.text.startswith("outage")]
    assert labels == [
        "outage (" + " → ".join(c["cause"] for c in o["causes"]) + ")" for o in summary["outages"]
    ]
    assert summary["outages"][0]["first_cause"] == summary["outages"][0]["causes"][0]["cause"]


def test_rates_and_refresh_series_agree_with_the_replay_journal_and_summary(run: Any) -> None:
    root, summary = run
    series = read_series(root)
    replay = _journal(root, "replay.jsonl")
    per_bin = series.bins.width / 3600
    orders = round(sum(series.order_rate) * per_bin)
    views = round(sum(series.view_rate) * per_bin)
    assert (
        orders == sum(r["kind"] == "order" and r["ok"] for r in replay) == summary["orders"]["done"]
    )
    assert views == sum(r["kind"] == "view" and r["ok"] for r in replay) == summary["views"]["done"]
    # every refresh-latency sample of the summary is in exactly one bin
    assert sum(series.refresh.count) == summary["refresh_latency_s"]["count"] > 0
    fig = rates_figure(series)
    names = [t.name for t in fig.data]
    assert names[:5] == [
        "orders per hour",
        "views per hour",
        "refresh latency p50",
        "refresh latency p95",
        "refresh latency p99",
    ]
    assert [t.yaxis for t in fig.data] == ["y", "y"] + ["y2"] * (len(names) - 2)
    # events that waited across the outage are not drawn as a falling line but as markers
    assert summary["outages"]
    waited = next(t for t in fig.data if t.name.startswith("p95 of events that waited"))
    p95 = next(t for t in fig.data if t.name == "refresh latency p95")
    marked = [i for i, y in enumerate(waited.y) if y is not None]
    assert marked and all(p95.y[i] is None for i in marked)
    # the outage is shaded on this time plot too, and the time axis ticks on round hours
    assert [s for s in fig.layout.shapes if s.type == "rect"]
    assert fig.layout.xaxis.dtick in {h * 3_600_000 for h in (1, 2, 3, 6, 12, 24, 48)}


def test_staleness_cdf_is_the_summary_distribution(run: Any) -> None:
    root, summary = run
    series = read_series(root)
    st = summary["staleness_s"]
    assert len(series.staleness) == st["count"] > 100
    xs, ys = cdf(series.staleness)
    assert ys[-1] == pytest.approx(1.0) and list(ys) == sorted(ys)
    # the CDF crosses 95% at the summary's p95, up to HDR's 3 significant digits and which of
    # the two samples around rank 0.95·n each definition picks (HDR rounds, the CDF does not)
    p95 = next(x for x, y in zip(xs, ys, strict=True) if y >= 0.95)
    ranked = sorted(series.staleness)
    k = 0.95 * len(ranked)
    lo, hi = ranked[max(0, math.floor(k) - 1)], ranked[min(len(ranked) - 1, math.ceil(k))]
    assert lo <= p95 <= hi
    assert lo * (1 - 2e-3) - 2e-3 <= st["p95"] <= hi * (1 + 2e-3) + 2e-3
    assert max(series.staleness) == pytest.approx(st["max"], abs=1e-3)
    fig = staleness_figure(series, 3600.0, 3600.0)
    assert fig.data[0].y[-1] == pytest.approx(1.0)


def test_complaints_figure_splits_the_summary_figure(run: Any) -> None:
    root, summary = run
    series = read_series(root)
    comp = summary["complaints"]
    fig = complaints_figure(series, comp)
    bars = {t.name: t.y[0] for t in fig.data if t.type == "bar"}
    assert sum(bars.values()) == pytest.approx(comp["expected_per_1000_orders"], rel=1e-3)
    assert bars["display lag (the plugin's side)"] == pytest.approx(
        comp["expected_per_1000_orders"] * comp["display_lag_share"], rel=1e-3
    )
    hist = [t for t in fig.data if t.type == "histogram"]
    assert sum(len(t.x) for t in hist) == summary["staleness_s"]["count"]
    curve = next(t for t in fig.data if t.name == "patience curve (assumed)")
    assert curve.y[0] == 0.0 and 0.5 < max(curve.y) <= 0.79 + 1e-9


def test_html_is_self_contained_and_carries_the_header_tables_and_figures(run: Any) -> None:
    root, summary = run
    doc = render_html(root)
    assert doc.startswith("<!DOCTYPE html>")
    # plotly.js inlined exactly once; nothing loaded from elsewhere
    assert doc.count("Plotly.newPlot") >= 5
    assert len(re.findall(r"plotly\.js v\d", doc)) == 1
    assert not re.search(r"<script[^>]+src=", doc)
    body = doc[doc.index("</head>") :]  # plotly.js itself mentions links; our page must not
    assert not re.search(r"(href|src)=\"https?://", body)
    for fig_id in ("fig-rates", "fig-staleness", "fig-carriers", "fig-queue", "fig-complaints"):
        assert f'id="{fig_id}"' in doc, fig_id
    verdict = "PASSED" if summary["slo"]["passed"] else "FAILED"
    assert f'<span class="verdict {verdict.lower()}">{verdict}</span>' in doc
    assert "<td>seed</td><td>11</td>" in doc
    # only the knob the profile changed from its preset (interval; on_throttle is the default)
    assert "virtual time" in doc
    assert "<td>plugin</td><td>direct-polling, interval: 10 min</td>" in doc
    assert "<td>validity</td><td>valid</td>" in doc
    # why, in words, at the top; where this page is
    assert summary["explanation"] and html.escape(summary["explanation"]) in doc
    assert doc.index('class="why"') < doc.index("<h2>SLO checks</h2>")
    assert str((root / "report.html").resolve()) in doc
    # SLO table in people's words, the outages with their causes, support cost, assumptions
    for check in summary["slo"]["checks"]:
        assert f"<td>{check['name']}</td>" not in doc
    assert "<td>staleness p95</td>" in doc and "<td>longest throttle outage</td>" in doc
    assert ('<td class="fail">FAIL</td>' in doc) == (not summary["slo"]["passed"])
    for o in summary["outages"]:
        story = " → ".join(c["cause"] for c in o["causes"])
        assert f"<td>{html.escape(story)}</td><td>{o['refused']:,}</td>" in doc
    assert "<h2>Support cost</h2>" in doc and "destinationcrm.com" in doc
    assert summary["support"]["cost_per_1000_orders"] == pytest.approx(
        summary["complaints"]["expected_per_1000_orders"] * 8.01, abs=0.01
    )
    assert "Patience curve (an assumption, not a measurement)" in doc
    assert "Display lag vs transport delay" in doc


def test_report_command_rerenders_from_the_folder_alone(run: Any, tmp_path: Path) -> None:
    root, summary = run
    copy = tmp_path / root.name
    subprocess.run(["cp", "-r", str(root), str(copy)], check=True)
    (copy / "report.html").unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "report", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == (0 if summary["slo"]["passed"] else 1), proc.stderr
    assert "report.html" in proc.stdout and "summary.md" in proc.stdout
    assert "SLO checks" in proc.stdout
    html = (copy / "report.html").read_text()
    assert 'id="fig-carriers"' in html and summary["profile"] in html
    md = (copy / "summary.md").read_text()
    assert md.startswith("## ") and "### SLO checks" in md
    assert write_report(copy) == copy / "report.html"
