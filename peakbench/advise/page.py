"""``advise.html``: the advise answer as one self-contained page that opens offline.

The trade-off plot puts carrier cost on x and a customer outcome on y (menus switch both), one
marker per point and peak size; the frontier is ringed, the recommendation starred. The tables
are the console's own (peakbench/advise/tables.py). Built from ``advise.json`` alone, so
``peakbench report ADVISE_DIR`` re-renders it anywhere.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from peakbench.advise.sharing import BRANCHED, WHY
from peakbench.advise.tables import breaking_table, points_table
from peakbench.durations import format_duration
from peakbench.report.page import figure_html, page, table_html

PAGE = "advise.html"

X_AXES = (
    ("requests", "carrier requests (mean over seeds)", 1.0),
    ("quota_share", "share of the daily quota used (busiest day)", 1.0),
    ("p_outage", "probability of a throttle outage (share of seeds)", 1.0),
)
Y_AXES = (
    ("staleness_p95_s", "staleness p95 (store hours)", 1 / 3600),
    ("stale_views_share", "share of stale views", 1.0),
    ("complaints_per_1000_orders", "expected complaints per 1,000 orders", 1.0),
)
COLOURS = ("#0969da", "#e16f24", "#8250df", "#1a7f37", "#cf222e", "#9a6700")


def _values(points: list[dict[str, Any]], key: str, factor: float) -> list[float | None]:
    return [None if p.get(key) is None else p[key] * factor for p in points]


def _hover(p: dict[str, Any]) -> str:
    stale = p["staleness_p95_s"]
    return "<br>".join(
        [
            f"<b>{html.escape(p['setting'])}</b> at {p['multiplier']:g}×",
            "passes every SLO" if p["passed"] else "fails: " + ", ".join(p["failed_checks"]),
            f"headroom {p['headroom']:.0%}" if p["headroom"] is not None else "headroom –",
            f"staleness p95 {format_duration(stale) if stale is not None else '–'}",
            f"requests {p['requests']:,.0f}; P(outage) {p['p_outage']:.0%}",
        ]
    )


def trade_off_figure(doc: dict[str, Any]) -> go.Figure:
    """Carrier cost against customer outcome, one trace per peak size and verdict."""
    fig = go.Figure()
    frontier = {i for ids in doc["frontier"].values() for i in ids}
    rec = doc["recommendation"].get("point")
    groups: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = []
    for n, m in enumerate(doc["multipliers"]):
        colour = COLOURS[n % len(COLOURS)]
        at = [p for p in doc["points"] if p["multiplier"] == m]
        for passed in (True, False):
            mine = [p for p in at if p["passed"] is passed]
            marker = {
                "color": colour,
                "size": 10,
                "symbol": "circle" if passed else "x",
                "line": {
                    "width": [3 if p["id"] in frontier else 0 for p in mine],
                    "color": "#1f2328",
                },
            }
            groups.append((f"{m:g}× peak, {'passes' if passed else 'fails'}", mine, marker))
    special = [
        p
        for p in doc["points"]
        if p["id"] == rec or (p["current"] and p["multiplier"] == min(doc["multipliers"]))
    ]
    groups.append(
        (
            "recommended ★ / current ◆",
            special,
            {
                "size": [20 if p["id"] == rec else 16 for p in special],
                "symbol": ["star" if p["id"] == rec else "diamond-open" for p in special],
                "color": "#1f2328",
            },
        )
    )
    x0, y0 = X_AXES[0], Y_AXES[0]
    for name, pts, marker in groups:
        fig.add_trace(
            go.Scatter(
                x=_values(pts, x0[0], x0[2]),
                y=_values(pts, y0[0], y0[2]),
                mode="markers",
                name=name,
                marker=marker,
                hovertext=[_hover(p) for p in pts],
                hoverinfo="text",
                visible=True if pts else "legendonly",
            )
        )

    def buttons(axes: tuple[tuple[str, str, float], ...], axis: str) -> list[dict[str, Any]]:
        return [
            {
                "label": title.split(" (")[0],
                "method": "update",
                "args": [
                    {axis: [_values(pts, key, factor) for _, pts, _ in groups]},
                    {f"{axis}axis.title.text": title},
                ],
            }
            for key, title, factor in axes
        ]

    fig.update_layout(
        template="plotly_white",
        height=560,
        margin={"l": 80, "r": 40, "t": 70, "b": 60},
        xaxis_title=x0[1],
        yaxis_title=y0[1],
        legend={"orientation": "h", "y": -0.15},
        updatemenus=[
            {
                "buttons": buttons(X_AXES, "x"),
                "x": 0.0,
                "y": 1.13,
                "xanchor": "left",
                "direction": "down",
                "showactive": True,
            },
            {
                "buttons": buttons(Y_AXES, "y"),
                "x": 0.35,
                "y": 1.13,
                "xanchor": "left",
                "direction": "down",
                "showactive": True,
            },
        ],
        annotations=[
            {
                "text": "x:",
                "x": -0.03,
                "y": 1.115,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
            },
            {
                "text": "y:",
                "x": 0.32,
                "y": 1.115,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
            },
        ],
    )
    return fig


def _e(value: object) -> str:
    return html.escape(str(value))


def body(doc: dict[str, Any]) -> str:
    """The page's HTML body."""
    rec = doc["recommendation"]
    word = "PASSED" if doc.get("exit_code") == 0 else "FAILED"
    parts = [
        f"<h1>peakbench advise · {_e(doc['profile'])} "
        f'<span class="verdict {word.lower()}">{word}</span></h1>',
        f'<p class="muted">{doc["runs_done"]} of {doc["runs_total"]} virtual runs: '
        f"{len({p['setting'] for p in doc['points']})} settings × peak sizes "
        f"{', '.join(f'{m:g}×' for m in doc['multipliers'])} × seeds "
        f"{', '.join(str(s) for s in doc['seeds'])}; {doc['search']} search; "
        f"{format_duration(doc['wall_s'])} of wall time on {doc['workers']} processes"
        f"{_shared_note(doc)}. All durations are store time.</p>",
    ]
    if doc.get("partial"):
        parts.append('<p class="note warn">Partial: the advise was interrupted.</p>')
    if rec:
        cur = (
            "passes every SLO"
            if rec["current_passed"]
            else ("fails " + ", ".join(rec["current_failed_checks"]))
        )
        parts.append("<h2>Answer</h2>")
        parts.append(
            f'<p class="note"><b>Current settings</b> ({_e(doc["current"])}): {_e(cur)} at the '
            f"forecast peak.<br><b>Recommendation:</b> {_e(rec['text'])}."
            + (f"<br>{_e(doc['comparison'])}." if doc.get("comparison") else "")
            + (f"<br>Also passing: {_e(rec['alternative'])}." if rec.get("alternative") else "")
            + "</p>"
        )
        parts.append(table_html(breaking_table(doc)))
    if doc["points"]:
        parts.append("<h2>Trade-off</h2>")
        parts.append(
            '<p class="muted">Customer outcome against carrier cost, one marker per setting '
            "and peak size (mean over seeds; ringed: on the frontier). Switch either axis with "
            "its menu; hover a marker for its figures.</p>"
        )
        parts.append(figure_html(trade_off_figure(doc), "advise-trade-off"))
        table = points_table(doc)
        parts.append(table_html(table))
        parts.append(f'<p class="muted">{_e(table.caption)}.</p>')
        parts.append(_runs(doc))
    parts.append(_how())
    return "\n".join(parts)


def _shared_note(doc: dict[str, Any]) -> str:
    """How many runs took another point's run (none in an advise folder older than sharing)."""
    shared = int(doc.get("runs_shared") or 0)
    branched = int(doc.get("runs_branched") or 0)
    note = f"; {shared} of them not run, each the same as a run done ({WHY})" if shared else ""
    if branched:
        note += f"; {branched} forked from another run's world ({BRANCHED})"
    return note


def _run_link(run: dict[str, Any]) -> str:
    """A run folder's link; a run answered by another point's run says whose it is."""
    link = f'<a href="runs/{_e(run["run"])}/">seed {run["seed"]}</a>'
    if run.get("same_as") is not None:
        link += f" (the run of point {int(run['same_as'])}: {WHY})"
    elif run.get("branched_from") is not None:
        link += f" (forked from point {int(run['branched_from'])}'s world at its first refusal)"
    return link


def _runs(doc: dict[str, Any]) -> str:
    rows = []
    for p in doc["points"]:
        links = " ".join(_run_link(r) for r in p["runs"])
        rows.append(f"<li>{_e(p['setting'])} at {p['multiplier']:g}×: {links}</li>")
    return (
        "<details><summary>Run folders: open one with <code>peakbench report runs/RUN</code>, "
        "re-run it with <code>peakbench run runs/RUN/profile.yaml</code></summary><ul>"
        + "".join(rows)
        + "</ul></details>"
    )


def _how() -> str:
    return (
        "<footer><p>A point passes when every seed's run is valid and passes every SLO. "
        "Headroom is the tightest margin over its seeds: 1 − value ÷ threshold of each SLO, "
        "and 1 − the share of the daily quota used. The frontier (per peak size) holds the "
        "points no other point beats on every one of staleness p95, stale-view share, "
        "complaints, requests, quota share and outage probability. The recommendation is the "
        "passing setting of the current strategy with the most headroom at the forecast peak; "
        "within 5 points of headroom, the fewest carrier requests. The breaking point is the "
        "smallest peak multiplier at which a seed fails the SLO.</p></footer>"
    )


def write_page(root: Path, doc: dict[str, Any]) -> Path:
    """Write ``ROOT/advise.html`` from the advise document; its path."""
    path = root / PAGE
    tmp = path.with_name(f".{PAGE}.tmp")
    tmp.write_text(page(f"peakbench advise · {doc['profile']}", body(doc)), encoding="utf-8")
    tmp.replace(path)
    return path
