"""The report's plot axes: store calendar time with round ticks, store hours, outage shading.

Shared by every figure in :mod:`peakbench.report.figures`: colours, layout, tick steps, and the
shaded throttle outages a time plot carries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

from peakbench.report.series import RunSeries

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
    "outage": "#cf222e",
}


SIDES = {"display lag": "the plugin's side", "transport delay": "the carrier's side"}


TIME_TICKS_H = (1, 2, 3, 6, 12, 24, 48)


DURATION_TICKS_H = (0.25, 0.5, 1, 2, 3, 6, 12, 24, 48)


MAX_TICKS = 9


LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "height": 420,
    "margin": {"l": 70, "r": 70, "t": 60, "b": 50},
    "legend": {"orientation": "h", "y": -0.18},
    "hovermode": "x unified",
}


def _hours(values: Sequence[float | None]) -> list[float | None]:
    return [None if v is None else v / HOUR for v in values]


def when(series: RunSeries, t: float) -> datetime:
    """Run second ``t`` as a naive GMT datetime, what a plotly date axis draws as written."""
    return datetime.fromtimestamp(series.start_epoch + t, UTC).replace(tzinfo=None)


def _ms(series: RunSeries, t: float) -> float:
    """Run second ``t`` as milliseconds since the epoch: a date axis's number for shapes."""
    return (series.start_epoch + t) * 1000


def _bin_centres(series: RunSeries) -> list[datetime]:
    half = series.bins.width / 2
    return [when(series, t + half) for t in series.bins.starts]


def round_step(span: float, steps: Sequence[float], most: int = MAX_TICKS) -> float:
    """The smallest of ``steps`` that cuts ``span`` into at most ``most`` ticks."""
    for step in steps:
        if span / step <= most:
            return step
    return steps[-1]


def _time_axis(fig: go.Figure, series: RunSeries, **where: Any) -> None:
    """A store-time axis in GMT over the whole plot, ticks on round hours."""
    step = round_step(series.bins.end / HOUR, TIME_TICKS_H)
    first = when(series, 0.0)
    fig.update_xaxes(
        type="date",
        range=[first, when(series, series.bins.end)],
        tick0=first.replace(hour=0, minute=0, second=0, microsecond=0),
        dtick=step * HOUR * 1000,
        tickformat="%a %H:%M",
        hoverformat="%a %d %b %H:%M GMT",
        **where,
    )


def _duration_axis(span_h: float) -> dict[str, Any]:
    """Axis settings for store hours from 0 to ``span_h``, ticks on round hours."""
    step = round_step(max(span_h, 0.25), DURATION_TICKS_H, most=8)
    return {"dtick": step, "tick0": 0, "ticksuffix": " h", "rangemode": "tozero"}


def _mark_end(fig: go.Figure, series: RunSeries) -> None:
    """A line where the replay ended, when the plot goes on into the drain after it."""
    if series.bins.end > series.end:
        fig.add_vline(
            x=_ms(series, series.end),
            line={"dash": "dot", "color": "#59636e", "width": 1},
            annotation_text="replay end",
            annotation_position="top left",
        )


def shade_outages(
    fig: go.Figure, series: RunSeries, carrier: str | None = None, **where: Any
) -> None:
    """Shade every throttle outage (of ``carrier`` only, when given), labelled with its causes."""
    for o in series.outages:
        if carrier is not None and o.carrier != carrier:
            continue
        label = o.story if carrier is not None else f"{o.carrier}: {o.story}"
        fig.add_vrect(
            x0=_ms(series, o.start),
            x1=_ms(series, o.end),
            fillcolor=COLOURS["outage"],
            opacity=0.12,
            line_width=0,
            layer="below",
            annotation_text=f"outage ({label})",
            annotation_position="top left",
            annotation_font_size=11,
            **where,
        )


def in_outage(series: RunSeries, start: float, end: float) -> bool:
    """Whether the store-time interval ``[start, end)`` overlaps a throttle outage."""
    return any(o.start < end and start < o.end for o in series.outages)
