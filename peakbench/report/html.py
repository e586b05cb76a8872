"""The run report: ``results/<run>/report.html``, one self-contained page that opens offline.

Built from the run folder alone (``summary.json``, ``run.json``, the journals, the store's
database), so ``peakbench report RUN`` re-renders it anywhere. The tables are the console's own
rich tables rendered as HTML; the plots are ``peakbench.report.figures`` over
``peakbench.report.series``.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from peakbench.measure.labels import plugin_text, stale_after
from peakbench.measure.shopify_figures import shopify_lines
from peakbench.measure.units import at, duration, instant, money, start_epoch
from peakbench.report.clocks import pace, pace_sentence
from peakbench.report.console import (
    cause_text,
    explanation,
    freshness_table,
    push_text,
    slo_table,
    summary_table,
    verdict_text,
)
from peakbench.report.figures import (
    carriers_figure,
    complaints_figure,
    queue_figure,
    rates_figure,
    staleness_figure,
)
from peakbench.report.page import figure_html, page, table_html
from peakbench.report.series import read_series

REPORT = "report.html"
CANDIDATES = "-candidates-"


def _e(value: object) -> str:
    return html.escape(str(value))


def _d(seconds: float | None) -> str:
    return duration(seconds)


def candidate_name(summary: dict[str, Any], run_dir: Path) -> str | None:
    """The candidate a run played, when it lies in a candidates folder
    (``<UTC>-<profile>-candidates-<id>/``, its profile named ``<profile>-<candidate>``)."""
    parent = run_dir.resolve().parent.name
    if CANDIDATES not in parent:
        return None
    profile = parent.split("-", 1)[-1].rsplit(CANDIDATES, 1)[0]
    name = str(summary.get("profile", ""))
    return name[len(profile) + 1 :] if name.startswith(profile + "-") else name


def verdict(summary: dict[str, Any]) -> str:
    """``PASSED``, ``FAILED`` (an SLO failed) or ``INVALID`` (the run cannot be trusted)."""
    return verdict_text(summary).plain


def _header(summary: dict[str, Any], record: dict[str, Any], run_dir: Path) -> str:
    word = verdict(summary)
    clock = summary["clock"]
    start = start_epoch(summary)
    span = (
        f"{instant(start)} → {instant(start + clock['end'])}"
        if start is not None
        else f"{clock.get('start_iso', '?')} → {clock.get('end_iso', '?')}"
    )
    rows = [
        ("verdict", word),
        ("profile", summary["profile"]),
        ("target", summary["target"]),
        ("plugin", plugin_text(summary.get("plugin"))),
        ("seed", summary["seed"]),
        ("store time", f"{span} ({_d(clock['end'] - clock['start'])})"),
        ("clock", pace_sentence(clock)),
        (
            "validity",
            "valid"
            if summary.get("valid")
            else "INVALID: " + "; ".join(summary.get("invalid_reasons") or ["unknown"]),
        ),
        ("run", run_dir.name),
        ("started (wall clock)", _wall(record.get("started_at"))),
        ("versions", ", ".join(f"{k} {v}" for k, v in (record.get("versions") or {}).items())),
        ("git commit", record.get("git_commit") or "unknown"),
    ]
    if summary.get("partial"):
        rows.insert(8, ("partial", "yes: the run was interrupted"))  # after validity
    rows += [("shopify", line) for line in shopify_lines(summary)]  # orders and throttles
    candidate = candidate_name(summary, run_dir)
    if candidate:
        rows.insert(2, ("candidate", candidate))
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    title = f"{summary['profile']}" + (f" (candidate {candidate})" if candidate else "")
    return (
        f"<h1>peakbench · {_e(title)} "
        f'<span class="verdict {word.lower()}">{word}</span></h1>\n'
        f'<p class="why"><b>Why:</b> {_e(explanation(summary))}</p>\n'
        f'<p class="muted">This page: <code>{_e(run_dir.resolve() / REPORT)}</code>. All times '
        f"are store time in GMT; clock: {_e(pace(clock))}.</p>\n"
        f'<table class="kv">{body}</table>'
    )


def _wall(text: object) -> str:
    """The run's wall-clock start (ISO 8601 in run.json) in the reports' calendar format."""
    from datetime import datetime

    try:
        return instant(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return str(text or "?")


def outages_html(summary: dict[str, Any]) -> str:
    """The throttle outages as a table, in start order: when, how long, why, whom it hurt."""
    outages = summary.get("outages") or []
    if not outages:
        return "<p>No throttle outages: every carrier answered the plugin throughout the run.</p>"
    limit = _d(stale_after(summary))
    head = (
        "<tr><th>carrier</th><th>start</th><th>end</th><th>duration</th>"
        "<th>cause (first → last)</th><th>refused</th>"
        f"<th>orders stale for over {_e(limit)}</th><th>views stale for over {_e(limit)}</th></tr>"
    )
    rows = []
    for o in outages:
        end = at(summary, o["end"]) + (" (still open at the end)" if o.get("open") else "")
        rows.append(
            "<tr>"
            f"<td>{_e(o['carrier'])}</td><td>{_e(at(summary, o['start']))}</td>"
            f"<td>{_e(end)}</td><td>{_e(_d(o['end'] - o['start']))}</td>"
            f"<td>{_e(cause_text(o))}</td><td>{o['refused']:,}</td>"
            f"<td>{o['orders_affected']:,}</td><td>{o['views_affected']:,}</td></tr>"
        )
    return (
        f"<table>{head}{''.join(rows)}</table>\n"
        '<p class="muted">An outage is a maximal interval in which the carrier refused the plugin '
        "(throttled or blocked) and no request to it succeeded; its causes are listed in the "
        "order they appeared (<code>quota:1d</code>: the daily quota was spent; <code>ban</code>: "
        "the carrier blocked the plugin for calling on). Orders and views counted are those whose "
        f"staleness it pushed past <code>slo.stale_after</code> ({_e(limit)}).</p>"
    )


def support_html(summary: dict[str, Any]) -> str:
    """What the expected complaints cost the support team, with the source of the costs."""
    support = summary.get("support")
    if not support:
        return "<p>No support figures in this summary.</p>"
    cur = str(support.get("currency") or "USD")
    rows = [
        (
            "expected support contacts",
            f"{support['contacts_per_1000_orders']:.1f} per 1,000 orders",
        ),
        (
            "their cost (live channels)",
            f"{money(support['cost_per_1000_orders'], cur)} per 1,000 orders",
        ),
        (
            "the same questions self-served",
            f"{money(support['self_service_cost_per_1000_orders'], cur)} per 1,000 orders",
        ),
        ("this run", f"{support['contacts']:.1f} contacts, {money(support['cost'], cur)}"),
        (
            "assumed",
            f"{support['contacts_per_complaint']:g} contact per complaint, "
            f"{money(support['cost_per_contact'], cur)} per live contact, "
            f"{money(support['self_service_cost'], cur)} self-service",
        ),
    ]
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    return (
        f'<table class="kv">{body}</table>\n'
        f'<p class="muted">Costs: {_e(support.get("source", ""))}. Set your own in the '
        "profile's <code>support:</code> section.</p>"
    )


def push_html(summary: dict[str, Any]) -> str:
    """Webhook push outcomes per pushing carrier, when the run had any (else nothing)."""
    push = summary.get("push") or {}
    if not push:
        return ""
    rows = "".join(
        f"<tr><td>{_e(name)}</td><td>{_e(push_text(p))}</td></tr>"
        for name, p in sorted(push.items())
    )
    return f'<h3>Webhook pushes to the store</h3>\n<table class="kv">{rows}</table>'


def assumptions_html(summary: dict[str, Any]) -> str:
    """What the figures rest on, stated so a reader can disagree with it."""
    comp = summary.get("complaints") or {}
    patience = comp.get("patience") or {}
    refresh = summary.get("refresh_latency_s") or {}
    staleness = summary.get("staleness_s") or {}
    items = [
        "<b>Patience curve (an assumption, not a measurement).</b> The probability that a customer "
        "who sees no movement for a stall <i>s</i> complains is logistic: "
        f"{patience.get('max_probability', '?')} / (1 + exp(−(s − "
        f"{_d(patience.get('midpoint_s'))}) / {_d(patience.get('width_s'))})). Built from survey "
        "figures (about 32% would contact support one day late, 79% three days late); change it "
        "in the profile's <code>patience</code>. Each order counts its worst view once.",
        "<b>Display lag vs transport delay.</b> A complaint is blamed on display lag when the "
        "carrier already had newer events than the store showed, else on transport delay.",
        "<b>Refresh latency</b> is exact from the store's change log (resolution "
        f"{_d(refresh.get('resolution_s'))}); {refresh.get('censored', 0):,} events never shown "
        "by the end of the run count with their lower bound (end − visible).",
        "<b>Staleness</b> of a view = view time − when the oldest event the page did not show "
        "became visible at the carrier. Its resolution is the loopback round trip of a view, "
        f"{_d(staleness.get('resolution_s'))} of store time at this clock scale: network round "
        "trips cannot scale with the clock (a distortion, not hidden).",
        f"<b>Clock.</b> {_e(pace_sentence(summary['clock']))}",
        "<b>Support cost.</b> Each expected complaint is "
        f"{(summary.get('support') or {}).get('contacts_per_complaint', 1):g} support contact at "
        "the profile's <code>support.cost_per_contact</code>; the default is Gartner's 2019 "
        "average of $8.01 per live-channel contact against $0.10 self-service.",
    ]
    if summary.get("skipped_journal_lines"):
        items.append(
            f"<b>Journals.</b> {summary['skipped_journal_lines']:,} unreadable journal lines "
            "(a torn write) were skipped."
        )
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def render_html(run_dir: Path) -> str:
    """The whole report for the run folder ``run_dir``, as one HTML document."""
    summary = json.loads((run_dir / "summary.json").read_text())
    record = json.loads((run_dir / "run.json").read_text())
    slo = (record.get("profile") or {}).get("slo") or {}
    series = read_series(run_dir)
    queue = queue_figure(series)
    parts = [
        _header(summary, record, run_dir),
        "<h2>SLO checks</h2>",
        table_html(slo_table(summary), title=False)
        if summary["slo"]["checks"]
        else "<p>No SLOs set.</p>",
        "<h2>At a glance</h2>",
        table_html(freshness_table(summary)),
        table_html(summary_table(summary), "kv", title=False),
        "<h2>Load and refresh latency</h2>",
        figure_html(rates_figure(series), "fig-rates"),
        "<h2>What customers saw</h2>",
        figure_html(
            staleness_figure(
                series, float(slo.get("stale_after") or 3600.0), slo.get("staleness_p95")
            ),
            "fig-staleness",
        ),
        "<h2>Carriers</h2>",
        figure_html(carriers_figure(series), "fig-carriers"),
        "<h3>Throttle outages</h3>",
        outages_html(summary),
        push_html(summary),
    ]
    if queue is not None:
        parts += ["<h2>Plugin queue</h2>", figure_html(queue, "fig-queue")]
    parts += [
        "<h2>Expected complaints</h2>",
        figure_html(
            complaints_figure(series, summary.get("complaints") or {}, summary.get("support")),
            "fig-complaints",
        ),
        "<h2>Support cost</h2>",
        support_html(summary),
        "<h2>Assumptions</h2>",
        assumptions_html(summary),
        f"<footer>peakbench · {_e(run_dir.name)} · re-render with "
        f"<code>peakbench report {_e(run_dir)}</code></footer>",
    ]
    title = f"peakbench · {summary['profile']} · {verdict(summary)}"
    return page(title, "\n".join(parts), plotly=True)


def warm_up() -> None:
    """Load what rendering a report needs (the analysis, plotly's figure classes and
    validators, the page template) and render one throwaway figure. ``peakbench run`` calls
    it on a spare core while the world runs, so the report after the world does not pay for
    the loading; it changes no report."""
    import plotly.graph_objects as go

    import peakbench.measure.analysis  # noqa: F401  (numpy, the histograms)
    from peakbench.report.axes import LAYOUT

    figure_html(go.Figure(go.Scatter(x=[0.0], y=[0.0]), layout=LAYOUT))


def write_report(run_dir: Path) -> Path:
    """Render and write ``run_dir/report.html`` atomically; return its path."""
    path = run_dir / REPORT
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_html(run_dir), encoding="utf-8")
    os.replace(tmp, path)
    return path
