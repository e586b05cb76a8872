"""A run whose standard output is closed (``peakbench run … | head -1``) still writes its
summary and exits 3 with a reason that names the cause, not an interruption (a real run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from _profiles import small


def test_a_closed_stdout_still_writes_the_summary_and_exits_3(tmp_path: Path) -> None:
    profile = tmp_path / "small.yaml"
    profile.write_text(yaml.safe_dump(small(warmup_wall_s=2)))
    results = tmp_path / "results"
    proc = subprocess.Popen(
        [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(results)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does after its line
    err = proc.stderr.read()
    code = proc.wait(timeout=120)
    assert first.startswith("peakbench small:"), first
    assert code == 3, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    (run,) = results.iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["valid"] is False
    assert [f["kind"] for f in summary["faults"]] == ["output_closed"]
    assert summary["invalid_reasons"][0].startswith("output_closed ")
    assert "standard output was closed" in summary["invalid_reasons"][0]
    assert not any("interrupted" in r for r in summary["invalid_reasons"])
    assert not any("t=-" in r for r in summary["invalid_reasons"])
    assert err.startswith("run invalid: output_closed"), err
