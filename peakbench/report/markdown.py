"""The run summary as short markdown for CI job pages (``summary.md`` next to ``report.html``).

GitHub Actions' ``$GITHUB_STEP_SUMMARY``, GitLab and Jenkins render it. The tables are the
console's own rich tables (STYLE.md §10) written as markdown, so the three never disagree.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.table import Table

from peakbench.measure.labels import plugin_text, stale_after
from peakbench.measure.shopify_figures import shopify_lines
from peakbench.measure.units import at, duration
from peakbench.report.clocks import pace_phrase
from peakbench.report.console import (
    cause_text,
    explanation,
    freshness_table,
    slo_table,
    summary_table,
    verdict_text,
)
from peakbench.report.page import Cell, table_rows

SUMMARY_MD = "summary.md"
MARKS = {"PASSED": "✅", "FAILED": "❌", "INVALID": "⚠️"}
CELL_MARKS = {"pass": "✅ ", "fail": "❌ ", "warn": "⚠️ "}


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _cell(cell: Cell) -> str:
    return CELL_MARKS.get(cell.mark, "") + _esc(cell.text)


def table_markdown(table: Table, headers: list[str] | None = None) -> str:
    """A rich ``Table`` as a GitHub-flavoured markdown table (``headers`` for headerless ones)."""
    head, rows = table_rows(table)
    head = headers or head
    right = [c.justify == "right" for c in table.columns]
    lines = [
        "| " + " | ".join(_esc(h) for h in head) + " |",
        "|" + "|".join("---:" if r else "---" for r in right) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def outage_lines(summary: dict[str, Any]) -> list[str]:
    """One bullet per throttle outage: where, how long, why, and whom it hurt."""
    out = []
    limit = duration(stale_after(summary))
    for o in summary.get("outages") or []:
        still = ", still open at the end" if o.get("open") else ""
        out.append(
            f"- **{o['carrier']}** from {at(summary, o['start'])} for "
            f"{duration(o['end'] - o['start'])}{still}: {cause_text(o)}, "
            f"{o['refused']:,} requests refused, {o['orders_affected']:,} orders and "
            f"{o['views_affected']:,} views stale for over {limit}"
        )
    return out


def render_markdown(summary: dict[str, Any], report: Path | None = None) -> str:
    """The verdict line and why, key figures, the SLO table with ✅/❌ and the outages, as
    markdown; ``report`` is where ``report.html`` is, named at the end."""
    word = verdict_text(summary).plain
    clock = summary["clock"]
    lines = [
        f"## {MARKS.get(word, '')} peakbench · {summary['profile']} · **{word}**",
        "",
        f"**Why:** {explanation(summary)}",
        "",
        f"Target `{summary['target']}`, plugin {plugin_text(summary.get('plugin'))}; "
        f"seed {summary['seed']}; {duration(clock['end'] - clock['start'])} of store time "
        f"{pace_phrase(clock)}.",
        "",
    ]
    for reason in summary.get("invalid_reasons") or []:
        lines.append(f"> ⚠️ invalid: {reason}")
    for finding in (summary.get("resources") or {}).get("findings", []):
        lines.append(f"> ⚠️ finding: {finding['message']}")
    if summary.get("invalid_reasons"):
        lines.append("")
    lines += ["### SLO checks", ""]
    if summary["slo"]["checks"]:
        lines.append(table_markdown(slo_table(summary)))
    else:
        lines.append("No SLOs set.")
    lines += [
        "",
        "### Key figures (store time)",
        "",
        table_markdown(freshness_table(summary)),
        "",
        table_markdown(summary_table(summary), headers=["", ""]),
        "",
        "### Throttle outages",
        "",
    ]
    lines += outage_lines(summary) or ["None."]
    shopify = shopify_lines(summary)
    if shopify:  # how a Shopify run's orders were created, and its GraphQL throttles
        lines += ["", "### Shopify", "", *(f"- {line}" for line in shopify)]
    where = f"`{report}`" if report is not None else "`report.html` in the run folder"
    lines += [
        "",
        "Complaints use an assumed patience curve (see the profile's `patience`); "
        f"the full report with plots is {where}.",
        "",
    ]
    return "\n".join(lines)


def write_markdown(run_dir: Path) -> Path:
    """Write ``run_dir/summary.md`` from ``summary.json`` atomically; return its path."""
    summary = json.loads((run_dir / "summary.json").read_text())
    path = run_dir / SUMMARY_MD
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_markdown(summary, run_dir.resolve() / "report.html"), encoding="utf-8")
    os.replace(tmp, path)
    return path
