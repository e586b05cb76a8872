"""Honest verdicts on real runs (about 10 s and 30 s of wall time): a run whose standard output
is closed (``peakbench run … | head -1``) still writes its summary and exits 3 with a reason
naming the cause, not an interruption; a run whose every webhook push failed is invalid."""

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


def test_a_run_whose_every_push_fails_is_invalid(tmp_path: Path) -> None:
    """The saas-push plugin, and an aggregator pushing to a webhook route the store lacks."""
    data = small("pushfail")
    data["target"]["plugin"] = {"preset": "saas-push", "aggregator": "trackship"}
    lag = {"median": "5m", "p90": "15m"}
    data["carriers"] = [
        {"name": "usps", "personality": "generic", "ingestion_lag": lag, "behaviours": []},
        {
            "name": "trackship",
            "personality": "trackship",
            "share": 1e-9,
            "ingestion_lag": lag,
            "push": {
                "url": "/wp-json/wc/v1/no-such-webhook",
                "cadence": {"min": "30m", "max": "1h"},
            },
        },
    ]
    profile = tmp_path / "pushfail.yaml"
    profile.write_text(yaml.safe_dump(data))
    results = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    (run,) = results.iterdir()
    s = json.loads((run / "summary.json").read_text())
    push = s["push"]["trackship"]
    assert push["attempts"] > 100 and push["delivered"] == 0 and push["given_up"] > 0
    assert push["failed"] == push["attempts"]
    assert push["statuses"].get("404", 0) > push["attempts"] / 2, push
    assert s["valid"] is False
    reason = next(r for r in s["invalid_reasons"] if r.startswith("every webhook push"))
    assert "check carriers.trackship.push.url" in reason
    # nothing reached the store: refresh latency is only censored samples, said so
    assert s["refresh_latency_s"]["censored"] == s["refresh_latency_s"]["count"] > 0
    assert "censored" in (s["refresh_latency_s"]["caveat"] or "")
    assert "push trackship" in proc.stdout
