"""Resource use of a run's processes: sampled while it goes, summarised with a leak check.

The orchestrator polls a :class:`ResourceSampler` from its watch loop; every
``interval_wall_s`` wall seconds it appends one line per process to ``RUN/resources.jsonl``::

    {"t": run seconds, "wall": wall seconds since the first sample, "process": "mocks",
     "pid": 1234, "count": 1, "rss": bytes, "fds": open file descriptors, "threads": 4}

Processes are the orchestrator itself, each child by its name (``mocks``, ``store``, ``locust``)
and the descendants of a child summed under one name (``workers`` for Locust's ``--processes``
workers; ``count`` says how many). :func:`resources_summary` reads the file back (pure over the
run folder, like the rest of the analysis): per process and metric the start, end and peak and a
least-squares slope per wall hour over the samples after ``warmup_wall_s``. A slope above its
limit whose fitted growth over the window also exceeds a floor is a *leak* finding: the floor
keeps a short run's noise (a 30 s fit extrapolated to an hour) from being called a leak.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import psutil

from peakbench.config.resources import ResourcesSpec
from peakbench.plan.clock import Clock

RESOURCES_JSONL = "resources.jsonl"
METRICS = ("rss_mb", "fds", "threads")
DESCENDANTS = {"locust": "workers"}
"""Descendants of a child are summed under this name (default ``<child>-children``)."""


class Process(Protocol):
    """What the sampler needs of a child (``peakbench.run.children.Child`` fits)."""

    name: str

    @property
    def proc(self) -> Any: ...


def _measure(proc: psutil.Process) -> tuple[int, int, int]:
    with proc.oneshot():
        if proc.status() == psutil.STATUS_ZOMBIE:  # ended, not yet reaped: nothing to measure
            raise psutil.ZombieProcess(proc.pid)
        return proc.memory_info().rss, proc.num_fds(), proc.num_threads()


class ResourceSampler:
    """Appends a sample of every process to ``root/resources.jsonl`` at most once an interval.

    Keeps no samples in memory (each poll appends and closes the file, so the sampler holds no
    descriptor of its own between polls)."""

    def __init__(self, root: Path, clock: Clock, spec: ResourcesSpec | None = None) -> None:
        self.path = root / RESOURCES_JSONL
        self.clock = clock
        self.spec = spec or ResourcesSpec()
        self._started: float | None = None
        self._last = -float("inf")
        self._procs: dict[int, psutil.Process] = {}

    def _process(self, pid: int) -> psutil.Process | None:
        proc = self._procs.get(pid)
        if proc is None or not proc.is_running():  # is_running also catches a reused pid
            try:
                proc = psutil.Process(pid)
            except psutil.Error:
                self._procs.pop(pid, None)
                return None
            self._procs[pid] = proc
        return proc

    def _rows(self, children: Iterable[Process]) -> Iterator[dict[str, Any]]:
        named: list[tuple[str, int]] = [("orchestrator", os.getpid())]
        named += [(c.name, c.proc.pid) for c in children if c.proc is not None]
        alive: set[int] = set()
        for name, pid in named:
            proc = self._process(pid)
            if proc is None:
                continue
            try:
                rss, fds, threads = _measure(proc)
            except psutil.Error:  # ended since: no sample, not an error
                continue
            alive.add(pid)
            yield {"process": name, "pid": pid, "count": 1, "rss": rss, "fds": fds,
                   "threads": threads}  # fmt: skip
            if name == "orchestrator":
                continue  # the children are sampled by name
            total = {"count": 0, "rss": 0, "fds": 0, "threads": 0}
            try:
                below = proc.children(recursive=True)
            except psutil.Error:
                below = []
            for sub in below:
                try:
                    sub_rss, sub_fds, sub_threads = _measure(self._process(sub.pid) or sub)
                except psutil.Error:
                    continue
                alive.add(sub.pid)
                total["count"] += 1
                total["rss"] += sub_rss
                total["fds"] += sub_fds
                total["threads"] += sub_threads
            if total["count"]:
                yield {"process": DESCENDANTS.get(name, f"{name}-children"), "pid": None, **total}
        for pid in set(self._procs) - alive:  # forget ended processes: bounded by live ones
            del self._procs[pid]

    def poll(self, children: Iterable[Process]) -> bool:
        """Sample now if an interval has passed since the last sample and every child still
        runs; whether it sampled."""
        now = time.monotonic()
        if now - self._last < self.spec.interval_wall_s:
            return False
        children = list(children)
        if any(c.proc is None or c.proc.poll() is not None for c in children):
            # the steady state is over (the load generator finished, or a child died): what
            # follows is shutdown, whose falling counts would bend the slopes
            return False
        self._last = now
        if self._started is None:
            self._started = now
        t, wall = round(self.clock.now(), 3), round(now - self._started, 3)
        lines = [
            json.dumps({"t": t, "wall": wall, **row}, separators=(",", ":"))
            for row in self._rows(children)
        ]
        try:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write("".join(line + "\n" for line in lines))
        except OSError:  # a full disk costs samples, never the run
            return False
        return True


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(wall seconds, value)`` points, per wall hour; None below 3."""
    n = len(points)
    if n < 3:
        return None
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx <= 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in points)
    return sxy / sxx * 3600.0


def _value(row: dict[str, Any], metric: str) -> float:
    return float(row["rss"]) / 2**20 if metric == "rss_mb" else float(row[metric])


def resources_summary(root: Path, spec: ResourcesSpec | None = None) -> dict[str, Any] | None:
    """The ``resources`` section of ``summary.json`` from ``root/resources.jsonl`` (None when
    the run sampled nothing)."""
    spec = spec or ResourcesSpec()
    rows: dict[str, list[dict[str, Any]]] = {}
    try:
        with (root / RESOURCES_JSONL).open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                    rows.setdefault(str(row["process"]), []).append(row)
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line after a crash
    except OSError:
        return None
    if not rows:
        return None
    processes: dict[str, Any] = {}
    findings: list[dict[str, Any]] = []
    for name, samples in rows.items():
        fit = [r for r in samples if float(r["wall"]) >= spec.warmup_wall_s]
        entry: dict[str, Any] = {
            "samples": len(samples),
            "fit_samples": len(fit),
            "fit_wall_s": round(float(fit[-1]["wall"]) - float(fit[0]["wall"]), 1) if fit else 0,
        }
        for metric in METRICS:
            values = [_value(r, metric) for r in samples]
            slope = slope_per_hour([(float(r["wall"]), _value(r, metric)) for r in fit])
            entry[metric] = {
                "start": round(values[0], 1),
                "end": round(values[-1], 1),
                "peak": round(max(values), 1),
                "slope_per_hour": None if slope is None else round(slope, 2),
            }
            limit, floor = spec.limit(metric)
            growth = 0.0 if slope is None else slope * entry["fit_wall_s"] / 3600.0
            if slope is not None and slope > limit and growth > floor:
                findings.append(
                    {
                        "process": name,
                        "metric": metric,
                        "slope_per_hour": round(slope, 2),
                        "limit_per_hour": limit,
                        "growth": round(growth, 1),
                        "message": (
                            f"{name} {metric.replace('_mb', '')} grows {slope:,.1f}"
                            f"{' MiB' if metric == 'rss_mb' else ''} per wall hour "
                            f"(+{growth:,.1f} over {entry['fit_wall_s']:g} s after the warm-up; "
                            f"limit {limit:g}/h): a leak?"
                        ),
                    }
                )
        processes[name] = entry
    walls = [float(r["wall"]) for samples in rows.values() for r in samples]
    return {
        "interval_wall_s": spec.interval_wall_s,
        "warmup_wall_s": spec.warmup_wall_s,
        "wall_s": round(max(walls), 1),
        "processes": processes,
        "limits": {
            m: dict(zip(("per_hour", "floor"), spec.limit(m), strict=True)) for m in METRICS
        },
        "leak": bool(findings),
        "findings": findings,
    }
