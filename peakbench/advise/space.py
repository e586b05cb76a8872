"""The search space of ``peakbench advise``: which plugin settings, peak sizes and seeds to run.

A *setting* is a strategy plus knob values; a *point* is a setting at one peak multiplier; each
point runs once per seed. The space is a grid over the knob lists of the profile's ``advise:``
section, or over :data:`DEFAULT_KNOBS` for a strategy the section does not describe. The
profile's own plugin is always one of the settings (``current``), so the verdict on what the
store runs today is measured, not inferred.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from peakbench.config.advise import MAX_POINTS, AdviseSpec, KnobSpace
from peakbench.config.profile import Profile
from peakbench.config.push import CadenceSpec
from peakbench.config.store import PluginSpec, SandboxTarget
from peakbench.durations import format_duration

M = 60.0
H = 3600.0

DEFAULT_KNOBS: dict[str, dict[str, tuple[Any, ...]]] = {
    "direct-polling": {
        "interval": (5 * M, 15 * M, 30 * M, H, 2 * H, 4 * H),
        "batch_size": (35, 100),
        "on_throttle": ("ignore", "backoff"),
    },
    "well-behaved": {"interval": (30 * M, H, 2 * H)},
    "live-refresh": {"ttl": (15 * M, H, 4 * H)},
    "saas-push": {"cadence": (H, 3 * H, 6 * H)},
}
"""Knobs tried per strategy when the profile's ``advise:`` section names none."""

QUEUE_KNOBS = ("tick", "cron", "claim_batch", "time_limit", "concurrency", "request_timeout")
"""The store's queue runner: an alternative strategy keeps the profile's values of these."""

DURATION_KNOBS = {"interval", "time_limit", "ttl", "cadence", "tick"}


@dataclass(frozen=True, slots=True)
class Setting:
    """A strategy with knob values (only the knobs the space varies)."""

    strategy: str
    knobs: tuple[tuple[str, Any], ...]
    current: bool = False
    """The profile's own plugin, as shipped."""

    @property
    def key(self) -> str:
        """A stable, readable identity: ``direct-polling interval=1h batch_size=35``."""
        if self.current and not self.knobs:
            return f"{self.strategy} (current)"
        return " ".join([self.strategy, *(f"{k}={knob_text(k, v)}" for k, v in self.knobs)])


@dataclass(frozen=True, slots=True)
class Point:
    """One setting at one peak multiplier; runs once per seed."""

    index: int
    setting: Setting
    multiplier: float


def knob_text(name: str, value: Any) -> str:
    """A knob value as a profile would write it (``1h``, ``35``, ``backoff``)."""
    if name in DURATION_KNOBS and isinstance(value, int | float):
        return format_duration(float(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def pushing_carrier(profile: Profile, plugin: PluginSpec) -> int | None:
    """Index of the carrier a saas-push plugin registers with, or None when the fleet has none."""
    for i, c in enumerate(profile.carriers):
        named = plugin.aggregator is not None and c.name == plugin.aggregator
        if c.push is not None and (
            named or (plugin.aggregator is None and c.personality == "trackship")
        ):
            return i
    return None


def _grid(space: Mapping[str, tuple[Any, ...]]) -> list[tuple[tuple[str, Any], ...]]:
    names = list(space)
    return [tuple(zip(names, combo, strict=True)) for combo in itertools.product(*space.values())]


def settings(profile: Profile, spec: AdviseSpec) -> list[Setting]:
    """Every setting to try: the current plugin first, then its grid, then the alternatives."""
    target = _sandbox(profile)
    strategy = target.plugin.strategy
    mine = spec.knobs.grid() if spec.knobs is not None else DEFAULT_KNOBS.get(strategy, {})
    out = [Setting(strategy, (), current=True)]
    plugin = target.plugin
    out += [
        Setting(strategy, combo)
        for combo in _grid(mine)
        if not all(getattr(plugin, k, None) == v for k, v in combo)  # that is the current one
    ]
    if spec.alternatives is not None:
        others: dict[str, Mapping[str, tuple[Any, ...]]] = {
            name: (space.grid() or {}) for name, space in spec.alternatives.items()
        }
    else:
        others = {n: k for n, k in DEFAULT_KNOBS.items() if n != strategy}
        if pushing_carrier(profile, PluginSpec(strategy="saas-push")) is None:
            others.pop("saas-push", None)
    for name, space in others.items():
        if name == strategy:
            continue
        out += [Setting(name, combo) for combo in _grid(space)] if space else [Setting(name, ())]
    unique: dict[str, Setting] = {}
    for s in out:
        unique.setdefault(s.key, s)
    return list(unique.values())


def points(profile: Profile, spec: AdviseSpec) -> list[Point]:
    """Settings × multipliers, numbered; ValueError when there are more than MAX_POINTS runs."""
    chosen = settings(profile, spec)
    runs = len(chosen) * len(spec.multipliers) * spec.seeds
    if runs > MAX_POINTS:
        raise ValueError(
            f"advise: {len(chosen)} settings × {len(spec.multipliers)} multipliers × "
            f"{spec.seeds} seeds = {runs:,} runs; at most {MAX_POINTS:,} (narrow advise.knobs)"
        )
    pairs = itertools.product(spec.multipliers, chosen)
    return [Point(i, s, m) for i, (m, s) in enumerate(pairs)]


def _sandbox(profile: Profile) -> SandboxTarget:
    if not isinstance(profile.target, SandboxTarget):
        raise ValueError(
            f"advise runs the sandbox store in virtual time; this profile's target is "
            f"{profile.target.kind}"
        )
    return profile.target


def point_profile(profile: Profile, point: Point, seed_index: int) -> Profile:
    """The ordinary run profile of one point and seed (ValueError on an impossible setting)."""
    target = _sandbox(profile)
    setting = point.setting
    knobs = dict(setting.knobs)
    cadence = knobs.pop("cadence", None)
    if setting.current:
        base: dict[str, Any] = target.plugin.model_dump()
    elif setting.strategy == target.plugin.strategy:
        base = target.plugin.model_dump()
    else:
        base = {k: getattr(target.plugin, k) for k in QUEUE_KNOBS}
        base["preset"] = setting.strategy
    if "strategy" in base:
        base["preset"] = base.pop("strategy")
    try:
        plugin = PluginSpec.model_validate({**base, **knobs})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"advise setting '{setting.key}': {first['msg']}") from None
    carriers = profile.carriers
    if cadence is not None or plugin.strategy == "saas-push":
        index = pushing_carrier(profile, plugin)
        if index is None:
            raise ValueError(
                f"advise setting '{setting.key}': saas-push needs a pushing carrier "
                "(a trackship carrier with push:) in the fleet"
            )
        if cadence is not None:
            carrier = carriers[index]
            assert carrier.push is not None
            push = carrier.push.model_copy(
                update={"cadence": CadenceSpec(min=float(cadence), max=float(cadence))}
            )
            carriers = tuple(
                c.model_copy(update={"push": push}) if i == index else c
                for i, c in enumerate(carriers)
            )
    peak = profile.peak.model_copy(
        update={"peak_orders_per_hour": profile.peak.peak_orders_per_hour * point.multiplier}
    )
    return profile.model_copy(
        update={
            "name": f"{profile.name[:48]}-p{point.index:04d}",
            "seed": profile.seed + seed_index,
            "target": target.model_copy(update={"plugin": plugin}),
            "carriers": carriers,
            "peak": peak,
            "candidates": {},
            "advise": None,
        }
    )


def resolve(profile: Profile) -> AdviseSpec:
    """The profile's advise section, or every default."""
    return profile.advise if profile.advise is not None else AdviseSpec()


__all__ = ["KnobSpace", "Point", "Setting", "point_profile", "points", "resolve", "settings"]
