"""Plans kept by an advise worker: the runs of one seed and peak size share one plan.

An advise varies the plugin's settings over the same seeds and peak sizes, and a plan
(:func:`peakbench.plan.planner.build_plan`) never reads the plugin: the settings of one seed and
multiplier all replay the same schedule. A worker therefore plans each distinct schedule once and
hands the same :class:`~peakbench.plan.planner.Plan` to every run that asks for it again.

The key is the canonical JSON of every profile section the planner reads, whole: ``seed``,
``clock`` (start, duration, and scale for the probe's period), ``peak`` (the curve, its size and
window), ``fulfilment``, ``views``, ``probe``, and the fleet it builds (``truth``, ``carriers``,
``listen``). A change to any of them is another plan; a change elsewhere (the plugin, the SLOs,
the replay, the name) is the same plan. A plan is immutable (a frozen dataclass of tuples of named
tuples; nothing in a run changes one), so sharing one cannot leak one run into the next.
"""

from __future__ import annotations

import json
from collections import OrderedDict

from peakbench.config.profile import Profile
from peakbench.plan.planner import Plan, build_plan

PLANNED_SECTIONS = frozenset(
    {"seed", "clock", "peak", "fulfilment", "views", "probe", "truth", "carriers", "listen"}
)
"""The profile fields :func:`~peakbench.plan.planner.build_plan` reads (directly, or through
``profile.fleet`` and ``profile.start_epoch``)."""


def plan_key(profile: Profile) -> str:
    """What a profile's plan depends on, as one canonical string."""
    data = profile.model_dump(mode="json", include=set(PLANNED_SECTIONS))
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


class PlanCache:
    """The last ``size`` distinct plans, by :func:`plan_key`, least recently used out first."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._plans: OrderedDict[str, Plan] = OrderedDict()
        self.built = 0
        """How many plans were built (the rest were reused)."""

    def get(self, profile: Profile) -> Plan:
        """The plan of ``profile``: a kept one when its key matches, else a new one (kept)."""
        key = plan_key(profile)
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
            return plan
        plan = build_plan(profile)
        self.built += 1
        self._plans[key] = plan
        while len(self._plans) > self.size:
            self._plans.popitem(last=False)
        return plan

    def __len__(self) -> int:
        return len(self._plans)
