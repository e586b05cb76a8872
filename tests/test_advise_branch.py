"""A world forked at its first refusal writes what a world run from the start would have.

advise runs, of settings that differ only in on_throttle, the first one's world; at the first
refusal that reaches its plugin it forks the others' worlds (mocks.virtual.branch), which go on
from that instant with their own policy in folders of their own. A run then takes its branch's
folder for its own (peakbench.advise.runner.PointRun.adopt).

The case is the hand-checked quota case (tests/_profiles.py): one carrier with a daily quota of
20 calls and a 12-hour run. Polling every 30 minutes needs 23 calls, so the carrier refuses the
plugin; every 90 minutes needs 7, and no call is refused.
"""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from _profiles import QUOTA_CASE

from mocks.virtual.branch import Branch
from peakbench.advise.runner import Done, Task, run_task
from peakbench.config.loader import parse_profile
from peakbench.measure.segments import read_lines

OTHERS = ("backoff", "stop-run")


def _profile(interval: str, on_throttle: str) -> Any:
    data: dict[str, Any] = {**copy.deepcopy(QUOTA_CASE), "name": "branch"}
    data["target"]["plugin"].update(interval=interval, on_throttle=on_throttle)
    return parse_profile(yaml.safe_dump(data), "branch.yaml")


def _journals(run: Path) -> dict[str, list[bytes]]:
    return {
        f.name: list(read_lines(f))
        for f in sorted((run / "journals").iterdir())
        if f.suffix == ".jsonl"
    }


def _store(run: Path) -> dict[str, list[tuple[Any, ...]]]:
    """What the store holds of the plugin's work (less the wall seconds each request took)."""
    con = sqlite3.connect(f"file:{run / 'store.sqlite'}?mode=ro", uri=True)
    try:
        return {
            "changes": con.execute(
                "SELECT order_id, tracking_number, t, shown_count, status FROM tracking_changes "
                "ORDER BY id"
            ).fetchall(),
            "requests": con.execute(
                "SELECT t, carrier, numbers, status, outcome, duration FROM plugin_requests "
                "ORDER BY rowid"
            ).fetchall(),
            "shipments": con.execute(
                "SELECT tracking_number, events, shown_count, status, delivered FROM shipments "
                "ORDER BY id"
            ).fetchall(),
        }
    finally:
        con.close()


def _figures(done: Done) -> dict[str, Any]:
    return {k: v for k, v in done.figures.items() if k not in {"run", "branched_from"}}


def _summary(run: Path) -> dict[str, Any]:
    import json

    doc = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    doc.pop("resources", None)  # an adopted world had no process to sample during the run
    return doc


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The 30m runs three ways: ignore forking backoff and stop-run, then every policy's run
    from the start; and the 90m ignore run given branches it never needs."""
    tmp = tmp_path_factory.mktemp("branch")
    folders = {p: tmp / ".branches" / p for p in OTHERS}
    out: dict[str, Any] = {}
    out["measured"] = run_task(
        Task(0, 0, _profile("30m", "ignore"), tmp, "branch.yaml", branches=tuple(folders.items()))
    )
    out["folders_after_measured"] = {
        p: sorted(x.name for x in f.iterdir()) for p, f in folders.items()
    }
    for i, policy in enumerate(OTHERS, start=1):
        out[f"forked-{policy}"] = run_task(
            Task(
                i,
                0,
                _profile("30m", policy),
                tmp,
                "branch.yaml",
                adopt=folders[policy],
                branch_of=0,
            )
        )
    for i, policy in enumerate(("ignore", *OTHERS), start=3):
        out[f"fresh-{policy}"] = run_task(Task(i, 0, _profile("30m", policy), tmp, "branch.yaml"))
    quiet = tmp / ".branches" / "quiet"
    out["quiet"] = run_task(
        Task(6, 0, _profile("90m", "ignore"), tmp, "branch.yaml", branches=(("backoff", quiet),))
    )
    out["quiet_folder"] = quiet
    out["quiet-adopting"] = run_task(
        Task(7, 0, _profile("90m", "backoff"), tmp, "branch.yaml", adopt=quiet, branch_of=6)
    )
    out["fresh-quiet"] = run_task(Task(8, 0, _profile("90m", "backoff"), tmp, "branch.yaml"))
    out["tmp"] = tmp
    return out


def _folder(runs: dict[str, Any], name: str) -> Path:
    return Path(runs["tmp"]) / runs[name].figures["run"]


@pytest.mark.parametrize("policy", OTHERS)
def test_a_forked_run_is_the_run_of_its_policy_from_the_start(
    runs: dict[str, Any], policy: str
) -> None:
    forked, fresh = runs[f"forked-{policy}"], runs[f"fresh-{policy}"]
    assert forked.figures["branched_from"] == 0 and fresh.figures["branched_from"] is None
    assert forked.figures["plugin_refusals"] > 0
    assert _figures(forked) == _figures(fresh)
    a, b = _folder(runs, f"forked-{policy}"), _folder(runs, f"fresh-{policy}")
    assert _journals(a) == _journals(b)  # every carrier call and every replayed request
    assert _store(a) == _store(b)
    assert _summary(a) == _summary(b)
    assert (a / "world.done.json").is_file() and (a / "logs" / "world.log").is_file()


def test_the_policies_part_at_the_fork(runs: dict[str, Any]) -> None:
    """The branches are not copies of the measured run: backing off asks the exhausted quota
    less often than ignoring it (so a branch that kept its parent's policy would fail here)."""
    measured, backoff = runs["measured"].figures, runs["forked-backoff"].figures
    assert backoff["requests"] < measured["requests"]
    assert _store(_folder(runs, "measured")) != _store(_folder(runs, "forked-backoff"))


def test_the_measured_run_is_the_same_with_or_without_branches(runs: dict[str, Any]) -> None:
    assert _figures(runs["measured"]) == _figures(runs["fresh-ignore"])
    a, b = _folder(runs, "measured"), _folder(runs, "fresh-ignore")
    assert _journals(a) == _journals(b)
    assert _store(a) == _store(b)


def test_a_branch_folder_is_taken_whole(runs: dict[str, Any]) -> None:
    # once the measured run ended, each branch folder held a finished world's output ...
    for names in runs["folders_after_measured"].values():
        assert "world.done.json" in names and "store.sqlite" in names and "journals" in names
    # ... which the run that took it moved into its own folder
    for policy in OTHERS:
        assert not (Path(runs["tmp"]) / ".branches" / policy).exists()


def test_without_a_refusal_nothing_forks_and_the_run_runs_its_own_world(
    runs: dict[str, Any],
) -> None:
    assert runs["quiet"].figures["plugin_refusals"] == 0
    assert runs["quiet-adopting"].figures["branched_from"] is None
    assert _figures(runs["quiet-adopting"]) == _figures(runs["fresh-quiet"])
    assert not runs["quiet_folder"].exists()


def test_a_branch_names_a_policy_and_a_folder() -> None:
    assert Branch.parse("backoff=/tmp/x") == Branch("backoff", Path("/tmp/x"))
    for bad, says in [
        ("backoff", "expected POLICY=DIR"),
        ("backoff=", "expected POLICY=DIR"),
        ("sometimes=/tmp/x", "on_throttle is one of ignore, stop-run, backoff"),
    ]:
        with pytest.raises(ValueError, match=says):
            Branch.parse(bad)


def _forked_mid_run(folder: Path) -> bool:
    """Whether the branch forked into ``folder`` has gone on from its fork (it published)."""
    import json

    try:
        return json.loads((folder / "progress.json").read_text())["t"] > 0
    except (OSError, ValueError, KeyError):
        return False


def _branching_run(profile: Any, results: Path, folder: Path) -> tuple[Done, list[int]]:
    """In a pool worker: a run whose world forks ``backoff`` into ``folder``; its Done and the
    processes the worker still has below it afterwards."""
    import psutil

    done = run_task(Task(0, 0, profile, results, "bf.yaml", branches=(("backoff", folder),)))
    return done, [p.pid for p in psutil.Process().children(recursive=True)]


def test_a_stopped_world_stops_its_branches(tmp_path: Path) -> None:
    """advise's interrupt (a SIGTERM to each worker) stops the run's world, and the world stops
    the runs it forked where they are: none runs on to its end, none is left running."""
    import json
    import multiprocessing
    import os
    import signal
    import time
    from concurrent.futures import ProcessPoolExecutor

    from peakbench.advise import runner
    from peakbench.config.loader import load_profile

    root = Path(__file__).resolve().parent.parent
    profile = load_profile(root / "profiles" / "black-friday.yaml", [])  # refused at 15m
    folder = tmp_path / ".branches" / "backoff"
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=runner._worker_init) as workers:
        worker = workers.submit(os.getpid).result(timeout=60)
        future = workers.submit(_branching_run, profile, tmp_path, folder)
        deadline = time.monotonic() + 120
        while not _forked_mid_run(folder) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _forked_mid_run(folder), "the world never forked its branch"
        os.kill(worker, signal.SIGTERM)
        done, left = future.result(timeout=120)
    assert done.interrupted and not left
    assert (tmp_path / done.figures["run"] / "world.done.json").is_file()  # (it may have ended)
    branch = json.loads((folder / "world.done.json").read_text())
    assert branch["finished"] is False and branch["branched_at"] > 0
