"""Throttle outages (DESIGN.md) pinned at their boundaries: peakbench/measure/outages.py."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peakbench.measure.freshness import ViewFreshness
from peakbench.measure.journals import CarrierRecord
from peakbench.measure.outages import Outage, find_outages, hit_by


def _rec(t: float, outcome: str, cause: str | None = None, carrier: str = "c") -> CarrierRecord:
    return CarrierRecord(t, carrier, "batch", 200 if outcome == "ok" else 429, outcome, cause, 1)


def test_repeated_refusals_are_all_counted() -> None:
    records = [
        _rec(0, "ok"),
        *(_rec(t, "throttled", "quota:1s") for t in (10, 11, 12)),
        _rec(20, "ok"),
    ]
    assert find_outages(records, end=100) == [
        Outage("c", 10, 20, "quota:1s", 3, False, "quota:1s", (("quota:1s", 10, 3),))
    ]


def test_the_commonest_cause_names_an_outage_unless_it_was_a_ban() -> None:
    records = [
        _rec(10, "throttled", "quota:1d"),
        _rec(11, "throttled", "quota:1s"),
        _rec(12, "throttled", "quota:1s"),
        _rec(13, "ok"),
        _rec(20, "throttled", "quota:1s"),
        _rec(21, "throttled", "quota:1s"),
        _rec(22, "blocked", "ban"),
        _rec(30, "ok"),
    ]
    out = find_outages(records, end=100)
    assert [(o.cause, o.refused) for o in out] == [("quota:1s", 3), ("ban", 3)]
    # the first refusal started it; every cause in order of first appearance, with its count
    assert [o.first_cause for o in out] == ["quota:1d", "quota:1s"]
    assert out[0].causes == (("quota:1d", 10, 1), ("quota:1s", 11, 2))
    assert out[1].causes == (("quota:1s", 20, 2), ("ban", 22, 1))


def test_a_cause_tie_goes_to_the_first_seen() -> None:
    records = [_rec(1, "blocked", "reset"), _rec(2, "blocked", "hang"), _rec(3, "ok")]
    assert find_outages(records, 10)[0].cause == "reset"


def test_a_refusal_without_a_cause_is_named_by_its_outcome() -> None:
    records = [_rec(1, "blocked"), _rec(2, "ok"), _rec(3, "throttled"), _rec(4, "ok")]
    assert [o.cause for o in find_outages(records, 10)] == ["blocked", "throttled"]


def test_an_open_outage_keeps_its_carrier_and_ends_at_the_end_of_the_run() -> None:
    out = find_outages([_rec(0, "ok", carrier="ups"), _rec(40, "throttled", "quota:1s", "ups")], 90)
    assert out == [Outage("ups", 40, 90, "quota:1s", 1, True, "quota:1s", (("quota:1s", 40, 1),))]
    assert out[0].duration == 50


def test_an_open_outage_never_ends_before_it_starts() -> None:
    (outage,) = find_outages([_rec(40, "throttled", "quota:1s")], end=30)
    assert (outage.start, outage.end, outage.duration, outage.open) == (40, 40, 0, True)


def test_errors_neither_start_nor_end_an_outage_and_successes_alone_make_none() -> None:
    assert find_outages([_rec(0, "ok"), _rec(1, "error"), _rec(2, "ok")], 10) == []
    records = [_rec(5, "error"), _rec(6, "throttled", "q"), _rec(7, "error"), _rec(9, "ok")]
    assert find_outages(records, 10) == [Outage("c", 6, 9, "q", 1, False, "q", (("q", 6, 1),))]


def test_journal_rows_are_taken_in_time_order() -> None:
    records = [
        _rec(30, "ok"),
        _rec(10, "throttled", "q"),
        _rec(5, "ok"),
        _rec(20, "throttled", "q"),
    ]
    assert find_outages(records, 100) == [Outage("c", 10, 30, "q", 2, False, "q", (("q", 10, 2),))]


def test_outages_are_ordered_by_start_then_carrier() -> None:
    records = [
        _rec(5, "throttled", "q", "b"),
        _rec(5, "throttled", "q", "a"),
        _rec(1, "throttled", "q", "z"),
        _rec(8, "ok", None, "a"),
        _rec(9, "ok", None, "b"),
        _rec(9, "ok", None, "z"),
    ]
    assert [(o.carrier, o.start) for o in find_outages(records, 20)] == [
        ("z", 1),
        ("a", 5),
        ("b", 5),
    ]


def test_a_second_outage_counts_only_its_own_refusals() -> None:
    records = [
        _rec(1, "blocked", "ban"),
        _rec(2, "blocked", "ban"),
        _rec(3, "ok"),
        _rec(4, "throttled", "quota:1s"),
    ]
    out = find_outages(records, 10)
    assert [(o.cause, o.refused, o.open) for o in out] == [("ban", 2, False), ("quota:1s", 1, True)]


def test_duration_is_end_minus_start() -> None:
    assert Outage("c", 100.5, 160.25, "ban", 1, False).duration == 59.75


def _view(t: float, staleness: float, missing: float | None, number: str = "N") -> ViewFreshness:
    return ViewFreshness(t, number, 0, 1, staleness, missing, 0.0, 0.0)


OUTAGE = Outage("ups", 1000, 2000, "ban", 5, False)


def test_hit_by_at_each_boundary() -> None:
    assert hit_by(OUTAGE, "ups", _view(1000, 601, 1999), stale_after=600)
    # staleness exactly at stale_after is not past it
    assert not hit_by(OUTAGE, "ups", _view(1000, 600, 1999), stale_after=600)
    # a view just before the outage began
    assert not hit_by(OUTAGE, "ups", _view(999.9, 601, 1999), stale_after=600)
    # waiting for an event that became visible exactly when the outage ended
    assert not hit_by(OUTAGE, "ups", _view(5000, 3001, 2000), stale_after=600)
    assert hit_by(OUTAGE, "ups", _view(5000, 3001, 1999.9), stale_after=600)
    # a fresh view waits for nothing
    assert not hit_by(OUTAGE, "ups", _view(1500, 601, None), stale_after=600)
    # a parcel of another carrier
    assert not hit_by(OUTAGE, "fedex", _view(1500, 601, 1000), stale_after=600)


_t = st.floats(0, 5000, allow_nan=False)


@given(
    st.sampled_from(["ups", "fedex"]),
    _t,
    st.floats(0, 5000),
    st.one_of(st.none(), _t),
    st.floats(0, 2000),
)
def test_an_outages_views_are_exactly_those_the_definition_selects(
    carrier: str, t: float, staleness: float, missing: float | None, stale_after: float
) -> None:
    view = _view(t, staleness, missing)
    expected = (
        carrier == OUTAGE.carrier
        and staleness > stale_after
        and OUTAGE.start <= t
        and missing is not None
        and missing < OUTAGE.end
    )
    assert hit_by(OUTAGE, carrier, view, stale_after) is expected
