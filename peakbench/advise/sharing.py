"""Runs that cannot differ: advise runs one of them and gives its figures to the others.

The sandbox plugin reads ``on_throttle`` in one place: when a carrier refuses one of its polls
with a 429, 401 or 403 (:func:`mocks.store.policy.on_refusal`). Every other reply goes on the
same way whatever the policy says. Two runs whose profiles differ only in ``on_throttle`` (the
same seed, peak size, carriers and every other knob) therefore do the same thing, call for call,
until a refusal first reaches the plugin. The world is deterministic, so a run in which none
did is also the run of every other ``on_throttle``, figure for figure.

So, of such a group, advise runs the first in its order (the *measured* run). When the plugin
saw no refusal there, the others take its figures (``same_as`` names the measured point) and
run nothing. When it saw one, the measured run's world forked their worlds at that instant,
before ``on_throttle`` was read (:mod:`mocks.virtual.branch`): each of the others then runs
only from there on, with its own policy, and writes a run folder of its own
(``branched_from`` names the measured point). When the measured run was cut short, they run
from the start. ``peakbench advise --run-every-point`` runs every point from the start, and
``tests/test_advise_sharing.py`` checks that all of these give the same answer.

Only the strategies whose plugin reads ``on_throttle`` there and nowhere else take part
(:data:`STRATEGIES`). The well-behaved preset's guard decides instead of ``on_throttle``, and a
push plugin never polls; their settings rarely differ in ``on_throttle`` alone, and they are
always run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from peakbench.advise.metrics import RunFigures
from peakbench.config.profile import Profile
from peakbench.config.store import SandboxTarget

STRATEGIES = frozenset({"direct-polling", "live-refresh"})
"""The plugin strategies whose runs read ``on_throttle`` only on a refused poll."""

WHY = "the same setting but for on_throttle, where no carrier refused the plugin"
"""Why a run was not run, as the console, the page and ``--help`` say it."""
BRANCHED = (
    "the same setting but for on_throttle, up to the first refusal, where the runs part: "
    "from there on each ran its own policy"
)
"""Why a run's world started from another's, as the console, the page and ``--help`` say it."""


def share_key(profile: Profile) -> str | None:
    """The profile with its name and ``on_throttle`` left out, as one canonical string; None
    when its runs never share (another strategy or target)."""
    target = profile.target
    if not isinstance(target, SandboxTarget) or target.plugin.strategy not in STRATEGIES:
        return None
    data = profile.model_dump(mode="json", exclude={"name"})
    del data["target"]["plugin"]["on_throttle"]
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def measured_by(profiles: Sequence[Profile]) -> list[int | None]:
    """For each profile, the position of the first earlier one it may share a run with."""
    first: dict[str, int] = {}
    out: list[int | None] = []
    for i, profile in enumerate(profiles):
        key = share_key(profile)
        if key is None:
            out.append(None)
            continue
        if key in first:
            out.append(first[key])
        else:
            first[key] = i
            out.append(None)
    return out


def shareable(figures: RunFigures, interrupted: bool) -> bool:
    """Whether a measured run's figures are every sharing run's: it finished, it is valid and
    the plugin saw no refusal."""
    return not interrupted and figures["valid"] and figures["plugin_refusals"] == 0


def shared(figures: RunFigures, point: int) -> RunFigures:
    """``figures`` (of the run measured at ``point``) as another point's run."""
    return {**figures, "same_as": point}
