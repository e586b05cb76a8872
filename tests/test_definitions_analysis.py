"""The aggregation of a run folder into summary.json pinned on a small hand-made run:
peakbench/analysis.py. Every journal is written here, so each figure is known exactly."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mocks.store.db import SCHEMA
from peakbench.analysis import analyse
from peakbench.clock import ClockSpec
from peakbench.config.profile import Profile
from peakbench.schedule import Item, write_schedule
from peakbench.timeline import journey, make_tracking_number

START = 1_795_755_600.0
CLOCK = ClockSpec(START, 3600.0, 0.0)
END = 60_000.0


def _logistic(stall: float) -> float:
    return 0.79 / (1 + math.exp(-(stall - 129_600.0) / 28_800.0))


def _row(kind: str, ref: int, start: float, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "ref": ref, "due": start, "start": start, "end": start + 0.5,
            "ok": True, "status": 200, "late": False, **extra}  # fmt: skip


def _run(tmp_path: Path, profile: Profile) -> tuple[Path, list[str], list[Any]]:
    n1 = make_tracking_number(START + 100, "domestic", 1)
    n2 = make_tracking_number(START + 200, "domestic", 2)
    model = profile.fleet.timeline_model(profile.fleet.carriers[0])
    events = [journey(model, n1), journey(model, n2)]
    write_schedule(
        tmp_path / "schedule.csv",
        [
            Item(0.0, "order", 1),
            Item(10.0, "order", 2),
            Item(20.0, "order", 3),
            Item(100.0, "ship", 1, "generic", n1),
            Item(200.0, "ship", 2, "generic", n2),
            Item(5000.0, "view", 1, "generic", n1),
            Item(6000.0, "view", 2, "generic", n2),
            Item(50000.0, "view", 1, "generic", n1),
            Item(51000.0, "view", 2, "generic", n2),
            Item(52000.0, "view", 2, "generic", n2),
        ],
    )
    journals = tmp_path / "journals"
    journals.mkdir()
    rows = [
        _row("order", 1, 0.0),
        _row("order", 2, 10.0, late=True),
        _row("order", 3, 20.0, ok=False, status=0, error="refused"),
        _row("ship", 1, 100.0),
        _row("ship", 2, 200.0, late=True),
        _row("view", 1, 5000.0, tracking_number=n1, shown=1),
        _row("view", 2, 6000.0, tracking_number=n2, shown=0, end=6002.0),
        _row("view", 1, 50000.0, tracking_number=n1, shown=4),
        _row("view", 2, 51000.0, tracking_number=n2, shown=2),
        _row("view", 2, 52000.0, dropped=True, ok=False, status=0),
    ]
    (journals / "replay.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "{torn")
    carrier = [
        {"t": 10.0, "carrier": "generic", "outcome": "ok", "status": 200},
        {"t": 3000.0, "carrier": "generic", "outcome": "throttled", "cause": "quota:1d"},
        {"t": 3500.0, "carrier": "generic", "outcome": "error", "status": 503},
        {"t": 3600.0, "carrier": "generic", "outcome": "blocked", "cause": "ban"},
        {"t": 8000.0, "carrier": "generic", "outcome": "ok", "status": 200},
        {"t": 59000.0, "carrier": "generic", "outcome": "throttled", "cause": "quota:1s"},
        {"t": 59100.0, "carrier": "other", "outcome": "ok", "status": 200},
    ]
    (journals / "carrier-generic.jsonl").write_text("".join(json.dumps(r) + "\n" for r in carrier))
    with sqlite3.connect(tmp_path / "store.sqlite") as con:
        con.executescript(SCHEMA)
        con.executemany(
            "INSERT INTO shipments (order_id, carrier, tracking_number, shipped_t, shown_count)"
            " VALUES (?, ?, ?, ?, ?)",
            [(1, "generic", n1, 100.0, 4), (2, "generic", n2, 200.0, 2), (3, "gone", "X", 0, 0)],
        )
        e1, _e2 = events
        con.executemany(
            "INSERT INTO tracking_changes (tracking_number, t, shown_count) VALUES (?, ?, ?)",
            [
                (n1, e1[0].visible_at - START + 60, 1),
                (n1, 8000.0, 4),
                (n2, 40_000.0, 2),
            ],
        )
        con.executemany(
            "INSERT INTO queue_samples VALUES (?, ?, ?, ?)", [(0, 1, 0, 0), (60, 7, 3, 1)]
        )
    return tmp_path, [n1, n2], events


def test_a_small_run_gives_exactly_its_figures(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    profile = make_profile(slo={"stale_after": "30m", "staleness_p95": "1h"})
    root, (_n1, _n2), (e1, e2) = _run(tmp_path, profile)
    s = analyse(profile, CLOCK, root, END)

    def rel(e: Any) -> float:
        return e.visible_at - START

    assert (s["profile"], s["target"], s["seed"]) == ("tiny", "sandbox", 7)
    assert s["plugin"] == profile.target.plugin.model_dump(mode="json")
    assert s["clock"] == {
        "scale": 3600.0,
        "start": 0.0,
        "end": 60000.0,
        "start_iso": "2026-11-27T05:00:00Z",
        "end_iso": "2026-11-27T21:40:00Z",
    }
    assert s["orders"] == {"scheduled": 3, "done": 2, "late": 1, "failed": 1, "dropped": 0}
    assert s["ships"] == {"scheduled": 2, "done": 2, "late": 1, "failed": 0, "dropped": 0}
    assert s["views"] == {"scheduled": 5, "done": 4, "late": 0, "failed": 0, "dropped": 1}
    assert s["skipped_journal_lines"] == 1

    # refresh latency, exact from the change log: n1's first event, then three at once at 8000;
    # n2's first two at 40000; later events visible before the end are censored at the end
    expected = [60.0, *(8000 - rel(e) for e in e1[1:4])]
    expected += [40_000 - rel(e) for e in e2[:2]]
    censored = [END - rel(e) for e in (*e1[4:], *e2[2:]) if rel(e) <= END]
    refresh = s["refresh_latency_s"]
    assert refresh["count"] == len(expected) + len(censored)
    assert refresh["censored"] == len(censored) and refresh["method"] == "exact"
    assert refresh["max"] == round(max(expected + censored), 3)
    assert refresh["resolution_s"] == 0.001

    # the views: n1 at 5000 shows 1 of 2 visible, n2 at 6000 0 of 1, n1 at 50000 all 4,
    # n2 at 51000 2 of 5
    stale = [5000 - rel(e1[1]), 6000 - rel(e2[0]), 0.0, 51_000 - rel(e2[2])]
    assert s["staleness_s"]["count"] == 4 and s["staleness_s"]["max"] == round(max(stale), 3)
    assert s["staleness_s"]["resolution_s"] == 0.5  # median view round trip
    assert s["distortion"]["view_round_trip_p50_s"] == 0.5
    stalls = [5000 - 100.0, 6000 - 200.0, 50_000 - (e1[3].occurred_at - START)]
    stalls.append(51_000 - (e2[1].occurred_at - START))
    assert s["apparent_stall_s"]["max"] == round(max(stalls), 3)
    assert s["apparent_stall_s"]["count"] == 4
    assert s["stale_views_share"] == 0.75 == sum(x > 1800 for x in stale) / 4

    # the ban outage (3000 → 8000) pushed both early views past 30m (the last stale view waits
    # for an event visible after it ended); the open one hit nothing
    assert s["outages"] == [
        {
            "carrier": "generic",
            "start": 3000.0,
            "end": 8000.0,
            "duration": 5000.0,
            "cause": "ban",
            "refused": 2,
            "open": False,
            "orders_affected": 2,
            "views_affected": 2,
        },
        {
            "carrier": "generic",
            "start": 59000.0,
            "end": 60000.0,
            "duration": 1000.0,
            "cause": "quota:1s",
            "refused": 1,
            "open": True,
            "orders_affected": 0,
            "views_affected": 0,
        },
    ]
    assert s["longest_outage_s"] == 5000.0
    assert s["carriers"] == {
        "generic": {"requests": 6, "ok": 2, "throttled": 2, "blocked": 1, "errors": 1},
        "other": {"requests": 1, "ok": 1, "throttled": 0, "blocked": 0, "errors": 0},
    }

    # complaints: each order counts its worst view once; n2's worst view had display lag
    p1 = max(_logistic(stalls[0]), _logistic(stalls[2]))
    p2 = max(_logistic(stalls[1]), _logistic(stalls[3]))
    lag1 = _logistic(stalls[0]) >= _logistic(stalls[2])
    expected_total = p1 + p2
    lag = p2 + (p1 if lag1 else 0.0)
    c = s["complaints"]
    assert c["expected"] == round(expected_total, 3)
    assert c["expected_per_1000_orders"] == round(1000 * expected_total / 2, 3)
    assert c["display_lag_share"] == round(lag / expected_total, 4)
    assert c["transport_delay_share"] == round(1 - lag / expected_total, 4)
    assert c["patience"] == {
        "model": "logistic",
        "midpoint_s": 129600.0,
        "width_s": 28800.0,
        "max_probability": 0.79,
        "assumption": True,
    }
    assert s["queue"] == {"samples": 2, "max_pending": 7, "max_due": 3}
    assert s["partial"] is False and s["faults"] == []
    # one failed order in 9 executed is not 5% unreachable... it is 11%: the run is invalid
    assert s["valid"] is False
    assert s["invalid_reasons"] == [
        "the harness fell behind the schedule: 22.2% of arrivals started more than 300s "
        "(store) late, limit 5%",
        "the harness dropped 1 arrivals it could not start within replay.drop_after",
        "the target was unreachable for 1 of 9 requests",
    ]
    assert s["slo"]["checks"][0]["value"] == s["staleness_s"]["p95"]


def test_an_interrupted_run_says_so_and_counts_no_missing_arrivals(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    profile = make_profile()
    root, _, _ = _run(tmp_path, profile)
    (root / "journals" / "replay.jsonl").write_text(
        json.dumps(_row("order", 1, 0.0)) + "\n" + json.dumps(_row("order", 2, 1.0)) + "\n"
    )
    s = analyse(profile, CLOCK, root, 2.0, partial=True)
    assert s["partial"] is True and s["views"]["done"] == 0
    assert s["invalid_reasons"] == ["the run was interrupted; figures cover only the part that ran"]
    whole = analyse(profile, CLOCK, root, 2.0)
    assert whole["invalid_reasons"] == ["8 scheduled arrivals never ran"]
    assert whole["stale_views_share"] == 0.0 and whole["complaints"]["expected"] == 0.0
    assert whole["complaints"]["display_lag_share"] == 0.0
    assert whole["complaints"]["transport_delay_share"] == 0.0
    assert whole["complaints"]["expected_per_1000_orders"] == 0.0


def test_a_real_store_samples_refresh_latency_from_its_views(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    profile = make_profile()
    real = profile.model_copy(
        update={"target": profile.target.model_copy(update={"kind": "woocommerce"})}
    )
    root, _, (_e1, e2) = _run(tmp_path, profile)
    s = analyse(real, CLOCK, root, END)
    assert s["target"] == "woocommerce" and s["plugin"] is None and s["queue"] is None
    refresh = s["refresh_latency_s"]
    assert refresh["method"] == "sampled"
    # n1: event 0 seen at 5000 (gap 4900), events 1-3 at 50000 (gap 45000), event 4 not
    # visible before its last view; n2: events 0-1 seen at 51000 (gap 45000 from the view at
    # 6000), events 2-4 visible but not shown by its last view at 51000: censored
    assert refresh["count"] == 9 and refresh["censored"] == 3
    assert refresh["resolution_s"] == 45000.0
    assert refresh["max"] == round(51_000 - (e2[0].visible_at - START), 3)
    assert refresh["p50"] == pytest.approx(51_000 - (e2[2].visible_at - START), rel=1e-3)
