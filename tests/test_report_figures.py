"""The report's plots from a series built here: store-time axes with round ticks, outages shaded
on every time plot, no fake recovery during an outage, one legend entry per idea."""

from __future__ import annotations

from typing import Any

import pytest

from peakbench.config.profile import PatienceSpec
from peakbench.report.axes import round_step
from peakbench.report.figures import (
    carriers_figure,
    complaints_figure,
    queue_figure,
    rates_figure,
    staleness_figure,
)
from peakbench.report.series import Bins, OutageWindow, Percentiles, RunSeries, Stall

HOUR = 3600.0
START = 1795755600.0  # Fri 27 Nov 2026 05:00 GMT
N = 24  # 12 h in bins of 30 min


def _series(**changes: Any) -> RunSeries:
    # events of bins 0-9 are shown within minutes; those of 10-13 wait for the ban to end at
    # 7 h; bin 22 has events never shown by the end
    p95: list[float | None] = [300.0] * N
    for i in range(10, 14):
        p95[i] = 7 * HOUR - i * 1800
    censored = [0] * N
    censored[22] = 3
    values: dict[str, Any] = {
        "end": 12 * HOUR,
        "start_epoch": START,
        "bins": Bins(1800.0, N),
        "order_rate": tuple([60.0] * N),
        "view_rate": tuple([120.0] * N),
        "refresh": Percentiles(
            count=tuple([10] * N),
            censored=tuple(censored),
            p50=tuple(p95),
            p95=tuple(p95),
            p99=tuple(p95),
        ),
        "staleness": tuple(sorted([0.0] * 80 + [1800.0] * 15 + [5 * HOUR] * 5)),
        "carriers": {"generic": {o: tuple([5] * N) for o in ("ok", "throttled", "blocked")}},
        "outages": (
            OutageWindow("generic", 5 * HOUR, 7 * HOUR, "ban", 40, False, "quota:1d → ban"),
        ),
        "queue": tuple((i * 600.0, i % 7, i % 3, 1) for i in range(72)),
        "stalls": (Stall(3600.0, True), Stall(40 * HOUR, False)),
        "patience": PatienceSpec(),
    }
    values.update(changes)
    return RunSeries(**values)


def test_round_steps() -> None:
    hours = (1, 2, 3, 6, 12, 24, 48)
    assert [round_step(span, hours) for span in (8, 12, 24, 48, 96, 2000)] == [1, 2, 3, 6, 12, 48]


@pytest.mark.parametrize("make", ["rates", "carriers", "queue"])
def test_every_time_plot_has_gmt_round_ticks_and_shaded_outages(make: str) -> None:
    series = _series()
    fig = {"rates": rates_figure, "carriers": carriers_figure, "queue": queue_figure}[make](series)
    assert fig is not None
    axis = fig.layout.xaxis
    assert axis.type == "date" and axis.dtick == 2 * HOUR * 1000  # 12 h → every 2 h
    assert axis.tickformat == "%a %H:%M"
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [(r.x0, r.x1) for r in rects] == [((START + 5 * HOUR) * 1000, (START + 7 * HOUR) * 1000)]
    labels = [a.text for a in fig.layout.annotations if a.text.startswith("outage")]
    assert labels and "quota:1d → ban" in labels[0]


def test_refresh_latency_does_not_fall_like_a_recovery_during_an_outage() -> None:
    fig = rates_figure(_series())
    line = next(t for t in fig.data if t.name == "refresh latency p95")
    waited = next(t for t in fig.data if t.name == "p95 of events that waited for an outage to end")
    lower = next(t for t in fig.data if t.name.startswith("p95, lower bound"))
    # bins 10..13 waited across the 5 h-7 h outage: off the line, on their own markers
    assert [i for i, y in enumerate(waited.y) if y is not None] == [10, 11, 12, 13]
    assert all(line.y[i] is None for i in (10, 11, 12, 13))
    assert line.y[9] == pytest.approx(300 / HOUR) and line.y[14] == pytest.approx(300 / HOUR)
    # a bin whose events were never all shown is a lower bound, not a point of the line
    assert [i for i, y in enumerate(lower.y) if y is not None] == [22] and line.y[22] is None
    # the latency axis ticks on round hours
    assert fig.layout.yaxis2.ticksuffix == " h" and fig.layout.yaxis2.dtick in (0.25, 0.5, 1, 2)


def test_no_outage_no_outage_markers() -> None:
    fig = rates_figure(_series(outages=()))
    names = [t.name for t in fig.data]
    assert "p95 of events that waited for an outage to end" not in names
    assert not [s for s in fig.layout.shapes if s.type == "rect"]


def test_complaints_panel_has_one_legend_entry_per_idea() -> None:
    comp = {
        "expected_per_1000_orders": 20.0,
        "display_lag_share": 0.4,
        "transport_delay_share": 0.6,
    }
    fig = complaints_figure(_series(), comp, {"cost_per_1000_orders": 160.2, "currency": "USD"})
    shown = [t.name for t in fig.data if t.showlegend is not False]
    assert shown == [
        "display lag (the plugin's side)",
        "transport delay (the carrier's side)",
        "patience curve (assumed)",
    ]
    assert len(fig.data) == 5  # the histograms ride on the bars' legend entries
    assert "$160.20 of support" in fig.layout.title.text
    assert fig.layout.yaxis3.dtick == 0.2  # P(complaint) on round percentages


def test_staleness_cdf_shows_stale_after_in_words() -> None:
    fig = staleness_figure(_series(), 1800.0, 3600.0)
    texts = [a.text for a in fig.layout.annotations]
    assert "stale after 30 min (slo.stale_after)" in texts and "SLO p95 ≤ 1 h" in texts
    assert fig.layout.xaxis.ticksuffix == " h" and fig.layout.xaxis.dtick == 1
