"""What one advise run measured, reduced to the figures the trade-off is made of.

Customer outcomes: staleness p95, the share of stale views, expected complaints per 1,000
orders. Carrier cost: requests, the share of the tightest daily quota used (requests in the
busiest quota day ÷ its limit; above 1 the plugin asked for more than the quota allows),
refusals, and whether the run had a throttle outage or a ban. Each SLO check keeps its value and
threshold, so the headroom of a setting is ``1 - value / threshold`` of its tightest check.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any, TypedDict

import orjson

from peakbench.config.behaviours import QuotaSpec
from peakbench.config.profile import Profile
from peakbench.measure.segments import read_lines

DAY = 86400.0


class CheckFigure(TypedDict):
    name: str
    value: float | None
    threshold: float | None
    passed: bool


class RunFigures(TypedDict):
    """One run (one point, one seed) as advise keeps it (``advise.json`` ``points[].runs[]``)."""

    seed: int
    run: str
    exit_code: int
    valid: bool
    passed: bool
    staleness_p95_s: float | None
    stale_views_share: float | None
    complaints_per_1000_orders: float | None
    complaints: float | None
    requests: int
    refused: int
    plugin_refusals: int | None
    """Polls the plugin saw refused (429, 401, 403), from the store's ``plugin_requests``;
    None when the run left no store database."""
    quota_share: float | None
    outage: bool
    ban: bool
    longest_outage_s: float
    orders: int
    shipments: int
    checks: list[CheckFigure]
    same_as: int | None
    """The point whose run these figures are, when this point's run was not run because it
    could not differ (:mod:`peakbench.advise.sharing`); None for a run of its own."""
    branched_from: int | None
    """The point whose world this run's was forked from at its first refusal, the instant
    the two runs part (:mod:`mocks.virtual.branch`); None for a world run from the start."""


def daily_quotas(profile: Profile) -> dict[str, tuple[int, float]]:
    """Per carrier, its tightest quota of a day or longer: ``(limit per day, window offset)``."""
    out: dict[str, tuple[int, float]] = {}
    for carrier in profile.carriers:
        for b in carrier.behaviours:
            if not isinstance(b, QuotaSpec) or b.per < DAY:
                continue
            per_day = b.limit * DAY / b.per
            offset = float(b.utc_offset or 0.0) - float(b.reset_at or 0.0)
            if carrier.name not in out or per_day < out[carrier.name][0]:
                out[carrier.name] = (math.floor(per_day), offset)
    return out


def quota_share(profile: Profile, root: Path) -> float | None:
    """Requests in the busiest quota day ÷ that quota, over the carriers with a daily quota."""
    quotas = daily_quotas(profile)
    worst: float | None = None
    for name, (limit, offset) in quotas.items():
        days: Counter[int] = Counter()
        for line in read_lines(root / "journals" / f"carrier-{name}.jsonl"):
            try:
                t = float(orjson.loads(line)["t"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line
            days[math.floor((profile.start_epoch + t + offset) / DAY)] += 1
        share = max(days.values(), default=0) / limit
        worst = share if worst is None else max(worst, share)
    return None if worst is None else round(worst, 4)


def plugin_refusals(root: Path) -> int | None:
    """Polls and refreshes the plugin saw refused, from the run's store database."""
    db = root / "store.sqlite"
    if not db.exists():
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute(
            "SELECT COUNT(*) FROM plugin_requests WHERE outcome IN ('throttled', 'blocked')"
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    return int(row[0])


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def run_figures(
    profile: Profile, root: Path, summary: dict[str, Any], exit_code: int
) -> RunFigures:
    """The figures of one finished run folder."""
    carriers = summary.get("carriers") or {}
    complaints = summary.get("complaints") or {}
    checks: list[CheckFigure] = [
        {
            "name": c["name"],
            "value": _num(c.get("value")),
            "threshold": _num(c.get("threshold")),
            "passed": bool(c.get("passed")),
        }
        for c in (summary.get("slo") or {}).get("checks", [])
    ]
    return {
        "seed": profile.seed,
        "run": root.name,
        "exit_code": exit_code,
        "valid": bool(summary.get("valid")),
        "passed": bool(summary.get("valid")) and bool((summary.get("slo") or {}).get("passed")),
        "staleness_p95_s": _num((summary.get("staleness_s") or {}).get("p95")),
        "stale_views_share": _num(summary.get("stale_views_share")),
        "complaints_per_1000_orders": _num(complaints.get("expected_per_1000_orders")),
        "complaints": _num(complaints.get("expected")),
        "requests": sum(int(c.get("requests", 0)) for c in carriers.values()),
        "refused": sum(
            int(c.get("throttled", 0)) + int(c.get("blocked", 0)) for c in carriers.values()
        ),
        "plugin_refusals": plugin_refusals(root),
        "quota_share": quota_share(profile, root),
        "outage": bool(summary.get("outages")),
        "ban": any(int(c.get("blocked", 0)) > 0 for c in carriers.values()),
        "longest_outage_s": float(summary.get("longest_outage_s") or 0.0),
        "orders": int((summary.get("orders") or {}).get("scheduled", 0)),
        "shipments": int((summary.get("ships") or {}).get("scheduled", 0)),
        "checks": checks,
        "same_as": None,
        "branched_from": None,
    }


def headroom(check: CheckFigure) -> float | None:
    """``1 - value / threshold`` of a ≤ check (negative when it fails); None without figures."""
    value, limit = check["value"], check["threshold"]
    if value is None or limit is None:
        return None
    if limit <= 0:
        return 0.0 if value <= 0 else -1.0
    return 1.0 - value / limit
