"""Running the points: each (point, seed) is an ordinary virtual run, in a pool of processes.

A run is :class:`peakbench.run.orchestrator.Run` itself (its own run folder under the advise folder,
its own world child), so any point can be opened with ``peakbench report RUN`` or re-run with
``peakbench run``; only its HTML page is left to ``peakbench report`` (rendering a plotly page
per run would cost more than the run). Runs go forecast peak first, so an interrupted advise
still answers for the forecast.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import heapq
import io
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from peakbench.advise.metrics import RunFigures, run_figures
from peakbench.advise.plans import PlanCache
from peakbench.advise.sharing import shareable, shared
from peakbench.config.profile import Profile
from peakbench.config.store import SandboxTarget
from peakbench.measure.results import read_json_object, redact
from peakbench.plan.planner import Plan
from peakbench.run.orchestrator import Run
from peakbench.run.processes import preload_world, prepare_world
from peakbench.run.watch import Stop

PROFILE = "profile.yaml"
WORLD_DONE = "world.done.json"
BRANCHES = ".branches"
"""The advise folder's folder where worlds write the runs they fork (moved into their run
folders when those runs take them)."""
WORKER_GC_THRESHOLDS = (20_000, 50, 1000)
"""The cyclic collector's thresholds in a pool worker (those of the world it forks)."""
PLANS = PlanCache(8)
"""This process's plans: a worker runs every setting of a few seeds and peak sizes."""


class PointRun(Run):
    """An ordinary run that writes ``junit.xml`` but leaves ``report.html`` and ``summary.md``
    to ``peakbench report RUN``, and takes its schedule from its process's plans
    (:data:`PLANS`): the other settings of its seed and peak size replay the same one."""

    warm_reports = False  # no page to render; the other core runs another point's world
    live_display = False  # its console is never shown: the advise's own progress is
    fork_world = True  # in a pool worker, which preloaded the world (_worker_init)
    branches: tuple[tuple[str, Path], ...] = ()
    """``(on_throttle, folder)``: the runs its world forks at the first refusal
    (:attr:`Task.branches`)."""
    adopt: Path | None = None
    """A folder where another run's world wrote this run from its first refusal on
    (:attr:`Task.adopt`)."""
    branched_at: float | None = None
    """Store seconds at which its world was forked from another's; None: run from the start."""

    def _world_args(self) -> list[str]:
        return [f"--branch={policy}={folder}" for policy, folder in self.branches]

    def _run_world(self, root: Path, env: dict[str, str], stop: Stop) -> float:
        staged = self.adopt
        done = read_json_object(staged / WORLD_DONE) if staged is not None else None
        if staged is None or done is None or not done.get("finished"):
            return super()._run_world(root, env, stop)  # not branched, or cut short: run it
        self._write_world_inputs(root)
        self._phase("replay")
        _move_into(staged, root)
        self.branched_at = float(done["branched_at"])
        return self._world_end(root)

    def _write_reports(self, root: Path, summary: dict[str, Any]) -> None:
        from peakbench.report.junit import write_junit

        write_junit(root, summary)

    def _plan(self, profile: Profile) -> Plan:
        plan = PLANS.get(profile)
        if self._world_forks():  # the worlds forked from here inherit the parcels' renders
            prepare_world(profile, plan.items)
        return plan


@dataclass(frozen=True, slots=True)
class Task:
    point: int
    seed_index: int
    profile: Profile
    results: Path
    source: str
    measured_by: int | None = None
    """The position (in the advise's task list) of an earlier task whose run this one's is,
    when that run saw no refusal (:mod:`peakbench.advise.sharing`); None: always run."""
    branches: tuple[tuple[str, Path], ...] = ()
    """``(on_throttle, folder)`` of each task measured by this one: its world forks their runs
    at its first refusal and each writes in its folder (:mod:`mocks.virtual.branch`)."""
    adopt: Path | None = None
    """Where the measuring task's world wrote this run from its first refusal on: the run
    takes that world's output for its own instead of running one (it runs its own world when
    the folder holds no finished branch)."""
    branch_of: int | None = None
    """The point of the measuring task (whose world :attr:`adopt`'s was forked from)."""


@dataclass(frozen=True, slots=True)
class Done:
    point: int
    seed_index: int
    figures: RunFigures
    wall_s: float
    interrupted: bool


def profile_text(profile: Profile) -> str:
    """A point's profile as YAML, secrets redacted (what ``RUN/profile.yaml`` holds)."""
    return yaml.safe_dump(redact(profile.model_dump(mode="json")), sort_keys=False)


def run_task(task: Task) -> Done:
    """Run one point at one seed (in a pool worker) and reduce it to its figures."""
    started = time.monotonic()
    console = Console(file=io.StringIO(), width=100)
    run = PointRun(task.profile, task.source, task.results, console, ["advise"])
    run.branches, run.adopt = task.branches, task.adopt
    try:
        outcome = run.execute()
    finally:
        if task.adopt is not None:
            shutil.rmtree(task.adopt, ignore_errors=True)
    # the point's own profile beside its results: `peakbench run RUN/profile.yaml` re-runs it
    (outcome.root / PROFILE).write_text(profile_text(task.profile), encoding="utf-8")
    figures = run_figures(task.profile, outcome.root, outcome.summary, outcome.exit_code)
    if run.branched_at is not None:
        figures["branched_from"] = task.branch_of
    return Done(
        task.point, task.seed_index, figures, time.monotonic() - started, outcome.interrupted
    )


def _on_throttle(profile: Profile) -> str:
    target = profile.target
    assert isinstance(target, SandboxTarget)  # only sandbox runs share (sharing.share_key)
    return target.plugin.on_throttle


def _move_into(source: Path, target: Path) -> None:
    """Move everything in the folder ``source`` into ``target`` (merging folders), then
    remove ``source``."""
    for entry in sorted(source.iterdir()):
        into = target / entry.name
        if entry.is_dir() and into.is_dir():
            _move_into(entry, into)
        else:
            os.replace(entry, into)
    source.rmdir()


Progress = Callable[[Sequence[Done], int, float], None]
"""Called after each finished run with the runs done so far, the total and the wall seconds."""


def run_all(tasks: Sequence[Task], workers: int, progress: Progress) -> tuple[list[Done], bool]:
    """Every task in ``workers`` processes; the runs done, and whether it was interrupted.

    A task measured by an earlier one (:attr:`Task.measured_by`) waits for that run and takes
    its figures when it can (:func:`~peakbench.advise.sharing.shareable`); otherwise it runs,
    in its place in the order.

    With ``workers`` > 1 each task runs in a pool worker, which forks each run's world from
    itself (:func:`_worker_init`). With one worker the tasks run in this, the calling process,
    and each world is a new ``python -m mocks.virtual`` process: this process is the caller's
    (the command line's, or a test's or a script's), and what it holds at a fork is not ours to
    know (a live display's refresh thread on a terminal, open connections, a library's locks),
    while a pool worker holds nothing but the runs it is given."""
    tasks = list(tasks)
    done: list[Done] = []
    started = time.monotonic()
    waiting: dict[int, list[int]] = {}
    """Tasks waiting for a measured run, by the measured task's position."""
    ready: list[int] = []
    """Tasks that can start, a heap of positions: the earliest first."""
    for i, task in enumerate(tasks):
        if task.measured_by is None:
            heapq.heappush(ready, i)
        else:
            waiting.setdefault(task.measured_by, []).append(i)

    def branched(i: int) -> Task:
        """Task ``i``, its world to fork the runs of the tasks waiting for it."""
        task = tasks[i]
        branches = tuple(
            (_on_throttle(tasks[j].profile), task.results / BRANCHES / f"{i}-{j}")
            for j in waiting.get(i, [])
        )
        return dataclasses.replace(task, branches=branches) if branches else task

    def finished(i: int, result: Done) -> None:
        """Keep ``result`` (of task ``i``); answer or free the tasks that waited for it."""
        done.append(result)
        for j in waiting.pop(i, []):
            if shareable(result.figures, result.interrupted):
                figures = shared(result.figures, result.point)
                done.append(Done(tasks[j].point, tasks[j].seed_index, figures, 0.0, False))
            else:  # it runs, from the branch the measured run's world forked when it could
                folder = tasks[i].results / BRANCHES / f"{i}-{j}"
                tasks[j] = dataclasses.replace(tasks[j], adopt=folder, branch_of=result.point)
                heapq.heappush(ready, j)

    try:
        return _run(tasks, workers, progress, ready, branched, finished, done, started)
    finally:  # what no run took (an interrupted advise) goes
        for results in {task.results for task in tasks}:
            shutil.rmtree(results / BRANCHES, ignore_errors=True)


def _run(
    tasks: list[Task],
    workers: int,
    progress: Progress,
    ready: list[int],
    branched: Callable[[int], Task],
    finished: Callable[[int, Done], None],
    done: list[Done],
    started: float,
) -> tuple[list[Done], bool]:
    """:func:`run_all`'s loop: in this process, or in a pool of ``workers``."""
    if workers <= 1:
        try:
            while ready:
                i = heapq.heappop(ready)
                result = run_task(branched(i))
                if result.interrupted:  # a run cut short measures nothing to judge by
                    return done, True
                finished(i, result)
                progress(done, len(tasks), time.monotonic() - started)
        except KeyboardInterrupt:
            return done, True
        return done, False
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init)
    submitted: dict[Future[Done], int] = {}
    collected: set[Future[Done]] = set()
    pending: set[Future[Done]] = set()
    interrupted = False
    try:
        while ready or pending:
            # a few ahead of the workers, the earliest first: a task freed by a measured run
            # goes in its place in the order, not behind every task submitted before it
            while ready and len(pending) < workers + 1:
                i = heapq.heappop(ready)
                future = pool.submit(run_task, branched(i))
                submitted[future] = i
                pending.add(future)
            ended, pending = wait(pending, timeout=2.0, return_when=FIRST_COMPLETED)
            for future in ended:
                collected.add(future)
                result = future.result()
                interrupted = interrupted or result.interrupted
                if not result.interrupted:  # a run cut short measures nothing to judge by
                    finished(submitted[future], result)
            progress(done, len(tasks), time.monotonic() - started)
            if interrupted:
                break
    except KeyboardInterrupt:
        interrupted = True
        _interrupt_workers(pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    # a run that finished while the pool stopped is kept: it measured all it was asked to
    for future in submitted:
        if future in collected or not future.done() or future.cancelled():
            continue
        if future.exception() is None and not future.result().interrupted:
            done.append(future.result())
    return done, interrupted


def _ignore(signum: int, frame: object) -> None:
    """A worker between runs has nothing to stop (a Python handler, unlike ``SIG_IGN``, is not
    inherited by the world child a run starts)."""


def _worker_init() -> None:
    """A worker leaves interrupts to the run it is in (its handlers keep what it measured) and
    otherwise ignores them, so a run that has finished is returned, not lost with its worker.

    It imports the world's modules once, here: each run's world is then this worker forked
    (``PointRun.fork_world``), which skips a new interpreter's start and imports. A worker runs
    no thread of its own (a run's are over when it returns), so forking it is safe; a run that
    finds another thread running starts its world as a new process instead."""
    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGTERM, _ignore)
    preload_world()
    # a worker keeps its plans (hundreds of thousands of objects) and analyses a run after
    # each world: at Python's default thresholds the collector scanned them again and again,
    # about a seventh of an analysis. Collection decides nothing in a run's figures.
    gc.set_threshold(*WORKER_GC_THRESHOLDS)


def _interrupt_workers(pool: ProcessPoolExecutor) -> None:
    """Pass an interrupt on to the workers (a SIGTERM reaches only this process): each running
    run stops where it is and keeps what it measured, as an interrupted ``peakbench run`` does."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, ValueError):
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)
