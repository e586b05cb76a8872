"""What people read from the command line: CI logs and pipes, --version, --help, the results
list, comparisons of crashed runs, and one-line refusals of bad input."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from _profiles import small
from _runs import run_folder

from peakbench.cli.main import build_parser, main
from peakbench.config.loader import parse_profile
from peakbench.config.profile import Profile
from peakbench.measure.analysis import analyse
from peakbench.measure.results import write_json

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI as CI runs it: no terminal (stdout is a pipe), no COLUMNS."""
    environ = {k: v for k, v in __import__("os").environ.items() if k != "COLUMNS"}
    return subprocess.run(
        [sys.executable, "-m", "peakbench", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**environ, **env},
    )


def _profile(name: str = "small", **extra: Any) -> Profile:
    data = small(name)
    data["slo"] = {"staleness_p95": "1d", "longest_outage": "30m"}
    data.update(extra)
    return parse_profile(yaml.safe_dump(data), f"{name}.yaml")


def _finished(root: Path, profile: Profile, **options: Any) -> Path:
    """A run folder with its summary, as a finished run leaves it."""
    root, clock = run_folder(root, profile, **options)
    write_json(root / "summary.json", analyse(profile, clock, root, profile.clock.duration))
    return root


def test_version_names_the_package_and_the_commit() -> None:
    proc = _cli("--version")
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert re.fullmatch(r"peakbench \S+( \(git [0-9a-f]{12}\))?", line), line
    if (ROOT / ".git").exists():
        assert "(git " in line


def _actions(parser: argparse.ArgumentParser, where: str) -> list[tuple[str, argparse.Action]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += _actions(sub, f"{where} {name}")
        out.append((where, action))
    return out


def test_every_flag_and_positional_has_help_and_shows_its_default() -> None:
    parser = build_parser()
    found = _actions(parser, "peakbench")
    assert len(found) > 50
    missing = [f"{w} {a.option_strings or a.dest}" for w, a in found if not a.help]
    assert not missing, missing
    # a default that says something is shown in the help
    run = next(
        a.choices["run"] for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    text = run.format_help()
    for words in ("(default: results)", "(default: 1)", "(default: 5557)"):
        assert words in " ".join(text.split()), words
    assert "(default: None)" not in text and "(default: False)" not in text
    compare = next(
        a.choices["compare"] for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    assert "bootstrap seed (default: 0)" in " ".join(compare.format_help().split())


def test_output_without_a_terminal_keeps_one_row_per_run(tmp_path: Path) -> None:
    results = tmp_path / "results"
    long_name = "black-friday-with-a-very-long-profile-name-for-ci-logs"
    for i in range(3):
        profile = _profile(f"{long_name}-{i}")
        _finished(results / f"20261127T00000{i}Z-{long_name}-{i}-abcdef", profile)
    proc = _cli("results", "list", "--results", str(results))
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if "-abcdef" in line]
    assert len(rows) == 3, proc.stdout
    for i, row in enumerate(rows):
        assert f"{long_name}-{i}" in row and "PASSED" in row and "sandbox" in row, row
    assert max(len(line) for line in proc.stdout.splitlines()) > 80


def test_results_list_finds_candidates_and_shows_a_crash_as_invalid(tmp_path: Path) -> None:
    results = tmp_path / "results"
    parent = results / "20261127T000000Z-small-candidates-abc123"
    _finished(parent / "20261127T000001Z-small-naive-111111", _profile("small-naive"))
    crashed = _profile("small-polite")
    root = _finished(
        parent / "20261127T000002Z-small-polite-222222", crashed, views=False, carrier_requests=0
    )
    summary = json.loads((root / "summary.json").read_text())
    summary.update(partial=True, valid=False)
    summary["invalid_reasons"].insert(0, "child_died in store at t=40s during replay: exit 1")
    write_json(root / "summary.json", summary)
    (parent / "comparison.html").write_text("<html></html>")
    proc = _cli("results", "list", "--results", str(results))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    naive = next(line for line in lines if "small-naive-111111" in line)
    polite = next(line for line in lines if "small-polite-222222" in line)
    assert "candidates-abc123/20261127T000001Z-small-naive-111111" in naive
    assert "PASSED" in naive
    assert "INVALID" in polite and "PARTIAL" not in polite
    assert "0ms" not in polite  # no carrier request: no outage figure, not "0ms"
    assert "child_died in store" in proc.stdout


def test_compare_fails_on_a_crashed_or_invalid_candidate(tmp_path: Path) -> None:
    base = _finished(tmp_path / "20261127T000001Z-small-base-111111", _profile("base"))
    twin = _finished(tmp_path / "20261127T000002Z-small-twin-222222", _profile("twin"))
    crashed = _finished(tmp_path / "20261127T000003Z-small-crashed-333333", _profile("crashed"))
    (crashed / "summary.json").unlink()  # the harness died before writing it
    page = tmp_path / "cmp.html"
    flags = ["--resamples", "200", "--fail-on-worse"]
    ok = _cli("compare", str(base), str(twin), *flags)
    assert ok.returncode == 0, ok.stderr + ok.stdout
    proc = _cli("compare", str(base), str(twin), str(crashed), *flags, "--html", str(page))
    assert proc.returncode == 3, proc.stderr + proc.stdout
    assert proc.stderr.strip().splitlines() == [
        "compare: crashed is CRASHED: no summary.json: the run never finished"
    ]
    # runs are named by their names, not folder ids; verdicts and every metric row are kept
    assert "twin vs base (baseline)" in proc.stdout
    assert "runs: base PASSED · twin PASSED · crashed CRASHED" in proc.stdout
    html = page.read_text()
    assert 'data-run="crashed">CRASHED' in html and 'data-run="base">PASSED' in html
    assert html.count('data-metric="staleness_p95"') == 2
    assert html.count('data-metric="longest_outage"') == 2
    assert "20261127T000003Z-small-crashed-333333" in html  # the folder is still shown
    assert "<h2>crashed vs base (baseline)</h2>" in html
    # an invalid (not crashed) run fails the gate too
    invalid = _finished(
        tmp_path / "20261127T000004Z-small-idle-444444", _profile("idle"), carrier_requests=0
    )
    proc = _cli("compare", str(base), str(invalid), *flags)
    assert proc.returncode == 3, proc.stderr + proc.stdout
    assert proc.stderr.startswith("compare: idle is INVALID: the plugin never reached")


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "soon"])
def test_a_bad_hang_timeout_is_refused_in_one_line(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump(small()))
    monkeypatch.setenv("PEAKBENCH_HANG_AFTER", value)
    results = tmp_path / "results"
    assert main(["run", str(profile), "--results", str(results)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: PEAKBENCH_HANG_AFTER:"), err
    assert repr(value) in err[0]
    assert not results.exists()
    assert main(["validate", str(profile)]) == 2  # validate refuses what run refuses
    assert "PEAKBENCH_HANG_AFTER" in capsys.readouterr().err


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]"])
def test_an_empty_or_corrupt_run_json_is_one_line_naming_it(
    content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _finished(tmp_path / "results" / "20261127T000001Z-small-aaaaaa", _profile())
    bad = tmp_path / "results" / "20261127T000002Z-small-bbbbbb"
    shutil.copytree(good, bad)
    (bad / "run.json").write_text(content)
    for argv in (["report", str(bad)], ["compare", str(good), str(bad)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: {bad / 'run.json'}"), (argv, err)
    assert main(["results", "list", "--results", str(tmp_path / "results")]) == 2
    out = capsys.readouterr()
    assert "20261127T000001Z-small-aaaaaa" in out.out  # the others are still listed
    errors = [line for line in out.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {bad / 'run.json'} is corrupt")
    assert ("(empty)" in errors[0]) == (content == "")
    # pointed at the run folder itself
    assert main(["results", "list", "--results", str(bad)]) == 2
    assert f"error: {bad / 'run.json'} is corrupt" in capsys.readouterr().err


def _profile_file(tmp_path: Path, slo: dict[str, Any]) -> Path:
    data = small()
    data["slo"] = slo
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_set_errors_name_the_flag_and_validate_refuses_what_run_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _profile_file(tmp_path, {"staleness_p95": "1h"})
    assert main(["validate", str(path), "--set", "target.plugin.interval=fast"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --set target.plugin.interval=fast: expected a duration like '10s', got 'fast'"
    )
    # a relative SLO: run refuses it without a baseline, so validate does too
    rel = ["--set", "slo.staleness_p95=+10%"]
    assert main(["validate", str(path), *rel]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "need a baseline run: pass --baseline RUN" in err[0]
    base = _finished(tmp_path / "base", _profile())
    assert main(["validate", str(path), *rel, "--baseline", str(base)]) == 0
    assert "relative SLOs against" in capsys.readouterr().out


def test_a_relative_slo_set_on_the_command_line_keeps_the_absolute_one() -> None:
    data = small()
    data["slo"] = {"staleness_p95": "1h"}
    text = yaml.safe_dump(data)
    profile = parse_profile(text, "p.yaml", [("slo.staleness_p95", "+10%")])
    assert profile.slo.staleness_p95 == 3600
    assert profile.slo.baseline == {"staleness_p95": "+10%"}
    # and the other way round: a new absolute bound keeps the relative one
    data["slo"] = {"staleness_p95": {"max": "1h", "baseline": "+10%"}}
    profile = parse_profile(yaml.safe_dump(data), "p.yaml", [("slo.staleness_p95", "2h")])
    assert profile.slo.staleness_p95 == 7200
    assert profile.slo.baseline == {"staleness_p95": "+10%"}
