"""The console renderings: live progress and the end-of-run summary, as rich renderables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from peakbench.measure.explain import explain
from peakbench.measure.labels import check_label, check_value, plugin_text, stale_after
from peakbench.measure.live import Snapshot
from peakbench.measure.shopify_figures import shopify_lines
from peakbench.measure.units import at, duration, money, share
from peakbench.report.clocks import pace


def _d(value: float | None) -> str:
    return duration(value)


def progress_table(snap: Snapshot, scale: float | None) -> Table:
    """One glance at a running replay (``scale`` None: in virtual time)."""
    table = Table(show_header=False, box=None, padding=(0, 2))
    pct = min(100.0, 100.0 * max(0.0, snap.t) / snap.duration) if snap.duration else 0.0
    pace = "virtual time" if scale is None else f"×{scale:g}"
    table.add_row(
        "store time", f"{_d(max(0.0, snap.t))} of {_d(snap.duration)} ({pct:.0f}%), {pace}"
    )
    for kind, label in (("order", "orders placed"), ("ship", "shipments"), ("view", "views")):
        table.add_row(
            label,
            f"{snap.done[kind]:,} / {snap.scheduled[kind]:,}"
            + (f"  late {snap.late[kind]:,}" if snap.late[kind] else "")
            + (f"  failed {snap.failed[kind]:,}" if snap.failed[kind] else ""),
        )
    c = snap.carriers
    table.add_row(
        "carrier requests",
        f"{c['requests']:,}  ok {c['ok']:,}  throttled "
        f"{c['throttled']:,}  blocked {c['blocked']:,}",
    )
    table.add_row("staleness p95 (last hour)", _d(snap.staleness_p95))
    return table


def progress_line(snap: Snapshot) -> str:
    """The same figures on one line, for logs and CI."""
    c = snap.carriers
    return (
        f"t={_d(max(0.0, snap.t))}/{_d(snap.duration)} orders {snap.done['order']}/"
        f"{snap.scheduled['order']} views {snap.done['view']}/{snap.scheduled['view']} "
        f"late {sum(snap.late.values())} failed {sum(snap.failed.values())} carrier ok "
        f"{c['ok']} throttled {c['throttled']} blocked {c['blocked']} staleness p95 "
        f"{_d(snap.staleness_p95)}"
    )


def _dist_row(table: Table, name: str, dist: dict[str, Any]) -> None:
    table.add_row(
        name,
        f"{dist['count']:,}",
        _d(dist["p50"]),
        _d(dist["p90"]),
        _d(dist["p95"]),
        _d(dist["p99"]),
        _d(dist["max"]),
    )


def freshness_table(summary: dict[str, Any]) -> Table:
    """Refresh latency, staleness and apparent stall percentiles, with their sample counts."""
    table = Table(title="What customers saw (store time)", title_justify="left")
    for col in ("figure", "n", "p50", "p90", "p95", "p99", "max"):
        # durations wrap between their units on a narrow terminal rather than being cut off
        table.add_column(col, justify="left" if col == "figure" else "right", no_wrap=col == "n")
    _dist_row(table, "refresh latency", summary["refresh_latency_s"])
    probe = summary.get("probe")
    if probe:  # the freshness probe's figure, its resolution the probe period
        label = f"… probe every {_d(probe['period_s'])}"
        _dist_row(table, label, probe["refresh_latency_s"])
    _dist_row(table, "staleness", summary["staleness_s"])
    _dist_row(table, "apparent stall", summary["apparent_stall_s"])
    return table


def _counts(row: dict[str, int]) -> str:
    return (
        f"{row['done']:,} of {row['scheduled']:,} done, {row['late']:,} late, "
        f"{row['failed']:,} failed"
    )


def summary_table(summary: dict[str, Any]) -> Table:
    """The run at a glance: the replay, the carriers, outages, complaints and the verdict."""
    table = Table(show_header=False, title_justify="left", box=None, padding=(0, 2))
    table.title = Text.assemble(f"peakbench · {summary['profile']} · ", verdict_text(summary))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("plugin", plugin_text(summary.get("plugin")))
    for key in ("orders", "ships", "views"):
        table.add_row(key, _counts(summary[key]))
    for name, c in summary["carriers"].items():
        table.add_row(
            f"carrier {name}",
            f"{c['requests']:,} requests: {c['ok']:,} ok, {c['throttled']:,} throttled, "
            f"{c['blocked']:,} blocked, {c['errors']:,} errors",
        )
    for name, p in sorted((summary.get("push") or {}).items()):
        table.add_row(f"webhook push {name}", push_text(p))
    table.add_row("throttle outages", outages_text(summary))
    limit = duration(stale_after(summary))
    table.add_row(
        "stale views",
        f"{share(summary.get('stale_views_share'))} of views were stale for over {limit} "
        "(slo.stale_after)",
    )
    comp = summary["complaints"]
    table.add_row(
        "expected complaints",
        f"{comp['expected_per_1000_orders']:.1f} per 1,000 orders: "
        f"{share(comp['display_lag_share'])} display lag (the plugin's side), "
        f"{share(comp['transport_delay_share'])} transport delay (the carrier's side); "
        "patience curve assumed",
    )
    if summary.get("support"):
        table.add_row("support cost", support_text(summary["support"]))
    table.add_row(
        "clock",
        f"{pace(summary['clock'])}; loopback round trip ≈ "
        f"{_d(summary['distortion']['view_round_trip_p50_s'])} of store time",
    )
    if summary.get("resources"):
        table.add_row("resources", resources_text(summary["resources"]))
    return table


def outages_text(summary: dict[str, Any]) -> str:
    """How many outages, and the longest: when, how long, its first and last cause, its harm."""
    outages = summary.get("outages") or []
    if not outages:
        return "none"
    o = max(outages, key=lambda o: o["end"] - o["start"])
    return (
        f"{len(outages)}, longest {_d(o['end'] - o['start'])} from {at(summary, o['start'])} "
        f"({o['carrier']}, {cause_text(o)}; {o['views_affected']:,} views and "
        f"{o['orders_affected']:,} orders stale for over {duration(stale_after(summary))})"
    )


def cause_text(outage: dict[str, Any]) -> str:
    """``quota:1d → ban`` when an outage began with one refusal and ended with another."""
    names = [c["cause"] for c in outage.get("causes") or []]
    if len(names) > 1:
        return " → ".join(names)
    first = outage.get("first_cause") or outage["cause"]
    return first if first == outage["cause"] else f"{first} → {outage['cause']}"


def push_text(push: dict[str, Any]) -> str:
    """One pushing carrier's webhook outcomes: attempts, delivered, failed, given up, and the
    HTTP statuses the store answered (``none``: no answer)."""
    codes = ", ".join(f"{code} ×{n:,}" for code, n in (push.get("statuses") or {}).items())
    return (
        f"{int(push.get('attempts') or 0):,} attempts: {int(push.get('delivered') or 0):,} "
        f"delivered, {int(push.get('failed') or 0):,} failed, "
        f"{int(push.get('given_up') or 0):,} given up" + (f" (HTTP {codes})" if codes else "")
    )


def support_text(support: dict[str, Any]) -> str:
    """Expected support contacts and their cost per 1,000 orders, next to self-service's."""
    cur = str(support.get("currency") or "USD")
    return (
        f"{support['contacts_per_1000_orders']:.1f} contacts per 1,000 orders cost "
        f"{money(support['cost_per_1000_orders'], cur)} at "
        f"{money(support['cost_per_contact'], cur)} a contact "
        f"({money(support['self_service_cost_per_1000_orders'], cur)} had the tracking page "
        "answered them)"
    )


def resources_text(res: dict[str, Any]) -> str:
    """Peak memory and descriptors per process, and whether any grew like a leak."""
    parts = [
        f"{name} {p['rss_mb']['peak']:.0f} MiB {p['fds']['peak']:.0f} fds"
        for name, p in res["processes"].items()
    ]
    verdict = f"{len(res['findings'])} leak finding(s)" if res["findings"] else "flat"
    return f"peak {', '.join(parts)}; {verdict} over {res['wall_s']:g} s wall"


def slo_table(summary: dict[str, Any]) -> Table:
    """Each SLO check in people's words, with its limit, the run's value and pass/FAIL."""
    table = Table(title="SLO checks", title_justify="left")
    for col in ("check", "limit", "value", "result"):
        table.add_column(col, justify="left" if col == "check" else "right")
    for check in summary["slo"]["checks"]:
        name = str(check["name"])
        table.add_row(
            check_label(name, summary),
            check_value(name, check["threshold"]),
            "no samples" if check.get("samples") == 0 else check_value(name, check["value"]),
            Text("pass", "green") if check["passed"] else Text("FAIL", "bold red"),
        )
    return table


def verdict_text(summary: dict[str, Any]) -> Text:
    if not summary.get("valid", False):
        return Text("INVALID", "bold yellow")
    return Text("PASSED", "bold green") if summary["slo"]["passed"] else Text("FAILED", "bold red")


def explanation(summary: dict[str, Any]) -> str:
    """Why the run came out as it did (:func:`peakbench.measure.explain.explain`), computed from
    the summary as it is now, so a re-gated or invalidated summary never shows a stale one."""
    return explain(summary)


def render_summary(console: Console, summary: dict[str, Any]) -> None:
    """Print the whole end-of-run summary: why, freshness, the run at a glance, the SLO checks."""
    console.print(Text.assemble(verdict_text(summary), " ", explanation(summary)))
    console.print()
    console.print(freshness_table(summary))
    console.print(summary_table(summary))
    if summary["slo"]["checks"]:
        console.print(slo_table(summary))
    caveat = (summary.get("refresh_latency_s") or {}).get("caveat")
    if caveat:
        console.print(f"[yellow]caveat:[/] refresh latency: {caveat}", highlight=False)
    for line in shopify_lines(summary):  # how a Shopify run's orders were created, its throttles
        console.print(f"[cyan]shopify:[/] {line}", highlight=False, soft_wrap=True)
    for reason in summary["invalid_reasons"]:
        console.print(f"[yellow]invalid:[/] {reason}", highlight=False)
    for finding in (summary.get("resources") or {}).get("findings", []):
        console.print(f"[yellow]finding:[/] {finding['message']}", highlight=False)
