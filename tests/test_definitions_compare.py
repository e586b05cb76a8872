"""Candidate comparison statistics pinned on hand-made samples: peakbench/report/compare.py."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peakbench.measure.outages import Outage
from peakbench.measure.samples import OrderSample, RunSamples
from peakbench.report import compare as cmp
from peakbench.report.bootstrap import _Arrays, _Column, _Sorted, _weights
from peakbench.report.compare import (
    BETTER,
    METRICS,
    SAME,
    UNMEASURED,
    WORSE,
    _interval,
    _verdict,
    compare,
)
from peakbench.report.comparison import format_value, plan_note

NAN = math.nan


def _run(
    name: str,
    orders: tuple[OrderSample, ...],
    seed: int = 1,
    plan: str = "p",
    outages: tuple[Outage, ...] = (),
    valid: bool = True,
    reasons: tuple[str, ...] = (),
) -> RunSamples:
    return RunSamples(
        root=Path("/runs") / name,
        profile="bf",
        seed=seed,
        plan=plan,
        end=86400.0,
        stale_after=3600.0,
        resolution_s=0.5,
        orders=orders,
        outages=outages,
        valid=valid,
        invalid_reasons=reasons,
    )


ORDERS = (
    OrderSample(1, done=True, shipped=True, staleness=(10.0, 20.0), stale_views=1,
                refresh=(5.0,), complaints=0.2, outage_s=100.0, outage_hit=True),
    OrderSample(2, done=True, shipped=True, staleness=(30.0,), refresh=(7.0, 9.0),
                complaints=0.1),
    OrderSample(3, done=True),
    OrderSample(4),
)  # fmt: skip


def _arrays(orders: tuple[OrderSample, ...] = ORDERS) -> _Arrays:
    run = _run("a", orders)
    return _Arrays.build(run, {ref: i for i, ref in enumerate(sorted(run.refs))})


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(
        (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y)
        for x, y in zip(a, b, strict=True)
    )


def test_metrics_of_a_run_counted_once() -> None:
    assert _arrays().stats([1, 1, 1, 1]) == pytest.approx(
        (20.0, 30.0, 9.0, 1 / 3, 100.0, 50.0, 0.5)
    )


def test_metrics_of_a_resample_weight_each_order() -> None:
    assert _arrays().stats([2, 0, 1, 1]) == pytest.approx(
        (10.0, 20.0, 5.0, 0.5, 1000 * 0.4 / 3, 100.0, 1.0)
    )


def test_percentiles_of_a_run_are_nearest_rank() -> None:
    values = tuple(float(v) for v in range(100, 0, -1))
    one = _arrays((OrderSample(1, done=True, shipped=True, staleness=values, refresh=values),))
    assert one.stats([1])[:3] == (50.0, 95.0, 95.0)


def test_metrics_without_samples_are_nan() -> None:
    assert _same(_arrays().stats([0, 0, 0, 4]), (NAN,) * 7)
    assert _same(_arrays().stats([0, 0, 4, 0]), (NAN, NAN, NAN, NAN, 0.0, NAN, NAN))


def _nearest_rank(values: list[float], owners: list[int], w: list[int], p: float) -> float:
    expanded = sorted(v for v, o in zip(values, owners, strict=True) for _ in range(w[o]))
    if not expanded:
        return NAN
    return expanded[max(1, math.ceil(p * len(expanded) / 100)) - 1]


@settings(max_examples=60)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 5)), max_size=120),
    st.lists(st.integers(0, 3), min_size=6, max_size=6),
    st.sampled_from([1, 50, 90, 95, 99, 100]),
)
def test_weighted_percentile_is_the_nearest_rank_of_the_resample(
    pairs: list[tuple[int, int]], w: list[int], p: float
) -> None:
    pairs = [(float(v), i) for v, i in pairs]
    values, owners = [v for v, _ in sorted(pairs)], [i for _, i in sorted(pairs)]
    got = _Sorted.build(list(pairs), 6).percentile(w, p, sum(w))
    want = _nearest_rank(values, owners, w, p)
    assert (math.isnan(got) and math.isnan(want)) or got == want


def test_a_high_percentile_in_a_long_tail_walks_past_the_window() -> None:
    # 200 values of one order, weight 0, then one heavy order at the bottom: the answer lies
    # below the window the top walk looks at
    pairs = [(float(v), 0) for v in range(1, 201)] + [(0.0, 1)]
    s = _Sorted.build(pairs, 2)
    assert s.percentile([0, 5], 99, 5) == 0.0
    assert s.percentile([1, 0], 99, 1) == 198.0
    assert s.percentile([1, 0], 50, 1) == 100.0


@settings(max_examples=30)
@given(st.lists(st.floats(-1e3, 1e3), max_size=20), st.data())
def test_a_column_total_is_the_weighted_sum(values: list[float], data: st.DataObject) -> None:
    w = data.draw(st.lists(st.integers(0, 4), min_size=len(values), max_size=len(values)))
    col = _Column.build(values)
    assert col.total(w, sum(w)) == pytest.approx(
        sum(a * b for a, b in zip(w, values, strict=True)), abs=1e-6
    )


def test_a_column_keeps_the_commonest_value_as_its_base() -> None:
    col = _Column.build([0.0, 3.0, 0.0, 0.0, 5.0])
    assert (col.base, col.index, col.delta) == (0.0, [1, 4], [3.0, 5.0])
    assert _Column.build([]).base == 0.0 and _Column.build([2.0, 2.0]).index == []


def test_weights_draw_n_orders_with_replacement() -> None:
    w = _weights(random.Random(4), 50)
    assert len(w) == 50 and sum(w) == 50 and all(x >= 0 for x in w)
    assert w == _weights(random.Random(4), 50)
    assert max(w) > 1  # with replacement: 50 draws of 50 orders repeat one (p ≈ 1 − 3e-21)
    assert _weights(random.Random(0), 1) == [1]
    # the same seed draws the same resample on every machine and version (unsigned words)
    assert _weights(random.Random(4), 10) == [0, 2, 1, 2, 0, 0, 0, 2, 1, 2]
    counts = [0] * 5
    for _ in range(400):
        for i, x in enumerate(_weights(random.Random(_), 5)):
            counts[i] += x
    assert all(330 < c < 470 for c in counts)  # every order drawn about 400 times


def test_interval_takes_the_tails_of_the_sorted_differences() -> None:
    diffs = [float(x) for x in range(100)]
    random.Random(1).shuffle(diffs)
    assert _interval(diffs, 0.75) == (12.0, 87.0)
    assert _interval(diffs, 0.50) == (25.0, 74.0)
    assert _interval([*diffs, NAN], 0.75) == (12.0, 87.0)
    assert _interval([3.0], 0.95) == (3.0, 3.0)
    assert _interval([NAN, NAN], 0.95) is None and _interval([], 0.95) is None
    assert _interval([1.0, 2.0], 1.0) == (1.0, 2.0)


def test_verdicts_at_the_edges_of_zero() -> None:
    assert _verdict(None) == UNMEASURED
    assert _verdict((-1.0, 1.0)) == SAME
    assert _verdict((0.0, 1.0)) == SAME and _verdict((-1.0, 0.0)) == SAME
    assert _verdict((-2.0, -1e-9)) == BETTER
    assert _verdict((1e-9, 2.0)) == WORSE


def _shifted(delta: float) -> tuple[OrderSample, ...]:
    return tuple(
        OrderSample(
            ref,
            done=True,
            shipped=True,
            staleness=(100.0 * ref + delta, 50.0 + delta),
            stale_views=1 if delta else 0,
            refresh=(10.0 * ref + delta,),
            complaints=0.1 + delta / 1000,
            outage_s=delta,
            outage_hit=bool(delta),
        )
        for ref in range(1, 21)
    )


def test_a_uniformly_worse_candidate_is_worse_on_every_metric() -> None:
    result = compare([_run("base", _shifted(0.0)), _run("cand", _shifted(60.0))], resamples=200)
    (pair,) = result.pairs
    assert pair.paired and pair.same_plan and result.same_plan and result.any_worse
    assert [m.verdict for m in pair.metrics] == [WORSE] * 7
    by = {m.metric.key: m for m in pair.metrics}
    assert by["staleness_p95"].diff == pytest.approx(60.0)
    assert by["staleness_p95"].low == pytest.approx(60.0)
    assert by["staleness_p95"].high == pytest.approx(60.0)
    assert by["complaints_per_1000"].baseline == pytest.approx(100.0)
    assert by["complaints_per_1000"].candidate == pytest.approx(160.0)
    assert by["outage_orders_share"].diff == 1.0
    assert pair.verdict("stale_views_share") == WORSE
    better = compare([_run("base", _shifted(60.0)), _run("cand", _shifted(0.0))], resamples=50)
    assert [m.verdict for m in better.pairs[0].metrics] == [BETTER] * 7
    assert not better.any_worse


def test_identical_runs_differ_by_exactly_nothing() -> None:
    result = compare([_run("a", ORDERS), _run("b", ORDERS)], resamples=100, seed=9)
    for m in result.pairs[0].metrics:
        assert (m.diff, m.low, m.high, m.verdict) == (0.0, 0.0, 0.0, SAME)
    assert not result.any_worse and result.resamples == 100 and result.seed == 9


def test_a_metric_nobody_measured_is_not_measured() -> None:
    quiet = (OrderSample(1, done=True), OrderSample(2, done=True))
    (pair,) = compare([_run("a", quiet), _run("b", quiet)], resamples=20).pairs
    by = {m.metric.key: m for m in pair.metrics}
    m = by["staleness_p95"]
    assert (m.baseline, m.candidate, m.diff, m.low, m.high) == (None,) * 5
    assert m.verdict == UNMEASURED
    assert by["complaints_per_1000"].verdict == SAME
    # measured in one run only: still not measured as a change
    (pair,) = compare([_run("a", quiet), _run("b", ORDERS)], resamples=20).pairs
    m = next(m for m in pair.metrics if m.metric.key == "staleness_p95")
    assert m.verdict == UNMEASURED and m.baseline is None and m.candidate == 30.0


def test_intervals_hold_jointly_bonferroni(monkeypatch: pytest.MonkeyPatch) -> None:
    levels: list[float] = []
    real = cmp._interval

    def spy(diffs: list[float], confidence: float) -> tuple[float, float] | None:
        levels.append(confidence)
        return real(diffs, confidence)

    monkeypatch.setattr(cmp, "_interval", spy)
    compare([_run("a", ORDERS), _run("b", ORDERS)], resamples=10, confidence=0.9)
    assert levels == pytest.approx([1 - 0.1 / len(METRICS)] * len(METRICS))


def test_runs_of_other_plans_are_resampled_apart_and_warned_about() -> None:
    base = _run("base", _shifted(0.0), seed=1, plan="p")
    other_seed = _run("s2", _shifted(0.0), seed=2, plan="p")
    other_plan = _run("q", _shifted(0.0), seed=1, plan="q")
    no_plan = _run("np", _shifted(0.0), seed=1, plan="")
    fewer = _run("few", _shifted(0.0)[:10], seed=1, plan="p")
    result = compare([base, other_seed, other_plan, fewer], resamples=30)
    assert [(p.paired, p.same_plan) for p in result.pairs] == [
        (False, False),
        (False, False),
        (False, True),
    ]
    assert not result.same_plan
    assert result.warnings == (
        "s2 did not replay the baseline's schedule (seed 1 vs 2): differences mix the change "
        "of plan with the change of candidate, and orders are not paired",
        "q did not replay the baseline's schedule (the same seed but different schedules): "
        "differences mix the change of plan with the change of candidate, and orders are not "
        "paired",
    )
    assert not compare([no_plan, no_plan], resamples=5).pairs[0].same_plan
    assert [m.verdict for m in result.pairs[0].metrics] == [SAME] * 7
    assert plan_note(result) == (
        "WARNING: the runs did not replay the same seed and schedule (see warnings)"
    )
    paired = compare([base, base], resamples=5)
    assert plan_note(paired) == ("same seed (1) and schedule (p) in every run: orders are paired")


def test_invalid_runs_are_warned_about_with_their_reasons() -> None:
    bad = _run("bad", ORDERS, valid=False, reasons=("late", "partial"))
    silent = _run("silent", ORDERS, valid=False)
    result = compare([bad, silent], resamples=5)
    assert result.warnings == (
        "bad is not a valid run (INVALID: late; partial)",
        "silent is not a valid run (INVALID: invalid)",
    )


def test_compare_needs_two_runs() -> None:
    with pytest.raises(
        ValueError, match=r"^compare needs at least two runs: a baseline and a candidate$"
    ):
        compare([_run("a", ORDERS)])


def test_run_info() -> None:
    outages = (Outage("ups", 0, 100, "ban", 3, False), Outage("dhl", 50, 350, "ban", 1, True))
    result = compare([_run("a", ORDERS, outages=outages), _run("b", ORDERS)], resamples=5)
    info = result.runs[0]
    assert info == cmp.RunInfo(
        name="a",
        path=str(Path("/runs/a")),
        profile="bf",
        seed=1,
        plan="p",
        orders=3,
        views=3,
        longest_outage_s=300.0,
        outage_s=400.0,
        valid=True,
        verdict="FAILED",  # valid, but these samples carry no passed gate
        reason="",
        folder="a",
    )
    assert result.runs[1].longest_outage_s == 0.0 and result.runs[1].outage_s == 0.0
    assert result.pairs[0].baseline == info


def _metric(unit: str) -> Any:
    return next(m for m in METRICS if m.unit == unit)


def test_values_for_people() -> None:
    s, share, count = _metric("s"), _metric("share"), _metric("count")
    assert format_value(s, None) == "–" and format_value(share, None, True) == "–"
    assert format_value(s, 5400.0) == "1h30m"
    assert format_value(s, 5400.0, True) == "+1h30m"
    assert format_value(s, -90.0, True) == "−1m30s"
    assert format_value(s, 0.0, True) == "±0ms"
    assert format_value(share, 0.125) == "12.5%"
    assert format_value(share, -0.125) == "-12.5%"
    assert format_value(share, 0.125, True) == "+12.5%"
    assert format_value(share, -0.125, True) == "−12.5%"
    assert format_value(count, 3.25) == "3.2"
    assert format_value(count, -3.0, True) == "−3.0"
    assert format_value(count, 0.0, True) == "±0.0"


def _noisy(seed: int, shift: float) -> tuple[OrderSample, ...]:
    rng = random.Random(seed)
    return tuple(
        OrderSample(
            ref,
            done=True,
            shipped=True,
            staleness=tuple(rng.uniform(0, 3600) + shift for _ in range(3)),
            refresh=(rng.uniform(0, 600),),
            complaints=rng.random() / 10,
        )
        for ref in range(1, 31)
    )


def test_the_bootstrap_is_seeded_and_its_intervals_ordered() -> None:
    runs = [_run("a", _noisy(1, 0.0)), _run("b", _noisy(2, 0.0))]
    first = compare(runs, resamples=200, seed=3)
    assert first == compare(runs, resamples=200, seed=3)
    assert first != compare(runs, resamples=200, seed=4)
    assert first.confidence == 0.95 and first.pairs[0].candidate == first.runs[1]
    m = next(m for m in first.pairs[0].metrics if m.metric.key == "staleness_p50")
    assert m.low is not None and m.high is not None and m.diff is not None
    assert m.low < m.diff < m.high and m.verdict == SAME


def test_compare_defaults() -> None:
    result = compare([_run("a", ORDERS), _run("b", ORDERS)])
    assert (result.resamples, result.confidence, result.seed) == (2000, 0.95, 0)


def test_each_run_carries_its_verdict() -> None:
    from dataclasses import replace

    passed = replace(_run("ok", ORDERS), slo_passed=True)
    crashed = replace(_run("gone", ORDERS), has_summary=False)
    runs = compare([passed, crashed], resamples=5).runs
    assert (runs[0].verdict, runs[0].reason) == ("PASSED", "")
    assert (runs[1].verdict, runs[1].reason) == (
        "CRASHED",
        "no summary.json: the run never finished",
    )
