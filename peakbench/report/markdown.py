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

from peakbench.durations import format_duration
from peakbench.report.clocks import pace_phrase
from peakbench.report.console import freshness_table, slo_table, summary_table, verdict_text
from peakbench.report.page import Cell, table_rows

SUMMARY_MD = "summary.md"
DURATION_KEYS = ("interval", "time_limit", "tick", "request_timeout")
MARKS = {"PASSED": "✅", "FAILED": "❌", "INVALID": "⚠️"}
CELL_MARKS = {"pass": "✅ ", "fail": "❌ ", "warn": "⚠️ "}


def plugin_text(plugin: dict[str, Any]) -> str:
    """The plugin's settings on one line, durations written as durations."""
    parts = [str(plugin.get("strategy", "?"))]
    for key, value in plugin.items():
        if key == "strategy":
            continue
        if key in DURATION_KEYS and isinstance(value, int | float):
            value = format_duration(float(value))
        parts.append(f"{key} {value}")
    return ", ".join(parts)


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


def _d(seconds: float | None) -> str:
    return "–" if seconds is None else format_duration(seconds)


def outage_lines(summary: dict[str, Any]) -> list[str]:
    """One bullet per throttle outage: where, how long, why, and whom it hurt."""
    out = []
    for o in summary.get("outages") or []:
        still = ", still open at the end" if o.get("open") else ""
        out.append(
            f"- **{o['carrier']}** from +{_d(o['start'])} for {_d(o['end'] - o['start'])}"
            f"{still}: {o['cause']}, {o['refused']:,} requests refused, "
            f"{o['orders_affected']:,} orders and {o['views_affected']:,} views stale past the SLO"
        )
    return out


def render_markdown(summary: dict[str, Any]) -> str:
    """The verdict line, key figures, the SLO table with ✅/❌ and the outages, as markdown."""
    word = verdict_text(summary).plain
    clock = summary["clock"]
    lines = [
        f"## {MARKS.get(word, '')} peakbench · {summary['profile']} · **{word}**",
        "",
        f"Target `{summary['target']}`, plugin {plugin_text(summary.get('plugin') or {})}; "
        f"seed {summary['seed']}; {_d(clock['end'] - clock['start'])} of store time "
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
    lines += [
        "",
        "Complaints use an assumed patience curve (see the profile's `patience`); "
        "the full report with plots is `report.html` in the run folder.",
        "",
    ]
    return "\n".join(lines)


def write_markdown(run_dir: Path) -> Path:
    """Write ``run_dir/summary.md`` from ``summary.json`` atomically; return its path."""
    summary = json.loads((run_dir / "summary.json").read_text())
    path = run_dir / SUMMARY_MD
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_markdown(summary), encoding="utf-8")
    os.replace(tmp, path)
    return path
