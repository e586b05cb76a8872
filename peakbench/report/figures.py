"""The run report's plots, as plotly figures built from ``RunSeries`` (data in, figure out).

Time axes are store calendar time in GMT with round ticks (every 1, 2, 3, 6, 12 or 24 hours),
and every time plot shades the throttle outages; durations are plotted in store hours with
round ticks. Each figure's title says what it counts, and every trace is named so hover text
reads on its own.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from peakbench.measure.units import duration, money
from peakbench.report.axes import (
    COLOURS,
    HOUR,
    LAYOUT,
    SIDES,
    _bin_centres,
    _duration_axis,
    _hours,
    _mark_end,
    _time_axis,
    in_outage,
    shade_outages,
    when,
)
from peakbench.report.series import RunSeries, cdf, patience_curve


def rates_figure(series: RunSeries) -> go.Figure:
    """Orders and views per store hour, with refresh latency p50/p95/p99 on a second axis.

    Refresh latency is binned by when each carrier event became visible: a rising line means
    events that appeared then waited longer before the store showed them. Where events waited
    across an outage the lines break: they all waited for its end, so their latency falls
    towards it, which is not a recovery. Those bins, and bins with events never shown by the
    end (a lower bound), are drawn as separate p95 markers instead.
    """
    x = _bin_centres(series)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for name, values in (("orders", series.order_rate), ("views", series.view_rate)):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=list(values),
                name=f"{name} per hour",
                mode="lines",
                line={"color": COLOURS[name], "shape": "hv"},
            ),
            secondary_y=False,
        )
    refresh = series.refresh
    width = series.bins.width
    # a bin "waited for an outage" when it lies in one, or its slowest events (p99) appeared
    # before one and were shown only after it began
    during = [
        in_outage(series, t, t + max(width, slow or 0.0))
        for t, slow in zip(series.bins.starts, refresh.p99, strict=True)
    ]
    lower = [c > 0 for c in refresh.censored]
    plain = [not (d or c) for d, c in zip(during, lower, strict=True)]
    for p, dash in (("p50", "dot"), ("p95", "solid"), ("p99", "dash")):
        values = getattr(refresh, p)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_hours([v if keep else None for v, keep in zip(values, plain, strict=True)]),
                name=f"refresh latency {p}",
                mode="lines+markers",
                marker={"size": 4},
                line={"color": "#1f2328", "dash": dash, "width": 1.5},
                connectgaps=False,
                customdata=list(refresh.count),
                hovertemplate="%{y:.2f} h (n=%{customdata})",
            ),
            secondary_y=True,
        )
    for mask, name, symbol, colour in (
        (
            during,
            "p95 of events that waited for an outage to end",
            "x",
            "#cf222e",
        ),
        (
            [c and not d for d, c in zip(during, lower, strict=True)],
            "p95, lower bound: some events never shown by the end",
            "triangle-up-open",
            "#1f2328",
        ),
    ):
        ys = [v if m else None for v, m in zip(refresh.p95, mask, strict=True)]
        if not any(y is not None for y in ys):
            continue
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_hours(ys),
                name=name,
                mode="markers",
                marker={"symbol": symbol, "size": 7, "color": colour},
                customdata=[[n, c] for n, c in zip(refresh.count, refresh.censored, strict=True)],
                hovertemplate="%{y:.2f} h (n=%{customdata[0]}, never shown %{customdata[1]})",
            ),
            secondary_y=True,
        )
    fig.update_layout(
        title=f"Load and refresh latency (bins of {width / 60:g} store minutes, outages shaded)",
        **LAYOUT,
    )
    _time_axis(fig, series, title_text="store time (GMT)")
    shade_outages(fig, series)
    _mark_end(fig, series)
    top = max((v for v in refresh.p99 if v is not None), default=HOUR) / HOUR
    fig.update_yaxes(title_text="arrivals per store hour", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(
        title_text="refresh latency", secondary_y=True, showgrid=False, **_duration_axis(top)
    )
    return fig


def staleness_figure(series: RunSeries, stale_after_s: float, p95_slo_s: float | None) -> go.Figure:
    """Empirical CDF of the staleness customers saw, one point per distinct value.

    A vertical line marks the profile's ``stale_after`` (and the p95 SLO when set), a horizontal
    one the 95th percentile: the curve must cross 0.95 left of the SLO line to pass.
    """
    xs, ys = cdf(series.staleness)
    fig = go.Figure(
        go.Scatter(
            x=[0.0, *(_hours(xs))],
            y=[0.0, *ys],
            name="views",
            mode="lines",
            line={"shape": "hv", "color": COLOURS["views"], "width": 2},
            hovertemplate="%{y:.1%} of views at most %{x:.2f} h stale<extra></extra>",
        )
    )
    fig.add_hline(y=0.95, line={"dash": "dot", "color": "#59636e"}, annotation_text="p95")
    fig.add_vline(
        x=stale_after_s / HOUR,
        line={"dash": "dash", "color": COLOURS["throttled"]},
        annotation_text=f"stale after {duration(stale_after_s)} (slo.stale_after)",
        annotation_position="bottom right",
    )
    if p95_slo_s is not None and p95_slo_s != stale_after_s:
        fig.add_vline(
            x=p95_slo_s / HOUR,
            line={"dash": "dash", "color": COLOURS["blocked"]},
            annotation_text=f"SLO p95 ≤ {duration(p95_slo_s)}",
        )
    layout = {**LAYOUT, "hovermode": "closest"}
    fig.update_layout(
        title=f"Staleness of customer views (CDF, n={len(series.staleness):,})", **layout
    )
    fig.update_xaxes(
        title_text="staleness (store time)", **_duration_axis(max(xs, default=0) / HOUR)
    )
    fig.update_yaxes(title_text="share of views", range=[0, 1.02], tickformat=".0%")
    return fig


def carriers_figure(series: RunSeries) -> go.Figure:
    """Per carrier, requests per bin stacked by outcome, with throttle outages shaded."""
    names = sorted(series.carriers)
    fig = make_subplots(
        rows=max(1, len(names)),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[f"carrier {n}" for n in names] or ["no carrier journals"],
        vertical_spacing=0.08,
    )
    x = _bin_centres(series)
    width_ms = series.bins.width * 1000
    for row, name in enumerate(names, start=1):
        for outcome, counts in series.carriers[name].items():
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=list(counts),
                    width=width_ms,
                    name=f"{name} {outcome}",
                    legendgroup=outcome,
                    showlegend=row == 1,
                    marker={"color": COLOURS[outcome], "line": {"width": 0}},
                    meta={"carrier": name, "outcome": outcome},
                ),
                row=row,
                col=1,
            )
        shade_outages(fig, series, name, row=row, col=1)
    fig.update_layout(
        title="Carrier requests by outcome, outages shaded "
        f"(bins of {series.bins.width / 60:g} store minutes)",
        barmode="stack",
        bargap=0,
        **{**LAYOUT, "height": max(LAYOUT["height"], 260 * len(names) + 120)},
    )
    _time_axis(fig, series)
    _mark_end(fig, series)
    fig.update_xaxes(title_text="store time (GMT)", row=max(1, len(names)), col=1)
    fig.update_yaxes(title_text="requests per bin")
    return fig


def queue_figure(series: RunSeries) -> go.Figure | None:
    """The sandbox plugin's queue over time; ``None`` when the target kept no queue samples."""
    if not series.queue:
        return None
    t = [when(series, s[0]) for s in series.queue]
    fig = go.Figure()
    for i, name in ((1, "pending"), (2, "due (overdue)"), (3, "running")):
        fig.add_trace(go.Scatter(x=t, y=[s[i] for s in series.queue], name=name, mode="lines"))
    fig.update_layout(title="Plugin queue depth (scheduled actions, outages shaded)", **LAYOUT)
    _time_axis(fig, series, title_text="store time (GMT)")
    shade_outages(fig, series)
    fig.update_yaxes(title_text="actions", rangemode="tozero")
    return fig


def complaints_figure(
    series: RunSeries, complaints: dict[str, Any], support: dict[str, Any] | None = None
) -> go.Figure:
    """Expected complaints split by cause, next to the patience curve that produced them.

    Left: expected complaints per 1,000 orders, display lag (the carrier had newer events than
    the store showed: the plugin's side) vs transport delay (the parcel really did not move: the
    carrier's side). Right: the assumed patience curve (probability of a complaint against the
    apparent stall) over the histogram of apparent stalls the customers saw, split the same way.
    One legend entry per idea: each cause once (bar and histogram together), the curve once.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.25, 0.75],
        specs=[[{}, {"secondary_y": True}]],
        subplot_titles=["per 1,000 orders", "apparent stall of views and the patience curve"],
    )
    per_1000 = float(complaints.get("expected_per_1000_orders", 0.0))
    shares = {
        "display lag": float(complaints.get("display_lag_share", 0.0)),
        "transport delay": float(complaints.get("transport_delay_share", 0.0)),
    }
    for cause, share in shares.items():
        fig.add_trace(
            go.Bar(
                x=["expected complaints"],
                y=[per_1000 * share],
                name=f"{cause} ({SIDES[cause]})",
                legendgroup=cause,
                marker={"color": COLOURS[cause]},
                hovertemplate=f"{cause}: %{{y:.1f}} per 1,000 orders ({share:.0%})<extra></extra>",
            ),
            row=1,
            col=1,
        )
    for cause, lag in (("display lag", True), ("transport delay", False)):
        fig.add_trace(
            go.Histogram(
                x=[s.apparent_stall / HOUR for s in series.stalls if s.display_lag == lag],
                name=f"views, {cause}",
                legendgroup=cause,
                showlegend=False,
                marker={"color": COLOURS[cause]},
                opacity=0.6,
                xbins={"size": 1.0},
            ),
            row=1,
            col=2,
            secondary_y=False,
        )
    longest = max((s.apparent_stall for s in series.stalls), default=0.0)
    upto = max(longest, series.patience.midpoint + 3 * series.patience.width)
    xs, ys = patience_curve(series.patience, upto)
    fig.add_trace(
        go.Scatter(
            x=_hours(xs),
            y=list(ys),
            name="patience curve (assumed)",
            mode="lines",
            line={"color": "#1f2328", "width": 2},
            hovertemplate="stall %{x:.1f} h → %{y:.0%} complain<extra></extra>",
        ),
        row=1,
        col=2,
        secondary_y=True,
    )
    cost = ""
    if support and support.get("cost_per_1000_orders") is not None:
        cost = (
            f" ≈ {money(support['cost_per_1000_orders'], support.get('currency', 'USD'))} of "
            "support"
        )
    fig.update_layout(
        title=f"Expected complaints: {per_1000:.1f} per 1,000 orders{cost}",
        barmode="stack",
        **{**LAYOUT, "hovermode": "closest"},
    )
    fig.update_yaxes(title_text="complaints per 1,000 orders", row=1, col=1)
    fig.update_xaxes(
        title_text="apparent stall (store time)", row=1, col=2, **_duration_axis(upto / HOUR)
    )
    fig.update_yaxes(title_text="views", row=1, col=2, secondary_y=False)
    fig.update_yaxes(
        title_text="P(complaint)",
        row=1,
        col=2,
        secondary_y=True,
        range=[0, 1],
        dtick=0.2,
        tickformat=".0%",
        showgrid=False,
    )
    return fig
