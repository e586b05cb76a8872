"""Replications: one profile run with N seeds, as evidence that does not hang on one seed.

``replications: N`` in a profile runs it N times, with seeds ``seed`` … ``seed + N − 1``, each
an ordinary run folder inside one replication set folder (``replications.json`` lists them).
Candidates with replications run one set each, and their comparison uses the seed-to-seed
variation (:mod:`peakbench.report.replicated`). Virtual time makes this cheap: the same seed
always gives the same run, so N seeds are N distinct samples of the peak.
"""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from peakbench.config.profile import Profile
from peakbench.measure.results import write_json
from peakbench.report.replicated import REPLICATIONS_FILE

EXIT_INVALID = 3


def worst_exit(codes: Sequence[int]) -> int:
    """Several runs' one exit code: 3 if any is invalid, else 1 if any failed an SLO, else 0."""
    return EXIT_INVALID if EXIT_INVALID in codes else max(codes, default=0)


@dataclass(frozen=True, slots=True)
class ReplicationSet:
    """The run folders of one profile's seeds, and how each ended."""

    folder: Path
    roots: tuple[Path, ...]
    codes: tuple[int, ...]
    interrupted: bool

    @property
    def exit_code(self) -> int:
        """3 if any run is invalid, else 1 if any failed an SLO, else 0."""
        return worst_exit(self.codes)


def seeded(profile: Profile) -> list[Profile]:
    """The profile once per seed, named ``<profile>-s<seed>``, each with one replication."""
    return [
        profile.model_copy(
            update={
                "seed": profile.seed + i,
                "name": f"{profile.name}-s{profile.seed + i}"[:61],
                "replications": 1,
            }
        )
        for i in range(profile.replications)
    ]


def new_set_folder(results: Path, profile_name: str) -> Path:
    """``<results>/<UTC>-<profile>-replications-<id>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results.absolute() / f"{stamp}-{profile_name}-replications-{secrets.token_hex(3)}"
    path.mkdir(parents=True)
    return path


def run_set(
    profile: Profile,
    source: str,
    folder: Path,
    console: Console,
    argv: list[str] | None = None,
    **run_options: Any,
) -> ReplicationSet:
    """Run every seed of ``profile`` into ``folder``; stops at Ctrl-C."""
    from peakbench.run.orchestrator import Run

    roots: list[Path] = []
    codes: list[int] = []
    interrupted = False
    profiles = seeded(profile)
    for i, one in enumerate(profiles):
        console.rule(f"{profile.name}: seed {one.seed} ({i + 1} of {len(profiles)})")
        outcome = Run(one, source, folder, console, argv, **run_options).execute()
        roots.append(outcome.root)
        codes.append(outcome.exit_code)
        if outcome.interrupted:
            console.print(f"[yellow]interrupted: seeds after {one.seed} not run[/]")
            interrupted = True
            break
    result = ReplicationSet(folder, tuple(roots), tuple(codes), interrupted)
    write_json(
        folder / REPLICATIONS_FILE,
        {
            "profile": profile.name,
            "seeds": [p.seed for p in profiles[: len(roots)]],
            "runs": [r.name for r in roots],
            "exit_codes": list(codes),
            "complete": not interrupted,
        },
    )
    return result


def set_runs(folder: Path) -> list[Path] | None:
    """The run folders of a replication set folder, or None when ``folder`` is not one."""
    import json

    path = folder / REPLICATIONS_FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return [folder / str(name) for name in doc["runs"]]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{path}: not a replication set (expected a 'runs' list)") from None


def spread_text(summaries: list[dict[str, Any]]) -> str:
    """Mean and range over the seeds of the figures a manager reads first."""

    def figure(path: tuple[str, ...]) -> list[float]:
        out = []
        for s in summaries:
            value: Any = s
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, int | float):
                out.append(float(value))
        return out

    lines = []
    for label, path in (
        ("staleness p95 (s)", ("staleness_s", "p95")),
        ("refresh latency p95 (s)", ("refresh_latency_s", "p95")),
        ("longest outage (s)", ("longest_outage_s",)),
        ("complaints / 1,000 orders", ("complaints", "expected_per_1000_orders")),
    ):
        xs = figure(path)
        if xs:
            lines.append(
                f"{label}: mean {statistics.fmean(xs):,.1f}, min {min(xs):,.1f}, "
                f"max {max(xs):,.1f} over {len(xs)} seeds"
            )
    return "\n".join(lines)


def run_replications(
    profile: Profile,
    source: str,
    results: Path,
    console: Console,
    argv: list[str] | None = None,
    **run_options: Any,
) -> int:
    """``peakbench run`` of a profile with ``replications: N``: N seeded runs in one set
    folder; prints the spread of the key figures; returns the worst exit code."""
    import json

    folder = new_set_folder(results, profile.name)
    console.print(
        f"[bold]replications[/] {profile.name}: {profile.replications} seeds from "
        f"{profile.seed}\n  results: {folder}"
    )
    result = run_set(profile, source, folder, console, argv, **run_options)
    summaries = []
    for root in result.roots:
        try:
            summaries.append(json.loads((root / "summary.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    console.print(spread_text(summaries), highlight=False)
    console.print(f"replication set: {folder}", highlight=False)
    return result.exit_code
