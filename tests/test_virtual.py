"""Virtual store time: the sandbox world in one process, on a loop whose clock jumps to what is
due. Same profile and seed → the same summary, whatever the machine does."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from _profiles import small

from mocks.virtual.loop import run as run_virtual
from mocks.virtual.transport import InProcess, within
from peakbench.plan.clock import LoopClock

WALL_FACTS = ("resources",)
"""summary.json fields that record wall facts (how long the machine took), not the world."""


def _run(tmp: Path, data: dict[str, Any], tag: str, env: dict[str, str] | None = None) -> Path:
    profile = tmp / f"{tag}.yaml"
    profile.write_text(yaml.safe_dump(data))
    results = tmp / f"results-{tag}"
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    runs = sorted(results.glob("*/summary.json"))
    assert runs, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    return runs[-1].parent


def _world(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in WALL_FACTS}


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same profile and seed twice: once with another hash seed (set and dict order must
    decide nothing) and a CPU-burning process alongside (the machine's load must decide
    nothing)."""
    tmp = tmp_path_factory.mktemp("virtual")
    data = small("twin", interval="10m")
    first = _run(tmp, data, "a", {"PYTHONHASHSEED": "1"})
    burn = subprocess.Popen(
        [sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 120: pass"]
    )
    try:
        second = _run(tmp, data, "b", {"PYTHONHASHSEED": "2"})
    finally:
        burn.kill()
        burn.wait()
    return first, second


def test_same_seed_gives_the_same_summary_byte_for_byte(twins: tuple[Path, Path]) -> None:
    a, b = (json.loads((r / "summary.json").read_text()) for r in twins)
    assert a["clock"]["mode"] == "virtual" and a["clock"]["scale"] is None
    assert a["valid"], a["invalid_reasons"]
    # something happened: quota outages, refusals, views, complaints
    assert a["outages"] and a["carriers"]["generic"]["throttled"] > 0
    assert a["views"]["done"] == a["views"]["scheduled"] > 100
    assert json.dumps(_world(a), sort_keys=True) == json.dumps(_world(b), sort_keys=True)
    # and the journals the figures come from, line for line
    for name in ("journals/replay.jsonl", "journals/carrier-generic.jsonl"):
        assert (twins[0] / name).read_bytes() == (twins[1] / name).read_bytes(), name


def test_nothing_is_late_and_every_item_starts_at_its_instant(twins: tuple[Path, Path]) -> None:
    root = twins[0]
    rows = [json.loads(line) for line in (root / "journals/replay.jsonl").read_text().splitlines()]
    assert rows and all(r["start"] == r["due"] and not r["late"] for r in rows)
    summary = json.loads((root / "summary.json").read_text())
    assert all(summary[k]["late"] == 0 for k in ("orders", "ships", "views"))


def test_modelled_latency_is_the_only_latency(twins: tuple[Path, Path]) -> None:
    """The small profile's carrier answers in a fixed 200 ms: every carrier call the plugin
    made took exactly 200 ms of store time, however long the machine took."""
    db = sqlite3.connect(twins[0] / "store.sqlite")
    durations = {row[0] for row in db.execute("SELECT duration FROM plugin_requests")}
    db.close()
    assert durations == {0.2}
    delays = {
        json.loads(line)["delay"]
        for line in (twins[0] / "journals/carrier-generic.jsonl").read_text().splitlines()
    }
    assert delays == {0.2}


def test_recompute_from_the_folder_gives_the_same_summary(twins: tuple[Path, Path]) -> None:
    root = twins[0]
    before = json.loads((root / "summary.json").read_text())
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "report", str(root), "--recompute"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    after = json.loads((root / "summary.json").read_text())
    assert _world(after) == _world(before)


def test_a_waiting_world_runs_nothing_until_told_to_go(
    twins: tuple[Path, Path], tmp_path: Path
) -> None:
    """``peakbench run`` starts the world before its plan exists; the world reads its run
    folder only after a line on stdin, and a closed stdin ends it with 3, having written
    nothing. Told to go, it runs the folder to the same end as the run did."""
    inputs = ("schedule.csv", "clock.json", "fleet.json", "store.json", "world.json", "run.json")
    root = tmp_path / "run"
    root.mkdir()
    for name in inputs:
        (root / name).write_bytes((twins[0] / name).read_bytes())
    env = {
        **os.environ,
        "PEAKBENCH_CARRIER_KEYS": json.dumps({"generic": ["pk_test"]}),
        "PEAKBENCH_STORE_CREDENTIALS": json.dumps(
            {"consumer_key": "ck_test", "consumer_secret": "cs_test"}
        ),
    }
    argv = [sys.executable, "-m", "mocks.virtual", "--run", str(root), "--wait"]
    ended = subprocess.run(argv, input="", capture_output=True, text=True, env=env, timeout=60)
    assert ended.returncode == 3, ended.stderr
    assert "ended before its world started" in ended.stderr
    assert sorted(p.name for p in root.iterdir()) == sorted(inputs)
    went = subprocess.run(argv, input="go\n", capture_output=True, text=True, env=env, timeout=300)
    assert went.returncode == 0, went.stderr
    done = json.loads((root / "world.done.json").read_text())
    assert done == json.loads((twins[0] / "world.done.json").read_text())


# -- the parts, in-process ----------------------------------------------------------------------


async def _slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app that answers after 40 s of (loop) time."""
    await asyncio.sleep(40)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"late"})


async def _broken_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise ConnectionResetError("reset by peer")


def test_in_process_requests_time_out_in_store_time() -> None:
    async def main() -> tuple[float, str, float, int, str]:
        clock = LoopClock(0.0, asyncio.get_running_loop())
        transport = InProcess({"slow.test": _slow_app, "broken.test": _broken_app})
        async with httpx.AsyncClient(transport=transport) as client:
            t0 = clock.now()
            try:
                await client.get("http://slow.test/", timeout=30.0)
                outcome = "answered"
            except httpx.ReadTimeout:
                outcome = "timeout"
            timed_out_after = clock.now() - t0
            t1 = clock.now()
            answer = await client.get("http://slow.test/", timeout=60.0)
            answered_after = clock.now() - t1
            try:
                await client.get("http://broken.test/")
                broken = "answered"
            except httpx.TransportError as exc:
                broken = type(exc).__name__
            try:
                await client.get("http://nowhere.test/")
                missing = "answered"
            except httpx.ConnectError:
                missing = "connect error"
        return timed_out_after, outcome, answered_after, answer.status_code, broken + missing

    after, outcome, answered_after, status, errors = run_virtual(main())
    assert outcome == "timeout" and after == pytest.approx(30.0, abs=1e-6)
    assert status == 200 and answered_after == pytest.approx(40.0, abs=1e-6)
    assert errors == "RemoteProtocolErrorconnect error"


def test_within_times_out_in_loop_time_and_sets_no_timer_for_what_never_waits() -> None:
    """``within`` is ``asyncio.timeout`` around an await: the same answers, the same instants,
    the same cancellation; an exchange that never suspends leaves no timer behind."""
    events: list[str] = []

    async def instant(value: int) -> int:
        return value

    async def failing() -> int:
        raise KeyError("bad")

    async def slow(seconds: float, value: int) -> int:
        try:
            await asyncio.sleep(seconds)
            await asyncio.sleep(0)
            return value
        finally:
            events.append(f"slow {value} ended")

    async def main() -> list[Any]:
        loop = asyncio.get_running_loop()
        timers = len(loop._scheduled)  # type: ignore[attr-defined]
        seen: list[Any] = [await within(70.0, instant(1))]
        seen.append(len(loop._scheduled) - timers)  # type: ignore[attr-defined]
        try:
            await within(70.0, failing())
        except KeyError as exc:
            seen.append(f"raised {exc}")
        t0 = loop.time()
        seen.append(await within(30.0, slow(20.0, 2)))
        seen.append(loop.time() - t0)
        t1 = loop.time()
        try:
            await within(30.0, slow(40.0, 3))
        except TimeoutError:
            seen.append(f"timed out after {loop.time() - t1}")
        seen.append(await within(None, slow(5.0, 4)))
        waiter = asyncio.create_task(within(100.0, slow(50.0, 5)))
        await asyncio.sleep(10.0)
        waiter.cancel()
        try:
            await waiter
        except asyncio.CancelledError:
            seen.append(f"cancelled at {loop.time() - t1}")
        return seen

    seen = run_virtual(main())
    assert seen == [1, 0, "raised 'bad'", 2, 20.0, "timed out after 30.0", 4, "cancelled at 45.0"]
    assert events == ["slow 2 ended", "slow 3 ended", "slow 4 ended", "slow 5 ended"]


def test_loop_clock_reads_store_time_from_the_loop() -> None:
    async def main() -> list[float]:
        clock = LoopClock(1_795_755_600.0, asyncio.get_running_loop())
        seen = [clock.now()]
        await clock.sleep(3600)
        seen.append(clock.now())
        await asyncio.gather(clock.sleep(10), clock.sleep(86400), clock.sleep(-5))
        seen.append(clock.now())
        return seen

    assert run_virtual(main(), start=1000.0) == [0.0, 3600.0, 3600.0 + 86400.0]


def test_a_prepared_process_serves_its_worlds_the_renders_it_made(tmp_path: Path) -> None:
    from mocks.app import create_carrier_app
    from mocks.journal import Journal
    from mocks.virtual.world import prepare
    from peakbench.config.fleet import FleetSpec
    from peakbench.plan.clock import ManualClock
    from peakbench.plan.timeline import make_tracking_number

    fleet = FleetSpec.model_validate(
        {"seed": 11, "carriers": [{"name": "acme"}, {"name": "ups", "personality": "ups"}]}
    )
    parcels = [make_tracking_number(1_795_755_600.0 + 60 * i, "domestic", i) for i in range(5)]
    assert prepare(fleet, [("acme", n) for n in parcels] + [("ups", parcels[0])]) == 5
    # the world reads its fleet back from fleet.json: an equal model finds the same renders
    again = FleetSpec.model_validate(json.loads(json.dumps(fleet.model_dump(mode="json"))))
    journal = Journal("acme", tmp_path / "acme.jsonl")
    app = create_carrier_app(again.carriers[0], again, ManualClock(0.0), [], journal)
    first = app.personality.rendered  # type: ignore[attr-defined]
    assert first.cache_info().currsize >= 5
    hits = first.cache_info().hits
    for n in parcels:
        first(n)
    assert first.cache_info().hits - hits == 5
    journal.close()
