"""The aggregation of a run folder into summary.json pinned on a small hand-made run:
peakbench/measure/analysis.py. Every journal is written here, so each figure is known exactly."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mocks.store.tables import SCHEMA
from peakbench.config.evidence import refresh_caveat
from peakbench.config.profile import Profile
from peakbench.measure.analysis import analyse
from peakbench.measure.explain import explain
from peakbench.measure.resources import resources_summary
from peakbench.measure.support import support_figures
from peakbench.measure.validity import invalid_reasons
from peakbench.plan.clock import ClockSpec
from peakbench.plan.schedule import Item, write_schedule
from peakbench.plan.timeline import ScanEvent, journey, make_tracking_number

START = 1_795_755_600.0
CLOCK = ClockSpec(START, 3600.0, 0.0)
END = 60_000.4004
UNKNOWN = "PBXX0000000000000"


def _logistic(stall: float, midpoint: float = 129_600.0) -> float:
    return 0.79 / (1 + math.exp(-(stall - midpoint) / 28_800.0))


def _rel(e: ScanEvent) -> float:
    return e.visible_at - START


def _row(kind: str, ref: int, start: float, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "ref": ref, "due": start, "start": start, "end": start + 0.5,
            "ok": True, "status": 200, "late": False, **extra}  # fmt: skip


def _jsonl(path: Path, rows: list[dict[str, Any]], torn: bool = False) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + ("{torn" if torn else ""))


def _run(tmp_path: Path, profile: Profile) -> tuple[Path, list[str], list[Any]]:
    """A run with 4 orders, 2 parcels (and a third the store shipped outside the schedule),
    8 scheduled views, a ban outage and an open throttle outage."""
    n1 = make_tracking_number(START + 100, "domestic", 1)
    n2 = make_tracking_number(START + 200, "domestic", 2)
    n3 = make_tracking_number(START + 300, "domestic", 3)
    model = profile.fleet.timeline_model(profile.fleet.carriers[0])
    events = [journey(model, n) for n in (n1, n2, n3)]
    views = [(5000.0, 1, n1), (6000.0, 2, n2), (7000.0, 1, n1), (7500.0, 9, UNKNOWN)]
    views += [(50000.0, 1, n1), (51000.0, 2, n2), (52000.0, 2, n2), (53000.0, 1, n1)]
    write_schedule(
        tmp_path / "schedule.csv",
        [
            *(Item(t, "order", ref) for t, ref in ((0.0, 1), (10.0, 2), (20.0, 3), (30.0, 4))),
            Item(100.0, "ship", 1, "generic", n1),
            Item(200.0, "ship", 2, "generic", n2),
            *(Item(t, "view", ref, "generic", n) for t, ref, n in views),
        ],
    )
    journals = tmp_path / "journals"
    journals.mkdir()
    rows = [
        _row("order", 1, 0.0),
        _row("order", 2, 10.0, late=True),
        _row("order", 3, 20.0, ok=False, status=0, error="refused"),
        _row("order", 4, 30.0, ok=False, status=0, error="reset"),
        _row("ship", 1, 100.0),
        _row("ship", 2, 200.0, late=True),
        _row("view", 1, 5000.0, tracking_number=n1, shown=1),
        _row("view", 2, 6000.0, tracking_number=n2, shown=0, end=6002.0),
        _row("view", 1, 7000.0, tracking_number=n1),  # the page could not be read
        _row("view", 9, 7500.0, tracking_number=UNKNOWN, shown=1),  # not a parcel of the run
        _row("view", 1, 50000.0, tracking_number=n1, shown=4),
        _row("view", 2, 51000.0, tracking_number=n2, shown=2, end=51002.0),
        _row("view", 2, 52000.0, dropped=True, ok=False, status=0),
        _row("view", 1, 53000.0, dropped=True, ok=False, status=0),
    ]
    _jsonl(journals / "replay.jsonl", rows, torn=True)
    _jsonl(
        journals / "carrier-generic.jsonl",
        [
            {"t": 10.0, "carrier": "generic", "outcome": "ok", "status": 200},
            {"t": 3000.4004, "carrier": "generic", "outcome": "throttled", "cause": "quota:1d"},
            {"t": 3500.0, "carrier": "generic", "outcome": "error", "status": 503},
            {"t": 3600.0, "carrier": "generic", "outcome": "blocked", "cause": "ban"},
            {"t": 8000.0006, "carrier": "generic", "outcome": "ok", "status": 200},
            {"t": 59000.0, "carrier": "generic", "outcome": "throttled", "cause": "quota:1s"},
            {"t": 59100.0, "carrier": "other", "outcome": "ok", "status": 200},
        ],
        torn=True,
    )
    with sqlite3.connect(tmp_path / "store.sqlite") as con:
        con.executescript(SCHEMA)
        con.executemany(
            "INSERT INTO shipments (order_id, carrier, tracking_number, shipped_t, shown_count)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (3, "gone", "X", 0, 0),  # a carrier the profile does not have: skipped
                (1, "generic", n1, 100.0, 4),
                (2, "generic", n2, 200.0, 2),
                (5, "generic", n3, 300.0, 0),  # never shown: no changes at all
            ],
        )
        con.executemany(
            "INSERT INTO tracking_changes (tracking_number, t, shown_count) VALUES (?, ?, ?)",
            [(n1, _rel(events[0][0]) + 60, 1), (n1, 8000.0, 4), (n2, 40_000.0, 2)],
        )
        con.executemany(
            "INSERT INTO queue_samples VALUES (?, ?, ?, ?)", [(0, 1, 0, 0), (60, 7, 3, 1)]
        )
    return tmp_path, [n1, n2, n3], events


def test_a_small_run_gives_exactly_its_figures(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    profile = make_profile(
        slo={"stale_after": "30m", "staleness_p95": "1h"}, patience={"midpoint": "30h"}
    )
    root, _, (e1, e2, e3) = _run(tmp_path, profile)
    s = analyse(profile, CLOCK, root, END)

    assert (s["profile"], s["target"], s["seed"]) == ("tiny", "sandbox", 7)
    assert s["plugin"] == profile.target.plugin.model_dump(mode="json")
    assert s["clock"] == {
        "mode": "virtual",  # the sandbox's default: no scale
        "scale": None,
        "start": 0.0,
        "end": 60000.4,
        "start_iso": "2026-11-27T05:00:00Z",
        "end_iso": "2026-11-27T21:40:00Z",
    }
    assert s["orders"] == {"scheduled": 4, "done": 2, "late": 1, "failed": 2, "dropped": 0}
    assert s["ships"] == {"scheduled": 2, "done": 2, "late": 1, "failed": 0, "dropped": 0}
    assert s["views"] == {"scheduled": 8, "done": 6, "late": 0, "failed": 0, "dropped": 2}
    assert s["skipped_journal_lines"] == 2

    # refresh latency, exact from the change log: n1's first event, then three at once at 8000;
    # n2's first two at 40000; n3 never shown; later events visible before the end are censored
    expected = [60.0, *(8000 - _rel(e) for e in e1[1:4])]
    expected += [40_000 - _rel(e) for e in e2[:2]]
    censored = [END - _rel(e) for e in (*e1[4:], *e2[2:], *e3) if _rel(e) <= END]
    refresh = s["refresh_latency_s"]
    assert refresh["count"] == len(expected) + len(censored)
    assert refresh["censored"] == len(censored) and refresh["method"] == "exact"
    assert refresh["max"] == round(max(expected + censored), 3)
    assert refresh["resolution_s"] == 0.001

    # the views: n1 at 5000 shows 1 of 2 visible, n2 at 6000 0 of 1, n1 at 50000 all 4,
    # n2 at 51000 2 of 5; the unreadable view and the stranger's are not assessed
    stale = [5000 - _rel(e1[1]), 6000 - _rel(e2[0]), 0.0, 51_000 - _rel(e2[2])]
    assert s["staleness_s"]["count"] == 4 and s["staleness_s"]["max"] == round(max(stale), 3)
    assert s["staleness_s"]["resolution_s"] == 0.5  # median view round trip: 0.5, 0.5, 2, 2
    assert s["distortion"] == {
        "view_round_trip_p50_s": 0.5,
        "note": "virtual time: modelled latency is the only latency",
    }
    stalls = [5000 - 100.0, 6000 - 200.0, 50_000 - (e1[3].occurred_at - START)]
    stalls.append(51_000 - (e2[1].occurred_at - START))
    apparent = s["apparent_stall_s"]
    assert apparent["count"] == 4 and apparent["max"] == round(max(stalls), 3)
    assert apparent["mean"] == pytest.approx(sum(stalls) / 4, rel=2e-3)
    assert apparent["resolution_s"] == 0.5
    assert s["stale_views_share"] == 0.75 == sum(x > 1800 for x in stale) / 4

    # the ban outage (3000.4 → 8000) pushed both early views past 30m (the last stale view waits
    # for an event visible after it ended); the open one hit nothing
    assert s["outages"] == [
        {
            "carrier": "generic",
            "start": 3000.4,
            "end": 8000.001,
            "duration": 4999.6,
            "cause": "ban",
            "first_cause": "quota:1d",
            "causes": [
                {"cause": "quota:1d", "from": 3000.4, "refused": 1},
                {"cause": "ban", "from": 3600.0, "refused": 1},
            ],
            "refused": 2,
            "open": False,
            "orders_affected": 2,
            "views_affected": 2,
        },
        {
            "carrier": "generic",
            "start": 59000.0,
            "end": 60000.4,
            "duration": 1000.4,
            "cause": "quota:1s",
            "first_cause": "quota:1s",
            "causes": [{"cause": "quota:1s", "from": 59000.0, "refused": 1}],
            "refused": 1,
            "open": True,
            "orders_affected": 0,
            "views_affected": 0,
        },
    ]
    assert s["longest_outage_s"] == 4999.6
    assert s["carriers"] == {
        "generic": {"requests": 6, "ok": 2, "throttled": 2, "blocked": 1, "errors": 1},
        "other": {"requests": 1, "ok": 1, "throttled": 0, "blocked": 0, "errors": 0},
    }

    # complaints: each order counts its worst view once; n2's worst view had display lag
    p = [_logistic(stall, midpoint=108_000.0) for stall in stalls]
    p1, p2, lag1 = max(p[0], p[2]), max(p[1], p[3]), p[0] >= p[2]
    expected_total = p1 + p2
    lag = p2 + (p1 if lag1 else 0.0)
    c = s["complaints"]
    assert c["expected"] == round(expected_total, 3)
    assert c["expected_per_1000_orders"] == round(1000 * expected_total / 2, 3)
    assert (
        c["display_lag_share"] == round(lag / expected_total, 4) != round(lag / expected_total, 5)
    )
    assert c["transport_delay_share"] == round(1 - lag / expected_total, 4)
    assert c["patience"] == {
        "model": "logistic",
        "midpoint_s": 108000.0,
        "width_s": 28800.0,
        "max_probability": 0.79,
        "assumption": True,
    }
    assert s["queue"] == {"samples": 2, "max_pending": 7, "max_due": 3}
    assert s["resources"] is None and s["partial"] is False and s["faults"] == []
    assert s["valid"] is False
    assert s["invalid_reasons"] == [
        "the harness fell behind the schedule: 16.7% of arrivals started more than 300s "
        "(store) late, limit 5%",
        "the harness dropped 2 arrivals it could not start within replay.drop_after",
        "the target was unreachable for 2 of 12 requests",
    ]
    assert s["slo"]["checks"][0]["value"] == s["staleness_s"]["p95"]
    assert s["stale_after_s"] == 1800.0
    assert s["support"] == support_figures(profile.support, s["complaints"])
    assert s["refresh_latency_s"]["caveat"] == refresh_caveat(s)
    assert "push" in s and s["explanation"] == explain(
        {k: v for k, v in s.items() if k != "explanation"}
    )


def test_an_interrupted_run_says_so_and_counts_no_missing_arrivals(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    profile = make_profile()
    root, _, _ = _run(tmp_path, profile)
    _jsonl(root / "journals" / "replay.jsonl", [_row("order", 1, 0.0), _row("order", 2, 1.0)])
    s = analyse(profile, CLOCK, root, 2.0, partial=True)
    assert s["partial"] is True and s["views"]["done"] == 0
    assert s["invalid_reasons"] == [
        "partial run: it stopped early; figures cover only the part that ran"
    ]
    whole = analyse(profile, CLOCK, root, 2.0)
    assert whole["invalid_reasons"] == ["12 scheduled arrivals never ran"]
    assert whole["stale_views_share"] == 0.0 and whole["complaints"]["expected"] == 0.0
    assert whole["complaints"]["display_lag_share"] == 0.0
    assert whole["complaints"]["transport_delay_share"] == 0.0
    assert whole["complaints"]["expected_per_1000_orders"] == 0.0
    # no views: no round trip to resolve staleness by, no samples of refresh latency
    assert whole["staleness_s"]["resolution_s"] == 0.0
    assert whole["distortion"]["view_round_trip_p50_s"] == 0.0
    real = analyse(_real(profile), CLOCK, root, 2.0)
    assert real["refresh_latency_s"]["count"] == 0
    assert real["refresh_latency_s"]["resolution_s"] == 0.0


def test_a_run_without_orders_outages_or_store_log(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    profile = make_profile()
    root, (n1, _, _), _ = _run(tmp_path, profile)
    (root / "store.sqlite").unlink()
    (root / "journals" / "carrier-generic.jsonl").unlink()
    _jsonl(
        root / "journals" / "replay.jsonl", [_row("view", 1, 5000.0, tracking_number=n1, shown=0)]
    )
    s = analyse(profile, CLOCK, root, END)
    assert s["orders"]["done"] == 0 and s["complaints"]["expected"] > 0
    assert s["complaints"]["expected_per_1000_orders"] == 0.0
    assert s["outages"] == [] and s["longest_outage_s"] == 0.0
    assert s["queue"] == {"samples": 0, "max_pending": 0, "max_due": 0}
    assert s["refresh_latency_s"]["count"] == 0
    assert s["carriers"] == {
        "generic": {"requests": 0, "ok": 0, "throttled": 0, "blocked": 0, "errors": 0}
    }


def test_a_view_exactly_at_stale_after_is_not_stale(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    profile = make_profile()
    root, _, (e1, _e2, _) = _run(tmp_path, profile)
    at = 5000 - _rel(e1[1])  # the first view's staleness, to the last bit
    s = analyse(make_profile(slo={"stale_after": at}), CLOCK, root, END)
    assert s["stale_views_share"] == 0.5  # 6000 and 51000; not 5000 (at), not 50000 (fresh)
    assert s["outages"][0]["views_affected"] == 1


def test_an_order_keeps_its_first_worst_view(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    # a step-like curve: every view of this run has the same (tiny) complaint probability, so
    # each order keeps its first view; n1's first view lagged, its later one did not
    profile = make_profile(patience={"midpoint": "30d", "width": 0.001})
    root, _, _ = _run(tmp_path, profile)
    c = analyse(profile, CLOCK, root, END)["complaints"]
    assert c["display_lag_share"] == 1.0 and c["transport_delay_share"] == 0.0


def test_the_profiles_resource_limits_are_applied(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    profile = make_profile(resources={"warmup_wall_s": 0.0})
    root, _, _ = _run(tmp_path, profile)
    rows = [{"process": "store", "wall": w, "rss": 2**20 * (50 + w), "fds": 9, "threads": 3}
            for w in (0.0, 10.0, 20.0)]  # fmt: skip
    _jsonl(root / "resources.jsonl", rows)
    s = analyse(profile, CLOCK, root, END)
    assert s["resources"] == resources_summary(root, profile.resources)
    assert s["resources"] != resources_summary(root, None)  # the default warm-up drops them all


def _real(profile: Profile) -> Profile:
    return profile.model_copy(
        update={"target": profile.target.model_copy(update={"kind": "woocommerce"})}
    )


def test_a_real_store_samples_refresh_latency_from_its_views(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    profile = make_profile(slo={"stale_after": "30m"})
    root, (n1, n2, _), (_e1, e2, _) = _run(tmp_path, profile)
    with (root / "journals" / "replay.jsonl").open("a") as fh:
        fh.write("\n" + json.dumps(_row("view", 1, 20000.4444, tracking_number=n1, shown=2)))
        fh.write("\n" + json.dumps(_row("view", 2, 30000.12345, tracking_number=n2, shown=1)))
    s = analyse(_real(profile), CLOCK, root, END)
    assert s["target"] == "woocommerce" and s["plugin"] is None and s["queue"] is None
    assert (s["clock"]["mode"], s["clock"]["scale"]) == ("wall", 3600.0)
    assert s["distortion"] == {
        "view_round_trip_p50_s": 0.5,
        "modelled_latency_p50_s": None,
        "note": "network round trips cannot scale with the clock",
    }
    refresh = s["refresh_latency_s"]
    assert refresh["method"] == "sampled"
    # n1: event 0 seen at 5000 (gap 4900), 1 at 20000.4444 (gap 15000.4444), 2-3 at 50000
    # (gap 29999.5556), 4 not visible before its last view; n2: 0 seen at 30000.12345 (gap
    # 24000.12345), 1 at 51000 (gap 20999.87655), 2-4 visible but never shown: censored
    assert refresh["count"] == 9 and refresh["censored"] == 3
    assert refresh["resolution_s"] == 24000.123  # the median gap
    assert refresh["max"] == round(51_000 - _rel(e2[1]), 3)
    assert refresh["p50"] == pytest.approx(51_000 - _rel(e2[2]), rel=1e-3)
    # six views assessed, four stale past 30m: 5000, 6000, 30000.12345 and 51000
    assert s["stale_views_share"] == 0.6667


def test_invalid_reasons_at_their_limits(make_profile: Callable[..., Profile]) -> None:
    profile = make_profile()  # max_late_share 5%

    def counts(done: int, late: int = 0, scheduled: int = 0, **extra: int) -> dict[str, int]:
        return {"scheduled": scheduled or done, "done": done, "late": late, "failed": 0, **extra}

    s = {"orders": counts(20, late=1), "ships": counts(0), "views": counts(0)}
    assert invalid_reasons(profile, s, unreachable=1, partial=False) == []
    s["orders"]["late"] = 2
    assert invalid_reasons(profile, s, unreachable=0, partial=False)[0].startswith(
        "the harness fell behind the schedule: 10.0% of arrivals"
    )
    # summaries written before arrivals could be dropped have no "dropped" count
    s = {"orders": counts(20, scheduled=30), "ships": counts(0), "views": counts(0)}
    assert invalid_reasons(profile, s, 0, False) == ["10 scheduled arrivals never ran"]
    s["views"] = counts(0, scheduled=0, dropped=2)
    assert invalid_reasons(profile, s, 0, False) == [
        "the harness dropped 2 arrivals it could not start within replay.drop_after",
        "8 scheduled arrivals never ran",
    ]
