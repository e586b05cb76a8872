"""The complaint curve pinned at its edge and shape: peakbench/measure/patience.py."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peakbench.config.profile import PatienceSpec
from peakbench.measure.patience import complaint_probability

SPEC = PatienceSpec(midpoint=36 * 3600.0, width=8 * 3600.0, max_probability=0.79)


def test_no_stall_no_complaint() -> None:
    assert complaint_probability(SPEC, 0.0) == 0.0
    assert complaint_probability(SPEC, -5.0) == 0.0
    # just past zero the logistic curve is small but not zero
    tiny = complaint_probability(SPEC, 1e-9)
    assert tiny == pytest.approx(0.79 / (1 + math.exp(4.5)))


def test_the_curve_is_half_its_ceiling_at_the_midpoint() -> None:
    assert complaint_probability(SPEC, 36 * 3600.0) == pytest.approx(0.395, abs=1e-12)


def test_the_curve_at_one_width_either_side() -> None:
    above = complaint_probability(SPEC, 44 * 3600.0)
    below = complaint_probability(SPEC, 28 * 3600.0)
    assert above == pytest.approx(0.79 / (1 + math.exp(-1)), abs=1e-12)
    assert below == pytest.approx(0.79 / (1 + math.exp(1)), abs=1e-12)
    assert above + below == pytest.approx(0.79, abs=1e-12)  # symmetric about the midpoint


def test_the_default_curve_after_one_and_three_days_without_movement() -> None:
    assert complaint_probability(SPEC, 24 * 3600.0) == pytest.approx(0.1441, abs=1e-4)
    assert complaint_probability(SPEC, 72 * 3600.0) == pytest.approx(0.7813, abs=1e-4)
    assert PatienceSpec() == SPEC  # the defaults are the curve pinned here


def test_a_steep_curve_neither_overflows_nor_leaves_its_bounds() -> None:
    steep = PatienceSpec(midpoint=36 * 3600.0, width=0.001, max_probability=0.5)
    assert complaint_probability(steep, 1.0) == 0.5 / (1 + math.exp(60.0))
    assert complaint_probability(steep, 1e9) == 0.5


@given(st.floats(0.0, 1e7), st.floats(0.0, 1e7))
def test_the_curve_never_falls_and_stays_below_its_ceiling(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    p_lo, p_hi = complaint_probability(SPEC, lo), complaint_probability(SPEC, hi)
    assert 0.0 <= p_lo <= p_hi <= SPEC.max_probability


def test_a_zero_width_curve_is_a_step_at_the_midpoint() -> None:
    step = PatienceSpec(midpoint=3600.0, width=0.0, max_probability=0.6)
    assert complaint_probability(step, 3599.0) == 0.6 / (1 + math.exp(60.0))
    assert complaint_probability(step, 3600.0) == 0.3
    assert complaint_probability(step, 3601.0) == 0.6


def test_a_narrow_curve_is_still_logistic() -> None:
    narrow = PatienceSpec(midpoint=100.0, width=0.5, max_probability=0.5)
    assert complaint_probability(narrow, 100.25) == 0.5 / (1 + math.exp(-0.5))
