"""Behaviours of the mock carriers, driven by a ManualClock (no sleeps)."""

from __future__ import annotations

import asyncio
import math
import random
import statistics

import pytest

from mocks.behaviours._callers import CallerTable
from mocks.behaviours.block import Block
from mocks.behaviours.latency import Latency
from mocks.behaviours.pipeline import build_pipeline
from mocks.behaviours.quota import Quota
from mocks.behaviours.registry import BEHAVIOURS, build_behaviour
from peakbench.clock import ManualClock, next_utc_midnight
from peakbench.config.fleet import CarrierSpec, LatencySpec

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z


def spec_behaviours(*behaviours: dict) -> CarrierSpec:
    return CarrierSpec.model_validate({"name": "acme", "behaviours": list(behaviours)})


def test_token_bucket_refuses_the_burst_excess_and_refills_at_the_rate() -> None:
    quota = Quota(limit=5, per=1.0, window="bucket")
    for _ in range(5):
        assert quota.wait("k0", 0.0, START) == 0.0
        quota.take("k0", 0.0, START)
    assert quota.wait("k0", 0.0, START) == pytest.approx(0.2)
    assert quota.wait("k0", 0.1, START) == pytest.approx(0.1)
    assert quota.wait("k0", 0.2, START) == 0.0  # exactly one token back after 1/5 s
    quota.take("k0", 0.2, START)
    assert quota.wait("k0", 0.2, START) > 0
    assert quota.wait("k1", 0.2, START) == 0.0  # other callers have their own bucket
    assert quota.wait("k0", 100.0, START) == 0.0
    for _ in range(5):  # the bucket never holds more than ``limit``
        quota.take("k0", 100.0, START)
    assert quota.wait("k0", 100.0, START) > 0


def test_daily_calendar_quota_resets_exactly_at_midnight_gmt_of_store_time() -> None:
    clock = ManualClock(t=0.0, start_epoch=START)
    quota = Quota(limit=3, per=86400.0, window="calendar")
    midnight = next_utc_midnight(START)
    for _ in range(3):
        epoch = clock.spec.start_epoch + clock.now()
        assert quota.wait("k0", clock.now(), epoch) == 0.0
        quota.take("k0", clock.now(), epoch)
        clock.advance(3600)
    t = clock.now()
    epoch = START + t
    assert quota.wait("k0", t, epoch) == pytest.approx(midnight - epoch)
    just_before = midnight - START - 0.001
    assert quota.wait("k0", just_before, START + just_before) == pytest.approx(0.001, abs=1e-6)
    at_midnight = midnight - START
    assert quota.wait("k0", at_midnight, midnight) == 0.0
    quota.take("k0", at_midnight, midnight)
    assert quota.wait("k0", at_midnight, midnight) == 0.0  # 1 of 3 used in the new day


def test_hourly_calendar_quota_aligns_to_the_top_of_the_hour() -> None:
    quota = Quota(limit=1, per=3600.0, window="calendar")
    epoch = START + 1800.0  # 05:30 GMT
    quota.take("k0", 1800.0, epoch)
    assert quota.wait("k0", 1800.0, epoch) == pytest.approx(1800.0)


def test_quota_cause_names_the_window() -> None:
    assert Quota(limit=1, per=1.0).cause == "quota:1s"
    assert Quota(limit=1, per=86400.0, window="calendar").cause == "quota:1d"


def test_ban_after_n_violations_within_the_window_then_blocked_until_cool_down() -> None:
    carrier = spec_behaviours(
        {"type": "quota", "limit": 1, "per": "10s"},
        {"type": "block", "violations": 3, "within": "1m", "ban": "10m"},
    )
    pipeline = build_pipeline(carrier.behaviours, "1:acme")
    clock = ManualClock(t=0.0, start_epoch=START)

    def ask() -> tuple[int, str] | None:
        refusal = pipeline.admit("track", "k0", "127.0.0.1", clock.now(), START + clock.now())
        return None if refusal is None else (refusal.status, refusal.cause)

    assert ask() is None
    assert [ask() for _ in range(3)] == [(429, "quota:10s")] * 3
    assert ask() == (403, "ban")
    clock.advance(599.0)
    refusal = pipeline.admit("track", "k0", "127.0.0.1", clock.now(), START + clock.now())
    assert refusal is not None and refusal.cause == "ban" and refusal.retry_after == 1
    assert pipeline.admit("track", "k1", "127.0.0.1", clock.now(), START) is None  # per key
    clock.advance(1.0)
    assert ask() is None  # the ban is over and the bucket has refilled
    assert ask() == (429, "quota:10s")  # violations start afresh: no immediate re-ban


def test_violations_spread_wider_than_the_window_never_ban() -> None:
    block = Block(violations=3, within=60.0, ban=600.0)
    for i in range(10):
        assert not block.violation("k0", i * 31.0)
    assert block.banned_for("k0", 400.0) == 0.0
    assert block.violation("k0", 400.0) is False
    assert block.violation("k0", 401.0) is False
    assert block.violation("k0", 402.0) is True
    assert block.banned_for("k0", 403.0) == pytest.approx(599.0)


def test_a_refused_request_charges_no_quota() -> None:
    carrier = spec_behaviours(
        {"type": "quota", "limit": 2, "per": "1s"},
        {"type": "quota", "limit": 3, "per": "1d"},
    )
    pipeline = build_pipeline(carrier.behaviours, "1:acme")
    outcomes = [pipeline.admit("batch", "k0", "ip", 0.0, START) for _ in range(4)]
    assert [r is None for r in outcomes] == [True, True, False, False]
    # the per-second refusals did not consume the daily allowance: one left at t=1
    assert pipeline.admit("batch", "k0", "ip", 1.0, START + 1) is None
    daily = pipeline.admit("batch", "k0", "ip", 2.0, START + 2)
    assert daily is not None and daily.cause == "quota:1d"
    assert daily.retry_after == math.ceil(next_utc_midnight(START) - (START + 2))


def test_fixed_latency_is_slept_on_the_store_clock() -> None:
    clock = ManualClock(t=10.0)
    latency = Latency("fixed", delay=2.5)
    slept = asyncio.run(latency.apply(clock, random.Random(1)))
    assert slept == 2.5
    assert clock.now() == 12.5


def test_lognormal_latency_matches_its_median_and_p99() -> None:
    latency = build_behaviour(
        LatencySpec(type="latency", distribution="lognormal", median=0.3, p99=2.0)
    )
    assert isinstance(latency, Latency)
    rng = random.Random(7)
    draws = sorted(latency.draw(rng) for _ in range(40_000))
    assert statistics.median(draws) == pytest.approx(0.3, rel=0.03)
    assert draws[int(0.99 * len(draws))] == pytest.approx(2.0, rel=0.08)
    assert min(draws) > 0


def test_shared_fields_routes_window_and_probability() -> None:
    carrier = spec_behaviours(
        {"type": "latency", "delay": "1s", "routes": ["batch"]},
        {"type": "latency", "delay": "10s", "active": {"start": "1h", "end": "2h"}},
        {"type": "latency", "delay": "100s", "probability": 0.25},
    )
    pipeline = build_pipeline(carrier.behaviours, "1:acme")
    delays = [pipeline.delay("batch", 4000.0) for _ in range(4000)]
    assert set(delays) == {11.0, 111.0}
    share = delays.count(111.0) / len(delays)
    assert share == pytest.approx(0.25, abs=0.03)
    assert pipeline.delay("track", 0.0) in (0.0, 100.0)
    assert pipeline.delay("track", 7200.0) in (0.0, 100.0)  # window end is exclusive
    again = build_pipeline(carrier.behaviours, "1:acme")  # same seed, same draws
    assert [again.delay("batch", 4000.0) for _ in range(4000)] == delays


def test_caller_state_stays_bounded_under_a_flood_of_callers() -> None:
    quota = Quota(limit=1, per=1.0)
    for i in range(20_000):
        quota.take(f"ip-{i}", float(i), START + i)
    assert len(quota.state.callers) <= 4096
    table: CallerTable[int] = CallerTable(capacity=10)
    for i in range(100):
        table.put(str(i), i, lambda v: False)
    assert len(table) <= 10
    assert table.get("99") == 99


def test_registry_covers_every_behaviour_spec_type() -> None:
    assert set(BEHAVIOURS) == {"latency", "quota", "block"}
    carrier = spec_behaviours(
        {"type": "latency", "distribution": "lognormal"},
        {"type": "quota", "limit": 5, "per": "1s", "scope": "ip"},
        {"type": "block", "violations": 2, "within": "1m", "ban": "1h", "status": 429},
    )
    kinds = [type(build_behaviour(spec)) for spec in carrier.behaviours]
    assert kinds == [Latency, Quota, Block]
    pipeline = build_pipeline(carrier.behaviours, "1:acme")
    assert len(pipeline.latencies) == len(pipeline.quotas) == len(pipeline.blocks) == 1
