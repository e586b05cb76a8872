"""Honest verdicts: no check passes on nothing, and a run where nothing happened is invalid.

The run folders here are written by hand (schedule from the real planner, journals in the
formats the replay, the mocks and the push loop write) and analysed by the real analysis."""

from __future__ import annotations

import json
from dataclasses import asdict
from io import StringIO
from pathlib import Path
from typing import Any

import yaml
from _profiles import small
from _runs import run_folder as _folder
from rich.console import Console

from peakbench.config.evidence import refresh_caveat
from peakbench.config.loader import parse_profile
from peakbench.config.profile import Profile, SloSpec
from peakbench.measure.analysis import analyse
from peakbench.measure.faults import Fault
from peakbench.measure.slo import checks
from peakbench.plan.clock import ClockSpec
from peakbench.report.console import render_summary

SLO = {
    "staleness_p95": "1h",
    "longest_outage": "30m",
    "stale_views_share": 0.05,
    "complaints_per_1000_orders": 50,
    "refresh_latency_p95": "2h",
}


def _profile(**extra: Any) -> Profile:
    data = small()
    data["slo"] = dict(SLO)
    data.update(extra)
    return parse_profile(yaml.safe_dump(data), "small.yaml")


def _analyse(root: Path, profile: Profile, clock: ClockSpec) -> dict[str, Any]:
    return analyse(profile, clock, root, profile.clock.duration)


def _check(summary: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in summary["slo"]["checks"] if c["name"] == name)


def test_a_run_with_views_and_carrier_requests_can_pass(tmp_path: Path) -> None:
    """The control for the tests below: the same folder with its samples is judged on them."""
    profile = _profile()
    root, clock = _folder(tmp_path / "run", profile)
    s = _analyse(root, profile, clock)
    assert s["valid"], s["invalid_reasons"]
    assert s["staleness_s"]["count"] > 0
    assert _check(s, "longest_outage_s")["passed"]
    assert _check(s, "longest_outage_s")["samples"] == 20
    assert s["push"] == {}
    assert s["refresh_latency_s"]["caveat"] is None


def test_no_views_fail_every_check_that_needs_them(tmp_path: Path) -> None:
    profile = _profile()
    root, clock = _folder(tmp_path / "run", profile, views=False)
    s = _analyse(root, profile, clock)
    assert s["views"]["done"] == 0 and s["stale_views_share"] == 0.0  # the figure stays numeric
    for name in ("staleness_p95_s", "stale_views_share", "complaints_per_1000_orders"):
        check = _check(s, name)
        assert check["passed"] is False, check
        assert check["samples"] == 0
        assert "no samples in this run: no customer view" in check["message"]
    assert s["slo"]["passed"] is False
    console = Console(file=StringIO(), width=100)
    render_summary(console, s)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert text.count("no samples") == 4  # refresh latency: no store change log either


def test_no_carrier_requests_fail_the_outage_check_and_invalidate_the_run(tmp_path: Path) -> None:
    profile = _profile()
    root, clock = _folder(tmp_path / "run", profile, carrier_requests=0)
    s = _analyse(root, profile, clock)
    outage = _check(s, "longest_outage_s")
    assert s["longest_outage_s"] == 0.0
    assert outage["passed"] is False and outage["samples"] == 0
    assert "the plugin made no carrier request" in outage["message"]
    assert s["valid"] is False
    assert any(
        r.startswith("the plugin never reached the carrier fleet: 0 carrier requests while")
        for r in s["invalid_reasons"]
    ), s["invalid_reasons"]


def _push(status: int | None, attempt: int, next_t: float | None, error: str | None) -> dict:
    return {
        "t": 100.0 * attempt, "carrier": "trackship", "number": "PB1", "event_id": "PB1:1",
        "attempt": attempt, "status": status, "error": error, "latency_s": 0.01,
        "next_t": next_t,
    }  # fmt: skip


def test_every_push_refused_makes_the_run_invalid_and_is_counted(tmp_path: Path) -> None:
    profile = _profile()
    # 25 attempts, all 401: 4 pushes given up after their last try, the others still retrying
    given_up = (5, 11, 17, 23)
    lines = [_push(401, 1 + i % 6, None if i in given_up else 9e9, "http") for i in range(25)]
    root, clock = _folder(tmp_path / "run", profile, push=lines)
    s = _analyse(root, profile, clock)
    assert s["push"] == {
        "trackship": {
            "attempts": 25, "delivered": 0, "failed": 25, "given_up": 4,
            "statuses": {"401": 25},
        }
    }  # fmt: skip
    assert s["valid"] is False
    reason = next(r for r in s["invalid_reasons"] if "webhook push" in r)
    assert reason.startswith(
        "every webhook push of trackship failed: 25 attempts, 0 delivered (HTTP 401 ×25), "
        "4 pushes given up"
    )
    assert "check carriers.trackship.push.secret_env" in reason
    console = Console(file=StringIO(), width=100)
    render_summary(console, s)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "push trackship" in text
    assert "25 attempts: 0 delivered, 25 failed, 4 given up (HTTP 401 ×25)" in text
    # one delivered push: the path works, the run is judged on its figures
    ok = [*lines, _push(200, 1, None, None), _push(None, 2, 500.0, "timeout")]
    root, clock = _folder(tmp_path / "ok", profile, push=ok)
    s = _analyse(root, profile, clock)
    assert s["valid"], s["invalid_reasons"]
    assert s["push"]["trackship"]["statuses"] == {"200": 1, "401": 25, "none": 1}
    assert s["push"]["trackship"]["failed"] == 26


def _real(**refresh: Any) -> dict[str, Any]:
    dist = {
        "count": 40, "p50": 600.0, "p90": 1200.0, "p95": 1500.0, "p99": 1700.0, "max": 1800.0,
        "resolution_s": 300.0, "censored": 0, "method": "sampled", **refresh,
    }  # fmt: skip
    return {"refresh_latency_s": dist}


def test_censored_only_or_unresolved_refresh_latency_fails_its_check() -> None:
    slo = SloSpec.model_validate({"refresh_latency_p95": "1h"})
    (sound,) = checks(slo, _real())
    assert sound.passed and sound.samples == 40
    (censored,) = checks(slo, _real(censored=40))
    assert not censored.passed
    assert "all 40 samples are censored" in censored.message
    assert "lower bound" in censored.message
    (zero,) = checks(slo, _real(resolution_s=0.0))
    assert not zero.passed and "resolution is unknown (0)" in zero.message
    (wide,) = checks(slo, _real(resolution_s=7200.0))
    assert not wide.passed and "wider than the figure" in wide.message
    # exact latencies (the sandbox's change log) have no sampling resolution to doubt
    (exact,) = checks(slo, _real(method="exact", resolution_s=0.001))
    assert exact.passed
    assert refresh_caveat(_real()) is None
    assert "all 40 samples are censored" in (refresh_caveat(_real(censored=40)) or "")
    (none,) = checks(slo, _real(count=0, p95=None))
    assert not none.passed and "no carrier event became visible" in none.message


def test_a_relative_check_on_no_samples_fails_too() -> None:
    slo = SloSpec.model_validate({"stale_views_share": "+0.01"})
    base = {"staleness_s": {"count": 100}, "stale_views_share": 0.02}
    empty = {"staleness_s": {"count": 0}, "stale_views_share": 0.0}
    (check,) = checks(slo, empty, base)
    assert not check.passed and "no samples" in check.message
    (check,) = checks(slo, base, empty)
    assert not check.passed and "baseline run has no usable value" in check.message
    (check,) = checks(slo, base, base)
    assert check.passed


def test_a_crash_is_partial_not_interrupted_and_its_time_is_never_negative(
    tmp_path: Path,
) -> None:
    profile = _profile()
    root, clock = _folder(tmp_path / "run", profile)
    crash = Fault(-5746.2, "child_died", "store", "replay", "exited unexpectedly with code 1")
    (root / "faults.jsonl").write_text(json.dumps(asdict(crash)) + "\n")
    s = analyse(profile, clock, root, 0.0, partial=True)
    text = " ".join(s["invalid_reasons"])
    assert "interrupted" not in text
    assert "t=-" not in text
    assert "child_died in store before the schedule started, during replay" in text
    assert "partial run: it stopped early (child_died in store)" in text
    signal = {"t": 300.0, "kind": "signal", "child": None, "phase": "replay",
              "detail": "SIGTERM received"}  # fmt: skip
    (root / "faults.jsonl").write_text(json.dumps(signal) + "\n")
    s = analyse(profile, clock, root, 300.0, partial=True)
    assert (
        "the run was interrupted (SIGTERM); figures cover only the part that ran"
        in (s["invalid_reasons"])
    )
