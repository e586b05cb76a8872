"""An advise run is an ordinary virtual run: the same profile gives the same summary and journals
as ``peakbench run``'s; it only leaves out what nobody sees (the live progress on a console
nobody reads)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from _profiles import small
from rich.console import Console

from peakbench.advise.runner import PointRun
from peakbench.config.loader import parse_profile
from peakbench.config.profile import Profile
from peakbench.run.orchestrator import Run, RunOutcome

WALL_FACTS = ("resources",)
"""summary.json fields that record wall facts (how long the machine took), not the world."""
JOURNALS = ("journals/replay.jsonl", "journals/carrier-generic.jsonl")


def _profile() -> Profile:
    return parse_profile(yaml.safe_dump(small("advise-run", interval="30m")), "small.yaml")


def _world(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in WALL_FACTS}


def _execute(kind: type[Run], results: Path) -> tuple[RunOutcome, str]:
    out = io.StringIO()
    outcome = kind(_profile(), "small.yaml", results, Console(file=out, width=100)).execute()
    return outcome, out.getvalue()


@pytest.fixture(scope="module")
def ordinary(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunOutcome, str]:
    return _execute(Run, tmp_path_factory.mktemp("ordinary"))


@pytest.fixture(scope="module")
def point(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunOutcome, str]:
    return _execute(PointRun, tmp_path_factory.mktemp("point"))


def test_an_advise_run_measures_what_an_ordinary_run_measures(
    ordinary: tuple[RunOutcome, str], point: tuple[RunOutcome, str]
) -> None:
    (a, _), (b, _) = ordinary, point
    assert a.summary["valid"] and a.summary["views"]["done"] > 100
    assert json.dumps(_world(a.summary), sort_keys=True) == json.dumps(
        _world(b.summary), sort_keys=True
    )
    for name in JOURNALS:
        assert (a.root / name).read_bytes() == (b.root / name).read_bytes(), name


def test_an_advise_run_shows_no_live_progress_but_still_samples_its_processes(
    ordinary: tuple[RunOutcome, str], point: tuple[RunOutcome, str]
) -> None:
    (a, shown), (b, quiet) = ordinary, point
    progress = re.compile(r"^t=.+? orders \d+/\d+ views \d+/\d+ late ", re.MULTILINE)
    assert progress.search(shown) and not progress.search(quiet)
    assert "All 2 SLO checks passed" in quiet  # the summary is still rendered
    for outcome in (a, b):
        rows = [json.loads(line) for line in (outcome.root / "resources.jsonl").open()]
        assert {"orchestrator", "world"} <= {r["process"] for r in rows}
        assert outcome.summary["resources"]
