"""What an SLO figure rests on: how many samples, what none means, and when a figure with
samples still cannot be judged (the rule is :func:`peakbench.measure.slo.judge`'s).

Each reader takes a ``summary.json`` and reads it defensively: a damaged summary reads as
unknown (``None``), never as zero samples."""

from __future__ import annotations

from typing import Any

from peakbench.durations import format_duration


def section(s: Any, key: str) -> dict[str, Any]:
    """``s[key]`` when both are JSON objects, else ``{}`` (a damaged summary reads as unknown)."""
    value = s.get(key) if isinstance(s, dict) else None
    return value if isinstance(value, dict) else {}


def as_int(value: Any) -> int | None:
    """A JSON number as an int (``None`` for anything else, booleans included)."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def views(s: dict[str, Any]) -> tuple[int | None, str]:
    """Customer views assessed (the samples of staleness, stale share and complaints)."""
    n = as_int(section(s, "staleness_s").get("count"))
    return n, "no customer view of a shipped parcel was assessed"


def refresh_events(s: dict[str, Any]) -> tuple[int | None, str]:
    """Carrier events whose refresh latency was measured (censored ones included)."""
    n = as_int(section(s, "refresh_latency_s").get("count"))
    return n, "no carrier event became visible while the run measured the store"


def carrier_requests(s: dict[str, Any]) -> tuple[int | None, str]:
    """Requests the plugin made to the fleet: an outage can only be seen among them."""
    carriers = section(s, "carriers")
    if not carriers:
        return None, ""
    n = sum(as_int(section(carriers, c).get("requests")) or 0 for c in carriers)
    return n, "the plugin made no carrier request, so no outage could have been seen"


def complaint_samples(s: dict[str, Any]) -> tuple[int | None, str]:
    """Complaints per 1,000 orders need placed orders and assessed views."""
    orders = as_int(section(s, "orders").get("done"))
    if orders == 0:
        return 0, "no order was placed, so there is nothing to count complaints per"
    return views(s)


def refresh_doubt(s: dict[str, Any], value: float) -> str:
    """Why a refresh-latency figure cannot be judged, or "": every sample censored (nothing was
    ever shown, so the figure is only a lower bound), or a sampled figure whose resolution is
    unknown (0) or wider than the figure itself."""
    dist = section(s, "refresh_latency_s")
    count = as_int(dist.get("count")) or 0
    censored = as_int(dist.get("censored")) or 0
    if count and censored >= count:
        return (
            f"all {count} samples are censored (the store never showed any of these events "
            "before the run ended): the figure is a lower bound, not a latency"
        )
    if dist.get("method") == "sampled":
        resolution = dist.get("resolution_s")
        if not isinstance(resolution, int | float) or resolution <= 0:
            return "the views never bracketed an update, so the resolution is unknown (0)"
        if resolution > value:
            return (
                f"its resolution ({format_duration(float(resolution))}, the median gap between "
                f"views of a parcel) is wider than the figure ({format_duration(value)}): "
                "views too sparse to measure it"
            )
    return ""


def no_doubt(s: dict[str, Any], value: float) -> str:
    """For figures that are exact whenever they have samples."""
    return ""


def refresh_caveat(s: dict[str, Any]) -> str | None:
    """``summary["refresh_latency_s"]["caveat"]``: why the refresh-latency figures cannot be
    taken at face value (see :func:`refresh_doubt`, judged at p95), ``None`` when they can;
    shown whether or not an SLO bounds them."""
    p95 = section(s, "refresh_latency_s").get("p95")
    if not isinstance(p95, int | float):
        return None
    return refresh_doubt(s, float(p95)) or None
