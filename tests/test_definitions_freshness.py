"""DESIGN.md's freshness definitions pinned at their boundaries (peakbench/measure/freshness.py).

Times are run seconds; events are built from (occurred, visible) pairs. The property tests
compare each function with the definition written out the slow, obvious way.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peakbench.measure.freshness import (
    Refresh,
    SampledRefresh,
    ViewFreshness,
    assess_view,
    refresh_latencies,
    sampled_refresh_latencies,
)
from peakbench.measure.journals import Change
from peakbench.plan.timeline import ScanEvent

START = 1_000_000.0


def _events(*pairs: tuple[float, float]) -> list[ScanEvent]:
    return [
        ScanEvent(i, "in_transit", "AR", "m", "c", "s", "US", 0, START + o, START + v)
        for i, (o, v) in enumerate(pairs)
    ]


EVENTS = _events((0, 100), (1000, 1200), (5000, 5100))


# --- staleness, apparent and true stall of a view ---------------------------------------------


def test_a_view_at_exactly_visible_at_counts_the_event_as_visible() -> None:
    view = assess_view(EVENTS, START, t=1200, shown=1, shipped_t=0, tracking_number="N1")
    assert view == ViewFreshness(
        t=1200,
        tracking_number="N1",
        shown=1,
        visible=2,
        staleness=0.0,
        oldest_missing_visible=1200,
        apparent_stall=1200,
        true_stall=0.0,
    )
    assert view.display_lag
    just_before = assess_view(EVENTS, START, t=1199.999, shown=1, shipped_t=0)
    assert just_before.visible == 1 and just_before.oldest_missing_visible is None
    assert not just_before.display_lag


def test_a_fresh_view_names_no_missing_event() -> None:
    # shows exactly what is visible; the next event is not visible yet
    view = assess_view(EVENTS, START, t=2000, shown=2, shipped_t=0)
    assert view.oldest_missing_visible is None and view.staleness == 0.0
    assert view.tracking_number == ""


def test_a_view_that_shows_every_event_is_fresh() -> None:
    view = assess_view(EVENTS, START, t=9000, shown=3, shipped_t=0)
    assert (view.shown, view.visible, view.staleness) == (3, 3, 0.0)
    assert view.oldest_missing_visible is None
    assert view.apparent_stall == 4000 and view.true_stall == 3900


def test_shown_is_clamped_to_the_journey() -> None:
    more = assess_view(EVENTS, START, t=9000, shown=7, shipped_t=0)
    assert more.shown == 3 and more.apparent_stall == 4000 and more.staleness == 0.0
    less = assess_view(EVENTS, START, t=9000, shown=-2, shipped_t=-50)
    assert less.shown == 0 and less.display_lag
    assert less.staleness == 8900 and less.oldest_missing_visible == 100
    assert less.apparent_stall == 9050 and less.true_stall == 3900


def test_staleness_is_from_the_oldest_missing_event_not_the_newest() -> None:
    view = assess_view(EVENTS, START, t=6000, shown=0, shipped_t=0)
    assert view.staleness == 5900 and view.oldest_missing_visible == 100
    view = assess_view(EVENTS, START, t=6000, shown=2, shipped_t=0)
    assert view.staleness == 900 and view.oldest_missing_visible == 5100


def test_stalls_before_the_parcel_ships_are_zero_not_negative() -> None:
    view = assess_view(EVENTS, START, t=50, shown=0, shipped_t=80)
    assert view.apparent_stall == 0.0 and view.true_stall == 0.0
    assert view.staleness == 0.0 and view.visible == 0


def test_stalls_use_occurrence_for_the_store_and_visibility_for_the_carrier() -> None:
    # the store shows event 1 (occurred 1000, visible 1200); the carrier has it too
    view = assess_view(EVENTS, START, t=1500, shown=2, shipped_t=0)
    assert view.apparent_stall == 500 and view.true_stall == 300


def test_a_parcel_without_events() -> None:
    view = assess_view([], START, t=500, shown=3, shipped_t=100)
    assert (view.shown, view.visible, view.staleness) == (0, 0, 0.0)
    assert view.apparent_stall == 400 and view.true_stall == 400


_times = st.floats(min_value=0, max_value=10_000, allow_nan=False)


@st.composite
def _journey(draw: st.DrawFn) -> list[ScanEvent]:
    occurred = sorted(draw(st.lists(_times, max_size=8)))
    lags = draw(st.lists(st.floats(0, 500), min_size=len(occurred), max_size=len(occurred)))
    visible, last = [], 0.0
    for o, lag in zip(occurred, lags, strict=True):
        last = max(last, o + lag)  # visible_at never decreases along a journey (timeline.py)
        visible.append(last)
    return _events(*zip(occurred, visible, strict=True))


@given(_journey(), _times, st.integers(-2, 10), st.floats(-100, 100))
def test_staleness_is_zero_iff_nothing_visible_before_the_view_is_missing(
    events: list[ScanEvent], t: float, shown: int, shipped_t: float
) -> None:
    view = assess_view(events, START, t, shown, shipped_t)
    visible_rel = [e.visible_at - START for e in events]
    shown_n = max(0, min(shown, len(events)))
    missing = [v for v in visible_rel[shown_n:] if v <= t]
    assert view.visible == sum(v <= t for v in visible_rel)
    assert (view.oldest_missing_visible is None) == (not missing)
    assert view.display_lag == bool(missing)
    if missing:
        assert view.oldest_missing_visible == missing[0]
        assert view.staleness == t - missing[0]
    assert (view.staleness > 0) == any(v < t for v in missing)
    assert view.staleness >= 0 and view.apparent_stall >= 0 and view.true_stall >= 0


# --- refresh latency from the change log --------------------------------------------------------


def test_every_field_of_a_refresh() -> None:
    out = refresh_latencies(EVENTS, START, [Change("N", 150, 1), Change("N", 1300, 2)], 5000)
    assert out == [Refresh(0, 100, 50, False), Refresh(1, 1200, 100, False)]


def test_an_event_visible_exactly_at_the_end_is_counted_and_censored_at_zero() -> None:
    out = refresh_latencies(EVENTS, START, [Change("N", 150, 1)], end=1200)
    assert out == [Refresh(0, 100, 50, False), Refresh(1, 1200, 0.0, True)]
    assert refresh_latencies(EVENTS, START, [Change("N", 150, 1)], end=1199.5)[1:] == []


def test_a_change_at_exactly_visible_at_is_latency_zero() -> None:
    out = refresh_latencies(EVENTS, START, [Change("N", 100, 1)], end=150)
    assert out == [Refresh(0, 100, 0.0, False)]


def test_a_change_before_visible_at_is_clamped_to_zero() -> None:
    # the store's clock may run slightly ahead of the carrier journal: never a negative latency
    out = refresh_latencies(EVENTS, START, [Change("N", 90, 2)], end=2000)
    assert [(r.latency, r.censored) for r in out] == [(0.0, False), (0.0, False)]


def test_the_first_change_showing_an_event_counts_not_a_later_one() -> None:
    changes = [Change("N", 150, 1), Change("N", 160, 1), Change("N", 1500, 2), Change("N", 1600, 3)]
    out = refresh_latencies(EVENTS, START, changes, end=10_000)
    assert [r.latency for r in out] == [50, 300, 0.0]
    # the third event became visible at 5100, after the change at 1600 showed three events
    assert out[2] == Refresh(2, 5100, 0.0, False)


def test_a_store_that_shows_fewer_events_again_does_not_unshow_them() -> None:
    changes = [Change("N", 150, 1), Change("N", 1300, 0), Change("N", 1400, 2)]
    out = refresh_latencies(EVENTS, START, changes, end=3000)
    assert [(r.latency, r.censored) for r in out] == [(50, False), (200, False)]


def test_no_changes_censors_every_visible_event() -> None:
    out = refresh_latencies(EVENTS, START, [], end=2000)
    assert out == [Refresh(0, 100, 1900, True), Refresh(1, 1200, 800, True)]


_changes = st.lists(st.tuples(_times, st.integers(0, 9)), max_size=8).map(
    lambda rows: [Change("N", t, n) for t, n in sorted(rows)]
)


@given(_journey(), _changes, _times)
def test_refresh_latency_is_the_definition_and_never_negative(
    events: list[ScanEvent], changes: list[Change], end: float
) -> None:
    expected = []
    for i, e in enumerate(events):
        visible = e.visible_at - START
        if visible > end:
            break
        first = next((c.t for c in changes if c.shown_count > i), None)
        if first is None:
            expected.append(Refresh(i, visible, max(0.0, end - visible), True))
        else:
            expected.append(Refresh(i, visible, max(0.0, first - visible), False))
    out = refresh_latencies(events, START, changes, end)
    assert out == expected
    assert all(r.latency >= 0 for r in out)


# --- refresh latency sampled by views ----------------------------------------------------------


def test_sampled_refresh_without_views_is_empty() -> None:
    assert sampled_refresh_latencies(EVENTS, START, [], shipped_t=0, end=10_000) == []


def test_sampled_refresh_takes_the_first_view_showing_the_event_and_its_gap() -> None:
    views = [(50.0, 0), (400.0, 1), (1100.0, 1), (1300.0, 2), (9000.0, 3)]
    out = sampled_refresh_latencies(EVENTS, START, views, shipped_t=-20, end=10_000)
    assert out == [
        SampledRefresh(0, 100, 300, False, 350),  # seen at 400; previous view at 50
        SampledRefresh(1, 1200, 100, False, 200),  # seen at 1300; previous view at 1100
        SampledRefresh(2, 5100, 3900, False, 7700),
    ]


def test_sampled_gap_of_the_first_view_runs_from_the_ship_time() -> None:
    out = sampled_refresh_latencies(EVENTS, START, [(700.0, 1)], shipped_t=30, end=10_000)
    assert out == [SampledRefresh(0, 100, 600, False, 670)]


def test_sampled_events_after_the_last_view_or_the_end_are_not_observed() -> None:
    views = [(150.0, 0), (1200.0, 1)]
    out = sampled_refresh_latencies(EVENTS, START, views, shipped_t=0, end=10_000)
    # event 1 is visible exactly at the last view, which does not show it: censored at 0
    assert out == [
        SampledRefresh(0, 100, 1100, False, 1050),
        SampledRefresh(1, 1200, 0.0, True, None),
    ]
    capped = sampled_refresh_latencies(EVENTS, START, views, shipped_t=0, end=1100)
    assert capped == [SampledRefresh(0, 100, 1100, False, 1050)]


def test_a_sampled_view_before_visible_at_is_clamped_to_zero() -> None:
    out = sampled_refresh_latencies(EVENTS, START, [(90.0, 1), (200.0, 1)], 0, 10_000)
    assert out == [SampledRefresh(0, 100, 0.0, False, 90)]


_views = st.lists(st.tuples(_times, st.integers(0, 9)), max_size=8).map(sorted)


@given(_journey(), _views, st.floats(-100, 100), _times)
def test_sampled_refresh_is_the_definition(
    events: list[ScanEvent], views: list[tuple[float, int]], shipped_t: float, end: float
) -> None:
    expected = []
    if views:
        last = views[-1][0]
        for i, e in enumerate(events):
            visible = e.visible_at - START
            if visible > min(last, end):
                break
            k = next((k for k, (_, n) in enumerate(views) if n > i), None)
            if k is None:
                expected.append(SampledRefresh(i, visible, max(0.0, last - visible), True, None))
            else:
                t, previous = views[k][0], views[k - 1][0] if k else shipped_t
                expected.append(
                    SampledRefresh(i, visible, max(0.0, t - visible), False, t - previous)
                )
    assert sampled_refresh_latencies(events, START, views, shipped_t, end) == expected
