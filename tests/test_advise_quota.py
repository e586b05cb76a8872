"""advise on a case whose answer is known by hand.

One carrier, a daily quota of Q = 20 calls (one quota day: the run is 00:00–12:00 GMT), no other
limit. Every order arrives in the first 30 minutes and ships within minutes, so from the first
poll on every parcel is open (none is delivered within 12 hours). A poll costs ceil(N / 35)
calls for N open parcels, and polls come at k × interval, k = 1 .. (12 h − ε) / interval.

- At 1× (about 18 orders, one batch) the calls are the polls: 30m → 23, 45m → 15, 1h30m → 7.
  So any interval under 12 h / 20 = 36 minutes runs out of quota and freezes tracking for over
  30 minutes (the outage SLO): 30m fails, 45m and 1h30m pass.
- At 3× (36–70 orders, two batches) 45m needs 30 calls and fails; 1h30m needs 14 and passes.
- At 5× (71–105 orders, three batches) 1h30m needs 21 > 20 and fails.

So the breaking point of the current 45m is 3× and of 1h30m 5×, both on the outage SLO; the
recommendation is 1h30m (most headroom: 65% of the quota left against 25% for 45m).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from _profiles import QUOTA_CASE
from rich.console import Console

from peakbench.cli.advise import advise, report
from peakbench.config.loader import parse_profile

HOUR = 3600.0
QUOTA: dict[str, Any] = QUOTA_CASE


def _polls(interval_s: float) -> int:
    return math.ceil(12 * HOUR / interval_s) - 1


@pytest.fixture(scope="module")
def answer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    tmp = tmp_path_factory.mktemp("advise")
    profile = parse_profile(yaml.safe_dump(QUOTA), "quota.yaml")
    out = io.StringIO()
    doc = advise(profile, "quota.yaml", tmp, Console(file=out, width=140), workers=2)
    root = next(tmp.glob("*-quota-advise-*"))
    return root, doc, out.getvalue()


def _at(doc: dict[str, Any], interval: str, m: float) -> dict[str, Any]:
    key = "current" if interval == "45m" else f"interval={interval}"
    return next(
        p
        for p in doc["points"]
        if p["multiplier"] == m
        and (p["current"] if key == "current" else p["knobs"].get("interval") == interval)
    )


def test_intervals_shorter_than_the_quota_allows_fail(
    answer: tuple[Path, dict[str, Any], str],
) -> None:
    _, doc, _ = answer
    assert len(doc["points"]) == 9 and not doc["partial"]
    for interval, seconds in (("30m", 1800), ("45m", 2700), ("1h30m", 5400)):
        point = _at(doc, interval, 1)
        orders = point["runs"][0]["orders"]
        assert orders <= 35  # one batch per poll
        assert point["requests"] == _polls(seconds), interval
        assert point["quota_share"] == pytest.approx(_polls(seconds) / 20)
    short = _at(doc, "30m", 1)
    assert not short["passed"] and short["failed_checks"] == ["longest_outage_s"]
    assert short["p_outage"] == 1.0
    assert _at(doc, "45m", 1)["passed"] and _at(doc, "1h30m", 1)["passed"]


def test_bigger_peaks_need_more_batches_and_break_the_quota(
    answer: tuple[Path, dict[str, Any], str],
) -> None:
    _, doc, _ = answer
    three, five = _at(doc, "1h30m", 3), _at(doc, "1h30m", 5)
    assert 35 < three["runs"][0]["orders"] <= 70 < five["runs"][0]["orders"] <= 105
    assert three["requests"] == 2 * _polls(5400) and three["passed"]
    assert five["requests"] == 3 * _polls(5400) and five["failed_checks"] == ["longest_outage_s"]
    assert _at(doc, "45m", 3)["requests"] == 2 * _polls(2700)
    assert not _at(doc, "45m", 3)["passed"]


def test_recommendation_breaking_points_and_frontier(
    answer: tuple[Path, dict[str, Any], str],
) -> None:
    _, doc, text = answer
    rec = doc["recommendation"]
    assert rec["status"] == "tune" and rec["setting"] == "direct-polling interval=1h30m"
    assert rec["current_passed"] and doc["exit_code"] == 0
    assert doc["breaking_point"]["current"] == {
        "staleness_p95_s": None,
        "longest_outage_s": 3.0,
        "any": 3.0,
    }
    assert doc["breaking_point"]["recommended"]["longest_outage_s"] == 5.0
    ids = {p["id"]: p for p in doc["points"]}
    at_one = {ids[i]["knobs"].get("interval", "current") for i in doc["frontier"]["1"]}
    assert {"current", "1h30m"} <= at_one  # the cheapest that passes, and a fresher one
    # at 3× the 30m poll burns the quota soonest: dearer and staler than 45m, so dominated
    assert _at(doc, "30m", 3)["id"] not in doc["frontier"]["3"]
    # cost: 0.5 per call + 4 per expected contact
    p = _at(doc, "1h30m", 1)
    assert p["cost"] == pytest.approx(0.5 * p["requests"] + 4.0 * p["complaints"], abs=0.01)
    assert "recommendation: direct-polling interval=1h30m" in text
    assert "fewer carrier calls than the current settings (7 against 15)" in text


def test_the_advise_folder_is_self_describing_and_re_renders(
    answer: tuple[Path, dict[str, Any], str],
) -> None:
    root, doc, _ = answer
    on_disk = json.loads((root / "advise.json").read_text())
    assert on_disk["recommendation"] == doc["recommendation"]
    assert json.loads((root / "profile.json").read_text())["name"] == "quota"
    page = (root / "advise.html").read_text()
    assert "Plotly.newPlot" in page and "<script src=" not in page
    assert "direct-polling interval=1h30m" in page
    for p in doc["points"]:
        run = root / "runs" / p["runs"][0]["run"]
        summary = json.loads((run / "summary.json").read_text())
        assert summary["staleness_s"]["p95"] == p["staleness_p95_s"]  # one seed: the mean is it
        assert (run / "run.json").exists()
    (root / "advise.html").unlink()
    out = io.StringIO()
    assert report(root, Console(file=out, width=140)) == 0
    assert (root / "advise.html").exists() and "recommendation:" in out.getvalue()


def test_re_running_the_recommendation_gives_the_figures_advise_printed(
    answer: tuple[Path, dict[str, Any], str],
) -> None:
    import subprocess
    import sys

    root, doc, _ = answer
    assert doc["rerun"] == f"peakbench run {root / 'recommended.yaml'}"
    results = root.parent / "rerun"
    argv = [sys.executable, "-m", "peakbench", "run", str(root / "recommended.yaml")]
    proc = subprocess.run(
        [*argv, "--results", str(results)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = json.loads(next(results.glob("*/summary.json")).read_text())
    point = next(p for p in doc["points"] if p["id"] == doc["recommendation"]["point"])
    assert summary["staleness_s"]["p95"] == point["staleness_p95_s"]
    assert summary["carriers"]["generic"]["requests"] == point["requests"] == 7
    assert summary["slo"]["passed"] and summary["target"] == "sandbox"


def test_when_nothing_passes_the_command_says_so_and_exits_1(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = {
        **QUOTA,
        "advise": {**QUOTA["advise"], "knobs": {"interval": ["30m"]}, "multipliers": [5]},
    }
    path = tmp_path / "quota.yaml"
    path.write_text(yaml.safe_dump(data))
    results = tmp_path / "results"
    argv = [sys.executable, "-m", "peakbench", "advise", str(path), "--results", str(results)]
    proc = subprocess.run([*argv, "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "no setting tried passes at 5× the forecast peak" in " ".join(proc.stdout.split())
    root = next(results.glob("*-quota-advise-*"))
    again = subprocess.run(
        [sys.executable, "-m", "peakbench", "report", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 1 and "advise page:" in again.stdout


def test_an_interrupted_advise_keeps_the_finished_runs_and_exits_3(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "quota.yaml"
    path.write_text(yaml.safe_dump(QUOTA))
    results = tmp_path / "results"
    log = tmp_path / "advise.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "peakbench", "advise", str(path), "--results", str(results)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        # the signal comes once the first run has finished (its summary is written), however
        # fast or slow the machine: the advise is then part done, never all done
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if next(results.glob("*/runs/*/summary.json"), None) is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the advise ended before any run was seen to finish"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    out = log.read_text()
    assert proc.returncode == 3, out[-2000:]
    doc = json.loads(next(results.glob("*/advise.json")).read_text())
    assert doc["partial"] and 1 <= doc["runs_done"] < doc["runs_total"] == 9
    # a run cut short is not judged: every point shown has all its runs, each a finished one
    for p in doc["points"]:
        for run in p["runs"]:
            summary = json.loads(
                (
                    results / next(results.iterdir()).name / "runs" / run["run"] / "summary.json"
                ).read_text()
            )
            assert not summary.get("partial") and summary["valid"]
    assert "partial:" in out
