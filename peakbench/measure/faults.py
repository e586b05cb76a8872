"""Faults during a run, as data: what went wrong, when (run seconds), in which child, and why.

A run records every fault in ``RUN/faults.jsonl`` the moment it notices it (one JSON line, flushed),
so a recomputation from the folder (``peakbench report --recompute``) sees them too; the analysis
copies them into ``summary.json`` as ``faults: [{"t", "kind", "child", "phase", "detail"}]`` and
marks the run invalid (partial when the fault came before the measurement ended).

Kinds: ``child_died`` (a mock, the store or Locust exited on its own), ``hang`` (a child stopped
answering its health probe), ``worker_lost`` (a Locust worker process ended mid-replay),
``disk_full`` (a write failed, or free space fell under the reserve), ``signal`` (SIGINT/SIGTERM),
``output_closed`` (standard output's reader went away: ``peakbench run … | head``).
The detectors here are small and synchronous; the orchestrator polls them once a wall second.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import ssl
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from peakbench.measure.sizes import parse_bytes

CHILD_DIED, HANG, WORKER_LOST, DISK_FULL, SIGNAL = (
    "child_died",
    "hang",
    "worker_lost",
    "disk_full",
    "signal",
)
OUTPUT_CLOSED = "output_closed"
"""Standard output's reader went away (``peakbench run … | head``): the run stops like on a
signal, keeps what it measured, and is invalid; not an interruption (no signal came)."""
OUTPUT_CLOSED_DETAIL = (
    "standard output was closed (its reader went away, as with `| head`); the run stopped "
    "and kept what it had measured"
)
MEASURING = ("planning", "mocks", "store", "locust", "replay", "stopping")
"""Phases before the measurement is complete: a fault in one of them makes the run partial."""

FAULTS_FILE = "faults.jsonl"


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: ``t`` in run seconds (store time; negative during the warm-up before t=0,
    which a reason words as "before the schedule started")."""

    t: float
    kind: str
    child: str | None
    phase: str
    detail: str

    def reason(self) -> str:
        """The one-line invalid reason this fault gives the run."""
        who = f" in {self.child}" if self.child else ""
        # before t=0 (the warm-up) a time would read negative: say when it was instead
        when = f"at t={self.t:.0f}s" if self.t >= -0.5 else "before the schedule started,"
        return f"{self.kind}{who} {when} during {self.phase}: {self.detail}"


class FaultLog:
    """The run's faults, appended to ``RUN/faults.jsonl`` as they happen (kept in memory when the
    disk refuses the line: the summary still gets them)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.faults: list[Fault] = []

    def record(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        try:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(asdict(fault)) + "\n")
        except OSError:
            pass  # disk full: the fault still reaches summary.json from memory
        return fault

    def kinds(self) -> set[str]:
        return {f.kind for f in self.faults}


def read_faults(root: Path) -> list[dict[str, Any]]:
    """The faults a run folder recorded (``[]`` when none); unreadable lines are skipped."""
    path = root / FAULTS_FILE
    out: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "kind" in row:
            out.append(row)
    return out


def apply_faults(summary: dict[str, Any], faults: list[dict[str, Any]]) -> dict[str, Any]:
    """Put ``faults`` into ``summary``: listed, partial if any came before the end of the
    measurement, invalid with each fault's reason first (idempotent)."""
    summary["faults"] = faults
    if not faults:
        return summary
    if any(f.get("phase") in MEASURING for f in faults):
        summary["partial"] = True
    reasons = [
        Fault(
            float(f.get("t") or 0.0),
            str(f.get("kind")),
            f.get("child"),
            str(f.get("phase")),
            str(f.get("detail")),
        ).reason()
        for f in faults
    ]
    old = [r for r in summary.get("invalid_reasons", []) if r not in reasons]
    summary["invalid_reasons"] = [*reasons, *old]
    summary["valid"] = False
    return summary


@dataclass(frozen=True, slots=True)
class FaultPolicy:
    """How the run watches its children (wall seconds, bytes)."""

    probe_timeout_s: float = 2.0
    """A health probe that gets no answer within this is a failed probe."""
    hang_after_s: float = 10.0
    """A child whose probes all failed for this long is hung."""
    disk_reserve_bytes: int = 64 << 20
    """Stop the run when the results volume has less free space than this, so the journals
    can be flushed and the summary written (``PEAKBENCH_DISK_RESERVE``, e.g. ``64M``)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> FaultPolicy:
        """``PEAKBENCH_DISK_RESERVE`` (bytes, or with K/M/G) and ``PEAKBENCH_HANG_AFTER`` (s)."""
        policy = cls()
        reserve = environ.get("PEAKBENCH_DISK_RESERVE")
        hang = environ.get("PEAKBENCH_HANG_AFTER")
        try:
            hang_after = float(hang) if hang else policy.hang_after_s
        except ValueError:
            hang_after = math.nan
        if not math.isfinite(hang_after) or hang_after <= 0:
            raise ValueError(
                f"PEAKBENCH_HANG_AFTER: expected wall seconds greater than 0, like 10, got {hang!r}"
            )
        try:
            disk = parse_bytes(reserve) if reserve else policy.disk_reserve_bytes
        except ValueError as exc:
            raise ValueError(f"PEAKBENCH_DISK_RESERVE: {exc}") from None
        return cls(policy.probe_timeout_s, hang_after, disk)


class DiskGuard:
    """Free space on the results volume against the reserve."""

    def __init__(self, root: Path, reserve: int) -> None:
        self.root = root
        self.reserve = reserve

    def check(self) -> str | None:
        free = shutil.disk_usage(self.root).free
        if free >= self.reserve:
            return None
        return (
            f"the results volume has {free / 2**20:.1f} MiB free, under the reserve of "
            f"{self.reserve / 2**20:.1f} MiB: stopped while the journals and summary still fit"
        )


WRITE_FAILURE = re.compile(
    r"(No space left on device|File too large|database or disk is full|Disk quota exceeded"
    r"|disk I/O error|Errno 28\]|Errno 27\])"
)


class LogWatch:
    """New lines of a child's log that say a write failed (ENOSPC, EFBIG, SQLite full; SQLite says
    "disk I/O error" when its WAL cannot grow)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def check(self) -> str | None:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read(1 << 20)
        except OSError:
            return None
        self._offset += len(chunk)
        for line in chunk.decode("utf-8", errors="replace").splitlines():
            if WRITE_FAILURE.search(line):
                return f"a write failed: {line.strip()[:200]}"
        return None


class Probe:
    """A child's health endpoint, polled with a timeout: hung after ``hang_after_s`` without an
    answer (a SIGSTOPped process accepts connections in the kernel but never answers)."""

    def __init__(
        self, url: str, policy: FaultPolicy, now: float, verify: bool | ssl.SSLContext = True
    ) -> None:
        self.url = url
        self.policy = policy
        self.last_ok = now
        self.last_error = ""
        self._client = httpx.Client(timeout=policy.probe_timeout_s, trust_env=False, verify=verify)

    def check(self, now: float) -> tuple[str | None, Any]:
        """``(hang detail or None, the answer's JSON or None)``; ``now`` in wall seconds."""
        try:
            response = self._client.get(self.url)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            self.last_error = type(exc).__name__
            if now - self.last_ok >= self.policy.hang_after_s:
                return (
                    f"no answer from {self.url} for {now - self.last_ok:.1f}s wall "
                    f"(last: {self.last_error})",
                    None,
                )
            return None, None
        self.last_ok = now
        return None, data

    def close(self) -> None:
        self._client.close()


def dropped_lines(counters: Any) -> int:
    """Journal lines a mock carrier could not write, from its ``/__admin/counters`` answer
    (one carrier's, or the fleet's ``{"carriers": {...}}`` on a shared port)."""
    if not isinstance(counters, dict):
        return 0
    if isinstance(counters.get("carriers"), dict):
        return sum(dropped_lines(c) for c in counters["carriers"].values())
    return int(counters.get("dropped") or 0)


class WorkerWatch:
    """The Locust worker processes a ``--processes N`` master forked: one that ends while the
    master still runs is a lost worker (its share of the schedule is never finished)."""

    def __init__(self, master_pid: int, expected: int) -> None:
        self.master_pid = master_pid
        self.expected = expected
        self.seen: dict[int, psutil.Process] = {}

    def check(self) -> str | None:
        try:
            children = psutil.Process(self.master_pid).children()
        except psutil.Error:
            return None
        for proc in children:
            if proc.pid not in self.seen and _running(proc):
                self.seen[proc.pid] = proc
        for pid, proc in self.seen.items():
            if not _running(proc):
                return (
                    f"Locust worker pid {pid} ended while the replay ran "
                    f"({len(self.seen)} worker(s) seen, {self.expected} expected)"
                )
        return None


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def descendants() -> list[psutil.Process]:
    """Every live process below this one (children, grandchildren, ...)."""
    try:
        return [p for p in psutil.Process(os.getpid()).children(recursive=True) if _running(p)]
    except psutil.Error:
        return []


def sweep(processes: list[psutil.Process], grace: float = 2.0) -> list[int]:
    """End ``processes`` still alive (SIGCONT, SIGTERM, then SIGKILL after ``grace``); the pids
    that had to be ended. The last line of defence: nothing a run started outlives it."""
    alive = [p for p in processes if _running(p)]
    for p in alive:
        try:
            p.resume()
            p.terminate()
        except psutil.Error:
            pass
    _, still = psutil.wait_procs(alive, timeout=grace)
    for p in still:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(still, timeout=grace)
    return [p.pid for p in alive]
