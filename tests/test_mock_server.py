"""The real ``python -m mocks serve`` process: ready file, HTTP on loopback, journals, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from peakbench.clock import ClockSpec
from peakbench.timeline import make_tracking_number

START = 1_795_755_600.0
JOURNAL_FIELDS = ["t", "carrier", "route", "key", "ip", "numbers", "status", "outcome", "cause"]


def write_run(run: Path, scale: float = 60.0) -> None:
    fleet = {
        "seed": 2,
        "carriers": [
            {"name": "acme"},
            {
                "name": "slowpost",
                "behaviours": [
                    {"type": "quota", "limit": 2, "per": "1h", "window": "bucket"},
                    {"type": "latency", "delay": "3s"},
                ],
            },
        ],
    }
    (run / "fleet.json").write_text(json.dumps(fleet))
    clock = ClockSpec(start_epoch=START, scale=scale, wall_epoch=time.time())
    (run / "clock.json").write_text(json.dumps(clock.to_json()))


def serve_command(run: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mocks",
        "serve",
        "--config",
        str(run / "fleet.json"),
        "--clock",
        str(run / "clock.json"),
        "--journal-dir",
        str(run / "journals"),
        "--ready-file",
        str(run / "mocks.ready.json"),
    ]


def wait_for(path: Path, timeout_s: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear within {timeout_s} s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, Any], Path]]:
    write_run(tmp_path)
    env = {**os.environ, "PEAKBENCH_CARRIER_KEYS": json.dumps({"acme": ["key-a0", "key-a1"]})}
    proc = subprocess.Popen(serve_command(tmp_path), env=env, stderr=subprocess.PIPE)
    try:
        ready = wait_for(tmp_path / "mocks.ready.json")
        yield proc, ready, tmp_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_serve_answers_journals_and_exits_cleanly_on_sigterm(
    server: tuple[subprocess.Popen[bytes], dict[str, Any], Path],
) -> None:
    proc, ready, run = server
    assert ready["pid"] == proc.pid
    assert set(ready["carriers"]) == {"acme", "slowpost"}
    acme = ready["carriers"]["acme"]["base_url"]
    slow = ready["carriers"]["slowpost"]["base_url"]
    assert acme == f"http://127.0.0.1:{ready['carriers']['acme']['port']}"
    number = make_tracking_number(START - 2 * 86400, "domestic", 1)
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{acme}/__admin/health").json()["ok"] is True
        track = client.get(f"{acme}/v1/trackings/{number}", headers={"X-Api-Key": "key-a1"})
        assert track.status_code == 200
        assert track.json()["data"]["events"]
        batch = client.post(
            f"{acme}/v1/trackings/batch",
            json={"tracking_numbers": [number, "PBX"]},
            headers={"X-Api-Key": "key-a0"},
        )
        assert batch.status_code == 200 and len(batch.json()["errors"]) == 1
        assert client.get(f"{acme}/v1/trackings/{number}").status_code == 401
        began = time.monotonic()
        slow_statuses = [
            client.get(f"{slow}/v1/trackings/{number}", headers={"X-Api-Key": "anything"})
            for _ in range(3)
        ]
        took = time.monotonic() - began
        assert [r.status_code for r in slow_statuses] == [200, 200, 429]
        assert 0 < int(slow_statuses[2].headers["retry-after"]) <= 1800
        assert took >= 3 * 3 / 60 * 0.9  # 3 store seconds of latency each at scale 60
        counters = client.get(f"{slow}/__admin/counters").json()
        assert (counters["requests"], counters["ok"], counters["throttled"]) == (3, 2, 1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0

    acme_lines = [
        json.loads(line)
        for line in (run / "journals" / "carrier-acme.jsonl").read_text().splitlines()
    ]
    assert [list(line)[:9] for line in acme_lines] == [JOURNAL_FIELDS] * 3
    assert [
        (x["route"], x["key"], x["numbers"], x["status"], x["outcome"]) for x in acme_lines
    ] == [
        ("track", "k1", 1, 200, "ok"),
        ("batch", "k0", 2, 200, "ok"),
        ("track", "anon", 1, 401, "error"),
    ]
    assert all(x["ip"] == "127.0.0.1" and x["delay"] == 0 for x in acme_lines)
    times = [x["t"] for x in acme_lines]
    assert times == sorted(times) and times[0] > 0
    slow_lines = [
        json.loads(line)
        for line in (run / "journals" / "carrier-slowpost.jsonl").read_text().splitlines()
    ]
    assert [(x["key"], x["outcome"], x["cause"], x["delay"]) for x in slow_lines] == [
        ("k0", "ok", None, 3.0),
        ("k0", "ok", None, 3.0),
        ("k0", "throttled", "quota:1h", 3.0),
    ]


def test_journal_is_flushed_within_a_second_while_serving(
    server: tuple[subprocess.Popen[bytes], dict[str, Any], Path],
) -> None:
    _, ready, run = server
    acme = ready["carriers"]["acme"]["base_url"]
    httpx.get(f"{acme}/v1/trackings/X", headers={"X-Api-Key": "key-a0"}, timeout=10)
    journal = run / "journals" / "carrier-acme.jsonl"
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and not journal.read_text():
        time.sleep(0.1)
    assert json.loads(journal.read_text())["status"] == 404


def test_server_exits_when_its_parent_dies(tmp_path: Path) -> None:
    write_run(tmp_path)
    # a parent that starts the server, waits for it to listen, then dies without a word
    parent = (
        "import subprocess, sys, time, pathlib\n"
        f"p = subprocess.Popen({serve_command(tmp_path)!r})\n"
        "print(p.pid, flush=True)\n"
        f"ready = pathlib.Path({str(tmp_path / 'mocks.ready.json')!r})\n"
        "deadline = time.monotonic() + 15\n"
        "while not ready.exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "import os; os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", parent], capture_output=True, timeout=30)
    child = int(out.stdout.split()[0])
    assert (tmp_path / "mocks.ready.json").exists()
    died = time.monotonic()
    deadline = died + 5.0
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child), "the orphaned server kept running"
    assert time.monotonic() - died < 3.0


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write_run(tmp_path)
    (tmp_path / "fleet.json").write_text('{"carriers": []}')
    out = subprocess.run(serve_command(tmp_path), capture_output=True, timeout=30, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith("mocks serve:") and out.stderr.count("\n") == 1
    assert not (tmp_path / "mocks.ready.json").exists()


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; its new parent has not reaped it
