from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from peakbench.config.loader import ProfileError
from peakbench.config.peak import PeakSpec
from peakbench.config.profile import Profile
from peakbench.plan import curvefile
from peakbench.plan.arrivals import order_rate, poisson_arrivals
from peakbench.plan.curves import HOUR, NAMES, hour_means, named
from peakbench.plan.planner import arrivals, build_plan, rate_of

# local midnight of each curve's first day (multi-day curves start on their first day)
STARTS = {"cyber-week": "2026-11-26T00:00:00-05:00", "singles-day": "2026-11-11T00:00:00+08:00"}
ZONES = {"singles-day": "Asia/Shanghai"}
PEAK = 3000.0  # orders in the busiest hour: enough volume for a sharp test, still < 1 s a curve


def _chi_square_bound(df: int, z: float = 3.09) -> float:
    """Wilson–Hilferty upper bound of chi-square with ``df`` degrees at p ≈ 0.001."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def _expected_by_curve(name: str) -> list[float]:
    """Expected orders per local hour, straight from the curve definition (single zone)."""
    curve = named(name)
    hours = round(curve.span / HOUR)
    means = hour_means(curve, hours)
    if name == "flash-sale":  # its spike: 15x the 20:00 rate for 10 minutes, on top
        means[20] += 14 * curve.value(20 * HOUR) * 600 / HOUR
    top = max(means)
    return [PEAK * m / top for m in means]


@pytest.mark.parametrize("name", NAMES)
def test_scheduled_arrivals_per_hour_follow_each_named_curve(
    name: str, make_profile: Callable[..., Profile]
) -> None:
    expected = _expected_by_curve(name)
    hours = len(expected)
    profile = make_profile(
        seed=11,
        clock={"start": STARTS.get(name, "2026-11-27T00:00:00-05:00"), "duration": f"{hours}h"},
        peak={
            "curve": name,
            "timezone": ZONES.get(name, "America/New_York"),
            "peak_orders_per_hour": PEAK,
            "order_window": None,
        },
    )
    rate = rate_of(profile)
    for h, e in enumerate(expected):  # the rate the schedule is drawn from is the curve's
        assert math.isclose(rate.expected(h * HOUR, (h + 1) * HOUR), e, rel_tol=1e-9), (name, h)
    counts = Counter(int(t // HOUR) for t in arrivals(profile, random.Random(profile.seed)))
    assert set(counts) <= set(range(hours))
    chi2 = sum((counts[h] - e) ** 2 / e for h, e in enumerate(expected) if e > 0)
    assert chi2 < _chi_square_bound(hours - 1), (name, chi2)
    for h, e in enumerate(expected):  # and no single hour is far off (Poisson z-score)
        assert abs(counts[h] - e) <= 4.5 * math.sqrt(max(e, 1.0)), (name, h, counts[h], e)


def test_the_schedule_uses_those_arrivals(make_profile: Callable[..., Profile]) -> None:
    profile = make_profile(peak={"curve": "black-friday"})
    orders = [i.t for i in build_plan(profile).items if i.kind == "order"]
    assert orders == [round(t, 3) for t in arrivals(profile, random.Random(profile.seed))]


def test_the_busiest_hour_carries_the_stores_peak(make_profile: Callable[..., Profile]) -> None:
    for name in NAMES:
        profile = make_profile(
            clock={"duration": "5d"},
            peak={"curve": name, "peak_orders_per_hour": 420, "order_window": None},
        )
        rate = rate_of(profile)
        top = max(rate.expected(m * 600, m * 600 + HOUR) for m in range(5 * 24 * 6))
        assert math.isclose(top, 420, rel_tol=1e-6), (name, top)


def test_a_campaign_spike_adds_up() -> None:
    start = datetime.fromisoformat("2026-11-27T00:00:00-05:00")
    spike = {"curve": "flash-sale", "at": "2026-11-27T18:00", "factor": 15, "for": "10m"}
    plain = order_rate(PeakSpec(curve="black-friday"), start, 24 * HOUR)
    both = order_rate(
        PeakSpec.model_validate({"curve": {"base": "black-friday", "add": [spike]}}),
        start,
        24 * HOUR,
    )
    at = 18 * HOUR  # run seconds = New York local seconds on this day
    base = both.rate_at(at - 1.0)
    assert math.isclose(both.rate_at(at + 1.0), 15 * base, rel_tol=1e-9)
    assert math.isclose(both.rate_at(at + 601.0), base, rel_tol=1e-9)
    # the spike is now the busiest hour, so the base is scaled down by a constant ratio
    ratio = base / plain.rate_at(at - 1.0)
    assert ratio < 1
    for h in range(24):
        if h != 18:
            assert math.isclose(
                both.expected(h * HOUR, (h + 1) * HOUR),
                ratio * plain.expected(h * HOUR, (h + 1) * HOUR),
                rel_tol=1e-9,
            )
    # composition adds up: base + (factor - 1) x base rate at 18:00 x 10 minutes
    extra = both.expected(0, 24 * HOUR) - ratio * plain.expected(0, 24 * HOUR)
    assert math.isclose(extra, 14 * base * 600, rel_tol=1e-9)
    assert math.isclose(both.expected(18 * HOUR, 19 * HOUR), both.busiest_hour, rel_tol=1e-9)
    # and the scheduled arrivals show it: 10 minutes at 15x
    times = [t for t in poisson_arrivals(both, random.Random(5)) if at <= t < at + 600]
    expected = 15 * base * 600
    assert abs(len(times) - expected) <= 4.5 * math.sqrt(expected)


def _busiest_run_hours(profile: Profile) -> set[int]:
    rate = rate_of(profile)
    per_hour = [rate.expected(h * HOUR, (h + 1) * HOUR) for h in range(30)]
    return {h for h, n in enumerate(per_hour) if math.isclose(n, max(per_hour))}


def test_the_time_zone_moves_the_peak_hour(make_profile: Callable[..., Profile]) -> None:
    def make(**peak: object) -> Profile:
        return make_profile(
            clock={"duration": "30h"}, peak={"curve": "cyber-monday", "order_window": "30h", **peak}
        )

    # run second 0 is midnight in New York; Cyber Monday peaks 20:00-22:00 local
    assert _busiest_run_hours(make(timezone="America/New_York")) == {20, 21}
    # Los Angeles: 3 hours later (and the previous evening's peak at run hour 0)
    assert _busiest_run_hours(make(timezone="America/Los_Angeles")) == {0, 23, 24}
    assert _busiest_run_hours(make(timezone="Europe/Berlin")) == {14, 15}
    # customers in two zones: both evening peaks show, in proportion to their shares
    mixed = rate_of(make(customer_zones={"America/New_York": 0.5, "America/Los_Angeles": 0.5}))
    ny_peak, la_peak = mixed.rate_at(20.5 * HOUR), mixed.rate_at(23.5 * HOUR)
    assert ny_peak > mixed.rate_at(12 * HOUR) and la_peak > mixed.rate_at(12 * HOUR)


def test_custom_csv_curve_is_replayed(make_profile: Callable[..., Profile]) -> None:
    profile = make_profile(
        clock={"duration": "24h"},
        peak={"curve": {"csv": "example-store"}, "peak_orders_per_hour": 600, "order_window": None},
    )
    spec = profile.peak.curve_spec
    assert spec.points and spec.day is not None and str(spec.day) == "2026-11-27"
    rate = rate_of(profile)
    # the busiest 60 minutes straddle the 19:00 campaign row: 18:30-19:30, 95/2 + 150/2 = 122.5
    assert math.isclose(rate.expected(18.5 * HOUR, 19.5 * HOUR), 600, rel_tol=1e-9)
    assert math.isclose(rate.expected(12 * HOUR, 13 * HOUR), 600 * 120 / 122.5, rel_tol=1e-9)
    assert math.isclose(rate.expected(23 * HOUR, 24 * HOUR), 600 * 45 / 122.5, rel_tol=1e-9)
    # the profile carries the rows: a run folder re-validates without the file
    again = Profile.model_validate({**profile.model_dump(mode="json")})
    assert again.peak.curve_spec.points == spec.points


def test_csv_errors_name_their_lines(tmp_path: Path) -> None:
    text = "# comment\noffset,rate\n0,10\n1h,abc\n2h,-1\n90m,5\n3h,4\n4h\n"
    with pytest.raises(ValueError) as err:
        curvefile.parse(text, "bad.csv")
    msg = str(err.value)
    assert "bad.csv:4: rate: expected a non-negative number, got 'abc'" in msg
    assert "bad.csv:5: rate" in msg
    assert "bad.csv:6: offset '90m' is not after the row on line 3" not in msg  # 1h row failed
    assert "bad.csv:8: expected 2 columns, got 1" in msg
    with pytest.raises(ValueError, match=r"bad.csv:1: expected the header"):
        curvefile.parse("time,rate\n0,1\n", "bad.csv")
    with pytest.raises(ValueError, match=r"bad.csv:3: timestamp '2026-11-27T01:00\+01:00'"):
        curvefile.parse("timestamp,rate\n2026-11-27T00:00,1\n2026-11-27T01:00+01:00,2\n", "bad.csv")
    with pytest.raises(ValueError, match=r"bad.csv:3: offset '1h' is not after the row on line 2"):
        curvefile.parse("offset,rate\n2h,1\n1h,2\n", "bad.csv")


def test_a_bad_csv_fails_profile_validation_with_its_line(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("offset,rate\n0,1\n1h,lots\n2h,1\n")
    with pytest.raises(ProfileError) as err:
        make_profile(peak={"curve": {"csv": str(path)}})
    assert f"{path}:3: rate: expected a non-negative number, got 'lots'" in str(err.value)
    with pytest.raises(ProfileError, match="curve file 'nowhere' not found"):
        make_profile(peak={"curve": {"csv": "nowhere"}})
