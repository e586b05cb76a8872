"""When an aggregator learns of scans and when a push is due (pure: no server, no clock)."""

from __future__ import annotations

import itertools
import math
import time
from typing import Any

import pytest

from mocks.push.schedule import PollSchedule, known_epoch, unit_draw
from peakbench.config.fleet import CarrierSpec
from peakbench.config.push import RETRY_PRESETS
from peakbench.plan.timeline import TimelineModel, journey, make_tracking_number, visible_count

START = 1_795_755_600.0
MODEL = TimelineModel(seed=5)
HOUR = 3600.0
CADENCE = (2 * HOUR, 6 * HOUR)


def numbers(n: int, lane: str = "domestic", shipped: float = START) -> list[str]:
    return [make_tracking_number(shipped, lane, seq) for seq in range(1, n + 1)]


def schedule(**kw: Any) -> PollSchedule:
    args: dict[str, Any] = {"cadence": CADENCE, "seed": "7:ts"} | kw
    return PollSchedule(MODEL, START, **args)


def count(s: PollSchedule, number: str) -> int:
    state = s.state(number)
    assert state is not None
    return state[1]


def run_until(s: PollSchedule, end: float, step: float = 300.0) -> list[tuple[float, str, int]]:
    """Step through time; deliver every due push at once. ``(t, number, count)`` per push."""
    pushes = []
    t = 0.0
    while t <= end:
        for number in s.due(t):
            state = s.state(number)
            assert state is not None
            pushes.append((t, number, state[1]))
            assert s.finished(number, state[1], True) is False
        t += step
    return pushes


def test_unit_draw_is_seeded_and_uniform() -> None:
    assert unit_draw("a", "n", 1) == unit_draw("a", "n", 1)
    assert unit_draw("a", "n", 1) != unit_draw("b", "n", 1)
    draws = [unit_draw("s", f"n{i}", 3) for i in range(4000)]
    assert all(0.0 <= d < 1.0 for d in draws)
    assert abs(sum(draws) / len(draws) - 0.5) < 0.03


def test_first_poll_at_registration_then_every_min_to_max() -> None:
    s = schedule()
    (number,) = numbers(1)
    assert s.sync([number], 0.0) == 1
    assert s.next_t() == 0.0
    times: list[float] = []
    t = 0.0
    while s.next_t() < 20 * 86400 and len(times) < 200:
        t = s.next_t()
        times.append(t)
        for due in s.due(t):
            s.finished(due, count(s, due), True)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) > 5
    assert all(CADENCE[0] - 1e-6 <= g <= CADENCE[1] + 1e-6 for g in gaps)
    assert max(gaps) - min(gaps) > HOUR  # jittered, not a fixed period


def test_push_only_when_the_visible_count_grew() -> None:
    s = schedule()
    (number,) = numbers(1)
    s.sync([number], 0.0)
    pushes = run_until(s, 15 * 86400)
    counts = [c for _, _, c in pushes]
    assert counts == sorted(set(counts))  # strictly growing: never the same state twice
    assert counts[-1] == len(journey(MODEL, number))
    assert s.next_t() == math.inf  # complete journey: polled no more


def test_aggregator_learns_of_a_scan_only_on_its_next_poll() -> None:
    s = schedule()
    batch = numbers(30)
    s.sync(batch, 0.0)
    pushes = run_until(s, 15 * 86400, step=60.0)
    late = []
    for t, number, count in pushes:
        events = journey(MODEL, number)
        epoch = START + t
        assert visible_count(events, epoch) >= count  # never ahead of the carrier
        newest = events[count - 1]
        late.append(epoch - newest.visible_at)
    assert min(late) >= 0
    # a poll comes at most max-cadence after the previous one (+ the step of this loop)
    assert max(late) <= CADENCE[1] + 60.0
    assert sum(late) / len(late) > 0.5 * HOUR  # the cadence adds real staleness


def test_busy_number_is_not_pushed_twice_and_a_newer_state_is_pushed_after() -> None:
    s = schedule(cadence=(HOUR, HOUR))
    (number,) = numbers(1)
    s.sync([number], 0.0)
    events = journey(MODEL, number)
    t = 0.0
    first: int | None = None
    while first is None:
        due = s.due(t)
        if due:
            first = count(s, number)
        else:
            t += HOUR
    assert first is not None
    # while that push is undelivered, the aggregator keeps polling and learns more
    end = events[-1].visible_at - START + 2 * HOUR
    while t < end:
        t += HOUR
        assert s.due(t) == []  # busy: the retry will carry the newer state
    newest = count(s, number)
    assert newest > first
    assert s.finished(number, first, False) is True  # newer state known: push again at once
    assert s.finished(number, newest, True) is False
    assert s.tracks[number].delivered == newest
    assert s.tracks[number].busy is False


def test_a_given_up_state_is_not_repushed_until_it_changes() -> None:
    s = schedule(cadence=(HOUR, HOUR))
    (number,) = numbers(1)
    s.sync([number], 0.0)
    t = 0.0
    while not s.due(t):
        t += HOUR
    pushed = count(s, number)
    assert s.finished(number, pushed, False) is False  # given up
    events = journey(MODEL, number)
    changes = [e.visible_at for e in events[pushed:]]
    t += HOUR
    while START + t < changes[0]:
        assert s.due(t) == []
        t += HOUR
    assert s.due(t + HOUR) == [number]


def test_deregistered_numbers_are_forgotten() -> None:
    s = schedule()
    batch = numbers(10)
    s.sync(batch, 0.0)
    s.due(0.0)
    assert s.sync(batch[5:], 10.0) == 0
    assert set(s.tracks) == set(batch[5:])
    assert s.state(batch[0]) is None
    assert s.finished(batch[0], 3, True) is False
    later = [n for t, n, _ in run_until(s, 5 * 86400)]
    assert set(later) <= set(batch[5:])


def test_unknown_numbers_are_tracked_but_never_polled() -> None:
    s = schedule()
    assert s.sync(["NOT-A-NUMBER"], 0.0) == 1
    assert s.next_t() == math.inf
    assert s.due(1e9) == []


def test_first_poll_delay_and_late_registration() -> None:
    s = schedule(first_poll=1800.0)
    (number,) = numbers(1, shipped=START - 3 * 86400)  # shipped days before it is registered
    s.sync([number], 5000.0)
    assert s.next_t() == 6800.0
    assert s.due(6799.0) == []
    assert s.due(6800.0) == [number]
    assert count(s, number) == visible_count(journey(MODEL, number), START + 6800.0)


def test_thousands_of_numbers_cost_a_heap_not_time() -> None:
    s = schedule()
    day = START - 86400
    batch = numbers(6000, shipped=day) + numbers(4000, lane="cross-border", shipped=day)
    began = time.perf_counter()
    s.sync(batch, 0.0)
    for _ in range(50):  # repeated syncs of an unchanged registry are cheap
        s.sync(batch, 0.0)
    due = s.due(0.0)
    elapsed = time.perf_counter() - began
    assert len(s) == 10_000
    assert len(s._heap) <= len(s)
    assert len(due) > 5000  # a day after shipping, most show scans already
    assert elapsed < 10.0


@pytest.mark.parametrize(
    ("personality", "tries", "hours"),
    [("aftership", 14, 68.0), ("easypost", 12, 24.0), ("dhl", 3, 6.0), ("17track", 4, 1.67)],
)
def test_vendor_retry_defaults(personality: str, tries: int, hours: float) -> None:
    spec = CarrierSpec.model_validate(
        {"name": "c", "personality": personality, "push": {"url": "/hook"}}
    )
    assert spec.push is not None
    delays = spec.push.retry_delays(personality)
    assert len(delays) + 1 == tries
    assert sum(delays) / HOUR == pytest.approx(hours, rel=0.02)
    assert delays == tuple(sorted(delays))  # backoff never shortens


def test_push_spec_defaults_and_overrides() -> None:
    spec = CarrierSpec.model_validate(
        {
            "name": "ts",
            "personality": "trackship",
            "push": {"url": "http://127.0.0.1:1/x", "retries": ["1m", "10m"], "timeout": "2s"},
        }
    )
    assert spec.push is not None
    assert spec.push.cadence_for("trackship") == (2 * HOUR, 6 * HOUR)
    assert spec.push.cadence_for("17track") == (6 * HOUR, 12 * HOUR)
    assert spec.push.retry_delays("trackship") == (60.0, 600.0)
    assert spec.push.uses_store_auth("trackship") is True
    assert spec.push.uses_store_auth("aftership") is False
    assert RETRY_PRESETS["none"] == ()
    assert CarrierSpec.model_validate({"name": "g"}).push is None
    with pytest.raises(ValueError, match="cadence max"):
        CarrierSpec.model_validate(
            {"name": "x", "push": {"url": "/h", "cadence": {"min": "6h", "max": "2h"}}}
        )
    with pytest.raises(ValueError, match="URL"):
        CarrierSpec.model_validate({"name": "x", "push": {"url": "ftp://h"}})


def test_known_epoch_matches_the_poll_schedule() -> None:
    s = schedule(first_poll=600.0)
    (number,) = numbers(1)
    s.sync([number], 1000.0)
    polls = []
    while s.next_t() < 10 * 86400:
        t = s.next_t()
        polls.append(START + t)
        for due in s.due(t):
            s.finished(due, count(s, due), True)
    assert len(polls) > 5
    first = START + 1600.0
    assert known_epoch("7:ts", number, first, first - 1, CADENCE) == -math.inf
    for a, b in itertools.pairwise(polls):
        assert known_epoch("7:ts", number, first, a + 0.001, CADENCE) == pytest.approx(a, abs=0.01)
        assert known_epoch("7:ts", number, first, (a + b) / 2, CADENCE) == pytest.approx(
            a, abs=0.01
        )
