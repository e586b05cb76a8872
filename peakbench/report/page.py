"""The HTML page every peakbench report lives in: one self-contained file that opens offline.

A report page carries its CSS inline and, when it has plots, plotly.js inlined exactly once in the
head; figures are then embedded as ``<div>``s that only call ``Plotly.newPlot`` (``figure_html``).
Nothing is fetched from the network, so a page copied out of a CI job opens on a laptop on a plane.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, NamedTuple

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from plotly.graph_objects import Figure


class Cell(NamedTuple):
    """One table cell as text, with the console's verdict colour as a mark."""

    text: str
    mark: str


CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --panel: #f6f8fa;
  --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: var(--fg); background: var(--bg); }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 6px; }
p, li { max-width: 90ch; }
.muted { color: var(--muted); }
table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: right; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td:first-child, th:first-child { text-align: left; }
table.kv td:first-child { font-weight: 600; background: var(--panel); }
table.kv td { text-align: left; }
.verdict { display: inline-block; padding: 2px 12px; border-radius: 6px; color: #fff;
  font-weight: 700; letter-spacing: .05em; }
.verdict.passed { background: var(--pass); }
.verdict.failed { background: var(--fail); }
.verdict.invalid { background: var(--warn); }
.pass { color: var(--pass); font-weight: 600; }
.fail { color: var(--fail); font-weight: 700; }
.warn { color: var(--warn); font-weight: 600; }
.figure { margin: 8px 0 24px; border: 1px solid var(--line); border-radius: 6px; padding: 4px; }
.why { font-size: 17px; line-height: 1.5; background: var(--panel); border-left: 5px solid
  var(--muted); padding: 10px 16px; margin: 12px 0 12px; max-width: 100ch; }
.note { background: var(--panel); border-left: 4px solid var(--line); padding: 8px 12px;
  margin: 8px 0 16px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
footer { margin-top: 48px; color: var(--muted); font-size: 12px; }
"""


def page(title: str, body_html: str, *, plotly: bool = True) -> str:
    """A complete HTML document around ``body_html``.

    ``title`` is plain text (escaped here); ``body_html`` is trusted HTML built by a renderer.
    With ``plotly=True`` the plotly.js bundle (~4.8 MB) is inlined once in the head, so every
    figure made by :func:`figure_html` on the page renders offline.
    """
    script = ""
    if plotly:
        from plotly.offline import get_plotlyjs

        script = f'<script type="text/javascript">{get_plotlyjs()}</script>'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="peakbench">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"<style>{CSS}</style>\n{script}\n</head>\n"
        f"<body>\n<main>\n{body_html}\n</main>\n</body>\n</html>\n"
    )


def figure_html(fig: Figure, div_id: str | None = None) -> str:
    """One figure as an embeddable ``<div>`` that expects plotly.js already on the page."""
    snippet: str = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="figure">{snippet}</div>'


def table_rows(table: Table) -> tuple[list[str], list[list[Cell]]]:
    """A rich ``Table``'s header and rows as plain text with a result mark per cell.

    The console, HTML and markdown render the same table objects (STYLE.md §10); a cell's mark is
    ``"pass"``/``"fail"``/``"warn"`` when the console colours it green/red/yellow, else ``""``.
    """
    headers = [_plain(c.header) for c in table.columns]
    columns = [[_cell(v) for v in c.cells] for c in table.columns]
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    return headers, rows


def _plain(value: object) -> str:
    return value.plain if isinstance(value, Text) else str(value)


def _cell(value: object) -> Cell:
    style = str(value.style) if isinstance(value, Text) else ""
    mark = (
        "pass"
        if "green" in style
        else "fail"
        if "red" in style
        else "warn"
        if "yellow" in style
        else ""
    )
    return Cell(_plain(value), mark)


def table_html(table: Table, css_class: str = "", *, title: bool = True) -> str:
    """A rich ``Table`` as an HTML table (its title as a heading unless ``title=False``)."""
    headers, rows = table_rows(table)
    out = []
    if title and table.title:
        out.append(f"<h3>{html.escape(_plain(table.title))}</h3>")
    out.append(f'<table class="{html.escape(css_class)}">' if css_class else "<table>")
    if table.show_header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>")
    for row in rows:
        cells = (
            f'<td class="{c.mark}">{html.escape(c.text)}</td>'
            if c.mark
            else f"<td>{html.escape(c.text)}</td>"
            for c in row
        )
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)
