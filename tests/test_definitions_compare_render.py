"""The comparison's renderers pinned on a hand-made comparison: peakbench/report/compare.py
(console table, HTML fragment and page). The statistics are in test_definitions_compare.py."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from peakbench.report.compare import (
    BETTER,
    METRICS,
    SAME,
    UNMEASURED,
    WORSE,
    Comparison,
    MetricDiff,
    Pairing,
    RunInfo,
)
from peakbench.report.comparison import (
    comparison_body,
    comparison_html,
    comparison_table,
    render_comparison,
)

PLAN = "sha256:" + "0123456789abcdef" * 4
BASE = RunInfo(
    "base<1>", "/runs/base", "bf", 7, PLAN, 1200, 3400, 600.0, 900.0, True, "PASSED", "", "run-1"
)
CAND = RunInfo(
    "cand",
    "/runs/cand",
    "bf&co",
    7,
    PLAN,
    1199,
    3390,
    3600.0,
    5400.0,
    False,
    "INVALID",
    "late",
    "run-2",
)


def _diffs() -> tuple[MetricDiff, ...]:
    s50, s95, r95, share, compl, outs, hit = METRICS
    return (
        MetricDiff(s50, 60.0, 30.0, -30.0, -45.0, -15.0, BETTER),
        MetricDiff(s95, 1800.0, 2400.0, 600.0, 120.0, 900.0, WORSE),
        MetricDiff(r95, 300.0, 310.0, 10.0, -20.0, 40.0, SAME),
        MetricDiff(share, 0.1, 0.125, 0.025, -0.01, 0.05, SAME),
        MetricDiff(compl, 4.0, 4.0, 0.0, 0.0, 0.0, SAME),
        MetricDiff(outs, None, None, None, None, None, UNMEASURED),
        MetricDiff(hit, 0.0, 0.5, 0.5, 0.25, 0.75, WORSE),
    )


LONG = (
    "cand is not a valid run (the harness fell behind the schedule: 22.2% of arrivals started "
    "more than 300s (store) late, limit 5%)"
)


def comparison(same_plan: bool) -> Comparison:
    pair = Pairing(BASE, CAND, same_plan, same_plan, _diffs())
    warnings = () if same_plan else ("cand did <not> replay", LONG)
    return Comparison((BASE, CAND), (pair,), 2000, 0.9, 5, warnings)


def _console(comparison: Comparison, color: bool = False) -> str:
    console = Console(
        file=StringIO(), width=100, color_system="standard" if color else None, legacy_windows=False
    )
    render_comparison(console, comparison)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in out.splitlines())


TABLE = (
    "same seed (7) and schedule (sha256:0123456789abcdef0123456789abcdef0123456789abc"
    "def0123456789abcdef) in every run: orders are paired\n"
    "runs: base<1> PASSED · cand INVALID\n"
    "cand vs base<1> (baseline)\n"
    "\n"
    " metric                 baseline  candidate  change            90% CI  verdict\n"
    " ───────────────────────────────────────────────────────────────────────────────"
    "────────────────\n"
    " staleness p50                1m        30s    −30s      [−45s, −15s]  better\n"
    " staleness p95               30m        40m    +10m       [+2m, +15m]  worse\n"
    " refresh latency p95          5m      5m10s    +10s      [−20s, +40s]  no signif"
    "icant difference\n"
    " stale views share         10.0%      12.5%   +2.5%    [−1.0%, +5.0%]  no signif"
    "icant difference\n"
    " complaints /1k orders       4.0        4.0    ±0.0      [±0.0, ±0.0]  no signif"
    "icant difference\n"
    " outage time per order         –          –       –                 –  not measu"
    "red\n"
    " orders hit by outages      0.0%      50.0%  +50.0%  [+25.0%, +75.0%]  worse\n"
    " longest outage (run)        10m         1h                            run-level"
    ", no CI\n"
    "\n"
    "bootstrap over orders (paired), 2,000 resamples (seed 5); 90% intervals hold joi"
    "ntly for the 7 metrics (Bonferroni); lower is better for every metric"
)

WARN = (
    "WARNING: the runs did not replay the same seed and schedule (see warnings)\n"
    "runs: base<1> PASSED · cand INVALID\n"
    "warning: cand did <not> replay\n"
    "warning: cand is not a valid run (the harness fell behind the schedule: 22.2% of"
    " arrivals started more than 300s (store) late, limit 5%)\n"
    "cand vs base<1> (baseline)\n"
    "\n"
    " metric                 baseline  candidate  change            90% CI  verdict\n"
    " ───────────────────────────────────────────────────────────────────────────────"
    "────────────────\n"
    " staleness p50                1m        30s    −30s      [−45s, −15s]  better\n"
    " staleness p95               30m        40m    +10m       [+2m, +15m]  worse\n"
    " refresh latency p95          5m      5m10s    +10s      [−20s, +40s]  no signif"
    "icant difference\n"
    " stale views share         10.0%      12.5%   +2.5%    [−1.0%, +5.0%]  no signif"
    "icant difference\n"
    " complaints /1k orders       4.0        4.0    ±0.0      [±0.0, ±0.0]  no signif"
    "icant difference\n"
    " outage time per order         –          –       –                 –  not measu"
    "red\n"
    " orders hit by outages      0.0%      50.0%  +50.0%  [+25.0%, +75.0%]  worse\n"
    " longest outage (run)        10m         1h                            run-level"
    ", no CI\n"
    "\n"
    "bootstrap over orders (unpaired where plans differ), 2,000 resamples (seed 5); 9"
    "0% intervals hold jointly for the 7 metrics (Bonferroni); lower is better for ev"
    "ery metric"
)


def test_the_console_comparison_of_paired_runs() -> None:
    assert _console(comparison(True)) == TABLE


def test_the_console_comparison_warns_first() -> None:
    assert _console(comparison(False)) == WARN
    assert WARN.splitlines()[2:4] == ["warning: cand did <not> replay", f"warning: {LONG}"]


def test_the_console_colours_carry_the_verdicts() -> None:
    text = _console(comparison(False), color=True)
    assert "\x1b[1;33mWARNING: the runs" in text  # bold yellow
    assert "\x1b[1;33mwarning: cand did <not> replay" in text
    assert "\x1b[1;32mbetter" in text and "\x1b[1;31mworse" in text
    assert "\x1b[2mno significant difference" in text and "\x1b[33mnot measured" in text
    assert "\x1b[2mrun-level, no CI" in text and "\x1b[2mbootstrap over orders" in text
    assert "\x1b[32msame seed (7)" in _console(comparison(True), color=True)


def test_the_table_is_data() -> None:
    table = comparison_table(comparison(True).pairs[0], 0.8)
    assert [c.header for c in table.columns] == [
        "metric",
        "baseline",
        "candidate",
        "change",
        "80% CI",
        "verdict",
    ]
    assert [c.justify for c in table.columns] == ["left", *["right"] * 4, "left"]
    assert all(c.no_wrap for c in table.columns)
    assert table.title == "cand vs base<1> (baseline)" and table.title_justify == "left"
    assert table.row_count == 8 and table.pad_edge is False
    assert table.padding == (0, 1, 0, 0)
    assert comparison_table(comparison(True).pairs[0]).columns[4].header == "95% CI"


def test_a_pairs_verdict_by_metric() -> None:
    pair = comparison(True).pairs[0]
    assert pair.verdict("staleness_p50") == BETTER and pair.verdict("staleness_p95") == WORSE
    assert pair.verdict("outage_s_per_order") == UNMEASURED


BODY = (
    "<h1>peakbench comparison</h1>\n"
    '<p class="note fail">WARNING: the runs did not replay the same seed and schedule'
    " (see warnings)</p>\n"
    '<p class="note fail">warning: cand did &lt;not&gt; replay</p>\n'
    '<p class="note fail">warning: cand is not a valid run (the harness fell behind t'
    "he schedule: 22.2% of arrivals started more than 300s (store) late, limit 5%)</p"
    ">\n"
    "<h2>Runs</h2><table><tr><th>run</th><th>folder</th><th>profile</th>\n"
    "<th>seed</th><th>schedule</th><th>orders</th><th>views</th><th>verdict</th>\n"
    "</tr>\n"
    "<tr><td>base&lt;1&gt;</td><td><code>run-1</code></td><td>bf</td><td>7</td><td><c"
    "ode>sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef</cod"
    'e></td><td>1,200</td><td>3,400</td><td class="pass" data-run="base&lt;1&gt;">PAS'
    "SED</td></tr>\n"
    "<tr><td>cand</td><td><code>run-2</code></td><td>bf&amp;co</td><td>7</td><td><cod"
    "e>sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef</code>"
    '</td><td>1,199</td><td>3,390</td><td class="fail" data-run="cand">INVALID (late)'
    "</td></tr>\n"
    "</table>\n"
    "<h2>cand vs base&lt;1&gt; (baseline)</h2>\n"
    "<table><tr><th>metric</th><th>baseline</th><th>candidate</th><th>change [90% CI]"
    "</th><th>verdict</th></tr>\n"
    "<tr><td>staleness p50</td><td>1m</td><td>30s</td><td>−30s [−45s, −15s]</td><td c"
    'lass="pass" data-metric="staleness_p50">better</td></tr>\n'
    "<tr><td>staleness p95</td><td>30m</td><td>40m</td><td>+10m [+2m, +15m]</td><td c"
    'lass="fail" data-metric="staleness_p95">worse</td></tr>\n'
    "<tr><td>refresh latency p95</td><td>5m</td><td>5m10s</td><td>+10s [−20s, +40s]</"
    'td><td class="muted" data-metric="refresh_latency_p95">no significant difference'
    "</td></tr>\n"
    "<tr><td>stale views share</td><td>10.0%</td><td>12.5%</td><td>+2.5% [−1.0%, +5.0"
    '%]</td><td class="muted" data-metric="stale_views_share">no significant differen'
    "ce</td></tr>\n"
    "<tr><td>complaints /1k orders</td><td>4.0</td><td>4.0</td><td>±0.0 [±0.0, ±0.0]<"
    '/td><td class="muted" data-metric="complaints_per_1000">no significant differenc'
    "e</td></tr>\n"
    '<tr><td>outage time per order</td><td>–</td><td>–</td><td>–</td><td class="muted'
    '" data-metric="outage_s_per_order">not measured</td></tr>\n'
    "<tr><td>orders hit by outages</td><td>0.0%</td><td>50.0%</td><td>+50.0% [+25.0%,"
    ' +75.0%]</td><td class="fail" data-metric="outage_orders_share">worse</td></tr>\n'
    '<tr><td>longest outage (run)</td><td>10m</td><td>1h</td><td></td><td class="mute'
    'd" data-metric="longest_outage">run-level, no CI</td></tr>\n'
    "</table>\n"
    '<p class="muted">bootstrap over orders (unpaired where plans differ), 2,000 resa'
    "mples (seed 5); 90% intervals of candidate − baseline that hold jointly for the "
    "7 metrics (Bonferroni). “No significant difference” means the interval contains "
    "0. Lower is better for every metric.</p>"
)


def test_the_html_fragment() -> None:
    assert comparison_body(comparison(False)) == BODY


def test_the_html_fragment_of_paired_runs() -> None:
    body = comparison_body(comparison(True))
    assert body.splitlines()[1] == (
        f'<p class="note">same seed (7) and schedule ({PLAN}) in every run: orders are paired</p>'
    )
    assert "warning:" not in body
    assert '<p class="muted">bootstrap over orders (paired), 2,000 resamples (seed 5);' in body


def test_the_html_page_is_self_contained() -> None:
    page = comparison_html(comparison(True))
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>peakbench comparison: base&lt;1&gt; vs cand</title>" in page
    assert comparison_body(comparison(True)) in page
    assert "plotly" not in page.lower()
