from __future__ import annotations

from peakbench.measure.freshness import assess_view, refresh_latencies
from peakbench.measure.journals import CarrierRecord, Change
from peakbench.measure.outages import find_outages
from peakbench.plan.timeline import ScanEvent

START = 1_000_000.0


def _events(*pairs: tuple[float, float]) -> list[ScanEvent]:
    """Events from (occurred, visible) in run seconds."""
    return [
        ScanEvent(i, "in_transit", "AR", "m", "c", "s", "US", 0, START + o, START + v)
        for i, (o, v) in enumerate(pairs)
    ]


EVENTS = _events((0, 100), (1000, 1200), (5000, 5100))


def test_a_view_that_shows_everything_visible_is_fresh() -> None:
    view = assess_view(EVENTS, START, t=2000, shown=2, shipped_t=0)
    assert view.staleness == 0
    assert view.visible == 2 and not view.display_lag
    assert view.apparent_stall == 1000  # newest shown occurred at 1000
    assert view.true_stall == 800  # newest the carrier has became visible at 1200


def test_staleness_counts_from_the_oldest_missing_event() -> None:
    view = assess_view(EVENTS, START, t=6000, shown=1, shipped_t=0)
    assert view.staleness == 6000 - 1200
    assert view.display_lag
    assert view.apparent_stall == 6000
    assert view.true_stall == 6000 - 5100


def test_nothing_shown_stalls_from_the_ship_time() -> None:
    view = assess_view(EVENTS, START, t=50, shown=0, shipped_t=-10)
    assert view.staleness == 0 and view.visible == 0
    assert view.apparent_stall == 60 and view.true_stall == 60


def test_refresh_latency_from_the_change_log() -> None:
    changes = [Change("N", 150, 1), Change("N", 1500, 2), Change("N", 5300, 3)]
    out = refresh_latencies(EVENTS, START, changes, end=10_000)
    assert [(r.index, r.latency, r.censored) for r in out] == [
        (0, 50, False),
        (1, 300, False),
        (2, 200, False),
    ]


def test_a_change_that_skips_events_refreshes_them_all() -> None:
    out = refresh_latencies(EVENTS, START, [Change("N", 6000, 3)], end=10_000)
    assert [r.latency for r in out] == [5900, 4800, 900]


def test_events_never_shown_are_censored_at_the_end() -> None:
    out = refresh_latencies(EVENTS, START, [Change("N", 150, 1)], end=3000)
    assert [(r.index, r.latency, r.censored) for r in out] == [(0, 50, False), (1, 1800, True)]


def _rec(t: float, outcome: str, cause: str | None = None, carrier: str = "c") -> CarrierRecord:
    return CarrierRecord(t, carrier, "batch", 200 if outcome == "ok" else 429, outcome, cause, 1)


def test_outages_span_from_first_refusal_to_next_success() -> None:
    records = [
        _rec(0, "ok"),
        _rec(10, "throttled", "quota:1d"),
        _rec(20, "error"),  # a 5xx neither ends nor starts an outage
        _rec(30, "blocked", "ban"),
        _rec(40, "ok"),
        _rec(50, "throttled", "quota:1s"),
    ]
    outages = find_outages(records, end=100)
    assert [(o.start, o.end, o.cause, o.refused, o.open) for o in outages] == [
        (10, 40, "ban", 2, False),
        (50, 100, "quota:1s", 1, True),
    ]


def test_outages_are_per_carrier() -> None:
    records = [
        _rec(0, "throttled", "quota:1s", "a"),
        _rec(5, "ok", None, "b"),
        _rec(9, "ok", None, "a"),
    ]
    assert [(o.carrier, o.start, o.end) for o in find_outages(records, 20)] == [("a", 0, 9)]
