"""Journals in size-bounded segments: every line read back exactly once and in order, by every
reader, from real mock traffic and a real run; the analysis is the same as without rotation."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from _profiles import finished_run, kept_up, small, valid_or_behind

from mocks.fleet import serving
from mocks.push.journal import PushJournal
from peakbench.config.fleet import FleetSpec
from peakbench.measure.analysis import analyse
from peakbench.measure.journals import carrier_records, read_jsonl, replay_journals, replay_records
from peakbench.measure.results import load_run
from peakbench.measure.segments import (
    SEGMENT_BYTES_ENV,
    SegmentWriter,
    journals_in,
    parse_size,
    read_lines,
    segment_files,
)
from peakbench.plan.clock import ClockSpec
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0


def test_segments_hold_whole_lines_within_the_bound_and_read_back_in_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "carrier-x.jsonl"
    writer = SegmentWriter(path, 1000)
    rng = random.Random(5)
    lines = [json.dumps({"t": i, "pad": "x" * rng.randrange(0, 120)}) + "\n" for i in range(500)]
    i = 0
    while i < len(lines):  # batches of every size, as journals flush them
        batch = rng.randrange(1, 40)
        writer.write("".join(lines[i : i + batch]))
        i += batch
    writer.close()
    files = segment_files(path)
    assert len(files) > 20
    assert files[0] == path and files[1].name == "carrier-x.1.jsonl"
    assert all(0 < f.stat().st_size <= 1000 for f in files)
    assert all(f.read_bytes().endswith(b"\n") for f in files)
    assert [line.decode() for line in read_lines(path)] == lines
    assert [row["t"] for row in read_jsonl(path)] == list(range(500))
    assert journals_in(tmp_path, "carrier-*.jsonl") == [path]

    # a line longer than a segment gets one of its own; appending goes on in the last segment
    writer = SegmentWriter(path, 1000)
    writer.write("y" * 3000 + "\n" + "z\n")
    writer.close()
    assert segment_files(path)[-2].read_bytes() == b"y" * 3000 + b"\n"
    assert list(read_lines(path))[-2:] == [b"y" * 3000 + b"\n", b"z\n"]

    # mode w starts over: the old segments go
    SegmentWriter(path, 1000, mode="w").close()
    assert segment_files(path) == [path] and path.read_bytes() == b""


def test_a_torn_last_line_stays_one_unreadable_line_when_a_restart_appends(
    tmp_path: Path,
) -> None:
    path = tmp_path / "carrier-x.jsonl"
    path.write_text('{"t":1}\n{"t":2,"car')  # killed mid-write
    writer = SegmentWriter(path)
    writer.write('{"t":3}\n')
    writer.close()
    assert [row["t"] for row in read_jsonl(path)] == [1, 3]


def test_retention_keeps_the_newest_segments(tmp_path: Path) -> None:
    path = tmp_path / "carrier-x.jsonl"
    writer = SegmentWriter(path, 300, keep=3)
    for i in range(200):
        writer.write(json.dumps({"t": i, "pad": "p" * 40}) + "\n")
    writer.close()
    files = segment_files(path)
    assert len(files) == 3 and not path.exists()
    ts = [row["t"] for row in read_jsonl(path)]
    assert ts == list(range(ts[0], 200)) and ts[0] > 150
    assert journals_in(tmp_path, "carrier-*.jsonl") == [path]


def test_sizes_parse_with_units_and_refuse_nonsense() -> None:
    assert parse_size("4096") == 4096
    assert parse_size("64KiB") == 65536 and parse_size("16M") == 16 << 20
    for bad in ("", "ten", "12 parsecs", "10"):
        with pytest.raises(ValueError, match=SEGMENT_BYTES_ENV):
            parse_size(bad)


def test_push_and_replay_journals_rotate_and_read_back(tmp_path: Path) -> None:
    push = PushJournal(
        "trackship", tmp_path / "push-trackship.jsonl", max_lines=7, segment_bytes=600
    )
    for i in range(100):
        push.record(float(i), f"PB{i}", f"PB{i}:1", 1, 200, None, 0.01, None)
    push.close()
    assert len(segment_files(tmp_path / "push-trackship.jsonl")) > 10
    assert [r["t"] for r in read_jsonl(tmp_path / "push-trackship.jsonl")] == list(range(100))

    # the replay journal of a distributed run: two workers, each in segments
    for worker in (0, 1):
        writer = SegmentWriter(tmp_path / f"replay-{worker}.jsonl", 400)
        for ref in range(worker * 50, worker * 50 + 50):
            row = {"kind": "order", "ref": ref, "due": 1.0, "start": 1.0, "end": 2.0}
            writer.write(json.dumps({**row, "ok": True, "status": 201, "late": False}) + "\n")
        writer.close()
    (tmp_path / "replay.jsonl").write_text("")
    files = replay_journals(tmp_path / "replay.jsonl")
    assert files[0].name == "replay.jsonl" and files[1].name == "replay-0.jsonl"
    assert "replay-0.1.jsonl" in [f.name for f in files]
    assert [r.ref for r in replay_records(tmp_path / "replay.jsonl")] == list(range(100))


def test_real_mock_traffic_in_tiny_segments_reads_back_every_line_once(tmp_path: Path) -> None:
    fleet = FleetSpec.model_validate(
        {
            "seed": 1,
            "carriers": [
                {"name": "acme", "behaviours": [{"type": "quota", "limit": 50, "per": "1d"}]}
            ],
        }
    )
    clock = ClockSpec(start_epoch=START, scale=1.0, wall_epoch=time.time())
    number = make_tracking_number(START - 86400, "domestic", 1)
    journals = tmp_path / "journals"
    with serving(fleet, clock, journals, segment_bytes=1024) as ready:
        url = ready["carriers"]["acme"]["base_url"]
        with httpx.Client(base_url=url, timeout=10) as client:
            statuses = [
                client.get(f"/v1/trackings/{number}", headers={"X-Api-Key": "k"}).status_code
                for _ in range(120)
            ]
            exported = client.get("/__admin/journal").content
    assert statuses == [200] * 50 + [429] * 70
    path = journals / "carrier-acme.jsonl"
    files = segment_files(path)
    assert len(files) > 10 and all(f.stat().st_size <= 1024 for f in files)
    records = list(carrier_records(journals))
    assert [r.status for r in records] == statuses
    ts = [r.t for r in records]
    assert ts == sorted(ts)
    assert exported == b"".join(f.read_bytes() for f in files)


# -- a real run with rotated journals ------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("rotation")
    profile = tmp / "rotation.yaml"
    profile.write_text(yaml.safe_dump(small("rotation", mode="wall")))
    env = {**os.environ, SEGMENT_BYTES_ENV: "8KiB"}
    results = tmp / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    root, summary = finished_run(results, proc)
    valid_or_behind(summary, proc.returncode)
    return root


def _rewrite(root: Path, dest: Path, segment_bytes: int | None) -> Path:
    """A copy of run ``root`` whose journals are one file each (``segment_bytes`` None) or
    re-cut into segments of ``segment_bytes``."""
    shutil.copytree(root, dest)
    for journal in journals_in(dest / "journals", "*.jsonl"):
        data = b"".join(read_lines(journal))
        for file in segment_files(journal):
            file.unlink()
        if segment_bytes is None:
            journal.write_bytes(data)
        else:
            writer = SegmentWriter(journal, segment_bytes)
            writer.write(data.decode())
            writer.close()
    return dest


def test_a_real_run_rotates_its_mock_journals_and_the_analysis_is_unchanged(
    run: Path, tmp_path: Path
) -> None:
    summary = json.loads((run / "summary.json").read_text())
    kept_up(summary)  # a wall-time run: a busy machine may fall behind
    assert summary["valid"], summary["invalid_reasons"]
    carrier = run / "journals" / "carrier-generic.jsonl"
    files = segment_files(carrier)
    assert len(files) >= 3, [f.name for f in files]
    assert all(f.stat().st_size <= 8192 for f in files)
    lines = sum(len(f.read_bytes().splitlines()) for f in files)
    assert lines == summary["carriers"]["generic"]["requests"] > 0
    # the replay journal follows the same setting
    replay = segment_files(run / "journals" / "replay.jsonl")
    assert len(replay) >= 2 and all(f.stat().st_size <= 8192 for f in replay)
    executed = sum(len(f.read_bytes().splitlines()) for f in replay)
    assert executed == sum(summary[k]["scheduled"] for k in ("orders", "ships", "views"))

    profile, clock, _ = load_run(run)
    end = summary["clock"]["end"]
    whole = analyse(profile, clock, _rewrite(run, tmp_path / "whole", None), end)
    cut = analyse(profile, clock, _rewrite(run, tmp_path / "cut", 2048), end)
    assert len(segment_files(tmp_path / "cut" / "journals" / "replay.jsonl")) > 3
    as_run = analyse(profile, clock, run, end)
    assert cut == whole == as_run
    for key in ("orders", "views", "carriers", "outages", "staleness_s", "refresh_latency_s"):
        assert as_run[key] == summary[key], key
