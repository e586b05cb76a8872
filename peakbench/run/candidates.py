"""Candidate plugins on one peak: one run per candidate on the same seed, then a comparison.

A profile's ``candidates:`` maps a name to a sandbox plugin preset plus overrides::

    candidates:
      naive: {preset: direct-polling, interval: 1h}
      polite: {preset: well-behaved, budget_per_day: 250}

``peakbench run PROFILE`` then runs the profile once per candidate, one after the other (the
same schedule each time: the plan depends on the seed and the peak, not on the plugin), each in
its own results folder under a parent folder ``<UTC>-<profile>-candidates-<id>/``, and writes
there ``comparison.html`` and ``candidates.json`` (the first candidate is the baseline of
:func:`peakbench.report.compare.compare`). Composition only: the run is
:class:`peakbench.run.orchestrator.Run`, the comparison ``peakbench/report/compare.py``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from peakbench.config.profile import Profile
from peakbench.config.store import SandboxTarget
from peakbench.measure.results import write_json
from peakbench.report.compare import Comparison, compare
from peakbench.report.comparison import comparison_html, render_comparison
from peakbench.run.output import closed
from peakbench.run.replications import worst_exit


def candidate_profiles(profile: Profile) -> list[tuple[str, Profile]]:
    """One profile per candidate, in the order listed: the same peak with that plugin, named
    ``<profile>-<candidate>``. Raises ValueError when the target is not the sandbox."""
    if not isinstance(profile.target, SandboxTarget):
        raise ValueError("candidates compare sandbox plugin presets: the target must be sandbox")
    out = []
    for name, plugin in profile.candidates.items():
        target = profile.target.model_copy(update={"plugin": plugin})
        one = profile.model_copy(
            update={"name": f"{profile.name}-{name}"[:61], "target": target, "candidates": {}}
        )
        out.append((name, one))
    return out


def parent_dir(results: Path, profile_name: str) -> Path:
    """A new folder for a candidates run: ``<results>/<UTC>-<profile>-candidates-<id>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results / f"{stamp}-{profile_name}-candidates-{secrets.token_hex(3)}"
    path.mkdir(parents=True)
    return path


def write_comparison(
    parent: Path, runs: Sequence[tuple[str, Path]], codes: Sequence[int] = ()
) -> Comparison:
    """Compare the candidates' run folders (the first is the baseline) and write
    ``comparison.html`` and ``candidates.json`` into ``parent``."""
    result = compare([root for _, root in runs], names=[name for name, _ in runs])
    (parent / "comparison.html").write_text(comparison_html(result))
    doc: dict[str, Any] = {
        "baseline": runs[0][0],
        "candidates": {
            name: {
                "run": str(root),
                "verdict": result.runs[i].verdict,
                **({"exit_code": codes[i]} if i < len(codes) else {}),
            }
            for i, (name, root) in enumerate(runs)
        },
        "same_plan": result.same_plan,
        "warnings": list(result.warnings),
        "verdicts": {
            name: {m.metric.key: m.verdict for m in pair.metrics}
            for (name, _), pair in zip(runs[1:], result.pairs, strict=True)
        },
    }
    write_json(parent / "candidates.json", doc)
    return result


def run_candidates(
    profile: Profile,
    source: str,
    results: Path,
    console: Console,
    argv: list[str] | None = None,
    **run_options: Any,
) -> int:
    """Run every candidate, compare them, print the comparison; returns the worst exit code
    (3 if any run is invalid, else 1 if any failed its SLOs, else 0). ``run_options`` go to
    :class:`~peakbench.run.orchestrator.Run` (``baseline``, ``scale``)."""
    from peakbench.run.orchestrator import Run

    profiles = candidate_profiles(profile)
    parent = parent_dir(results, profile.name)
    console.print(
        f"[bold]candidates[/] {', '.join(n for n, _ in profiles)}: the same peak, one run "
        f"each\n  results: {parent}"
    )
    if profile.replications > 1:
        return _run_candidate_sets(profiles, source, parent, console, argv, **run_options)
    runs: list[tuple[str, Path]] = []
    codes: list[int] = []
    for name, one in profiles:
        console.rule(f"candidate {name} ({one.target.plugin.strategy})")
        outcome = Run(one, source, parent, console, argv, **run_options).execute()
        runs.append((name, outcome.root))
        codes.append(outcome.exit_code)
        if outcome.interrupted:  # Ctrl-C ends the whole comparison, not one candidate
            console.print(f"[yellow]interrupted: candidates after {name} not run[/]")
            break
        if closed(console):  # nobody reads the output any more (| head): stop here too
            break
    if len(runs) >= 2:
        render_comparison(console, write_comparison(parent, runs, codes))
        console.print(f"comparison: {parent / 'comparison.html'}", highlight=False)
    return worst_exit(codes)


def _run_candidate_sets(
    profiles: list[tuple[str, Profile]],
    source: str,
    parent: Path,
    console: Console,
    argv: list[str] | None,
    **run_options: Any,
) -> int:
    """Candidates with ``replications: N``: one replication set per candidate (its folder
    ``<parent>/<candidate>``), compared on seed-to-seed variation."""
    from peakbench.report.replicated import compare_sets
    from peakbench.run.replications import run_set

    sets = []
    for name, one in profiles:
        console.rule(f"candidate {name} ({one.target.plugin.strategy}), {one.replications} seeds")
        folder = parent / name
        folder.mkdir()
        sets.append((name, run_set(one, source, folder, console, argv, **run_options)))
        if sets[-1][1].interrupted:
            console.print(f"[yellow]interrupted: candidates after {name} not run[/]")
            break
    codes = [s.exit_code for _, s in sets]
    if len(sets) >= 2 and not sets[-1][1].interrupted:
        result = compare_sets([list(s.roots) for _, s in sets])
        (parent / "comparison.html").write_text(comparison_html(result))
        write_json(
            parent / "candidates.json",
            {
                "baseline": sets[0][0],
                "replications": len(sets[0][1].roots),
                "candidates": {
                    name: {"set": str(s.folder), "exit_code": s.exit_code} for name, s in sets
                },
                "warnings": list(result.warnings),
                "verdicts": {
                    name: {m.metric.key: m.verdict for m in pair.metrics}
                    for (name, _), pair in zip(sets[1:], result.pairs, strict=True)
                },
            },
        )
        render_comparison(console, result)
        console.print(f"comparison: {parent / 'comparison.html'}", highlight=False)
    return worst_exit(codes)
