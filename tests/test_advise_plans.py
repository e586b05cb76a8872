"""An advise worker's plans: one per seed and peak size, shared by every setting that runs them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from peakbench.advise import space
from peakbench.advise.plans import PlanCache, plan_key
from peakbench.config.profile import Profile
from peakbench.plan.planner import build_plan

ADVISE: dict[str, Any] = {
    "knobs": {"interval": ["30m", "2h"]},
    "alternatives": {"well-behaved": {"interval": ["1h"]}},
    "multipliers": [1, 2],
    "seeds": 2,
}


@pytest.fixture
def base(make_profile: Callable[..., Profile]) -> Profile:
    return make_profile(
        target={"plugin": {"interval": "1h"}},
        probe={"period": "10m"},
        carriers=[{"name": "generic", "cross_border_share": 0.3, "behaviours": []}],
        advise=ADVISE,
    )


def _runs(profile: Profile) -> list[tuple[space.Point, int, Profile]]:
    spec = space.resolve(profile)
    return [
        (p, s, space.point_profile(profile, p, s))
        for p in space.points(profile, spec)
        for s in range(spec.seeds)
    ]


def test_every_setting_of_a_seed_and_peak_shares_one_plan(base: Profile) -> None:
    plans = PlanCache(8)
    runs = _runs(base)
    groups: dict[tuple[float, int], set[int]] = {}
    for point, seed, profile in runs:
        plan = plans.get(profile)
        assert plan == build_plan(profile)  # exactly the plan the run would have made
        groups.setdefault((point.multiplier, seed), set()).add(id(plan))
    assert len(runs) == 16  # 4 settings × 2 multipliers × 2 seeds
    assert plans.built == 4 == len(plans) == len(groups)
    assert all(len(ids) == 1 for ids in groups.values())


def test_another_seed_or_peak_size_is_another_plan(base: Profile) -> None:
    plans = PlanCache(8)
    one = plans.get(base)
    assert plans.get(base) is one and plans.built == 1
    reseeded = base.model_copy(update={"seed": base.seed + 1})
    bigger = base.model_copy(
        update={"peak": base.peak.model_copy(update={"peak_orders_per_hour": 60.0})}
    )
    for other in (reseeded, bigger):
        assert plan_key(other) != plan_key(base)
        assert plans.get(other) is not one and plans.get(other) == build_plan(other)
    assert plans.built == 3 and plans.get(base) is one


def test_only_what_the_planner_reads_is_in_the_key(base: Profile) -> None:
    """Sections outside the key change nothing in the plan; each section in it changes the key."""
    outside = base.model_copy(
        update={
            "name": "renamed",
            "target": base.target.model_copy(
                update={"plugin": base.target.plugin.model_copy(update={"interval": 60.0})}
            ),
            "slo": base.slo.model_copy(update={"staleness_p95": 60.0}),
            "replay": base.replay.model_copy(update={"users": 3}),
            "patience": base.patience.model_copy(update={"midpoint": 60.0}),
        }
    )
    assert plan_key(outside) == plan_key(base) and build_plan(outside) == build_plan(base)
    inside = {
        "clock": base.clock.model_copy(update={"duration": 6 * 3600.0}),
        "fulfilment": base.fulfilment.model_copy(update={"median": 600.0}),
        "views": base.views.model_copy(update={"first_view_median": 600.0}),
        "truth": base.truth.model_copy(update={"stuck_share": 0.5}),
        "carriers": (base.carriers[0].model_copy(update={"cross_border_share": 0.9}),),
        "probe": None,
    }
    for section, value in inside.items():
        changed = base.model_copy(update={section: value})
        assert plan_key(changed) != plan_key(base), section
        assert build_plan(changed) != build_plan(base), section


def test_the_cache_keeps_the_most_recently_used_plans(base: Profile) -> None:
    plans = PlanCache(2)
    first, second, third = (base.model_copy(update={"seed": base.seed + i}) for i in range(3))
    kept = plans.get(first)
    plans.get(second)
    assert plans.get(first) is kept  # used again: now the newest
    plans.get(third)  # the oldest, `second`, goes
    assert len(plans) == 2 and plans.built == 3
    assert plans.get(first) is kept and plans.built == 3
    plans.get(second)
    assert plans.built == 4
