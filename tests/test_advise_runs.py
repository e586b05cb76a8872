"""An advise run is an ordinary virtual run: the same profile gives the same summary and journals
as ``peakbench run``'s. It only leaves out what nobody sees (the live progress on a console nobody
reads), and in a pool worker its world is the worker forked, not a new interpreter: the same
world, behaving the same way to the run (its go, its signals, its secrets, its log)."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from _profiles import small
from rich.console import Console

from peakbench.advise import runner
from peakbench.advise.runner import PointRun
from peakbench.config.loader import load_profile, parse_profile
from peakbench.config.profile import Profile
from peakbench.run.forked import ForkedChild, ForkedProcess, preloaded
from peakbench.run.orchestrator import Run, RunOutcome
from peakbench.run.processes import WORLD_MODULE

ROOT = Path(__file__).resolve().parent.parent
WALL_FACTS = ("resources",)
"""summary.json fields that record wall facts (how long the machine took), not the world."""
JOURNALS = ("journals/replay.jsonl", "journals/carrier-generic.jsonl")
INPUTS = ("schedule.csv", "clock.json", "fleet.json", "store.json", "world.json", "run.json")


def _profile() -> Profile:
    return parse_profile(yaml.safe_dump(small("advise-run", interval="30m")), "small.yaml")


def _world(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in WALL_FACTS}


class Executed:
    """A run done, with what the test reads of it: the folder, the summary, what its console
    showed, the secrets its children were given and the kind of process its world was."""

    def __init__(self, run: Run, outcome: RunOutcome, shown: str, secrets: list[str]) -> None:
        self.root = outcome.root
        self.summary = outcome.summary
        self.interrupted = outcome.interrupted
        self.shown = shown
        self.secrets = secrets
        self.world = type(run._world.proc).__name__ if run._world and run._world.proc else ""


def _secrets(env: dict[str, str]) -> list[str]:
    keys = json.loads(env["PEAKBENCH_CARRIER_KEYS"])
    creds = json.loads(env["PEAKBENCH_STORE_CREDENTIALS"])
    return [k for ks in keys.values() for k in ks] + list(creds.values())


def _execute(kind: type[Run], profile: Profile, results: Path) -> Executed:
    given: dict[str, str] = {}

    class Recorded(kind):  # type: ignore[valid-type,misc]
        def _child_env(self) -> dict[str, str]:
            given.update(super()._child_env())  # what the children get, to look for it after
            return given

    out = io.StringIO()
    run = Recorded(profile, "small.yaml", results, Console(file=out, width=100))
    outcome = run.execute()
    return Executed(run, outcome, out.getvalue(), _secrets(given))


def _in_worker(kind: str, profile: Profile, results: Path) -> Executed:
    """In a pool worker: one run of ``profile`` (``PointRun``, or ``Run`` for ``ordinary``)."""
    return _execute(PointRun if kind == "point" else Run, profile, results)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    """An advise's pool: spawned workers set up by advise's own initializer."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=runner._worker_init) as workers:
        yield workers


@pytest.fixture(scope="module")
def ordinary(tmp_path_factory: pytest.TempPathFactory) -> Executed:
    """``peakbench run``'s run, in this process."""
    return _execute(Run, _profile(), tmp_path_factory.mktemp("ordinary"))


@pytest.fixture(scope="module")
def point(tmp_path_factory: pytest.TempPathFactory) -> Executed:
    """An advise run in the calling process (``--workers 1``)."""
    return _execute(PointRun, _profile(), tmp_path_factory.mktemp("point"))


@pytest.fixture(scope="module")
def forked(pool: ProcessPoolExecutor, tmp_path_factory: pytest.TempPathFactory) -> Executed:
    """An advise run in a pool worker."""
    return pool.submit(_in_worker, "point", _profile(), tmp_path_factory.mktemp("forked")).result(
        timeout=300
    )


def test_an_advise_run_measures_what_an_ordinary_run_measures(
    ordinary: Executed, point: Executed, forked: Executed
) -> None:
    assert ordinary.summary["valid"] and ordinary.summary["views"]["done"] > 100
    assert ordinary.summary["carriers"]["generic"]["ok"] > 0  # the plugin's key was accepted
    expected = json.dumps(_world(ordinary.summary), sort_keys=True)
    for other in (point, forked):
        assert json.dumps(_world(other.summary), sort_keys=True) == expected
        for name in JOURNALS:
            assert (other.root / name).read_bytes() == (ordinary.root / name).read_bytes(), name
        assert (other.root / "world.done.json").read_text() == (
            ordinary.root / "world.done.json"
        ).read_text()


def test_a_pool_worker_forks_its_world_and_the_calling_process_does_not(
    ordinary: Executed, point: Executed, forked: Executed, pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    assert forked.world == ForkedProcess.__name__
    assert point.world == ordinary.world == subprocess.Popen.__name__
    # `peakbench run`'s runs start a new world even in a worker that could fork one
    elsewhere = pool.submit(_in_worker, "ordinary", _profile(), tmp_path).result(timeout=300)
    assert elsewhere.world == subprocess.Popen.__name__
    # and a worker that has run runs (their analysis, numpy's threads) still forks the next
    again = pool.submit(_in_worker, "point", _profile(), tmp_path).result(timeout=300)
    assert again.world == ForkedProcess.__name__
    assert _world(again.summary) == _world(forked.summary)


def test_an_advise_run_shows_no_live_progress_but_still_samples_its_processes(
    ordinary: Executed, point: Executed, forked: Executed
) -> None:
    progress = re.compile(r"^t=.+? orders \d+/\d+ views \d+/\d+ late ", re.MULTILINE)
    assert progress.search(ordinary.shown)
    for quiet in (point, forked):
        assert not progress.search(quiet.shown)
        assert "All 2 SLO checks passed" in quiet.shown  # the summary is still rendered
    for run in (ordinary, point, forked):
        rows = [json.loads(line) for line in (run.root / "resources.jsonl").open()]
        assert {"orchestrator", "world"} <= {r["process"] for r in rows}
        assert run.summary["resources"]


def test_the_secrets_reach_a_forked_world_through_its_environment_only(forked: Executed) -> None:
    assert len(forked.secrets) == 3 and all(len(s) > 20 for s in forked.secrets)
    files = [p for p in forked.root.rglob("*") if p.is_file()]
    assert any(p.name == "world.log" for p in files) and len(files) > 10
    for path in files:
        data = path.read_bytes()
        for secret in forked.secrets:
            assert secret.encode() not in data, f"a secret in {path.relative_to(forked.root)}"


def _waiting_world(root: Path, told: bool) -> tuple[int | None, str, bool]:
    """In a pool worker: fork the world of run folder ``root`` and tell it to go, or close its
    input without a word; its exit code, its log's last line, and whether it was a session of
    its own whose secrets stayed out of this process's environment."""
    entry = preloaded(WORLD_MODULE)
    assert entry is not None
    env = {
        "PEAKBENCH_CARRIER_KEYS": json.dumps({"generic": ["pk_test"]}),
        "PEAKBENCH_STORE_CREDENTIALS": json.dumps(
            {"consumer_key": "ck_test", "consumer_secret": "cs_test"}
        ),
    }
    argv = ["--run", str(root), "--wait"]
    child = ForkedChild("world", entry, argv, root / "logs" / "world.log", env, True)
    child.start()
    assert child.proc is not None
    own = os.getsid(child.proc.pid) == child.proc.pid != os.getsid(0)
    if told:
        child.go()
    elif child.proc.stdin is not None:
        child.proc.stdin.close()
    child.wait(120)
    return child.returncode, child.log_tail(), own and "PEAKBENCH_CARRIER_KEYS" not in os.environ


def test_a_forked_world_never_told_to_go_exits_3_having_run_nothing(
    ordinary: Executed, pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    """Like its subprocess (tests/test_virtual.py): the world reads its run folder only after a
    line on its standard input; the end of that input without one ends it with 3, having written
    nothing but its log. Told to go, it runs the folder to the end the run reached."""
    for told in (False, True):
        root = tmp_path / f"told-{told}"
        (root / "logs").mkdir(parents=True)
        for name in INPUTS:
            (root / name).write_bytes((ordinary.root / name).read_bytes())
        code, last, apart = pool.submit(_waiting_world, root, told).result(timeout=300)
        assert apart
        if not told:
            assert code == 3 and "ended before its world started" in last
            assert sorted(p.name for p in root.iterdir()) == sorted([*INPUTS, "logs"])
        else:
            assert code == 0, last
            done = (root / "world.done.json").read_text()
            assert done == (ordinary.root / "world.done.json").read_text()


def _wait_for(what: str, check: Any, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no {what} within {timeout:.0f} s")


def _replaying(results: Path) -> int | None:
    """The worker's pid once its world has published progress (it is mid-run), else None."""
    for progress in results.glob("*/progress.json"):
        try:
            if json.loads(progress.read_text())["t"] > 0:
                return int(json.loads((progress.parent / "phase.json").read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return None
    return None


def _interrupted_run(fork: bool, profile: Profile, results: Path) -> Executed:
    """In a pool worker: an advise run whose world is forked, or a new process."""
    PointRun.fork_world = fork
    return _execute(PointRun, profile, results)


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "new-process"])
def test_sigterm_mid_run_stops_the_world_and_keeps_what_it_measured(
    fork: bool, tmp_path: Path
) -> None:
    """What advise's interrupt does (a SIGTERM to each worker): the run stops its world where it
    is and keeps what it measured, partial and marked interrupted, whichever way the world was
    started; nothing it started is left running."""
    profile = load_profile(ROOT / "profiles" / "black-friday.yaml", [])
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=runner._worker_init) as workers:
        future: Future[Executed] = workers.submit(_interrupted_run, fork, profile, tmp_path)
        worker = _wait_for("progress of the world", lambda: _replaying(tmp_path))
        os.kill(worker, signal.SIGTERM)
        done = future.result(timeout=120)
    assert done.interrupted
    assert done.world == (ForkedProcess if fork else subprocess.Popen).__name__
    root, summary = done.root, done.summary
    assert json.loads((root / "summary.json").read_text()) == summary
    assert summary["partial"] is True and summary["valid"] is False
    assert any(f["kind"] == "signal" and "SIGTERM" in f["detail"] for f in summary["faults"])
    assert json.loads((root / "world.done.json").read_text())["finished"] is False
    executed = sum(
        summary[k]["done"] + summary[k]["failed"] + summary[k].get("dropped", 0)
        for k in ("orders", "ships", "views")
    )
    on_disk = sum(len(p.read_text().splitlines()) for p in root.glob("journals/replay*.jsonl"))
    scheduled = sum(summary[k]["scheduled"] for k in ("orders", "ships", "views"))
    assert 0 < executed == on_disk < scheduled
    worlds = {r["pid"] for r in map(json.loads, (root / "resources.jsonl").open())
              if r["process"] == "world"}  # fmt: skip
    assert worlds and not any(psutil.pid_exists(pid) for pid in worlds)


def _renders_kept(profile: Profile) -> tuple[int, int]:
    """In a pool worker: the shipments of ``profile``'s plan, and how many of their parcels the
    worker holds rendered for the worlds it forks."""
    from mocks.carriers.generic import GenericPersonality

    plan = runner.PLANS.get(profile)
    numbers = [i.tracking_number for i in plan.items if i.kind == "ship"]
    carrier = profile.fleet.carriers[0]
    shared = GenericPersonality(carrier.name, profile.fleet.timeline_model(carrier)).rendered
    before = shared.cache_info().hits  # type: ignore[attr-defined]
    for number in numbers:
        shared(number)
    return len(numbers), shared.cache_info().hits - before  # type: ignore[attr-defined]


def test_a_pool_worker_renders_its_plan_s_parcels_once_for_the_worlds_it_forks(
    forked: Executed, pool: ProcessPoolExecutor
) -> None:
    shipments, kept = pool.submit(_renders_kept, _profile()).result(timeout=60)
    assert shipments > 50 and kept == shipments
