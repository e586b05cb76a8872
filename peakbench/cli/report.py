"""``peakbench report``, ``compare`` and ``results list``: run folders read, rendered, compared."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from peakbench.cli.common import (
    EXIT_INVALID,
    EXIT_USAGE,
    UsageError,
    _baseline,
)

if TYPE_CHECKING:
    from peakbench.config.profile import Profile
    from peakbench.plan.clock import ClockSpec


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    from peakbench.measure.analysis import analyse
    from peakbench.measure.explain import explain
    from peakbench.measure.results import write_json
    from peakbench.measure.slo import regate
    from peakbench.report.console import render_summary
    from peakbench.report.html import write_report
    from peakbench.report.junit import write_junit
    from peakbench.report.markdown import write_markdown
    from peakbench.run.orchestrator import exit_code_for

    root = Path(args.run)
    if (root / "advise.json").exists():  # an advise folder (docs/advise.md)
        from peakbench.cli.advise import report as advise_report

        return advise_report(root, console)
    _run_record(root)
    old = _summary(root)
    if args.recompute:
        profile, clock, _ = _loaded_run(root)
        summary = analyse(profile, clock, root, old["clock"]["end"], old.get("partial", False))
        summary["valid"] = summary["valid"] and old["valid"]
        # the run's own reasons (a fault, the orchestrator's) first, then any the journals add
        fresh = [r for r in summary["invalid_reasons"] if r not in old["invalid_reasons"]]
        summary["invalid_reasons"] = [*old["invalid_reasons"], *fresh]
        summary["explanation"] = explain(summary)
        write_json(root / "summary.json", summary)
    else:
        summary = old
    if args.baseline:
        profile, _, _ = _loaded_run(root)
        summary = regate(profile.slo, summary, _baseline(args.baseline, profile.slo))
        summary["explanation"] = explain(summary)
        write_json(root / "summary.json", summary)
    write_junit(root, summary)
    render_summary(console, summary)
    html_path, md_path = write_report(root), write_markdown(root)
    console.print(f"report: {html_path}\nsummary: {md_path}", highlight=False, soft_wrap=True)
    return exit_code_for(summary)


def _run_record(root: Path) -> dict[str, Any]:
    """A run folder's run.json, or a UsageError naming the file when it is missing, empty or
    not a run record."""
    path = root / "run.json"
    if not path.exists():
        raise UsageError(f"{root}: not a peakbench results folder (no run.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        detail = "empty" if _empty(path) else " ".join(str(exc).split())
        raise UsageError(f"{path}: not a usable run record ({detail})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: not a usable run record (not a JSON object)")
    return data


def _empty(path: Path) -> bool:
    try:
        return not path.read_bytes().strip()
    except OSError:
        return False


def _summary(root: Path) -> dict[str, Any]:
    """A run folder's summary.json, or a UsageError saying why there is none to use."""
    path = root / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{root}: the run never finished (no summary.json)") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict) or not isinstance(data.get("clock"), dict):
        raise UsageError(f"{path}: not a peakbench summary")
    return data


def _loaded_run(root: Path) -> tuple[Profile, ClockSpec, dict[str, Any]]:
    """:func:`peakbench.measure.results.load_run`, with a damaged run.json as a UsageError."""
    from pydantic import ValidationError

    from peakbench.measure.results import load_run

    try:
        return load_run(root)
    except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise UsageError(f"{root / 'run.json'}: not a usable run record ({detail})") from None


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    """Compare runs with the first (the baseline): exit 0, or 1 with --fail-on-worse when a
    candidate is significantly worse on any metric."""
    from peakbench.report.compare import compare
    from peakbench.report.comparison import comparison_html, render_comparison

    if len(args.runs) < 2:
        raise UsageError("compare needs at least two run folders: BASELINE CANDIDATE...")
    if not 0 < args.confidence < 1 or args.resamples < 100:
        raise UsageError("--confidence must be in (0, 1) and --resamples at least 100")
    if args.html and not Path(args.html).resolve().parent.is_dir():
        raise UsageError(f"--html {args.html}: no such folder {Path(args.html).parent}")
    from peakbench.report.replicated import compare_sets
    from peakbench.run.replications import set_runs

    for run in args.runs:
        if (Path(run) / "run.json").exists():
            _run_record(Path(run))
    try:
        sets = [set_runs(Path(r)) for r in args.runs]
        if all(s is not None for s in sets):  # replication sets: seed-to-seed intervals
            result = compare_sets([s for s in sets if s is not None], args.confidence)
        elif any(s is not None for s in sets):
            raise UsageError("compare replication sets with replication sets, runs with runs")
        else:
            result = compare(
                [Path(r) for r in args.runs],
                resamples=args.resamples,
                confidence=args.confidence,
                seed=args.seed,
            )
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    render_comparison(console, result)
    if args.html:
        Path(args.html).write_text(comparison_html(result))
        console.print(f"comparison: {args.html}", highlight=False, soft_wrap=True)
    if args.fail_on_worse and result.invalid:
        # a crashed or invalid run measured nothing a gate can rely on: not "no worse"
        for run in result.invalid:
            sys.stderr.write(f"compare: {run.name} is {run.verdict}: {run.reason}\n")
        return EXIT_INVALID
    return 1 if args.fail_on_worse and result.any_worse else 0


def cmd_results_list(args: argparse.Namespace, console: Console) -> int:
    """List the run folders under --results with their verdicts and key figures."""
    from peakbench.report.history import list_runs, render_history

    try:
        entries = list_runs(Path(args.results))
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    render_history(console, entries)
    broken = [problem for e in entries for problem in e.corrupt]
    for problem in broken:  # listed with the rest, and named as errors: exit 2
        sys.stderr.write(f"error: {problem}\n")
    return EXIT_USAGE if broken else 0


def add_parsers(sub: Any) -> None:
    """Add this group's subcommands to ``peakbench``'s subparsers."""
    rep = sub.add_parser(
        "report", help="render a run folder's summary, report.html and summary.md again"
    )
    rep.add_argument("run", help="a run folder (results/<UTC>-<profile>-<id>)")
    rep.add_argument(
        "--recompute",
        action="store_true",
        help="recompute the summary from the folder's journals first",
    )
    rep.add_argument("--baseline", metavar="RUN", help="baseline run for relative SLOs (+10%%)")
    rep.set_defaults(func=cmd_report)

    cmp = sub.add_parser("compare", help="compare runs of the same seed with a baseline run")
    cmp.add_argument("runs", nargs="+", metavar="RUN", help="baseline first, then candidates")
    cmp.add_argument("--html", metavar="FILE", help="also write the comparison as HTML")
    cmp.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    cmp.add_argument("--confidence", type=float, default=0.95, help="joint level of the intervals")
    cmp.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    cmp.add_argument(
        "--fail-on-worse",
        action="store_true",
        help="exit 1 when a candidate is significantly worse on any metric, 3 when a run "
        "crashed or is invalid",
    )
    cmp.set_defaults(func=cmd_compare)

    res = sub.add_parser("results", help="past runs")
    rsub = res.add_subparsers(
        dest="results_command", required=True, metavar="COMMAND", help="what to do"
    )
    rlist = rsub.add_parser("list", help="list run folders with verdicts and key figures")
    rlist.add_argument(
        "--results", default="results", help="folder of run folders (candidates folders too)"
    )
    rlist.set_defaults(func=cmd_results_list)
