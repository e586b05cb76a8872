"""The README's figures, re-measured: the "too hard versus gently" table and the default run's
progress excerpt, from virtual-time runs of profiles/black-friday.yaml and
profiles/black-friday-gentle.yaml.

Virtual time makes them exact: the same code, profiles and seeds give the same table on any
machine, so ``--check README.md`` fails when the README's table is not what the code measures.

    .venv/bin/python benchmarks/readme_figures.py            # print the table
    .venv/bin/python benchmarks/readme_figures.py --check README.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from peakbench.measure.explain import QUOTA_WORDS

PROFILES = (
    ("every 15 min (`black-friday.yaml`)", Path("profiles/black-friday.yaml")),
    ("hourly (`black-friday-gentle.yaml`)", Path("profiles/black-friday-gentle.yaml")),
)
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"
"""The README's table stands between these markers."""


def _d(seconds: float | None) -> str:
    """``12 h 37 min``, ``11 min``, ``45 s``: the README's way of writing durations."""
    if seconds is None:
        return "–"
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h} h {m} min" if m else f"{h} h"
    if m:
        return f"{m} min"
    return f"{sec} s"


def run(profile: Path, tmp: Path) -> dict[str, Any]:
    results = tmp / profile.stem
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    found = sorted(results.glob("*/summary.json"))
    if not found:
        raise SystemExit(f"{profile}: no summary ({proc.stderr[-1000:]})")
    summary: dict[str, Any] = json.loads(found[-1].read_text())
    summary["_exit"] = proc.returncode
    summary["_progress"] = last_progress_line(profile, found[-1].parent)
    return summary


def last_progress_line(path: Path, root: Path) -> str:
    """The progress line a run prints without a terminal, at its end."""
    from peakbench.config.loader import load_profile
    from peakbench.measure.live import LiveFigures
    from peakbench.report.console import progress_line

    profile = load_profile(path, [])
    figures = LiveFigures(profile, root, profile.start_epoch)
    return progress_line(figures.poll(profile.clock.duration))


def _carriers(s: dict[str, Any]) -> str:
    c = {k: sum(v[k] for v in s["carriers"].values()) for k in ("requests", "ok")}
    refused = {k: sum(v[k] for v in s["carriers"].values()) for k in ("throttled", "blocked")}
    if not refused["throttled"] and not refused["blocked"]:
        return f"{c['requests']:,}: all ok"
    return (
        f"{c['requests']:,}: {c['ok']:,} ok, {refused['throttled']:,} throttled, "
        f"{refused['blocked']:,} blocked"
    )


def _cause(cause: str) -> str:
    """``quota:1d`` → ``daily quota``; ``ban`` → ``a ban``."""
    if cause.startswith("quota:"):
        per = cause.removeprefix("quota:")
        return QUOTA_WORDS.get(per, f"quota per {per}")
    return "a ban" if cause == "ban" else cause


def _outages(s: dict[str, Any]) -> str:
    if not s["outages"]:
        return "none"
    longest = max(s["outages"], key=lambda o: o["duration"])
    steps = [_cause(c["cause"]) for c in longest.get("causes") or []] or [_cause(longest["cause"])]
    causes = ", then ".join(dict.fromkeys(steps))
    return f"{len(s['outages'])}, longest {_d(longest['duration'])} ({causes})"


def table(summaries: list[dict[str, Any]]) -> str:
    head = "| | " + " | ".join(name for name, _ in PROFILES) + " |"
    rows = [head, "|---|" + "---|" * len(PROFILES)]

    def row(label: str, cell: Any) -> None:
        rows.append(f"| {label} | " + " | ".join(cell(s) for s in summaries) + " |")

    row("carrier requests", _carriers)
    row("throttle outages", _outages)
    row(
        "refresh latency p50 / p95",
        lambda s: f"{_d(s['refresh_latency_s']['p50'])} / {_d(s['refresh_latency_s']['p95'])}",
    )
    row("staleness of views p95", lambda s: _d(s["staleness_s"]["p95"]))
    row(
        "views stale > 1 h",
        lambda s: f"{100 * s['stale_views_share']:.2f}%",
    )
    row(
        "expected complaints / 1,000 orders",
        lambda s: (
            f"{s['complaints']['expected_per_1000_orders']:.1f} "
            f"({100 * s['complaints']['display_lag_share']:.0f}% display lag)"
        ),
    )
    row(
        "verdict",
        lambda s: f"{'PASSED' if s['slo']['passed'] else 'FAILED'} (exit {s['_exit']})",
    )
    first = summaries[0]
    counts = (
        f"{first['orders']['done']:,} orders, {first['ships']['done']:,} shipments, "
        f"{first['views']['done']:,} views, none late or failed"
    )
    return "\n".join(rows) + f"\n\nBoth runs: {counts}; seed {first['seed']}, virtual time."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", type=Path, help="fail unless this file holds the same table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        summaries = [run(path, Path(tmp)) for _, path in PROFILES]
    text = table(summaries)
    if args.check is None:
        print(text)
        print(f"\nlast progress line of {PROFILES[0][1]}:\n{summaries[0]['_progress']}")
        return 0
    doc = args.check.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        print(f"{args.check}: no {BEGIN} … {END} markers", file=sys.stderr)
        return 1
    current = doc.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    if current != text.strip():
        print(f"{args.check}: the figures table differs from what the code measures:\n{text}")
        return 1
    print(f"{args.check}: figures table matches the code's runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
