"""The readiness gate: SLO parsing, baseline-relative thresholds, junit.xml, CLI exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from peakbench.config.loader import ProfileError, parse_profile
from peakbench.config.profile import Profile, SloSpec
from peakbench.measure.slo import BaselineError, checks, evaluate, load_baseline, regate
from peakbench.report.junit import junit_xml, write_junit


def _summary(**figures: float) -> dict[str, Any]:
    """A summary with the figures the gate reads (store seconds, shares, counts)."""
    f = {
        "rl50": 600.0,
        "rl95": 3000.0,
        "rl99": 3500.0,
        "st50": 0.0,
        "st95": 1800.0,
        "st99": 3000.0,
        "outage": 0.0,
        "share": 0.02,
        "complaints": 8.0,
        **figures,
    }
    return {
        "profile": "bf",
        "target": "sandbox",
        "plugin": {"strategy": "direct-polling", "interval": 900.0},
        "seed": 7,
        "clock": {"scale": 1200.0, "start": 0.0, "end": 86400.0},
        "refresh_latency_s": {"count": 100, "p50": f["rl50"], "p95": f["rl95"], "p99": f["rl99"]},
        "staleness_s": {"count": 100, "p50": f["st50"], "p95": f["st95"], "p99": f["st99"]},
        "longest_outage_s": f["outage"],
        "stale_views_share": f["share"],
        "complaints": {"expected_per_1000_orders": f["complaints"]},
        "valid": True,
        "invalid_reasons": [],
    }


def test_every_slo_of_the_issue_is_checked() -> None:
    slo = SloSpec.model_validate(
        {
            "refresh_latency_p50": "15m",
            "refresh_latency_p95": "1h",
            "refresh_latency_p99": "50m",
            "staleness_p50": "1m",
            "staleness_p95": "1h",
            "staleness_p99": "1h",
            "longest_outage": "30m",
            "stale_views_share": 0.05,
            "stale_after": "2h",
            "complaints_per_1000_orders": 5,
        }
    )
    found = {c.name: c for c in checks(slo, _summary())}
    assert len(found) == 9
    failed = sorted(n for n, c in found.items() if not c.passed)
    assert failed == ["complaints_per_1000_orders", "refresh_latency_p99_s"]
    assert found["refresh_latency_p99_s"].message == (
        "refresh latency p99 = 58m20s, exceeds the limit 50m (≤ 50m)"
    )
    assert found["complaints_per_1000_orders"].threshold == 5
    result = evaluate(slo, _summary())
    assert result["passed"] is False and len(result["checks"]) == 9
    assert evaluate(slo, _summary(rl99=2000, complaints=4))["passed"] is True
    # a figure without samples fails rather than passing silently
    empty = _summary()
    empty["staleness_s"]["p95"] = None
    (check,) = checks(SloSpec(staleness_p95=3600), empty)
    assert not check.passed and "no samples" in check.message


def test_baseline_thresholds_pass_and_fail_on_synthetic_summaries() -> None:
    slo = SloSpec.model_validate(
        {
            "staleness_p95": {"max": "1h", "baseline": "+10%"},
            "refresh_latency_p95": "+5m",
            "complaints_per_1000_orders": "+0.5",
            "longest_outage": "-10%",
        }
    )
    assert slo.staleness_p95 == 3600.0
    assert slo.baseline == {
        "staleness_p95": "+10%",
        "refresh_latency_p95": "+5m",
        "complaints_per_1000_orders": "+0.5",
        "longest_outage": "-10%",
    }
    base = _summary(st95=1800, rl95=3000, complaints=8, outage=1000)
    # within every bound: +9% staleness, +4m refresh, +0.4 complaints, outage 10% shorter
    ok = evaluate(slo, _summary(st95=1962, rl95=3240, complaints=8.4, outage=900), base)
    assert ok["passed"], [c["message"] for c in ok["checks"] if not c["passed"]]
    names = [c["name"] for c in ok["checks"]]
    assert names == [
        "staleness_p95_s",
        "baseline.refresh_latency_p95_s",
        "baseline.staleness_p95_s",
        "baseline.longest_outage_s",
        "baseline.complaints_per_1000_orders",
    ]
    bad = evaluate(slo, _summary(st95=1990, rl95=3320, complaints=8.6, outage=950), base, "b1")
    failed = {c["name"]: c for c in bad["checks"] if not c["passed"]}
    assert set(failed) == {
        "baseline.staleness_p95_s",
        "baseline.refresh_latency_p95_s",
        "baseline.complaints_per_1000_orders",
        "baseline.longest_outage_s",
    }
    assert failed["baseline.staleness_p95_s"]["threshold"] == pytest.approx(1980)
    assert "≤ baseline 30m +10%" in failed["baseline.staleness_p95_s"]["message"]
    assert bad["baseline"] == "b1"
    # without a baseline a relative check fails and says what is missing
    alone = evaluate(slo, _summary())
    missing = [c for c in alone["checks"] if c["name"].startswith("baseline.")]
    assert missing and all(not c["passed"] and "--baseline" in c["message"] for c in missing)


def test_slo_syntax_errors_are_one_line_profile_errors(
    make_profile: Callable[..., Profile],
) -> None:
    profile = make_profile(slo={"staleness_p95": "+10%", "longest_outage": "30m"})
    assert profile.slo.baseline == {"staleness_p95": "+10%"}
    # the resolved profile (run.json) validates again to the same thing
    assert Profile.model_validate(profile.model_dump(mode="json")) == profile
    for bad, words in (
        ({"staleness_p95": "+fast"}, "expected a change from the baseline like '+10%'"),
        ({"baseline": {"stalenes_p95": "+10%"}}, "did you mean 'staleness_p95'"),
        ({"staleness_p95": {"maxi": "1h"}}, "expected 'max' and/or 'baseline'"),
    ):
        text = yaml.safe_dump({**_base_profile(), "slo": bad})
        with pytest.raises(ProfileError) as err:
            parse_profile(text, "bf.yaml")
        assert any(words in str(issue) for issue in err.value.issues), err.value.issues


def _base_profile() -> dict[str, Any]:
    return {"name": "bf", "carriers": [{"name": "generic"}]}


def test_junit_xml_has_a_testcase_per_check_and_failures_with_messages(tmp_path: Path) -> None:
    slo = SloSpec.model_validate({"staleness_p95": "20m", "longest_outage": "1h"})
    summary = _summary(st95=6467.583)
    summary["slo"] = evaluate(slo, summary)
    root = ET.fromstring(junit_xml(summary))
    (suite,) = root.iter("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"run validity", "staleness_p95_s", "longest_outage_s"}
    failure = cases["staleness_p95_s"].find("failure")
    assert failure is not None
    assert failure.get("message") == "staleness p95 = 1h47m, exceeds the limit 20m (≤ 20m)"
    assert cases["longest_outage_s"].find("failure") is None
    assert cases["run validity"].find("failure") is None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["profile"] == "bf" and props["seed"] == "7"
    # an invalid run: the validity case fails with its reasons
    summary["valid"] = False
    summary["invalid_reasons"] = ["the harness fell behind the schedule: 9% late", "<&> quoted"]
    path = write_junit(tmp_path, summary)
    root = ET.parse(path).getroot()
    validity = next(c for c in root.iter("testcase") if c.get("name") == "run validity")
    failure = validity.find("failure")
    assert failure is not None and "fell behind" in (failure.get("message") or "")
    assert "<&> quoted" in (failure.text or "")
    assert root.get("failures") == "2"


def test_baseline_runs_are_checked(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"no summary\.json"):
        load_baseline(tmp_path)
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(BaselineError, match="unreadable"):
        load_baseline(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({**_summary(), "valid": False}))
    with pytest.raises(BaselineError, match="invalid"):
        load_baseline(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps(_summary(st95=1000)))
    slo = SloSpec.model_validate({"staleness_p95": "+10%"})
    gated = regate(slo, _summary(st95=1200), tmp_path)
    assert gated["slo"]["passed"] is False and gated["slo"]["baseline"] == tmp_path.name


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peakbench", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_refuses_relative_slos_without_a_baseline(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump({**_base_profile(), "slo": {"staleness_p95": "+10%"}}))
    proc = _cli("run", str(profile), "--results", str(tmp_path / "results"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: relative SLOs (staleness_p95) need a baseline run: pass --baseline RUN"
    ]
    assert not (tmp_path / "results").exists()
    proc = _cli("run", str(profile), "--baseline", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "no summary.json" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
