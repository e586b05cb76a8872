"""The advise answer as rich tables (STYLE.md §10): the console, the HTML page and the docs
render these same objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from peakbench.durations import format_duration


def _d(seconds: float | None) -> str:
    return "–" if seconds is None else format_duration(seconds)


def _share(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def short_setting(p: dict[str, Any], strategy: str) -> str:
    """A setting as a table shows it: its knobs for the current strategy, else in full."""
    if p["current"]:
        return "current"
    if p["strategy"] == strategy and p["knobs"]:
        return " ".join(f"{k}={v}" for k, v in p["knobs"].items())
    return str(p["setting"])


def points_table(doc: dict[str, Any], only: Sequence[int] | None = None) -> Table:
    """One row per point (or per point in ``only``): verdict, customer outcomes, carrier cost."""
    frontier = {i for ids in doc["frontier"].values() for i in ids}
    rec = doc["recommendation"].get("point")
    prices = doc.get("prices") or {}
    table = Table(
        title="Points (mean over seeds; ★ frontier, ▶ recommended)",
        caption="room: headroom; p95: staleness p95; stale: stale-view share; comp: complaints "
        "per 1,000 orders; quota: share of the daily quota used; P(out), P(ban): share of "
        "seeds with a throttle outage, a ban",
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
        box=box.SIMPLE_HEAD,
    )
    bans = any(p["p_ban"] for p in doc["points"])
    headers = ["setting", "peak", "SLOs", "room", "p95", "stale", "comp", "calls", "quota"]
    for name in [*headers, "P(out)", *(["P(ban)"] if bans else [])]:
        table.add_column(name, justify="left" if name == "setting" else "right", no_wrap=True)
    if any(p.get("cost") is not None for p in doc["points"]):
        table.add_column(f"cost {prices.get('currency', 'USD')}", justify="right", no_wrap=True)
    for p in doc["points"]:
        if only is not None and p["id"] not in only:
            continue
        mark = ("▶" if p["id"] == rec else "") + ("★" if p["id"] in frontier else "")
        verdict = Text("pass", style="green") if p["passed"] else Text("FAIL", style="red")
        row: list[str | Text] = [
            f"{mark:<2}{short_setting(p, doc['strategy'])}",
            f"{p['multiplier']:g}×",
            verdict,
            _share(p["headroom"]) if p["passed"] else "–",
            _d(p["staleness_p95_s"]),
            _share(p["stale_views_share"], 1),
            _num(p["complaints_per_1000_orders"]),
            _num(p["requests"], 0),
            _share(p["quota_share"]),
            _share(p["p_outage"]),
            *([_share(p["p_ban"])] if bans else []),
        ]
        if len(table.columns) > len(row):
            row.append(_num(p.get("cost"), 2))
        table.add_row(*row)
    return table


def breaking_table(doc: dict[str, Any]) -> Table:
    """Per SLO: the smallest peak multiplier at which the recommended and current settings fail."""
    table = Table(title="Breaking point (smallest peak multiplier that fails the SLO)")
    table.add_column("SLO")
    columns = [(k, v) for k, v in doc["breaking_point"].items() if v is not None]
    for name, _ in columns:
        table.add_column(f"{name}: {doc['breaking_point_settings'][name]}", justify="right")
    tried = max(doc["multipliers"])
    for check in doc["slo_checks"] + ["any"]:
        cells: list[str | Text] = [check if check != "any" else "any SLO"]
        for _, bp in columns:
            at = bp.get(check)
            cells.append(
                Text(f"{at:g}×", style="red")
                if at is not None
                else Text(f"> {tried:g}×", style="green")
            )
        table.add_row(*cells)
    return table


def progress_text(done: int, total: int, wall_s: float, best: str | None) -> str:
    """``advise: 12/45 runs, 1m20s elapsed, about 3m left; best so far: ...``."""
    left = wall_s / done * (total - done) if done else None
    eta = f"about {format_duration(round(left))} left" if left is not None else "estimating"
    return (
        f"advise: {done}/{total} runs, {format_duration(round(wall_s))} elapsed, {eta}; "
        f"best so far: {best or 'none passes yet'}"
    )
