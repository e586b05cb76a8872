"""From runs to an answer: per-point figures across seeds, the frontier, the recommendation and
the breaking points.

- A point *passes* when every seed's run is valid and passes every SLO.
- Its *headroom* is the tightest margin over its seeds: ``1 - value / threshold`` of each SLO
  check, and ``1 - quota share`` of the daily quota, whichever is smallest.
- The *frontier* (per peak multiplier) is the Pareto set: no other point is at least as good on
  every customer outcome (staleness p95, stale-view share, complaints) and every carrier cost
  (requests, quota share, outage probability) and better on one.
- The *recommendation* is, at the forecast peak (the smallest multiplier, normally 1×), the
  passing setting of the current strategy with the most headroom; among those within
  :data:`HEADROOM_TIE` of the best, the one with the fewest carrier requests. When no setting of
  the current strategy passes, the same rule picks among the other strategies.
- The *breaking point* of a setting and an SLO is the smallest multiplier at which a seed fails it.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any

from peakbench.advise.metrics import RunFigures, headroom
from peakbench.advise.space import Point, knob_text
from peakbench.config.advise import PriceSpec

HEADROOM_TIE = 0.05
"""Headrooms this close count as equal; the fewer carrier requests then decides."""

OBJECTIVES = (
    "staleness_p95_s",
    "stale_views_share",
    "complaints_per_1000_orders",
    "requests",
    "quota_share",
    "p_outage",
)
"""What the frontier minimises: three customer outcomes, three carrier costs."""


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(fmean(known), 4) if known else None


def point_figures(point: Point, runs: Sequence[RunFigures], prices: PriceSpec) -> dict[str, Any]:
    """One point across its seeds: means, probabilities, verdict, headroom and cost."""
    margins: list[float] = []
    failed: set[str] = set()
    for run in runs:
        for check in run["checks"]:
            room = headroom(check)
            if room is not None:
                margins.append(room)
            if not check["passed"]:
                failed.add(check["name"])
        if run["quota_share"] is not None:
            margins.append(1.0 - run["quota_share"])
        if not run["valid"]:
            failed.add("valid")
    complaints = _mean([r["complaints"] for r in runs])
    requests = _mean([float(r["requests"]) for r in runs]) or 0.0
    shipments = _mean([float(r["shipments"]) for r in runs]) or 0.0
    cost: float | None = None
    if any(p is not None for p in (prices.per_call, prices.per_shipment, prices.per_contact)):
        cost = round(
            (prices.per_call or 0.0) * requests
            + (prices.per_shipment or 0.0) * shipments
            + (prices.per_contact or 0.0) * (complaints or 0.0),
            2,
        )
    setting = point.setting
    return {
        "id": point.index,
        "setting": setting.key,
        "strategy": setting.strategy,
        "knobs": {k: knob_text(k, v) for k, v in setting.knobs},
        "current": setting.current,
        "multiplier": point.multiplier,
        "seeds": len(runs),
        "passed": bool(runs) and all(r["passed"] for r in runs),
        "failed_checks": sorted(failed),
        "headroom": round(min(margins), 4) if margins else None,
        "staleness_p95_s": _mean([r["staleness_p95_s"] for r in runs]),
        "stale_views_share": _mean([r["stale_views_share"] for r in runs]),
        "complaints_per_1000_orders": _mean([r["complaints_per_1000_orders"] for r in runs]),
        "complaints": complaints,
        "requests": requests,
        "quota_share": _mean([r["quota_share"] for r in runs]),
        "p_outage": round(fmean(r["outage"] for r in runs), 4) if runs else None,
        "p_ban": round(fmean(r["ban"] for r in runs), 4) if runs else None,
        "longest_outage_s": max((r["longest_outage_s"] for r in runs), default=None),
        "cost": cost,
        "runs": list(runs),
    }


def _key(p: dict[str, Any], name: str) -> float:
    value = p.get(name)
    return float("inf") if value is None else float(value)


def frontier(figures: Sequence[dict[str, Any]]) -> list[int]:
    """Ids of the points no other point dominates on :data:`OBJECTIVES`."""
    vectors = [(p["id"], tuple(_key(p, o) for o in OBJECTIVES)) for p in figures]
    out = []
    for pid, v in vectors:
        dominated = any(
            all(a <= b for a, b in zip(w, v, strict=True)) and w != v
            for qid, w in vectors
            if qid != pid
        )
        if not dominated:
            out.append(pid)
    return out


def best(candidates: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Most headroom; within :data:`HEADROOM_TIE` of it, the fewest requests, then the lowest id."""
    if not candidates:
        return None
    top = max(_room(p) for p in candidates)
    close = [p for p in candidates if _room(p) >= top - HEADROOM_TIE]
    return min(close, key=lambda p: (p["requests"], p["id"]))


def _room(p: dict[str, Any]) -> float:
    return float(p["headroom"]) if p["headroom"] is not None else 0.0


def breaking_point(
    figures: Sequence[dict[str, Any]], setting: str, checks: Sequence[str]
) -> dict[str, float | None]:
    """Per SLO check (and ``any``), the smallest multiplier at which ``setting`` fails it."""
    mine = sorted((p for p in figures if p["setting"] == setting), key=lambda p: p["multiplier"])
    out: dict[str, float | None] = {}
    for name in [*checks, "any"]:
        out[name] = next(
            (
                p["multiplier"]
                for p in mine
                if (
                    not p["passed"]
                    if name == "any"
                    else name in p["failed_checks"] or "valid" in p["failed_checks"]
                )
            ),
            None,
        )
    return out


def recommend(figures: Sequence[dict[str, Any]], strategy: str) -> dict[str, Any]:
    """The recommendation at the forecast peak (see the module docstring)."""
    forecast = min(p["multiplier"] for p in figures)
    at = [p for p in figures if p["multiplier"] == forecast and p["passed"]]
    current = next(p for p in figures if p["current"] and p["multiplier"] == forecast)
    mine = best([p for p in at if p["strategy"] == strategy])
    other = best([p for p in at if p["strategy"] != strategy])
    if mine is not None:
        status = "tune"
        text = f"{mine['setting']} passes every SLO with {mine['headroom']:.0%} headroom"
        if current["passed"] and mine["id"] == current["id"]:
            status = "keep"
            text = f"the current settings pass every SLO with {mine['headroom']:.0%} headroom"
        chosen: dict[str, Any] | None = mine
    elif other is not None:
        status, chosen = "replace", other
        text = (
            f"no tuning of {strategy} passes; {other['setting']} passes with "
            f"{other['headroom']:.0%} headroom"
        )
    else:
        status, chosen = "none", None
        text = f"no setting tried passes at {forecast:g}× the forecast peak"
    return {
        "status": status,
        "forecast_multiplier": forecast,
        "point": chosen["id"] if chosen else None,
        "setting": chosen["setting"] if chosen else None,
        "text": text,
        "current_point": current["id"],
        "current_passed": current["passed"],
        "current_failed_checks": current["failed_checks"],
        "alternative": other["setting"] if other and status != "replace" else None,
    }
