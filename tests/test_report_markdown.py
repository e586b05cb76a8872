"""summary.md for CI job pages, rendered to strings from summaries built here."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from peakbench.report.markdown import render_markdown, write_markdown


def _dist(p50: float, p95: float, n: int = 100) -> dict[str, Any]:
    return {
        "count": n,
        "p50": p50,
        "p90": p95 * 0.9,
        "p95": p95,
        "p99": p95 * 1.2,
        "max": p95 * 1.5,
        "mean": p50,
        "resolution_s": 1.9,
    }


def _summary(**changes: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "profile": "black-friday",
        "target": "sandbox",
        "plugin": {"strategy": "direct-polling", "interval": 900.0, "batch_size": 35},
        "seed": 20261127,
        "clock": {
            "scale": 1200.0,
            "start": 0.0,
            "end": 172800.0,
            "start_iso": "2026-11-27T05:00:00Z",
        },
        "orders": {"scheduled": 4873, "done": 4873, "late": 0, "failed": 0},
        "ships": {"scheduled": 4753, "done": 4753, "late": 0, "failed": 0},
        "views": {"scheduled": 7495, "done": 7490, "late": 3, "failed": 5},
        "refresh_latency_s": _dist(600.0, 5400.0),
        "staleness_s": _dist(0.0, 2700.0),
        "apparent_stall_s": _dist(3600.0, 30000.0),
        "outages": [],
        "longest_outage_s": 0.0,
        "carriers": {
            "generic": {"requests": 900, "ok": 900, "throttled": 0, "blocked": 0, "errors": 0}
        },
        "complaints": {
            "expected_per_1000_orders": 4.25,
            "display_lag_share": 0.3,
            "transport_delay_share": 0.7,
        },
        "distortion": {"view_round_trip_p50_s": 1.9},
        "slo": {
            "passed": True,
            "checks": [
                {"name": "staleness_p95_s", "threshold": 3600.0, "value": 2700.0, "passed": True},
                {
                    "name": "complaints_per_1000_orders",
                    "threshold": 25.0,
                    "value": 4.25,
                    "passed": True,
                },
            ],
        },
        "valid": True,
        "invalid_reasons": [],
    }
    s.update(changes)
    return s


def _failed() -> dict[str, Any]:
    s = _summary()
    s["outages"] = [
        {
            "carrier": "generic",
            "start": 36000.0,
            "end": 43200.0,
            "duration": 7200.0,
            "cause": "ban",
            "first_cause": "quota:1d",
            "causes": [
                {"cause": "quota:1d", "from": 36000.0, "refused": 12},
                {"cause": "ban", "from": 36600.0, "refused": 400},
            ],
            "refused": 412,
            "open": False,
            "orders_affected": 48,
            "views_affected": 56,
        },
        {
            "carrier": "ups|eu",
            "start": 90000.0,
            "end": 172800.0,
            "duration": 82800.0,
            "cause": "quota:1d",
            "refused": 9,
            "open": True,
            "orders_affected": 0,
            "views_affected": 0,
        },
    ]
    s["longest_outage_s"] = 82800.0
    s["slo"] = copy.deepcopy(s["slo"])
    s["slo"]["passed"] = False
    s["slo"]["checks"].append(
        {"name": "longest_outage_s", "threshold": 1800.0, "value": 82800.0, "passed": False}
    )
    return s


def test_a_passing_run_reads_passed_with_its_figures() -> None:
    md = render_markdown(_summary())
    first = md.splitlines()[0]
    assert first.startswith("## ✅") and "black-friday" in first and "**PASSED**" in first
    # why, in words, right under the verdict
    assert md.splitlines()[2].startswith("**Why:** All 2 SLO checks passed")
    # only the knobs that differ from the preset (batch_size 35 is direct-polling's default)
    assert "plugin direct-polling, interval: 15 min;" in md
    assert "seed 20261127" in md and "2 d of store time at ×1200" in md
    # the freshness table: sample count and percentiles as durations, right-aligned numbers
    assert "| figure | n | p50 | p90 | p95 | p99 | max |" in md
    assert "|---|---:|---:|---:|---:|---:|---:|" in md
    assert "| staleness | 100 | 0 s | 40 min 30 s | 45 min | 54 min | 1 h 8 min |" in md
    assert "| refresh latency | 100 | 10 min |" in md
    # the SLO table marks each check, named in words
    assert "| staleness p95 | 1 h | 45 min | ✅ pass |" in md
    assert "| expected complaints per 1,000 orders | 25 | 4.2 | ✅ pass |" in md
    assert "❌" not in md
    assert (
        "4.2 per 1,000 orders: 30% display lag (the plugin's side), 70% transport delay "
        "(the carrier's side)" in md
    )
    assert "### Throttle outages\n\nNone." in md


def test_a_failing_run_marks_the_failed_check_and_lists_outages() -> None:
    md = render_markdown(_failed())
    assert md.splitlines()[0].startswith("## ❌") and "**FAILED**" in md
    assert "| longest throttle outage | 30 min | 23 h | ❌ FAIL |" in md
    assert "| staleness p95 | 1 h | 45 min | ✅ pass |" in md
    assert (
        "- **generic** from Fri 27 Nov 15:00 GMT for 2 h: quota:1d → ban, 412 requests refused, "
        "48 orders and 56 views stale for over 1 h" in md
    )
    # an open outage says so; a pipe in a name cannot break a table
    assert "- **ups|eu** from Sat 28 Nov 06:00 GMT for 23 h, still open at the end: quota:1d" in md
    assert "| carrier ups\\|eu |" not in md  # carriers table only lists configured carriers
    assert "2, longest 23 h from Sat 28 Nov 06:00 GMT (ups\\|eu, quota:1d;" in md
    # the longest outage is the one the explanation tells
    assert "**Why:** Tracking at ups|eu froze for 23 h from Sat 28 Nov 06:00 GMT" not in md
    assert "**Why:** Tracking froze for 23 h from Sat 28 Nov 06:00 GMT" in md


def test_an_invalid_run_says_why_before_anything_else() -> None:
    s = _summary(valid=False, invalid_reasons=["the harness fell behind the schedule: 9% late"])
    md = render_markdown(s)
    assert md.splitlines()[0].startswith("## ⚠️") and "**INVALID**" in md
    assert "> ⚠️ invalid: the harness fell behind the schedule: 9% late" in md
    assert md.index("invalid:") < md.index("### SLO checks")


def test_no_slos_and_no_checks_still_render() -> None:
    md = render_markdown(_summary(slo={"passed": True, "checks": []}))
    assert "### SLO checks\n\nNo SLOs set." in md


def test_write_markdown_writes_summary_md_next_to_summary_json(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps(_failed()))
    path = write_markdown(tmp_path)
    assert path == tmp_path / "summary.md"
    assert path.read_text() == render_markdown(_failed(), tmp_path.resolve() / "report.html")
    assert f"the full report with plots is `{tmp_path.resolve() / 'report.html'}`" in (
        path.read_text()
    )
    assert not list(tmp_path.glob(".*.tmp"))


def test_push_outcomes_and_support_cost_show_when_present() -> None:
    s = _summary()
    s["push"] = {
        "aftership": {
            "attempts": 25,
            "delivered": 0,
            "failed": 25,
            "given_up": 4,
            "statuses": {"401": 25},
        }
    }
    s["support"] = {
        "contacts_per_1000_orders": 4.25,
        "cost_per_1000_orders": 34.04,
        "self_service_cost_per_1000_orders": 0.43,
        "cost_per_contact": 8.01,
        "currency": "USD",
    }
    md = render_markdown(s)
    assert (
        "| webhook push aftership | 25 attempts: 0 delivered, 25 failed, 4 given up "
        "(HTTP 401 ×25) |" in md
    )
    assert "| support cost | 4.2 contacts per 1,000 orders cost $34.04 at $8.01 a contact" in md
    assert "Every webhook push from aftership to the store failed (25 attempts, HTTP 401" in md
    plain = render_markdown(_summary())
    assert "webhook" not in plain and "support cost" not in plain
