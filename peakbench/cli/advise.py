"""``peakbench advise PROFILE``: the composition root of an advise (docs/advise.md).

Load the profile, plan the space (peakbench/advise/space.py), run every point and seed as an
ordinary virtual run in a process pool (runner.py), reduce the runs (verdict.py), then write the
advise folder ``<results>/<UTC>-<profile>-advise-<id>/``: ``advise.json``, ``profile.json``
(the resolved profile), ``advise.html`` and ``runs/`` (one run folder per point and seed).
Exit 0 when a setting passes at the forecast peak, 1 when none does, 2 for bad input, 3 when
interrupted (the folder still holds the answer over the runs that finished, marked partial).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from peakbench.advise import sharing, space, verdict
from peakbench.advise.page import write_page
from peakbench.advise.runner import Done, Task, profile_text, run_all
from peakbench.advise.tables import breaking_table, points_table, progress_text
from peakbench.cli.common import UsageError, _overrides, _results_folder
from peakbench.config.loader import load_profile
from peakbench.config.profile import Profile
from peakbench.measure.results import redact, write_json

ADVISE = "advise.json"
RECOMMENDED = "recommended.yaml"
EXIT_PARTIAL = 3
"""An interrupted advise: its answer covers only the runs that finished."""


def add_parser(sub: Any) -> None:
    """Register ``peakbench advise`` on the CLI's subparsers."""
    adv = sub.add_parser(
        "advise", help="search plugin settings and peak sizes in virtual time; recommend one"
    )
    adv.add_argument("profile", help="profile YAML (its advise: section, or the defaults)")
    adv.add_argument("--results", default="results", help="folder for the advise folder")
    adv.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a profile field, e.g. --set advise.seeds=1",
    )
    adv.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="runs at once, one process each (default: 2)",
    )
    adv.add_argument(
        "--run-every-point",
        action="store_true",
        help="run every point's world from the start, even one whose run could not differ "
        f"from a run already done ({sharing.WHY}), or could only from a refusal on "
        f"({sharing.BRANCHED})",
    )
    adv.set_defaults(func=cli_advise)


def cli_advise(args: argparse.Namespace, console: Console) -> int:
    """The ``advise`` subcommand: bad input is a UsageError (one line, exit 2)."""
    if not 1 <= args.workers <= 64:
        raise UsageError(f"--workers must be between 1 and 64, got {args.workers}")
    results = _results_folder(args.results)
    profile = load_profile(Path(args.profile), _overrides(args.set))
    try:
        plan(profile, results, args.profile)  # an impossible setting is bad input: nothing starts
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    doc = advise(
        profile, args.profile, results, console, args.workers, share=not args.run_every_point
    )
    return EXIT_PARTIAL if doc["partial"] else int(doc["exit_code"])


def plan(
    profile: Profile, root: Path, source: str, share: bool = True
) -> tuple[list[space.Point], list[Task]]:
    """Every point and its runs; ValueError (before anything runs) for an impossible setting.
    With ``share``, a run that could not differ from an earlier one waits for it
    (:mod:`peakbench.advise.sharing`)."""
    if not profile.virtual:
        raise ValueError("advise runs in virtual time: drop clock.mode: wall")
    spec = space.resolve(profile)
    pts = space.points(profile, spec)
    runs = [(p, s, space.point_profile(profile, p, s)) for p in pts for s in range(spec.seeds)]
    measured = sharing.measured_by([r[2] for r in runs]) if share else [None] * len(runs)
    tasks = [
        Task(p.index, s, prof, root / "runs", source, measured_by=m)
        for (p, s, prof), m in zip(runs, measured, strict=True)
    ]
    return pts, tasks


def advise(
    profile: Profile,
    source: str,
    results: Path,
    console: Console,
    workers: int = 2,
    share: bool = True,
) -> dict[str, Any]:
    """Run the whole advise and write its folder; the ``advise.json`` document. Without
    ``share`` every point runs (``--run-every-point``)."""
    spec = space.resolve(profile)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    root = results.absolute() / f"{stamp}-{profile.name}-advise-{secrets.token_hex(3)}"
    pts, tasks = plan(profile, root, source, share)  # raises before the folder exists
    (root / "runs").mkdir(parents=True)
    write_json(root / "profile.json", redact(profile.model_dump(mode="json")))
    settings = len({p.setting.key for p in pts})
    console.print(
        f"[bold]peakbench advise[/] {profile.name}: {settings} settings × "
        f"{len(spec.multipliers)} peak sizes × {spec.seeds} seeds = {len(tasks)} virtual runs "
        f"on {workers} processes\n  results: {root}",
        highlight=False,
    )
    started = time.monotonic()
    strategy = pts[0].setting.strategy
    tty = console.is_terminal
    last = [0.0]
    with Live(Text(""), console=console, transient=True, auto_refresh=tty) as live:

        def progress(done: Sequence[Done], total: int, wall_s: float) -> None:
            doc = _document(profile, source, spec, pts, done, workers, wall_s, partial=True)
            best = doc["recommendation"].get("setting")
            text = progress_text(len(done), total, wall_s, best)
            if tty:
                live.update(Text(text))
            elif time.monotonic() - last[0] >= 5 or len(done) == total:
                console.print(text, highlight=False, soft_wrap=True)
                last[0] = time.monotonic()

        done, interrupted = run_all(tasks, workers, progress)
    doc = _document(
        profile,
        source,
        spec,
        pts,
        done,
        workers,
        time.monotonic() - started,
        partial=interrupted or len(done) < len(tasks),
    )
    doc["strategy"] = strategy
    doc["rerun"] = _recommended_profile(root, doc, tasks)
    write_json(root / ADVISE, doc)
    render(console, doc)
    page = write_page(root, doc)
    console.print(f"advise page: {page}", highlight=False, soft_wrap=True)
    return doc


def _recommended_profile(root: Path, doc: dict[str, Any], tasks: Sequence[Task]) -> str | None:
    """Write the recommended point's first-seed profile to ``ROOT/recommended.yaml`` (what its
    run folder holds, or would, when another point's run answered for it); the command that
    re-runs it as an ordinary run (the same figures as that seed's run)."""
    point = doc["recommendation"].get("point")
    task = next((t for t in tasks if t.point == point and t.seed_index == 0), None)
    if point is None or task is None:
        return None
    (root / RECOMMENDED).write_text(profile_text(task.profile), encoding="utf-8")
    return f"peakbench run {root / RECOMMENDED}"


def _document(
    profile: Profile,
    source: str,
    spec: Any,
    pts: Sequence[space.Point],
    done: Sequence[Done],
    workers: int,
    wall_s: float,
    partial: bool,
) -> dict[str, Any]:
    by_point: dict[int, list[Done]] = {}
    for d in done:
        by_point.setdefault(d.point, []).append(d)
    complete = [p for p in pts if len(by_point.get(p.index, [])) == spec.seeds]
    shared = [d for d in done if d.figures["same_as"] is not None]
    branched = [d for d in done if d.figures["branched_from"] is not None]
    measured = [  # runs whose own world ran from the start
        d for d in done if d.figures["same_as"] is None and d.figures["branched_from"] is None
    ]
    figures = [
        verdict.point_figures(
            p,
            [d.figures for d in sorted(by_point[p.index], key=lambda d: d.seed_index)],
            spec.prices,
        )
        for p in complete
    ]
    strategy = pts[0].setting.strategy
    doc: dict[str, Any] = {
        "kind": "advise",
        "profile": profile.name,
        "source": source,
        "strategy": strategy,
        "current": pts[0].setting.key,
        "search": spec.search,
        "multipliers": list(spec.multipliers),
        "seeds": [profile.seed + i for i in range(spec.seeds)],
        "workers": workers,
        "runs_total": len(pts) * spec.seeds,
        "runs_done": len(done),
        "runs_shared": len(shared),
        "runs_branched": len(branched),
        "wall_s": round(wall_s, 1),
        "run_wall_s_mean": round(sum(d.wall_s for d in measured) / len(measured), 2)
        if measured
        else None,
        "partial": partial,
        "prices": spec.prices.model_dump(),
        "slo_checks": [c["name"] for c in done[0].figures["checks"]] if done else [],
        "points": figures,
        "frontier": {},
        "recommendation": {},
        "breaking_point": {},
        "breaking_point_settings": {},
        "exit_code": 1,
    }
    forecast_current = [
        p for p in figures if p["current"] and p["multiplier"] == min(spec.multipliers)
    ]
    if not figures or not forecast_current:
        return doc
    for m in spec.multipliers:
        at = [p for p in figures if p["multiplier"] == m]
        if at:
            doc["frontier"][f"{m:g}"] = verdict.frontier(at)
    rec = verdict.recommend(figures, strategy)
    doc["recommendation"] = rec
    named = {"current": pts[0].setting.key}
    if rec["setting"] is not None and rec["setting"] != named["current"]:
        named = {"recommended": rec["setting"], **named}
    doc["breaking_point_settings"] = named
    doc["breaking_point"] = {
        k: verdict.breaking_point(figures, s, doc["slo_checks"]) for k, s in named.items()
    }
    doc["comparison"] = _comparison(figures, rec, spec.prices.currency)
    doc["exit_code"] = 0 if rec["point"] is not None else 1
    return doc


def _comparison(
    figures: Sequence[dict[str, Any]], rec: dict[str, Any], currency: str
) -> str | None:
    """``the recommendation costs N more carrier calls than the current settings and saves M
    contacts`` at the forecast peak."""
    ids = {p["id"]: p for p in figures}
    if rec["point"] is None or rec["point"] == rec["current_point"]:
        return None
    new, old = ids[rec["point"]], ids[rec["current_point"]]
    calls = new["requests"] - old["requests"]
    saved = (old["complaints"] or 0.0) - (new["complaints"] or 0.0)
    contacts = (
        "changes no expected support contact"
        if abs(saved) < 0.05
        else f"{'saves' if saved > 0 else 'adds'} {abs(saved):,.1f} expected support contacts"
    )
    text = (
        f"{new['setting']} makes {abs(calls):,.0f} {'more' if calls >= 0 else 'fewer'} carrier "
        f"calls than the current settings ({new['requests']:,.0f} against {old['requests']:,.0f}) "
        f"and {contacts}"
    )
    if new["cost"] is not None and old["cost"] is not None:
        text += f"; cost {new['cost']:,.2f} against {old['cost']:,.2f} {currency}"
    return text


def render(console: Console, doc: dict[str, Any]) -> None:
    """The answer on the console: the points, the breaking points and the recommendation."""
    console.print(points_table(doc))
    if doc["breaking_point"]:
        console.print(breaking_table(doc))
    rec = doc["recommendation"]
    if rec:
        cur = (
            "passes"
            if rec["current_passed"]
            else "FAILS (" + ", ".join(rec["current_failed_checks"]) + ")"
        )
        console.print(
            f"current settings ({doc['current']}): {cur}", highlight=False, soft_wrap=True
        )
        style = "green" if rec["point"] is not None else "red"
        console.print(f"[{style}]recommendation:[/] {rec['text']}", highlight=False, soft_wrap=True)
        if doc.get("comparison"):
            console.print(doc["comparison"], highlight=False, soft_wrap=True)
        if doc.get("rerun"):
            console.print(
                f"re-run the recommendation: {doc['rerun']}", highlight=False, soft_wrap=True
            )
    if doc.get("runs_shared"):
        console.print(
            f"{doc['runs_shared']} of {doc['runs_done']} runs were not run: each could not "
            f"differ from a run already done ({sharing.WHY})",
            highlight=False,
            soft_wrap=True,
        )
    if doc.get("runs_branched"):
        console.print(
            f"{doc['runs_branched']} of {doc['runs_done']} runs were forked from another run's "
            f"world ({sharing.BRANCHED})",
            highlight=False,
            soft_wrap=True,
        )
    if doc["partial"]:
        console.print(f"[yellow]partial: {doc['runs_done']}/{doc['runs_total']} runs done[/]")


def report(root: Path, console: Console) -> int:
    """``peakbench report ADVISE_DIR``: render the console answer and ``advise.html`` again."""
    doc = json.loads((root / ADVISE).read_text(encoding="utf-8"))
    render(console, doc)
    console.print(f"advise page: {write_page(root, doc)}", highlight=False, soft_wrap=True)
    return int(doc.get("exit_code", 1))
