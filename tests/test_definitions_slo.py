"""The readiness gate pinned at its boundaries: peakbench/measure/slo.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peakbench.config.gauges import (
    GAUGES,
    Relative,
    _dist,
    check_relative,
    parse_relative,
    split_relative,
)
from peakbench.config.profile import SloSpec
from peakbench.measure.slo import (
    BaselineError,
    Check,
    checks,
    evaluate,
    load_baseline,
    needs_baseline,
    regate,
)

DURATION = GAUGES["staleness_p95"]
SHARE = GAUGES["stale_views_share"]
COUNT = GAUGES["complaints_per_1000_orders"]


def _summary(st95: float | None = 1800.0, share: float | None = 0.02, **extra: Any) -> dict:
    return {
        "profile": "bf",
        "staleness_s": {"count": 10, "p95": st95},
        "stale_views_share": share,
        "complaints": {"expected_per_1000_orders": 4.0},
        "valid": True,
        **extra,
    }


# --- absolute bounds ---------------------------------------------------------------------------


def test_a_value_exactly_at_its_limit_passes() -> None:
    (check,) = checks(SloSpec(staleness_p95=1800), _summary(st95=1800))
    assert check.passed and check.message == ("staleness p95 = 30m, within the limit 30m (≤ 30m)")
    (check,) = checks(SloSpec(staleness_p95=1799.999), _summary(st95=1800))
    assert not check.passed


def test_a_share_limit_reads_as_a_number_not_a_duration() -> None:
    (check,) = checks(SloSpec(stale_views_share=0.05), _summary(share=0.05))
    assert check == Check(
        name="stale_views_share",
        label="share of views stale beyond slo.stale_after",
        duration=False,
        value=0.05,
        threshold=0.05,
        passed=True,
        rule="≤ 0.05",
        samples=10,  # the views behind the share
    )
    assert check.note == "" and check.baseline is None


def test_a_figure_without_samples_fails_and_says_so() -> None:
    (check,) = checks(SloSpec(staleness_p95=3600), _summary(st95=None))
    assert not check.passed and check.value is None
    assert check.message == "staleness p95: no samples in this run"
    (check,) = checks(SloSpec(staleness_p95=3600), {"staleness_s": None})
    assert check.message == "staleness p95: no samples in this run"


def test_figures_are_read_from_their_place_in_the_summary() -> None:
    read = _dist("staleness_s", "p95")
    assert read({"staleness_s": {"p95": 7.5, "p50": 1.0}}) == 7.5
    assert read({"staleness_s": None}) is None and read({}) is None
    assert COUNT.read(_summary()) == 4.0 and COUNT.read({}) is None
    assert GAUGES["longest_outage"].read({"longest_outage_s": 60.0}) == 60.0


def test_check_formats_and_json() -> None:
    check = Check("n", "a label", False, 0.25, 0.5, True, "≤ 0.5", baseline=0.1)
    assert check.fmt(None) == "–" and check.fmt(0.25) == "0.25" and check.fmt(3600) == "3600"
    assert Check("n", "l", True, 1, 1, True, "r").fmt(3600) == "1h"
    assert check.to_json() == {
        "name": "n",
        "threshold": 0.5,
        "value": 0.25,
        "passed": True,
        "rule": "≤ 0.5",
        "baseline": 0.1,
        "message": "a label = 0.25, within the limit 0.5 (≤ 0.5)",
        "samples": None,
    }


# --- relative bounds ---------------------------------------------------------------------------


def test_parse_relative_signs_and_units() -> None:
    assert parse_relative("+10%", DURATION) == Relative("+10%", ratio=0.10)
    assert parse_relative("-5%", DURATION) == Relative("-5%", ratio=-0.05)
    assert parse_relative("+5m", DURATION) == Relative("+5m", delta=300.0)
    assert parse_relative("-5m", DURATION) == Relative("-5m", delta=-300.0)
    assert parse_relative("+0m", DURATION) == Relative("+0m", delta=0.0)  # no regression
    assert parse_relative(" +1.5 ", COUNT) == Relative("+1.5", delta=1.5)
    assert parse_relative("-0.02", SHARE) == Relative("-0.02", delta=-0.02)
    assert parse_relative("+2", COUNT) == Relative("+2", delta=2.0)
    assert parse_relative("+0", SHARE) == Relative("+0", delta=0.0)


@pytest.mark.parametrize(
    ("text", "gauge", "example"),
    [
        ("+fast", DURATION, "'+10%' or '+5m'"),
        ("55", COUNT, "'+10%' or '+0.5'"),
        ("5m", DURATION, "'+10%' or '+5m'"),
        ("X5", COUNT, "'+10%' or '+0.5'"),
        ("+", COUNT, "'+10%' or '+0.5'"),
        ("", COUNT, "'+10%' or '+0.5'"),
        ("+-1", COUNT, "'+10%' or '+0.5'"),
    ],
)
def test_parse_relative_refuses_with_one_line(text: str, gauge: Any, example: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_relative(text, gauge)
    assert str(err.value) == (
        f"{gauge.key}: expected a change from the baseline like {example}, got {text!r}"
    )


def test_a_relative_bound_without_change_is_the_baseline() -> None:
    assert Relative("+0").bound(5.0) == 5.0
    assert Relative("+10%", ratio=0.1).bound(100.0) == pytest.approx(110.0)
    assert Relative("-1m", delta=-60.0).bound(100.0) == 40.0


def test_a_negative_delta_demands_an_improvement() -> None:
    slo = SloSpec(baseline={"staleness_p95": "-5m"})
    base = _summary(st95=1800)
    (worse,) = checks(slo, _summary(st95=1800), base)
    assert not worse.passed and worse.threshold == 1500
    (better,) = checks(slo, _summary(st95=1500), base)
    assert better.passed


def test_no_regression_on_a_share_is_no_looser_than_the_baseline() -> None:
    slo = SloSpec(baseline={"stale_views_share": "+0"})
    (check,) = checks(slo, _summary(share=0.021), _summary(share=0.02))
    assert not check.passed and check.threshold == 0.02
    assert check.rule == "≤ baseline 0.02 +0"
    assert check.message == (
        "share of views stale beyond slo.stale_after vs baseline = 0.021, exceeds the limit "
        "0.02 (≤ baseline 0.02 +0)"
    )


def test_a_relative_check_in_full() -> None:
    slo = SloSpec(baseline={"stale_views_share": "+10%"})
    (check,) = checks(slo, _summary(share=0.0135), _summary(share=0.0123456789))
    assert check == Check(
        name="baseline.stale_views_share",
        label="share of views stale beyond slo.stale_after vs baseline",
        duration=False,
        value=0.0135,
        threshold=0.013580,  # rounded to 6 decimals
        passed=True,
        rule="≤ baseline 0.0123457 +10%",
        baseline=0.0123456789,
        samples=10,
    )
    assert check.note == ""


def test_a_relative_bound_holds_within_a_nanounit() -> None:
    slo = SloSpec(baseline={"stale_views_share": "+0"})
    (check,) = checks(slo, _summary(share=0.5 + 1e-9), _summary(share=0.5))
    assert check.passed
    (check,) = checks(slo, _summary(share=0.5 + 2e-9), _summary(share=0.5))
    assert not check.passed


def test_relative_checks_that_cannot_run_fail_and_say_why() -> None:
    slo = SloSpec(baseline={"staleness_p95": "+10%"})
    (alone,) = checks(slo, _summary())
    assert alone.rule == "≤ baseline – +10%" and alone.threshold is None
    assert alone.message == (
        "staleness p95 vs baseline: needs a baseline run for '+10%' (--baseline RUN or "
        "slo.baseline_run)"
    )
    (empty_base,) = checks(slo, _summary(), _summary(st95=None))
    assert not empty_base.passed
    assert empty_base.message == (
        "staleness p95 vs baseline: the baseline run has no usable value for it "
        "(no samples in this run)"
    )
    (no_samples,) = checks(slo, _summary(st95=None), _summary())
    assert not no_samples.passed and no_samples.threshold == 1980
    assert no_samples.message == "staleness p95 vs baseline: no samples in this run"
    assert no_samples.duration is True and no_samples.baseline == 1800


def test_evaluate_names_the_baseline_by_its_profile_without_a_name() -> None:
    slo = SloSpec(staleness_p95=3600)
    assert evaluate(slo, _summary(), _summary(), None)["baseline"] == "bf"
    assert evaluate(slo, _summary(), _summary(), "run-7")["baseline"] == "run-7"
    assert "baseline" not in evaluate(slo, _summary())


# --- profile syntax ----------------------------------------------------------------------------


def test_inline_relative_thresholds_join_the_explicit_baseline_section() -> None:
    data = {
        "staleness_p95": {"max": "1h", "baseline": "+10%"},
        "longest_outage": "-5m",
        "baseline": {"stale_views_share": "+0.01"},
    }
    assert split_relative(data) == {
        "staleness_p95": "1h",
        "longest_outage": None,
        "baseline": {
            "stale_views_share": "+0.01",
            "staleness_p95": "+10%",
            "longest_outage": "-5m",
        },
    }
    slo = SloSpec.model_validate(data)
    assert slo.baseline == {
        "stale_views_share": "+0.01",
        "staleness_p95": "+10%",
        "longest_outage": "-5m",
    }


def test_absolute_thresholds_are_left_alone() -> None:
    data = {"staleness_p95": "1h", "stale_views_share": 0.05, "refresh_latency_p95": "X"}
    assert split_relative(data) == data
    assert split_relative("not a mapping") == "not a mapping"
    assert split_relative({"baseline": {}, "staleness_p95": "30m"}) == {
        "baseline": {},
        "staleness_p95": "30m",
    }


def test_a_threshold_mapping_with_unknown_keys_is_refused() -> None:
    with pytest.raises(ValueError) as err:
        split_relative({"staleness_p95": {"max": "1h", "mx": 1, "base": 2}})
    assert str(err.value) == "staleness_p95: expected 'max' and/or 'baseline', got base, mx"


def test_unknown_relative_figures_are_refused_with_a_hint() -> None:
    known = ", ".join(GAUGES)
    with pytest.raises(ValueError) as err:
        check_relative({"stalenes_p95": "+10%"})
    assert str(err.value) == (
        f"unknown SLO 'stalenes_p95'; did you mean 'staleness_p95'? (known: {known})"
    )
    with pytest.raises(ValueError) as err:
        check_relative({"zzz": "+10%"})
    assert str(err.value) == f"unknown SLO 'zzz' (known: {known})"
    assert check_relative({"staleness_p95": "+5m"}) == {"staleness_p95": "+5m"}


def test_needs_baseline() -> None:
    assert not needs_baseline(SloSpec(staleness_p95=60))
    assert needs_baseline(SloSpec(baseline={"staleness_p95": "+10%"}))


# --- baseline runs -----------------------------------------------------------------------------


def test_a_baseline_must_say_it_is_valid(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"profile": "bf"}))
    with pytest.raises(BaselineError) as err:
        load_baseline(tmp_path)
    assert str(err.value) == f"baseline {tmp_path}: the run is invalid, it cannot be a baseline"
    summary.write_text("[1, 2]")
    with pytest.raises(BaselineError) as err:
        load_baseline(tmp_path)
    assert str(err.value) == f"baseline {tmp_path}: summary.json is not an object"
    summary.write_text(json.dumps(_summary()))
    assert load_baseline(tmp_path) == _summary()


def test_regate_without_a_baseline_reevaluates_absolute_checks() -> None:
    slo = SloSpec(staleness_p95=1000)
    gated = regate(slo, {**_summary(st95=900), "slo": {"passed": False}}, None)
    assert gated["slo"]["passed"] is True and "baseline" not in gated["slo"]
    assert gated["staleness_s"] == {"count": 10, "p95": 900}


# --- the gate is monotone in each threshold ----------------------------------------------------

_values = st.floats(0, 1e6, allow_nan=False)


@given(st.sampled_from(sorted(GAUGES)), _values, _values, _values)
def test_the_gate_is_monotone_in_each_absolute_threshold(
    key: str, value: float, a: float, b: float
) -> None:
    lo, hi = sorted((a, b))
    gauge = GAUGES[key]
    summary = {
        "refresh_latency_s": {"p50": value, "p95": value, "p99": value},
        "staleness_s": {"p50": value, "p95": value, "p99": value},
        "longest_outage_s": value,
        "stale_views_share": value,
        "complaints": {"expected_per_1000_orders": value},
    }
    if key == "stale_views_share":
        lo, hi, summary["stale_views_share"] = lo / 1e6, hi / 1e6, value / 1e6
    strict = evaluate(SloSpec(**{key: lo}), summary)["passed"]
    loose = evaluate(SloSpec(**{key: hi}), summary)["passed"]
    assert not strict or loose
    assert strict == (gauge.read(summary) <= lo)


@given(_values, _values, st.integers(-50, 200), st.integers(-50, 200))
def test_the_gate_is_monotone_in_each_relative_threshold(
    value: float, base: float, a: int, b: int
) -> None:
    lo, hi = sorted((a, b))
    results = []
    for pct in (lo, hi):
        slo = SloSpec(baseline={"staleness_p95": f"{'+' if pct >= 0 else '-'}{abs(pct)}%"})
        results.append(evaluate(slo, _summary(st95=value), _summary(st95=base))["passed"])
    assert not results[0] or results[1]


def test_a_figure_resting_on_no_samples_fails_whatever_its_value() -> None:
    summary = _summary(st95=5.0)
    summary["staleness_s"]["count"] = 0
    (check,) = checks(SloSpec(staleness_p95=3600), summary)
    assert not check.passed and check.samples == 0
    assert check.message.startswith("staleness p95: no samples in this run: ")
    summary["staleness_s"]["count"] = 1
    (check,) = checks(SloSpec(staleness_p95=3600), summary)
    assert check.passed and check.samples == 1
