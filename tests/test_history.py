"""`peakbench results list`: past runs from their folders, robust to partial and corrupt ones."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from peakbench.report.history import list_runs, render_history


def _run_json(name: str, interval: float = 900.0) -> dict[str, Any]:
    return {
        "profile": {
            "name": name,
            "seed": 7,
            "target": {
                "kind": "sandbox",
                "plugin": {"strategy": "direct-polling", "interval": interval},
            },
        },
        "seed": 7,
        "started_at": "",
    }


def _summary(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "profile": name,
        "target": "sandbox",
        "plugin": {"strategy": "direct-polling", "interval": 900.0},
        "seed": 7,
        "orders": {"scheduled": 4873, "done": 4873, "late": 0, "failed": 0},
        "refresh_latency_s": {"p95": 3447.0},
        "staleness_s": {"p95": 1717.0},
        "longest_outage_s": 0.0,
        "complaints": {"expected_per_1000_orders": 17.2},
        "valid": True,
        "invalid_reasons": [],
        "partial": False,
        "slo": {"passed": True, "checks": []},
        **extra,
    }


def _folder(root: Path, name: str, run: Any = None, summary: Any = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for file, data in (("run.json", run), ("summary.json", summary)):
        if isinstance(data, str):
            (folder / file).write_text(data)
        elif data is not None:
            (folder / file).write_text(json.dumps(data))
    return folder


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    _folder(root, "20261124T100000Z-good-aaaaaa", _run_json("good"), _summary("good"))
    failed = _summary("failing", slo={"passed": False, "checks": []}, longest_outage_s=44760.0)
    _folder(root, "20261124T110000Z-failing-bbbbbb", _run_json("failing"), failed)
    partial = _summary(
        "cut",
        partial=True,
        valid=False,
        invalid_reasons=["the run was interrupted; figures cover only the part that ran"],
    )
    _folder(root, "20261124T120000Z-cut-cccccc", _run_json("cut"), partial)
    _folder(root, "20261124T130000Z-running-dddddd", _run_json("running", 3600.0))
    _folder(root, "20261124T140000Z-broken-eeeeee", _run_json("broken"), '{"profile": "bro')
    _folder(root, "20261124T150000Z-garbled-ffffff", "\x00\xff not json", _summary("garbled"))
    _folder(root, "20261124T160000Z-odd-111111", _run_json("odd"), _summary("odd", orders="?"))
    _folder(root, "20261124T170000Z-list-222222", None, "[1, 2]")
    (root / "notes").mkdir()  # not a run folder: ignored
    (root / "README.md").write_text("results go here")
    return root


def test_history_lists_good_partial_and_corrupt_runs(results: Path) -> None:
    entries = list_runs(results)
    verdicts = {e.profile: e.verdict for e in entries}
    assert [e.name.split("-")[1] for e in entries] == [
        "good",
        "failing",
        "cut",
        "running",
        "broken",
        "garbled",
        "odd",
        "list",
    ]
    assert verdicts == {
        "good": "passed",
        "failing": "failed",
        "cut": "invalid",  # partial runs are invalid; the note says why
        "running": "incomplete",
        "broken": "corrupt",
        "garbled": "passed",
        "odd": "passed",
        "?": "corrupt",
    }
    by_name = {e.name.split("-")[1]: e for e in entries}
    assert by_name["good"].orders == 4873 and by_name["good"].staleness_p95_s == 1717.0
    assert by_name["good"].plugin == "direct-polling 15m"
    assert by_name["running"].plugin == "direct-polling 1h" and by_name["running"].orders is None
    assert "corrupt" in by_name["broken"].problem
    assert "run.json is corrupt" in by_name["garbled"].problem
    assert by_name["odd"].orders is None
    assert "interrupted" in by_name["cut"].problem


def test_history_renders_a_table(results: Path) -> None:
    console = Console(file=StringIO(), width=100)
    render_history(console, list_runs(results))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    for words in (
        "PASSED",
        "FAILED",
        "INVALID*",
        "INCOMPLETE",
        "CORRUPT*",
        "4,873",
        "28m37s",
        "12h26m",
        "17.2",
        "summary.json is corrupt",
        "interrupted",
    ):
        assert words in text, words
    assert "notes" not in text and "README" not in text


def test_results_list_command(results: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "results", "list", "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # every run is listed; the folders with a corrupt file are errors, one line each: exit 2
    assert proc.returncode == 2, proc.stderr
    assert "good" in proc.stdout and "CORRUPT" in proc.stdout
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 3, errors
    assert all(line.startswith(f"error: {results}/") for line in errors), errors
    assert any("garbled-ffffff/run.json is corrupt" in line for line in errors)
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "results", "list", "--results", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {tmp_path / 'x'}: no such results folder"]
