"""Faults during a run (issue 7, docs/faults.md): real runs as subprocesses, real signals.

Each fault is injected into its own small run; the runs go in parallel from one module fixture.
Every test asserts what was kept (the journal lines on disk before the fault are in the summary),
the fault as data in summary.json, exit code 3 with the reason on one line, and that no process
the run started is left.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from _profiles import small

ANY = "any child"
DISK_LIMIT = 1_500_000
"""RLIMIT_FSIZE of the disk-full run (bytes): schedule.csv and summary.json fit, the store's
SQLite write-ahead log and report.html do not."""


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    root: Path
    summary: dict[str, Any]
    seen: dict[int, psutil.Process]
    """Every process seen below the run."""
    before: int = 0
    """Replay journal lines on disk when the fault was injected."""
    note: dict[str, Any] = field(default_factory=dict)


class Driver:
    """One run: started, watched (its process tree noted), a fault injected on a condition."""

    def __init__(
        self,
        tmp: Path,
        name: str,
        profile: dict[str, Any],
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        preexec: Callable[[], None] | None = None,
    ) -> None:
        path = tmp / f"{name}.yaml"
        path.write_text(yaml.safe_dump(profile))
        self.results = tmp / name
        self.seen: dict[int, psutil.Process] = {}
        argv = [sys.executable, "-m", "peakbench", "run", str(path), "--results", str(self.results)]
        self.proc = subprocess.Popen(
            [*argv, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
            preexec_fn=preexec,
        )
        self.root: Path | None = None

    def note_tree(self) -> None:
        try:
            for p in psutil.Process(self.proc.pid).children(recursive=True):
                self.seen.setdefault(p.pid, p)
        except psutil.Error:
            pass

    def until(self, what: str, cond: Callable[[], Any], timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.note_tree()
            if self.root is None:
                found = sorted(self.results.glob("*/phase.json"))
                self.root = found[0].parent if found else None
            value = cond() if self.root is not None else None
            if value:
                return value
            if self.proc.poll() is not None:
                raise AssertionError(f"the run ended before {what}: {self.proc.stderr.read()}")
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    def phase(self) -> str:
        assert self.root is not None
        try:
            return str(json.loads((self.root / "phase.json").read_text())["phase"])
        except (OSError, ValueError, KeyError):
            return ""

    def lines(self) -> int:
        assert self.root is not None
        return sum(_count(p) for p in (self.root / "journals").glob("replay*.jsonl"))

    def ready_pid(self, name: str) -> int:
        assert self.root is not None
        return int(json.loads((self.root / f"{name}.ready.json").read_text())["pid"])

    def finish(self, before: int = 0, **note: Any) -> Outcome:
        while self.proc.poll() is None:
            self.note_tree()
            time.sleep(0.05)
        out, err = self.proc.communicate(timeout=60)
        if self.root is None:
            found = sorted(self.results.glob("*/summary.json"))
            assert found, out + err
            self.root = found[0].parent
        summary = json.loads((self.root / "summary.json").read_text())
        return Outcome(self.proc.returncode, out, err, self.root, summary, self.seen, before, note)


def _count(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def _long(name: str) -> dict[str, Any]:
    """The small profile at ×600: 72 s of replay, always cut short by its fault."""
    data = small(name, warmup_wall_s=2, mode="wall")
    data["clock"]["scale"] = 600
    return data


def _mocks_killed(tmp: Path) -> Outcome:
    data = _long("mocks-killed")
    data["target"]["plugin"]["interval"] = "10m"  # the carrier is asked early and often
    d = Driver(tmp, "mocks-killed", data)
    journal = tmp / "mocks-killed"

    def carrier_lines() -> int:
        return sum(_count(p) for p in journal.glob("*/journals/carrier-*.jsonl"))

    d.until("replay and carrier lines", lambda: d.lines() >= 20 and carrier_lines() >= 3)
    carrier = carrier_lines()
    before = d.lines()
    os.kill(d.ready_pid("mocks"), signal.SIGKILL)
    return d.finish(before, carrier_lines=carrier)


def _store_stopped(tmp: Path) -> Outcome:
    d = Driver(tmp, "store-stopped", _long("store-stopped"), env={"PEAKBENCH_HANG_AFTER": "3"})
    d.until("replay lines", lambda: d.lines() >= 20)
    before = d.lines()
    os.kill(d.ready_pid("store"), signal.SIGSTOP)
    stopped = time.monotonic()
    out = d.finish(before)
    out.note["ended_after_s"] = time.monotonic() - stopped
    return out


def _worker_killed(tmp: Path) -> Outcome:
    d = Driver(tmp, "worker-killed", _long("worker-killed"), args=("--processes", "2"))
    d.until("replay lines from the workers", lambda: d.lines() >= 20)

    def workers() -> list[psutil.Process]:
        for p in psutil.Process(d.proc.pid).children():
            if "locust" in " ".join(p.cmdline()):
                kids = p.children()
                return kids if len(kids) == 2 else []
        return []

    victim = d.until("two Locust workers", workers)[0]
    before = d.lines()
    victim.kill()
    return d.finish(before, victim=victim.pid)


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (DISK_LIMIT, DISK_LIMIT))


def _disk_full(tmp: Path) -> Outcome:
    d = Driver(
        tmp, "disk-full", small("disk-full", warmup_wall_s=2, mode="wall"), preexec=_limit_file_size
    )
    d.until("the replay", lambda: d.phase() == "replay")
    return d.finish()


def _disk_under_reserve(tmp: Path) -> Outcome:
    # more reserve than any disk has: the watchdog stops the run before anything starts
    d = Driver(tmp, "disk-reserve", _long("disk-reserve"), env={"PEAKBENCH_DISK_RESERVE": "1P"})
    return d.finish()


def _signal_at_phase(tmp: Path, name: str, phase: str, sig: signal.Signals) -> Outcome:
    d = Driver(tmp, name, _long(name))
    d.until(f"phase {phase}", lambda: d.phase() == phase)
    d.proc.send_signal(sig)
    return d.finish()


def _sigint_twice(tmp: Path) -> Outcome:
    d = Driver(tmp, "sigint-twice", _long("sigint-twice"))
    d.until("replay lines", lambda: d.lines() >= 20)
    before = d.lines()
    d.proc.send_signal(signal.SIGINT)
    d.until("the children stopping", lambda: d.phase() != "replay")
    d.proc.send_signal(signal.SIGINT)
    return d.finish(before)


def _sigterm_after_replay(tmp: Path) -> Outcome:
    data = small("sigterm-reports", warmup_wall_s=2, mode="wall")
    data["clock"]["duration"] = "3h"
    data["peak"]["order_window"] = "2h"
    d = Driver(tmp, "sigterm-reports", data)
    d.until("the analysis", lambda: d.phase() in ("analysis", "reports"), timeout=90)
    d.proc.send_signal(signal.SIGTERM)
    return d.finish()


SCENARIOS: dict[str, Callable[[Path], Outcome]] = {
    "mocks-killed": _mocks_killed,
    "store-stopped": _store_stopped,
    "worker-killed": _worker_killed,
    "disk-full": _disk_full,
    "disk-reserve": _disk_under_reserve,
    "sigint-mocks": lambda tmp: _signal_at_phase(tmp, "sigint-mocks", "mocks", signal.SIGINT),
    "sigterm-store": lambda tmp: _signal_at_phase(tmp, "sigterm-store", "store", signal.SIGTERM),
    "sigint-twice": _sigint_twice,
    "sigterm-reports": _sigterm_after_replay,
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome | BaseException]:
    tmp = tmp_path_factory.mktemp("faults")
    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        futures = {name: pool.submit(run, tmp) for name, run in SCENARIOS.items()}
        done: dict[str, Outcome | BaseException] = {}
        for name, future in futures.items():
            try:
                done[name] = future.result(timeout=240)
            except BaseException as exc:  # reported by that scenario's test
                done[name] = exc
    return done


def _outcome(outcomes: dict[str, Outcome | BaseException], name: str) -> Outcome:
    out = outcomes[name]
    if isinstance(out, BaseException):
        raise out
    return out


def _executed(summary: dict[str, Any]) -> int:
    return sum(
        summary[k]["done"] + summary[k]["failed"] + summary[k].get("dropped", 0)
        for k in ("orders", "ships", "views")
    )


def _check_common(
    out: Outcome, kind: str, child: str | None, started: bool = True
) -> dict[str, Any]:
    """Exit 3, the reason on one line, the fault in summary.json, nothing left running, and
    every replay journal line on disk (all of those before the fault) in the figures."""
    assert out.code == 3, out.out + out.err
    last = out.err.strip().splitlines()[-1]
    assert last.startswith("run invalid: ") and kind in last, out.err
    s = out.summary
    assert s["valid"] is False
    faults = [f for f in s["faults"] if f["kind"] == kind and child in (f["child"], ANY)]
    assert faults, s["faults"]
    fault = faults[0]
    assert set(fault) >= {"t", "kind", "child", "phase", "detail"} and fault["detail"]
    assert any(kind in r for r in s["invalid_reasons"])
    on_disk = sum(_count(p) for p in (out.root / "journals").glob("replay*.jsonl"))
    assert on_disk >= out.before
    assert _executed(s) == on_disk
    left = [p.pid for p in out.seen.values() if _alive(p)]
    assert not left, f"processes left behind: {left}"
    if started:  # (git rev-parse for run.json is the only process a run that starts none sees)
        assert out.seen, "the run started no process?"
    assert not list(out.root.glob(".*.tmp")), "a half-written file was left"
    return fault


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_a_carrier_process_that_dies(outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "mocks-killed")
    fault = _check_common(out, "child_died", "mocks")
    assert fault["phase"] == "replay" and "SIGKILL" in fault["detail"]
    assert out.summary["partial"] is True
    assert out.before >= 20 and _executed(out.summary) >= out.before
    # the carrier's journal up to its last flush is kept and counted
    kept = out.summary["carriers"]["generic"]["requests"]
    assert kept >= out.note["carrier_lines"]


def test_a_store_that_stops_answering(outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "store-stopped")
    fault = _check_common(out, "hang", "store")
    assert fault["phase"] == "replay" and "no answer" in fault["detail"]
    assert out.summary["partial"] is True
    # noticed by the probe (3 s) and ended well before the schedule's 72 s
    assert out.note["ended_after_s"] < 30
    assert _executed(out.summary) >= out.before >= 20


def test_a_locust_worker_that_disconnects(outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "worker-killed")
    fault = _check_common(out, "worker_lost", "locust")
    assert str(out.note["victim"]) in fault["detail"]
    assert out.summary["partial"] is True
    assert _executed(out.summary) >= out.before >= 20


def test_the_disk_filling_up(outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "disk-full")
    # SQLite's write-ahead log is the first file past the limit; the replay journal may be
    fault = _check_common(out, "disk_full", ANY)
    assert fault["child"] in ("store", "locust", "mocks")
    assert "write failed" in fault["detail"] or "could not be written" in fault["detail"]
    assert out.summary["partial"] is True
    # the summary fits; the 5 MB report does not, and says so instead of leaving half of it
    assert not (out.root / "report.html").exists()
    assert "could not write report.html" in out.out
    assert "Traceback" not in out.err


def test_free_space_under_the_reserve(outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "disk-reserve")
    fault = _check_common(out, "disk_full", None, started=False)
    assert "under the reserve" in fault["detail"] and fault["phase"] == "planning"
    assert out.summary["partial"] is True
    assert not (out.root / "mocks.ready.json").exists()  # nothing was started


def test_sigint_while_the_mocks_start(outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "sigint-mocks")
    fault = _check_common(out, "signal", None)
    assert fault["phase"] == "mocks" and "SIGINT" in fault["detail"]
    assert out.summary["partial"] is True
    assert (out.root / "run.json").exists() and (out.root / "schedule.csv").exists()


def test_sigterm_while_the_store_starts(outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "sigterm-store")
    fault = _check_common(out, "signal", None)
    assert fault["phase"] == "store" and "SIGTERM" in fault["detail"]
    assert out.summary["partial"] is True
    # the carriers had started: their (empty) journal is flushed and closed, not lost
    assert (out.root / "journals" / "carrier-generic.jsonl").exists()


def test_a_second_ctrl_c_mid_replay_keeps_the_partial_results(outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "sigint-twice")
    _check_common(out, "signal", None)
    signals = [f for f in out.summary["faults"] if f["kind"] == "signal"]
    assert len(signals) == 2 and signals[0]["phase"] == "replay"
    assert "again" not in signals[0]["detail"] and "again" in signals[1]["detail"]
    assert out.summary["partial"] is True
    assert _executed(out.summary) >= out.before >= 20


def test_sigterm_while_analysing_or_writing_reports(outcomes: dict[str, Any]) -> None:
    out = _outcome(outcomes, "sigterm-reports")
    fault = _check_common(out, "signal", None)
    assert fault["phase"] in ("analysis", "reports") and "SIGTERM" in fault["detail"]
    s = out.summary
    # the measurement was complete: nothing lost, only the verdict withheld
    assert s["partial"] is False
    assert s["orders"]["done"] == s["orders"]["scheduled"] > 0
    assert "interrupted:" in out.out or fault["phase"] == "analysis"
