from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from peakbench.plan.timeline import (
    TimelineModel,
    journey,
    make_tracking_number,
    parse_tracking_number,
    visible_count,
)

START = 1_795_755_600


@given(
    shipped=st.integers(min_value=0, max_value=36**6 - 1),
    lane=st.sampled_from(["domestic", "cross-border"]),
    seq=st.integers(min_value=0, max_value=36**6 - 1),
)
def test_tracking_numbers_round_trip(shipped: int, lane: str, seq: int) -> None:
    number = make_tracking_number(shipped, lane, seq)
    key = parse_tracking_number(number)
    assert key is not None
    assert (key.shipped_at, key.lane, key.seq) == (shipped, lane, seq)


@given(st.text(max_size=20))
def test_foreign_numbers_are_not_ours(text: str) -> None:
    key = parse_tracking_number(text)
    if key is not None:
        assert make_tracking_number(key.shipped_at, key.lane, key.seq) == text


def test_a_typo_in_a_number_is_detected() -> None:
    number = make_tracking_number(START, "domestic", 5)
    typo = number[:10] + ("A" if number[10] != "A" else "B") + number[11:]
    assert parse_tracking_number(typo) is None


def test_journeys_are_pure_functions_of_seed_and_number() -> None:
    number = make_tracking_number(START, "domestic", 1)
    assert journey(TimelineModel(seed=1), number) == journey(TimelineModel(seed=1), number)
    assert journey(TimelineModel(seed=1), number) != journey(TimelineModel(seed=2), number)


def test_domestic_journeys_match_the_reference_shape() -> None:
    model = TimelineModel(seed=3, stuck_share=0.0, peak_linehaul_factor=1.0)
    counts, days = [], []
    for seq in range(400):
        events = journey(model, make_tracking_number(START, "domestic", seq))
        counts.append(len(events))
        days.append((events[-1].occurred_at - events[0].occurred_at) / 86400)
        assert events[0].occurred_at == START
        assert events[-1].status == "delivered"
        occurred = [e.occurred_at for e in events]
        visible = [e.visible_at for e in events]
        assert occurred == sorted(occurred)
        assert visible == sorted(visible)
        assert all(v >= o for v, o in zip(visible, occurred, strict=True))
    assert min(counts) >= 8 and max(counts) <= 12
    days.sort()
    assert 1.5 <= days[len(days) // 2] <= 4.5
    assert days[int(0.95 * len(days))] <= 7


def test_cross_border_journeys_are_longer_with_silent_gaps() -> None:
    model = TimelineModel(seed=3, stuck_share=0.0)
    for seq in range(50):
        events = journey(model, make_tracking_number(START, "cross-border", seq))
        assert 10 <= len(events) <= 20
        span = (events[-1].occurred_at - events[0].occurred_at) / 86400
        assert 5 <= span <= 30
        gaps = [b.occurred_at - a.occurred_at for a, b in itertools.pairwise(events)]
        assert max(gaps) >= 2 * 86400


def test_peak_tail_has_parcels_with_no_update_for_three_days() -> None:
    model = TimelineModel(seed=5, stuck_share=0.05)
    stuck = 0
    for seq in range(1000):
        events = journey(model, make_tracking_number(START, "domestic", seq))
        gaps = [b.occurred_at - a.occurred_at for a, b in itertools.pairwise(events)]
        stuck += max(gaps) > 72 * 3600
    assert 20 <= stuck <= 90  # 5% of 1,000, with room for the ordinary long linehauls


def test_visible_count_is_the_prefix_the_carrier_returns() -> None:
    events = journey(TimelineModel(seed=1), make_tracking_number(START, "domestic", 9))
    assert visible_count(events, START - 1) == 0
    assert visible_count(events, events[2].visible_at) >= 3
    assert visible_count(events, events[-1].visible_at + 1) == len(events)
