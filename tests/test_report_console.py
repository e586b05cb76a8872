"""The end-of-run console summary, rendered to a string at 100 columns."""

from __future__ import annotations

import copy
from collections import Counter
from io import StringIO
from typing import Any

from rich.console import Console

from peakbench.measure.explain import explain
from peakbench.measure.live import Snapshot
from peakbench.report.console import progress_line, render_summary

HOUR = 3600.0


def _dist(p95: float) -> dict[str, Any]:
    return {"count": 100, "p50": p95 / 4, "p90": p95 * 0.9, "p95": p95, "p99": p95, "max": p95}


SUMMARY: dict[str, Any] = {
    "profile": "black-friday",
    "target": "sandbox",
    "plugin": {"strategy": "direct-polling", "interval": 900.0, "on_throttle": "ignore"},
    "seed": 1,
    "clock": {"scale": 1200.0, "start": 0.0, "end": 48 * HOUR, "start_iso": "2026-11-27T05:00:00Z"},
    "orders": {"scheduled": 10, "done": 10, "late": 0, "failed": 0},
    "ships": {"scheduled": 10, "done": 10, "late": 0, "failed": 0},
    "views": {"scheduled": 20, "done": 20, "late": 0, "failed": 0},
    "refresh_latency_s": _dist(40730.0),
    "staleness_s": _dist(9347.0),
    "apparent_stall_s": _dist(66000.0),
    "stale_views_share": 0.0913,
    "stale_after_s": 1800.0,
    "outages": [
        {
            "carrier": "generic",
            "start": 113720.0,
            "end": 159248.0,
            "cause": "ban",
            "first_cause": "quota:1d",
            "causes": [
                {"cause": "quota:1d", "from": 113720.0, "refused": 337},
                {"cause": "ban", "from": 113940.0, "refused": 6300},
            ],
            "refused": 6637,
            "open": False,
            "orders_affected": 484,
            "views_affected": 632,
        }
    ],
    "longest_outage_s": 45528.0,
    "carriers": {
        "generic": {"requests": 15135, "ok": 8498, "throttled": 337, "blocked": 6300, "errors": 0}
    },
    "complaints": {
        "expected_per_1000_orders": 19.196,
        "display_lag_share": 0.45,
        "transport_delay_share": 0.55,
    },
    "support": {
        "contacts_per_1000_orders": 19.196,
        "cost_per_1000_orders": 153.76,
        "self_service_cost_per_1000_orders": 1.92,
        "cost_per_contact": 8.01,
        "currency": "USD",
    },
    "distortion": {"view_round_trip_p50_s": 1.1},
    "slo": {
        "passed": False,
        "checks": [
            {
                "name": "refresh_latency_p95_s",
                "threshold": 7200.0,
                "value": 40730.0,
                "passed": False,
            },
            {"name": "stale_views_share", "threshold": 0.1, "value": 0.0913, "passed": True},
        ],
    },
    "valid": True,
    "invalid_reasons": [],
}


def _render(summary: dict[str, Any]) -> str:
    console = Console(file=StringIO(), width=100)
    render_summary(console, summary)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return " ".join(out.split())  # compare words, not where rich wrapped them


def test_the_summary_opens_with_the_verdict_and_why() -> None:
    out = _render(SUMMARY)
    assert out.startswith("FAILED Tracking froze for 12 h 39 min from Sat 28 Nov 12:35 GMT, when")
    assert explain(SUMMARY) in out
    assert out.index("which is the plugin's.") < out.index("What customers saw")


def test_figures_are_in_words_units_and_percentages() -> None:
    out = _render(SUMMARY)
    # one duration format, one calendar format, shares as percentages, stale_after shown
    assert "│ refresh latency │ 100 │ 2 h 50 min │ 10 h 11 min │ 11 h 19 min │" in out
    assert "plugin direct-polling, interval: 15 min orders" in out  # only the knob that was set
    assert (
        "throttle outages 1, longest 12 h 39 min from Sat 28 Nov 12:35 GMT (generic, quota:1d → "
        "ban; 632 views and 484 orders stale for over 30 min)" in out
    )
    assert "stale views 9.1% of views were stale for over 30 min (slo.stale_after)" in out
    assert "45% display lag (the plugin's side), 55% transport delay (the carrier's side)" in out
    assert "support cost 19.2 contacts per 1,000 orders cost $153.76 at $8.01 a contact" in out
    # the SLO table speaks people's words
    assert "│ refresh latency p95 │ 2 h │ 11 h 19 min │ FAIL │" in out
    assert "│ views stale for over 30 min │ 10% │ 9.1% │ pass │" in out
    assert "refresh_latency_p95_s" not in out and "stale_views_share" not in out


def test_push_outcomes_show_only_when_present() -> None:
    assert "webhook" not in _render(SUMMARY)
    s = copy.deepcopy(SUMMARY)
    s["push"] = {
        "trackship": {
            "attempts": 25,
            "delivered": 0,
            "failed": 25,
            "given_up": 4,
            "statuses": {"401": 25},
        }
    }
    out = _render(s)
    assert (
        "webhook push trackship 25 attempts: 0 delivered, 25 failed, 4 given up (HTTP 401 ×25)"
        in out
    )
    assert out.startswith("FAILED Every webhook push from trackship to the store failed")


def test_an_invalid_run_leads_with_why_it_cannot_be_trusted() -> None:
    s = {**SUMMARY, "valid": False, "invalid_reasons": ["the target was unreachable"]}
    out = _render(s)
    assert out.startswith(
        "INVALID This run cannot be trusted, so it neither passes nor fails: the target was "
        "unreachable."
    )
    assert "invalid: the target was unreachable" in out


def test_progress_line_writes_durations_the_same_way() -> None:
    counts = Counter({"order": 1, "ship": 1, "view": 1})
    snap = Snapshot(
        t=5400.0,
        duration=172800.0,
        scheduled=counts,
        done=counts,
        carriers=Counter({"requests": 3, "ok": 3}),
        staleness_p95=280.0,
    )
    line = progress_line(snap)
    assert line.startswith("t=1 h 30 min/2 d ") and line.endswith("staleness p95 4 min 40 s")
