"""A comparison rendered: the console table, its notes, and the HTML page (``comparison.html``).

Data in (:class:`peakbench.report.compare.Comparison`), renderables out; the statistics are
:mod:`peakbench.report.compare`'s."""

from __future__ import annotations

import html

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from peakbench.durations import format_duration
from peakbench.report.compare import (
    BETTER,
    METRICS,
    SAME,
    UNMEASURED,
    WORSE,
    Comparison,
    Metric,
    MetricDiff,
    Pairing,
)


def format_value(metric: Metric, value: float | None, signed: bool = False) -> str:
    """A metric value for people: durations as ``1h2m``, shares as percentages."""
    if value is None:
        return "–"
    sign = ("+" if value > 0 else "−" if value < 0 else "±") if signed else ""
    mag = abs(value) if signed else value
    if metric.unit == "s":
        return sign + format_duration(mag)
    if metric.unit == "share":
        return f"{sign}{100 * mag:.1f}%" if signed else f"{100 * mag:.1f}%"
    return f"{sign}{mag:.1f}"


def _ci_text(m: MetricDiff) -> str:
    if m.low is None:
        return "–"
    return f"[{format_value(m.metric, m.low, True)}, {format_value(m.metric, m.high, True)}]"


def _diff_text(m: MetricDiff) -> str:
    if m.diff is None:
        return "–"
    return f"{format_value(m.metric, m.diff, True)} {_ci_text(m)}"


_STYLE = {BETTER: "bold green", WORSE: "bold red", SAME: "dim", UNMEASURED: "yellow"}


def plan_note(comparison: Comparison) -> str:
    """One line saying whether the runs replayed the same seed and schedule."""
    base = comparison.runs[0]
    if comparison.same_plan:
        return f"same seed ({base.seed}) and schedule ({base.plan}) in every run: orders are paired"
    return "WARNING: the runs did not replay the same seed and schedule (see warnings)"


def comparison_table(pair: Pairing, confidence: float = 0.95) -> Table:
    """One candidate against the baseline: values, change with its CI, and the verdict."""
    table = Table(
        title=f"{pair.candidate.name} vs {pair.baseline.name} (baseline)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("metric", no_wrap=True)
    table.add_column("baseline", justify="right", no_wrap=True)
    table.add_column("candidate", justify="right", no_wrap=True)
    table.add_column("change", justify="right", no_wrap=True)
    table.add_column(f"{confidence:.0%} CI", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for m in pair.metrics:
        table.add_row(
            m.metric.label,
            format_value(m.metric, m.baseline),
            format_value(m.metric, m.candidate),
            "–" if m.diff is None else format_value(m.metric, m.diff, True),
            _ci_text(m),
            Text(m.verdict, _STYLE[m.verdict]),
        )
    table.add_row(
        "longest outage (run)",
        format_duration(pair.baseline.longest_outage_s),
        format_duration(pair.candidate.longest_outage_s),
        "",
        "",
        Text("run-level, no CI", "dim"),
    )
    return table


def render_comparison(console: Console, comparison: Comparison) -> None:
    """Print the schedule check, warnings and one table per candidate."""
    style = "green" if comparison.same_plan else "bold yellow"
    console.print(Text(plan_note(comparison), style), soft_wrap=True)
    verdicts = Text("runs: ")
    for i, run in enumerate(comparison.runs):
        verdicts.append(" · " if i else "")
        verdicts.append(f"{run.name} ")
        verdicts.append(run.verdict, "bold green" if run.verdict == "PASSED" else "bold red")
    console.print(verdicts, soft_wrap=True)
    for warning in comparison.warnings:
        console.print(Text(f"warning: {warning}", "bold yellow"), soft_wrap=True)
    for pair in comparison.pairs:
        console.print(comparison_table(pair, comparison.confidence))
    console.print(
        Text(
            f"{method_note(comparison)}; {comparison.confidence:.0%} intervals hold jointly "
            f"for the {len(METRICS)} metrics (Bonferroni); lower is better for every metric",
            "dim",
        ),
        soft_wrap=True,
    )


def method_note(comparison: Comparison) -> str:
    """How the intervals were made: a bootstrap over orders, or t over seeds (replications)."""
    pairing = "paired" if all(p.paired for p in comparison.pairs) else "unpaired where plans differ"
    if comparison.resamples == 0:  # replication sets (peakbench.report.replicated)
        return f"t intervals over the runs' seeds ({pairing}: seed-to-seed variation)"
    return (
        f"bootstrap over orders ({pairing}), {comparison.resamples:,} resamples "
        f"(seed {comparison.seed})"
    )


def comparison_body(comparison: Comparison) -> str:
    """The comparison as an HTML fragment (tables and notes) for :func:`comparison_html`."""
    e = html.escape
    parts = ["<h1>peakbench comparison</h1>"]
    cls = "note" if comparison.same_plan else "note fail"
    parts.append(f'<p class="{cls}">{e(plan_note(comparison))}</p>')
    for warning in comparison.warnings:
        parts.append(f'<p class="note fail">warning: {e(warning)}</p>')
    parts.append("<h2>Runs</h2><table><tr><th>run</th><th>folder</th><th>profile</th>")
    parts.append("<th>seed</th><th>schedule</th><th>orders</th><th>views</th><th>verdict</th>")
    parts.append("</tr>")
    for r in comparison.runs:
        css = {"PASSED": "pass"}.get(r.verdict, "fail")
        why = f" ({e(r.reason)})" if r.reason else ""
        parts.append(
            f"<tr><td>{e(r.name)}</td><td><code>{e(r.folder)}</code></td><td>{e(r.profile)}</td>"
            f"<td>{r.seed}</td><td><code>{e(r.plan)}</code></td><td>{r.orders:,}</td>"
            f"<td>{r.views:,}</td>"
            f'<td class="{css}" data-run="{e(r.name)}">{e(r.verdict)}{why}</td></tr>'
        )
    parts.append("</table>")
    for pair in comparison.pairs:
        parts.append(f"<h2>{e(pair.candidate.name)} vs {e(pair.baseline.name)} (baseline)</h2>")
        parts.append(
            "<table><tr><th>metric</th><th>baseline</th><th>candidate</th>"
            f"<th>change [{comparison.confidence:.0%} CI]</th><th>verdict</th></tr>"
        )
        for m in pair.metrics:
            css = {BETTER: "pass", WORSE: "fail"}.get(m.verdict, "muted")
            parts.append(
                f"<tr><td>{e(m.metric.label)}</td><td>{e(format_value(m.metric, m.baseline))}"
                f"</td><td>{e(format_value(m.metric, m.candidate))}</td>"
                f"<td>{e(_diff_text(m))}</td>"
                f'<td class="{css}" data-metric="{m.metric.key}">{e(m.verdict)}</td></tr>'
            )
        parts.append(
            f"<tr><td>longest outage (run)</td>"
            f"<td>{e(format_duration(pair.baseline.longest_outage_s))}</td>"
            f"<td>{e(format_duration(pair.candidate.longest_outage_s))}</td><td></td>"
            '<td class="muted" data-metric="longest_outage">run-level, no CI</td></tr>'
        )
        parts.append("</table>")
    parts.append(
        f'<p class="muted">{e(method_note(comparison))}; '
        f"{comparison.confidence:.0%} intervals of candidate − baseline that hold "
        f"jointly for the {len(METRICS)} metrics (Bonferroni). "
        "“No significant difference” means the interval contains 0. Lower is better for "
        "every metric.</p>"
    )
    return "\n".join(parts)


def comparison_html(comparison: Comparison) -> str:
    """A self-contained HTML page of the comparison."""
    from peakbench.report.page import page

    names = " vs ".join(r.name for r in comparison.runs)
    return page(f"peakbench comparison: {names}", comparison_body(comparison), plotly=False)
