from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from peakbench.config.profile import Profile
from peakbench.curves import CURVES, expected_orders
from peakbench.planner import build_plan
from peakbench.timeline import parse_tracking_number


def test_curves_have_a_day_mean_of_one() -> None:
    for name, mult in CURVES.items():
        assert len(mult) == 24, name
        assert math.isclose(sum(mult) / 24, 1.0, rel_tol=0.02), name


def test_plans_are_deterministic(make_profile: Callable[..., Profile]) -> None:
    profile = make_profile()
    assert build_plan(profile) == build_plan(profile)
    assert build_plan(profile) != build_plan(make_profile(seed=8))


def test_black_friday_arrivals_follow_the_curve(make_profile: Callable[..., Profile]) -> None:
    profile = make_profile(
        clock={"duration": "24h"},
        peak={"curve": "black-friday", "peak_orders_per_hour": 600, "order_window": "24h"},
    )
    plan = build_plan(profile)
    zone = ZoneInfo("America/New_York")
    start = profile.clock.start.astimezone(UTC)
    per_hour: Counter[int] = Counter()
    for item in plan.items:
        if item.kind == "order":
            per_hour[(start + timedelta(seconds=item.t)).astimezone(zone).hour] += 1
    mult = CURVES["black-friday"]
    for hour in range(24):
        expected = 600 * mult[hour] / max(mult)
        # Poisson: 4 standard deviations
        assert abs(per_hour[hour] - expected) <= 4 * math.sqrt(expected), (hour, per_hour[hour])
    total = sum(per_hour.values())
    assert abs(total - expected_orders("black-friday", 600)) < 4 * math.sqrt(total)


def test_shipments_views_and_numbers_are_consistent(make_profile: Callable[..., Profile]) -> None:
    profile = make_profile()
    plan = build_plan(profile)
    times = [i.t for i in plan.items]
    assert times == sorted(times)
    orders = {i.ref: i.t for i in plan.items if i.kind == "order"}
    ships = {i.ref: i for i in plan.items if i.kind == "ship"}
    assert len(orders) == plan.orders and len(ships) == plan.shipments
    for ref, ship in ships.items():
        assert ship.t >= orders[ref]
        key = parse_tracking_number(ship.tracking_number)
        assert key is not None
        assert abs(key.shipped_at - (profile.start_epoch + ship.t)) <= 1.0
    for view in (i for i in plan.items if i.kind == "view"):
        assert view.ref in ships
        assert ships[view.ref].t < view.t < profile.clock.duration
        assert view.tracking_number == ships[view.ref].tracking_number


def test_views_per_order_follow_the_survey(make_profile: Callable[..., Profile]) -> None:
    # a long run so that no view falls past the end: the survey mean is 3.69 views per order
    profile = make_profile(clock={"duration": "40d"}, peak={"order_window": "6h"})
    plan = build_plan(profile)
    per_order = plan.views / plan.shipments
    assert 3.0 <= per_order <= 4.4, per_order
