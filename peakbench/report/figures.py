"""The run report's plots, as plotly figures built from ``RunSeries`` (data in, figure out).

Time axes are store hours since the run start; durations are plotted in store hours. Each
figure's title says what it counts, and every trace is named so hover text reads on its own.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from peakbench.report.series import RunSeries, cdf, patience_curve

HOUR = 3600.0
COLOURS = {
    "ok": "#2da44e",
    "throttled": "#e16f24",
    "blocked": "#cf222e",
    "errors": "#8c959f",
    "orders": "#0969da",
    "views": "#8250df",
    "display lag": "#cf222e",
    "transport delay": "#9a6700",
}
LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "height": 420,
    "margin": {"l": 70, "r": 70, "t": 60, "b": 50},
    "legend": {"orientation": "h", "y": -0.18},
    "hovermode": "x unified",
}


def _hours(values: tuple[float | None, ...]) -> list[float | None]:
    return [None if v is None else v / HOUR for v in values]


def _bin_centres(series: RunSeries) -> list[float]:
    half = series.bins.width / 2
    return [(t + half) / HOUR for t in series.bins.starts]


def _mark_end(fig: go.Figure, series: RunSeries) -> None:
    """A line where the replay ended, when the plot goes on into the drain after it."""
    if series.bins.end > series.end:
        fig.add_vline(
            x=series.end / HOUR,
            line={"dash": "dot", "color": "#59636e", "width": 1},
            annotation_text="replay end",
            annotation_position="top left",
        )


def rates_figure(series: RunSeries) -> go.Figure:
    """Orders and views per store hour, with refresh latency p50/p95/p99 on a second axis.

    Refresh latency is binned by when each carrier event became visible: a rising line means
    events that appeared then waited longer before the store showed them.
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
    for p, dash in (("p50", "dot"), ("p95", "solid"), ("p99", "dash")):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_hours(getattr(series.refresh, p)),
                name=f"refresh latency {p}",
                mode="lines+markers",
                marker={"size": 4},
                line={"color": "#1f2328", "dash": dash, "width": 1.5},
                connectgaps=False,
                customdata=list(series.refresh.count),
                hovertemplate="%{y:.2f} h (n=%{customdata})",
            ),
            secondary_y=True,
        )
    fig.update_layout(
        title=f"Load and refresh latency (bins of {series.bins.width / 60:g} store minutes)",
        **LAYOUT,
    )
    fig.update_xaxes(title_text="store time since start (h)", range=[0, series.bins.end / HOUR])
    _mark_end(fig, series)
    fig.update_yaxes(title_text="arrivals per store hour", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="refresh latency (h)", secondary_y=True, rangemode="tozero")
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
        annotation_text=f"stale after {stale_after_s / HOUR:g} h",
        annotation_position="bottom right",
    )
    if p95_slo_s is not None and p95_slo_s != stale_after_s:
        fig.add_vline(
            x=p95_slo_s / HOUR,
            line={"dash": "dash", "color": COLOURS["blocked"]},
            annotation_text=f"SLO p95 ≤ {p95_slo_s / HOUR:g} h",
        )
    layout = {**LAYOUT, "hovermode": "closest"}
    fig.update_layout(
        title=f"Staleness of customer views (CDF, n={len(series.staleness):,})", **layout
    )
    fig.update_xaxes(title_text="staleness (store h)", rangemode="tozero")
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
    width_h = series.bins.width / HOUR
    for row, name in enumerate(names, start=1):
        for outcome, counts in series.carriers[name].items():
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=list(counts),
                    width=width_h,
                    name=f"{name} {outcome}",
                    legendgroup=outcome,
                    showlegend=row == 1,
                    marker={"color": COLOURS[outcome], "line": {"width": 0}},
                    meta={"carrier": name, "outcome": outcome},
                ),
                row=row,
                col=1,
            )
        for o in series.outages:
            if o.carrier != name:
                continue
            fig.add_vrect(
                x0=o.start / HOUR,
                x1=o.end / HOUR,
                row=row,
                col=1,
                fillcolor=COLOURS["blocked"],
                opacity=0.12,
                line_width=0,
                annotation_text=o.cause,
                annotation_position="top left",
            )
    fig.update_layout(
        title="Carrier requests by outcome, outages shaded "
        f"(bins of {series.bins.width / 60:g} store minutes)",
        barmode="stack",
        bargap=0,
        **{**LAYOUT, "height": max(LAYOUT["height"], 260 * len(names) + 120)},
    )
    fig.update_xaxes(range=[0, series.bins.end / HOUR])
    _mark_end(fig, series)
    fig.update_xaxes(title_text="store time since start (h)", row=max(1, len(names)), col=1)
    fig.update_yaxes(title_text="requests per bin")
    return fig


def queue_figure(series: RunSeries) -> go.Figure | None:
    """The sandbox plugin's queue over time; ``None`` when the target kept no queue samples."""
    if not series.queue:
        return None
    t = [s[0] / HOUR for s in series.queue]
    fig = go.Figure()
    for i, name in ((1, "pending"), (2, "due (overdue)"), (3, "running")):
        fig.add_trace(go.Scatter(x=t, y=[s[i] for s in series.queue], name=name, mode="lines"))
    fig.update_layout(title="Plugin queue depth (scheduled actions)", **LAYOUT)
    fig.update_xaxes(title_text="store time since start (h)")
    fig.update_yaxes(title_text="actions", rangemode="tozero")
    return fig


def complaints_figure(series: RunSeries, complaints: dict[str, Any]) -> go.Figure:
    """Expected complaints split by cause, next to the patience curve that produced them.

    Left: expected complaints per 1,000 orders, display lag (the carrier had newer events than
    the store showed) vs transport delay (the parcel really did not move). Right: the assumed
    patience curve (probability of a complaint against the apparent stall) over the histogram of
    apparent stalls the customers saw, split the same way.
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
                name=cause,
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
    fig.update_layout(
        title=f"Expected complaints: {per_1000:.1f} per 1,000 orders",
        barmode="stack",
        **{**LAYOUT, "hovermode": "closest"},
    )
    fig.update_yaxes(title_text="complaints per 1,000 orders", row=1, col=1)
    fig.update_xaxes(title_text="apparent stall (store h)", row=1, col=2)
    fig.update_yaxes(title_text="views", row=1, col=2, secondary_y=False)
    fig.update_yaxes(
        title_text="P(complaint)", row=1, col=2, secondary_y=True, range=[0, 1], tickformat=".0%"
    )
    return fig
