"""Behaviours of the mock carriers, driven by a ManualClock (no sleeps)."""

from __future__ import annotations

import asyncio
import math
import random
import statistics
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from mocks.behaviours._callers import CallerTable
from mocks.behaviours.block import Block
from mocks.behaviours.concurrency import Concurrency
from mocks.behaviours.congestion import Congestion
from mocks.behaviours.fault import Fault
from mocks.behaviours.latency import Latency
from mocks.behaviours.pipeline import Pipeline, build_pipeline
from mocks.behaviours.quota import Quota
from mocks.behaviours.refusal import PERMANENT_RETRY_AFTER
from mocks.behaviours.registry import BEHAVIOURS, build_behaviour
from peakbench.config.behaviours import AnyBehaviourSpec, parse_behaviours
from peakbench.config.fleet import CarrierSpec, FleetSpec, LatencySpec
from peakbench.plan.clock import ManualClock, next_utc_midnight

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z


def spec_behaviours(*behaviours: dict[str, Any]) -> CarrierSpec:
    return CarrierSpec.model_validate({"name": "acme", "behaviours": list(behaviours)})


def pipeline_of(*behaviours: dict[str, Any]) -> Pipeline:
    return build_pipeline(spec_behaviours(*behaviours).behaviours, "1:acme", START)


def admits(pipeline: Pipeline, t: float, key: str = "k0", ip: str = "10.0.0.1") -> bool:
    """Whether a track request at run second ``t`` passes (the answer is released at once)."""
    refusal = pipeline.admit("track", key, ip, t, START + t)
    if refusal is None:
        pipeline.release("track", key, ip, t)
    return refusal is None


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
    block = Block(violations=3, within=60.0, lengths=(600.0,))
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
    specs = {
        "latency": {"type": "latency", "distribution": "lognormal"},
        "congestion": {"type": "congestion", "per_inflight": "10ms"},
        "quota": {"type": "quota", "limit": 5, "per": "1s", "scope": "ip"},
        "concurrency": {"type": "concurrency", "limit": 4},
        "block": {"type": "block", "violations": 2, "within": "1m", "ban": "1h", "status": 429},
        "fault": {"type": "fault", "kind": "5xx"},
    }
    spec_types = {
        get_args(m.model_fields["type"].annotation)[0] for m in get_args(AnyBehaviourSpec)
    }
    assert set(BEHAVIOURS) == set(specs) == spec_types
    carrier = spec_behaviours(*specs.values())
    kinds = [type(build_behaviour(spec)) for spec in carrier.behaviours]
    assert kinds == [Latency, Congestion, Quota, Concurrency, Block, Fault]
    pipeline = build_pipeline(carrier.behaviours, "1:acme")
    assert len(pipeline.latencies) == 2
    assert len(pipeline.quotas) == len(pipeline.blocks) == len(pipeline.limits) == 1
    assert len(pipeline.faults) == 1 and not pipeline.mangles


# -- latency shapes ------------------------------------------------------------------------------


def test_uniform_latency_stays_in_its_bounds_and_centres_on_the_midpoint() -> None:
    pipeline = pipeline_of({"type": "latency", "distribution": "uniform", "min": "1s", "max": "3s"})
    draws = [pipeline.delay("track", 0.0) for _ in range(10_000)]
    assert 1.0 <= min(draws) < 1.05 and 2.95 < max(draws) <= 3.0
    assert statistics.mean(draws) == pytest.approx(2.0, abs=0.03)


def test_slow_tail_sends_its_share_to_the_second_distribution() -> None:
    pipeline = pipeline_of(
        {
            "type": "latency",
            "delay": "100ms",
            "tail": {"share": 0.1, "distribution": "uniform", "min": "5s", "max": "20s"},
        }
    )
    draws = [pipeline.delay("track", 0.0) for _ in range(20_000)]
    slow = [d for d in draws if d != 0.1]
    assert len(slow) / len(draws) == pytest.approx(0.1, abs=0.01)
    assert all(5.0 <= d <= 20.0 for d in slow)


def test_congestion_delay_grows_with_requests_in_flight_past_the_knee() -> None:
    pipeline = pipeline_of(
        {"type": "congestion", "base": "50ms", "per_inflight": "100ms", "knee": 2, "max": "1s"}
    )
    assert pipeline.tracks_inflight
    assert pipeline.delay("track", 0.0) == pytest.approx(0.05)
    for i in range(4):
        assert pipeline.admit("track", "k0", "ip", 0.0, START) is None
        assert pipeline.inflight == i + 1
    # 4 in flight, knee 2: base + 2 × 100 ms
    assert pipeline.delay("track", 0.0) == pytest.approx(0.25)
    for _ in range(20):
        pipeline.admit("track", "k0", "ip", 0.0, START)
    assert pipeline.delay("track", 0.0) == pytest.approx(1.0)  # capped at max
    for _ in range(30):  # more releases than admits never go negative
        pipeline.release("track", "k0", "ip", 0.0)
    assert pipeline.inflight == 0
    assert pipeline.delay("track", 0.0) == pytest.approx(0.05)


# -- quota windows -------------------------------------------------------------------------------


def test_sliding_window_counts_the_last_period_exactly() -> None:
    pipeline = pipeline_of({"type": "quota", "limit": 3, "per": "10s", "window": "sliding"})
    assert [admits(pipeline, t) for t in (0.0, 1.0, 2.0)] == [True] * 3
    refusal = pipeline.admit("track", "k0", "ip", 5.0, START + 5)
    assert refusal is not None and refusal.cause == "quota:10s" and refusal.retry_after == 5
    assert refusal.kind == "quota" and refusal.limit == 3 and refusal.form == "reply"
    assert not admits(pipeline, 9.999)
    assert admits(pipeline, 10.0)  # the request at 0 has left the window
    r = pipeline.admit("track", "k0", "ip", 10.5, START + 10.5)
    assert r is not None and r.retry_after == 1  # 1 s leaves at 11: ceil(0.5)
    assert admits(pipeline, 11.0)


def test_fixed_window_opens_at_the_callers_first_request() -> None:
    pipeline = pipeline_of({"type": "quota", "limit": 2, "per": "1m", "window": "fixed"})
    assert admits(pipeline, 30.0) and admits(pipeline, 31.0)
    refusal = pipeline.admit("track", "k0", "ip", 50.0, START + 50)
    assert refusal is not None and refusal.retry_after == 40  # the window ends at 90
    assert not admits(pipeline, 89.9)
    assert admits(pipeline, 90.0) and admits(pipeline, 140.0)  # a new window from 90
    assert not admits(pipeline, 149.0)
    assert admits(pipeline, 150.0)


def test_daily_quota_resets_at_its_reset_time_in_its_time_zone() -> None:
    # START is 05:00 GMT = 00:00 at -05:00: the local day has just begun
    pipeline = pipeline_of({"type": "quota", "limit": 1, "per": "1d", "utc_offset": "-05:00"})
    assert admits(pipeline, 0.0)
    refusal = pipeline.admit("track", "k0", "ip", 3600.0, START + 3600)
    assert refusal is not None and refusal.retry_after == 23 * 3600
    assert refusal.cause == "quota:1d"
    assert not admits(pipeline, 86399.0)
    assert admits(pipeline, 86400.0)
    at_six = pipeline_of({"type": "quota", "limit": 1, "per": "1d", "reset_at": "06:30"})
    assert admits(at_six, 0.0)  # 05:00 GMT, day since yesterday 06:30
    assert not admits(at_six, 5399.0)
    assert admits(at_six, 5400.0)  # 06:30 GMT


def test_hourly_quota_with_reset_minute() -> None:
    pipeline = pipeline_of({"type": "quota", "limit": 2, "per": "1h", "reset_at": "00:15"})
    assert admits(pipeline, 0.0) and admits(pipeline, 100.0)
    refusal = pipeline.admit("track", "k0", "ip", 200.0, START + 200)
    assert refusal is not None and refusal.retry_after == 900 - 200  # resets at 05:15
    assert admits(pipeline, 900.0)


def test_quota_scopes_key_ip_and_global() -> None:
    per_key = pipeline_of({"type": "quota", "limit": 1, "per": "1m", "scope": "key"})
    assert admits(per_key, 0.0, "k0", "a") and admits(per_key, 0.0, "k1", "a")
    assert not admits(per_key, 0.0, "k0", "b")
    per_ip = pipeline_of({"type": "quota", "limit": 1, "per": "1m", "scope": "ip"})
    assert admits(per_ip, 0.0, "k0", "a") and admits(per_ip, 0.0, "k0", "b")
    assert not admits(per_ip, 0.0, "k1", "a")
    shared = pipeline_of({"type": "quota", "limit": 2, "per": "1m", "scope": "global"})
    assert admits(shared, 0.0, "k0", "a") and admits(shared, 0.0, "k1", "b")
    assert not admits(shared, 0.0, "k2", "c")


def test_per_endpoint_quotas_and_key_ip_filters() -> None:
    pipeline = pipeline_of(
        {"type": "quota", "limit": 1, "per": "1m", "routes": ["batch"]},
        {"type": "quota", "limit": 1, "per": "1m", "keys": ["k9"]},
        {"type": "quota", "limit": 1, "per": "1m", "ips": ["6.6.6.6"]},
    )
    assert all(admits(pipeline, 0.0) for _ in range(5))  # track, k0, 10.0.0.1: no quota
    assert pipeline.admit("batch", "k0", "ip", 0.0, START) is None
    assert pipeline.admit("batch", "k0", "ip", 0.0, START) is not None
    assert admits(pipeline, 0.0, key="k9") and not admits(pipeline, 0.0, key="k9")
    assert admits(pipeline, 0.0, ip="6.6.6.6") and not admits(pipeline, 0.0, ip="6.6.6.6")


def test_sliding_quota_memory_is_bounded_per_caller_and_overall() -> None:
    quota = Quota(limit=10_000, per=86400.0, window="sliding")
    for i in range(200):
        for j in range(200):
            quota.take(f"ip-{i}", float(i * 200 + j), START)
    logs = quota.state.logs
    assert len(logs) <= logs.capacity <= 4096
    assert logs.capacity * 10_000 <= 500_000
    assert sum(len(q) for q in logs.entries.values()) <= 500_000


# -- blocks --------------------------------------------------------------------------------------


def test_repeated_bans_escalate_and_end_permanent() -> None:
    pipeline = pipeline_of(
        {"type": "quota", "limit": 1, "per": "1d", "window": "fixed"},
        {
            "type": "block",
            "violations": 2,
            "within": "1m",
            "escalate": ["10m", "2h"],
            "permanent": True,
        },
    )
    t = 0.0
    assert admits(pipeline, t)
    lengths = []
    for _ in range(3):
        assert not admits(pipeline, t) and not admits(pipeline, t)  # two violations: banned
        ban = pipeline.admit("track", "k0", "ip", t + 1, START + t + 1)
        assert ban is not None and ban.kind == "ban" and ban.status == 403
        lengths.append(ban.retry_after + 1)
        if ban.retry_after == PERMANENT_RETRY_AFTER:
            break
        t += ban.retry_after + 1  # just after the ban: the quota still refuses
    assert lengths == [600, 7200, PERMANENT_RETRY_AFTER + 1]
    assert not admits(pipeline, 1e9)
    assert admits(pipeline, 1e9, key="k1")  # per key


def test_ban_memory_decays_after_the_cooldown() -> None:
    block = Block(violations=1, within=60.0, lengths=(100.0, 1000.0), cooldown=3600.0)
    assert block.violation("k0", 0.0)
    assert block.banned_for("k0", 0.0) == 100.0
    assert block.violation("k0", 200.0)  # second ban, 100 s after the first ended
    assert block.banned_for("k0", 200.0) == 1000.0
    assert block.violation("k0", 1200.0 + 3600.0)  # an hour of good behaviour: first length
    assert block.banned_for("k0", 4800.0) == 100.0
    assert block.violation("k0", 4900.0 + 3599.0)  # not quite an hour: escalates again
    assert block.banned_for("k0", 8499.0) == 1000.0


def test_ban_forms_and_the_block_status() -> None:
    for form, hang in (("waf", 0.0), ("reset", 0.0), ("hang", 45.0)):
        pipeline = pipeline_of(
            {"type": "quota", "limit": 1, "per": "1m"},
            {
                "type": "block",
                "violations": 1,
                "within": "1m",
                "ban": "5m",
                "status": 401,
                "form": form,
                "hang": "45s",
                "scope": "ip",
            },
        )
        assert admits(pipeline, 0.0)
        first = pipeline.admit("track", "k0", "ip", 0.0, START)
        assert first is not None and first.kind == "quota" and first.form == "reply"
        ban = pipeline.admit("track", "k1", "ip", 1.0, START + 1)  # per ip: other keys too
        assert ban is not None
        assert (ban.kind, ban.status, ban.cause, ban.retry_after) == ("ban", 401, "ban", 299)
        assert (ban.form, ban.hang_s) == (form, hang)


# -- shared fields, describe, config -------------------------------------------------------------


def test_recurring_active_window_every_evening() -> None:
    pipeline = pipeline_of(
        {"type": "latency", "delay": "1s", "active": {"every": "1d", "from": "18:00", "for": "4h"}}
    )
    evening = next_utc_midnight(START) - 6 * 3600 - START  # run second of 18:00 GMT
    assert pipeline.delay("track", evening - 1) == 0.0
    assert pipeline.delay("track", evening) == 1.0
    assert pipeline.delay("track", evening + 4 * 3600 - 1) == 1.0
    assert pipeline.delay("track", evening + 4 * 3600) == 0.0
    assert pipeline.delay("track", evening + 86400 + 60) == 1.0  # the next evening too


def test_recurring_window_gates_a_quota_in_local_time() -> None:
    pipeline = pipeline_of(
        {
            "type": "quota",
            "limit": 1,
            "per": "1m",
            "active": {"every": "1d", "from": "00:00", "for": "1h", "utc_offset": "-05:00"},
        }
    )
    # START is local midnight at -05:00: the quota binds for the first hour only
    assert admits(pipeline, 0.0) and not admits(pipeline, 1.0)
    assert admits(pipeline, 3600.0) and admits(pipeline, 3600.0)


def test_describe_round_trips_through_the_spec_parser() -> None:
    given = [
        {"type": "latency", "distribution": "uniform", "min": "1s", "max": "2s"},
        {"type": "quota", "limit": 3, "per": "1d", "reset_at": "06:00", "utc_offset": "+01:00"},
        {"type": "block", "violations": 2, "within": "1m", "escalate": ["10m", "2h"]},
        {"type": "fault", "kind": "truncated", "cut": 0.25, "routes": ["batch"]},
        {"type": "latency", "delay": 1, "active": {"every": "1d", "from": "18:00", "for": "4h"}},
    ]
    pipeline = pipeline_of(*given)
    described = pipeline.describe()
    assert described[1] == {
        "type": "quota",
        "limit": 3,
        "per": 86400.0,
        "reset_at": "06:00",
        "utc_offset": "+01:00",
    }
    assert described[2]["escalate"] == [600.0, 7200.0]
    assert described[4]["active"] == {"every": 86400.0, "from": "18:00", "for": 14400.0}
    assert parse_behaviours(described) == spec_behaviours(*given).behaviours
    fleet = FleetSpec.model_validate({"carriers": [{"name": "a", "behaviours": given}]})
    assert FleetSpec.model_validate(fleet.model_dump(mode="json")) == fleet  # fleet.json


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "block", "violations": 1, "within": "1m"}, "needs 'ban'"),
        ({"type": "quota", "limit": 1, "per": "1d", "reset_at": "25:00"}, "time of day"),
        ({"type": "quota", "limit": 1, "per": "1d", "utc_offset": "EST"}, "UTC offset"),
        ({"type": "quota", "limit": 1, "per": "1s", "window": "rolling"}, "window"),
        ({"type": "fault", "kind": "5xx", "status": 404}, "status"),
        ({"type": "latency", "distribution": "uniform", "min": 2, "max": 1}, "max must be"),
        ({"type": "latency", "active": {"every": "1d"}}, "needs 'for'"),
    ],
)
def test_bad_specs_are_rejected_with_a_reason(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_behaviours([spec])


def test_a_pipeline_without_behaviours_does_nothing() -> None:
    pipeline = build_pipeline((), "1:acme")
    assert not pipeline.tracks_inflight and pipeline.describe() == []
    assert pipeline.admit("track", "k0", "ip", 0.0, START) is None
    pipeline.release("track", "k0", "ip", 0.0)
    assert pipeline.delay("track", 0.0) == 0.0 and pipeline.mangle("track", 0.0) is None
    assert pipeline.inflight == 0
