"""The results history: past runs listed from their folders alone.

There is no index file to drift out of date: every run folder is self-describing
(``run.json`` + ``summary.json``), so the list is rebuilt by reading them, and a folder copied
from another machine shows up like any other. Folders that are half-written (a run still going,
or killed), or whose files are corrupt, are listed with what could be read and why the rest
could not; anything else in the results folder is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from peakbench.config.gauges import GAUGES
from peakbench.durations import format_duration

PASSED, FAILED, INVALID, PARTIAL, RUNNING, CORRUPT = (
    "passed",
    "failed",
    "invalid",
    "partial",
    "incomplete",
    "corrupt",
)


@dataclass(frozen=True, slots=True)
class RunEntry:
    """One run folder as the history shows it; figures are ``None`` when unknown."""

    path: Path
    started: str
    profile: str
    target: str
    plugin: str
    verdict: str
    orders: int | None = None
    staleness_p95_s: float | None = None
    refresh_latency_p95_s: float | None = None
    longest_outage_s: float | None = None
    complaints_per_1000: float | None = None
    seed: int | None = None
    problem: str = ""
    corrupt: tuple[str, ...] = ()
    """The files of the folder that could not be read (full paths): an error to report."""
    label: str = ""
    """How the list names it: ``<candidates folder>/<run folder>`` for a candidate's run."""

    @property
    def name(self) -> str:
        return self.label or self.path.name


def _read(path: Path) -> tuple[dict[str, Any] | None, str]:
    """A JSON object from ``path``: (data, "") or (None, why not)."""
    if not path.exists():
        return None, f"no {path.name}"
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = "empty" if not _text(path).strip() else type(exc).__name__
        return None, f"{path} is corrupt ({why})"
    if not isinstance(data, dict):
        return None, f"{path} is corrupt (not an object)"
    return data, ""


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return "?"


def _plugin(plugin: Any) -> str:
    if isinstance(plugin, dict):
        strategy = str(plugin.get("strategy", "?"))
        interval = plugin.get("interval")
        if isinstance(interval, int | float):
            return f"{strategy} {format_duration(float(interval))}"
        return strategy
    return "?" if plugin is None else str(plugin)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return None if number is None else int(number)


def _get(data: dict[str, Any], *keys: str) -> Any:
    cur: Any = data
    for key in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def _verdict(summary: dict[str, Any]) -> str:
    """A crashed or interrupted run is invalid like any other (its note says it is partial)."""
    if not summary.get("valid", False):
        return INVALID
    return PASSED if _get(summary, "slo", "passed") else FAILED


def _measured(summary: dict[str, Any], gauge: str, value: Any) -> float | None:
    """``value`` when the run had samples for it; ``None`` (shown "–") for a figure that rests
    on nothing, like the "longest outage" of a run that never called a carrier."""
    samples, _ = GAUGES[gauge].samples(summary)
    return None if samples == 0 else _num(value)


def _first_reason(summary: dict[str, Any]) -> str:
    reasons = summary.get("invalid_reasons")
    return str(reasons[0]) if isinstance(reasons, list) and reasons else ""


def read_entry(folder: Path) -> RunEntry | None:
    """The history entry of one folder, or ``None`` when it is not a run folder at all."""
    run, run_problem = _read(folder / "run.json")
    summary, summary_problem = _read(folder / "summary.json")
    if (
        run is None
        and summary is None
        and "corrupt" not in run_problem + summary_problem
        and not (folder / "schedule.csv").exists()
    ):
        return None
    profile = _get(run or {}, "profile") or {}
    started = str((run or {}).get("started_at") or folder.name.split("-", 1)[0])
    corrupt = [p for p in (run_problem, summary_problem) if "corrupt" in p]
    if summary is None:
        return RunEntry(
            path=folder,
            started=started,
            profile=str(_get(profile, "name") or "?"),
            target=str(_get(profile, "target", "kind") or "?"),
            plugin=_plugin(_get(profile, "target", "plugin")),
            verdict=CORRUPT if corrupt else RUNNING,
            seed=_int(_get(run or {}, "seed")),
            problem=corrupt[0] if corrupt else "no summary.json: still running, or killed",
            corrupt=tuple(corrupt),
        )
    return RunEntry(
        path=folder,
        started=started,
        profile=str(summary.get("profile") or _get(profile, "name") or "?"),
        target=str(summary.get("target") or _get(profile, "target", "kind") or "?"),
        plugin=_plugin(summary.get("plugin") or _get(profile, "target", "plugin")),
        verdict=_verdict(summary),
        orders=_int(_get(summary, "orders", "done")),
        staleness_p95_s=_num(_get(summary, "staleness_s", "p95")),
        refresh_latency_p95_s=_num(_get(summary, "refresh_latency_s", "p95")),
        longest_outage_s=_measured(summary, "longest_outage", summary.get("longest_outage_s")),
        complaints_per_1000=_measured(
            summary,
            "complaints_per_1000_orders",
            _get(summary, "complaints", "expected_per_1000_orders"),
        ),
        seed=_int(summary.get("seed")),
        problem=run_problem if run is None else _first_reason(summary),
        corrupt=tuple(corrupt),
    )


def list_runs(results: Path) -> list[RunEntry]:
    """Every run folder under ``results``, oldest first: those directly under it, and those one
    level down in a folder that holds runs (a candidates run's ``<UTC>-<profile>-candidates-<id>``),
    named ``<that folder>/<run folder>``."""
    if not results.is_dir():
        raise FileNotFoundError(f"{results}: no such results folder")
    itself = read_entry(results) if (results / "run.json").exists() else None
    if itself is not None:  # pointed at one run folder: that run
        return [itself]
    entries = []
    for folder in sorted(p for p in results.iterdir() if p.is_dir()):
        entry = read_entry(folder)
        if entry is not None:
            entries.append(entry)
            continue
        for inner in sorted(p for p in folder.iterdir() if p.is_dir()):
            nested = read_entry(inner)
            if nested is not None:
                entries.append(
                    RunEntry(**{**_fields(nested), "label": f"{folder.name}/{inner.name}"})
                )
    entries.sort(key=lambda e: (e.started, e.name))
    return entries


def _fields(entry: RunEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in RunEntry.__dataclass_fields__}


_STYLE = {
    PASSED: "bold green",
    FAILED: "bold red",
    INVALID: "bold yellow",
    PARTIAL: "yellow",
    RUNNING: "dim",
    CORRUPT: "bold magenta",
}


def _d(value: float | None) -> str:
    return "–" if value is None else format_duration(value)


WIDE_ROWS = 150
"""Consoles at least this wide get one line per run (CI logs, pipes: see peakbench.run.output);
narrower terminals get the run's profile, target and plugin under its name."""


def history_table(entries: Iterable[RunEntry], one_line: bool = True) -> Table:
    """Past runs, one row each: which profile ran against which target and plugin, the verdict
    and key figures (store time). Why a run marked ``*`` is invalid, partial or corrupt is in
    :func:`history_notes`. ``one_line``: profile, target and plugin in columns of their own
    (one line per run on a wide console), else under the run's name."""
    table = Table(title="peakbench runs", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    if one_line:
        table.add_column("run", overflow="fold", min_width=24)
        for col in ("profile", "target", "plugin"):
            table.add_column(col, overflow="fold")
    else:
        table.add_column("run · profile · target · plugin", overflow="fold")
    table.add_column("verdict", no_wrap=True)
    for col in ("orders", "staleness\np95", "refresh\np95", "longest\noutage", "compl.\n/1k"):
        table.add_column(col, justify="right", no_wrap=True)
    for e in entries:
        verdict = Text(e.verdict.upper(), _STYLE.get(e.verdict, ""))
        if e.problem:
            verdict.append("*", "dim")
        if one_line:
            names: list[Text | str] = [Text(e.name, "bold"), e.profile, e.target, e.plugin]
        else:
            run = Text(e.name, "bold")
            run.append(f"\n{e.profile} · {e.target} · {e.plugin}", "dim")
            names = [run]
        table.add_row(
            *names,
            verdict,
            "–" if e.orders is None else f"{e.orders:,}",
            _d(e.staleness_p95_s),
            _d(e.refresh_latency_p95_s),
            _d(e.longest_outage_s),
            "–" if e.complaints_per_1000 is None else f"{e.complaints_per_1000:.1f}",
        )
    return table


def history_notes(entries: Iterable[RunEntry]) -> list[str]:
    """``<run>: the run was interrupted…`` for every entry with a problem."""
    return [f"* {e.name}: {e.problem}" for e in entries if e.problem]


def render_history(console: Console, entries: list[RunEntry]) -> None:
    """The history table, then the notes on invalid, partial and corrupt runs."""
    if not entries:
        console.print("no runs yet")
        return
    console.print(history_table(entries, one_line=console.width >= WIDE_ROWS))
    for note in history_notes(entries):
        console.print(Text(note, "dim"), soft_wrap=True)
