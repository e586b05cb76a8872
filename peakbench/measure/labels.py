"""People's words for what ``summary.json`` names in code: SLO checks and the plugin's knobs.

``refresh_latency_p95_s`` is a key; a report says "refresh latency p95". Every renderer reads its
labels here, so the console, ``summary.md``, ``report.html`` and ``junit.xml`` say the same.
"""

from __future__ import annotations

from typing import Any

from peakbench.measure.units import duration, share

CHECK_LABELS: dict[str, str] = {
    "refresh_latency_p50_s": "refresh latency p50",
    "refresh_latency_p95_s": "refresh latency p95",
    "refresh_latency_p99_s": "refresh latency p99",
    "staleness_p50_s": "staleness p50",
    "staleness_p95_s": "staleness p95",
    "staleness_p99_s": "staleness p99",
    "longest_outage_s": "longest throttle outage",
    "stale_views_share": "views stale for over {stale_after}",
    "complaints_per_1000_orders": "expected complaints per 1,000 orders",
}
SHARES = frozenset({"stale_views_share"})
PLUGIN_DURATIONS = frozenset(
    {
        "interval",
        "time_limit",
        "tick",
        "request_timeout",
        "ttl",
        "backoff",
        "backoff_max",
        "breaker_cooldown",
        "register_retry",
    }
)


def stale_after(summary: dict[str, Any]) -> float:
    """The profile's ``slo.stale_after`` as the summary recorded it (1 h, its default, if not)."""
    return float(summary.get("stale_after_s") or 3600.0)


def check_label(name: str, summary: dict[str, Any] | None = None) -> str:
    """``refresh_latency_p95_s`` → ``refresh latency p95``; ``baseline.x`` → ``… vs baseline``."""
    base = name.removeprefix("baseline.")
    label = CHECK_LABELS.get(base, base.removesuffix("_s").replace("_", " "))
    label = label.format(stale_after=duration(stale_after(summary or {})))
    return f"{label} vs baseline" if name.startswith("baseline.") else label


def check_value(name: str, value: float | None) -> str:
    """A check's value or threshold written the way its figure is: a duration, a share or a
    number."""
    if value is None:
        return "–"
    base = name.removeprefix("baseline.")
    if base.endswith("_s"):
        return duration(value)
    if base in SHARES:
        return share(value)
    return f"{round(value, 1):g}" if abs(value) >= 1 else f"{value:.2g}"


def _default_plugin(strategy: str) -> dict[str, Any]:
    from peakbench.config.store import PluginSpec

    try:
        return PluginSpec.model_validate({"strategy": strategy}).model_dump(mode="json")
    except ValueError:
        return PluginSpec().model_dump(mode="json")


def plugin_knobs(plugin: dict[str, Any]) -> dict[str, Any]:
    """The plugin's knobs that differ from its preset's defaults (what the profile set)."""
    defaults = _default_plugin(str(plugin.get("strategy", "direct-polling")))
    return {
        k: v for k, v in plugin.items() if k != "strategy" and k in defaults and defaults[k] != v
    } | {k: v for k, v in plugin.items() if k not in defaults}


def plugin_text(plugin: dict[str, Any] | None) -> str:
    """The plugin on one line: its preset and only the knobs that were set,
    ``direct-polling, interval 15 min``; a real store's plugin is not ours to describe."""
    if not plugin:
        return "the store's own (a real target)"
    parts = [str(plugin.get("strategy", "?"))]
    for key, value in plugin_knobs(plugin).items():
        if key in PLUGIN_DURATIONS and isinstance(value, int | float):
            value = duration(float(value))
        parts.append(f"{key}: {value}")
    return ", ".join(parts)
