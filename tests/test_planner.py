from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from peakbench.config.profile import Profile
from peakbench.plan.curves import BLACK_FRIDAY_HOURS, hour_means, named
from peakbench.plan.planner import Plan, build_plan
from peakbench.plan.schedule import Item, read_schedule, write_schedule
from peakbench.plan.timeline import parse_tracking_number


def test_day_curves_are_in_ordinary_days() -> None:
    # levels from peaks.md: Cyber Monday 3.6x an ordinary day, Black Friday 26.7/32.2 of it
    assert math.isclose(named("ordinary-day").mean(), 1.0)
    assert math.isclose(named("cyber-monday").mean(), 3.6)
    assert math.isclose(named("black-friday").mean(), 3.6 * 26.7 / 32.2, rel_tol=1e-9)
    week = named("cyber-week")
    days = [sum(hour_means(week, 120)[d * 24 : (d + 1) * 24]) for d in range(5)]
    assert [round(d / sum(days), 4) for d in days] == [0.1449, 0.2667, 0.1334, 0.1334, 0.3217]
    singles = named("singles-day")
    assert math.isclose(singles.value(0) * 64 * 60 / (singles.mean() * 86400), 0.37)


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
    mult = BLACK_FRIDAY_HOURS
    for hour in range(24):
        expected = 600 * mult[hour] / max(mult)
        # Poisson: 4 standard deviations
        assert abs(per_hour[hour] - expected) <= 4 * math.sqrt(expected), (hour, per_hour[hour])
    total = sum(per_hour.values())
    assert abs(total - 600 * 24 / 1.5) < 4 * math.sqrt(total)


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
    # a long run so that no view falls past the end: the survey mean is 3.69 views per order,
    # x2 for cross-border parcels; repeat refreshes of stuck pages come on top
    profile = make_profile(
        clock={"duration": "40d"},
        peak={"order_window": "6h", "peak_orders_per_hour": 100},
        views={"stuck_refreshes": 0},
        carriers=[{"name": "generic", "behaviours": [], "cross_border_share": 0}],
    )
    plan = build_plan(profile)
    per_order = plan.views / plan.shipments
    assert 3.3 <= per_order <= 4.1, per_order
    abroad = build_plan(
        profile.model_copy(
            update={
                "carriers": (profile.carriers[0].model_copy(update={"cross_border_share": 1.0}),)
            }
        )
    )
    assert 6.7 <= abroad.views / abroad.shipments <= 8.1


def test_stuck_pages_draw_repeat_refreshes(make_profile: Callable[..., Profile]) -> None:
    calm = make_profile(clock={"duration": "40d"}, views={"stuck_refreshes": 0})
    eager = make_profile(clock={"duration": "40d"}, views={"stuck_refreshes": 3})
    a, b = build_plan(calm), build_plan(eager)
    assert a.orders == b.orders
    assert b.views > a.views * 1.2
    # repeat refreshes come minutes after a view of the same parcel
    gaps = []
    last: dict[int, float] = {}
    for item in b.items:
        if item.kind == "view":
            if item.ref in last:
                gaps.append(item.t - last[item.ref])
            last[item.ref] = item.t
    assert sum(g < 1800 for g in gaps) > sum(g < 1800 for g in _gaps(a)) + a.views * 0.2


def _gaps(plan: Plan) -> list[float]:
    out, last = [], {}
    for item in plan.items:
        if item.kind == "view":
            if item.ref in last:
                out.append(item.t - last[item.ref])
            last[item.ref] = item.t
    return out


def test_views_cluster_on_the_expected_delivery_day(make_profile: Callable[..., Profile]) -> None:
    profile = make_profile(
        clock={"duration": "20d"},
        views={"expected_day_share": 0.5, "after_event_share": 0.3, "stuck_refreshes": 0},
        carriers=[{"name": "generic", "behaviours": [], "cross_border_share": 0}],
    )
    plan = build_plan(profile)
    ships = {i.ref: i.t for i in plan.items if i.kind == "ship"}
    days: Counter[int] = Counter()
    zone = ZoneInfo("America/New_York")
    for item in plan.items:
        if item.kind == "view":
            local = datetime.fromtimestamp(profile.start_epoch + item.t, zone)
            shipped = datetime.fromtimestamp(profile.start_epoch + ships[item.ref], zone)
            days[(local.date() - shipped.date()).days] += 1
    # promised transit 3 days: day 3 after shipping draws more views than days 2 and 4
    assert days[3] > 1.5 * max(days[2], days[4]), days


def test_the_tracking_wave_is_its_own_phase(make_profile: Callable[..., Profile]) -> None:
    profile = make_profile(clock={"duration": "8d"}, peak={"order_window": "1d"})
    plan = build_plan(profile)
    assert plan.order_end == 86400.0
    assert {i.phase for i in plan.items if i.t < 86400.0} == {"peak"}
    assert {i.phase for i in plan.items if i.t >= 86400.0} == {"wave"}
    assert "order" not in plan.phases["wave"]
    # the week after the peak carries most of the tracking-page views
    assert plan.phases["wave"]["view"] > 2 * plan.phases["peak"]["view"]
    assert sum(sum(k.values()) for k in plan.phases.values()) == len(plan.items)


def test_schedule_files_keep_the_phase_and_read_old_ones(
    tmp_path: Path, make_profile: Callable[..., Profile]
) -> None:
    plan = build_plan(make_profile())
    path = tmp_path / "schedule.csv"
    assert write_schedule(path, plan.items) == len(plan.items)
    assert tuple(read_schedule(path)) == plan.items
    old = tmp_path / "old.csv"
    old.write_text("t,kind,ref,carrier,tracking_number\n1.500,order,1,,\n")
    assert list(read_schedule(old)) == [Item(1.5, "order", 1)]
