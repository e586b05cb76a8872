"""Scale: the schedule split across Locust processes and hosts gives the figures of one process.

The in-process tests drive the master/worker protocol of ``loadtests/cluster.py`` by direct calls
(no Locust, no gevent). The end-to-end test runs the same small profile three ways at once, in
subprocesses: one Locust process (with ``--ui``: its web UI is probed while it runs),
``--processes 2``, and ``--master`` with two ``--worker``s; all three size their pool with the
load shape (``users: auto``).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

import pytest
import yaml
from _profiles import QUOTA_AND_BAN, kept_up, small

from loadtests.cluster import MasterReplay, worker_replay, worker_report
from loadtests.replay import Outcome, ReplayConfig, partition
from peakbench.measure.journals import replay_records
from peakbench.measure.segments import segment_files
from peakbench.plan.clock import ClockSpec
from peakbench.plan.schedule import Item, write_schedule
from peakbench.run.lateness import Lateness
from peakbench.run.loadgen import Scale, locust_argv

SMALL: dict[str, Any] = small(behaviours=[QUOTA_AND_BAN[0]], warmup_wall_s=5, mode="wall")
SMALL["replay"]["users"] = "auto"
# three wall-time runs at once (about fifteen processes) on two cores: half the small profile's
# speed, so a machine that keeps up with one run keeps up with the three
SMALL["clock"]["scale"] = 1200
UI_URL = re.compile(r"Locust web UI: (http://127\.0\.0\.1:\d+)")


def _items(orders: int) -> list[Item]:
    items: list[Item] = []
    for ref in range(orders):
        number = f"PBD{ref:013d}"
        items += [
            Item(10.0 * ref, "order", ref),
            Item(10.0 * ref + 60, "ship", ref, "acme", number),
            Item(10.0 * ref + 300, "view", ref, "acme", number),
            Item(10.0 * ref + 900, "view", ref, "acme", number),
        ]
    return sorted(items, key=lambda i: i.t)


def test_partition_keeps_each_order_whole_and_covers_the_schedule_once() -> None:
    items = _items(50)
    shares = [list(partition(items, k, 3)) for k in range(3)]
    assert sorted(shares[0] + shares[1] + shares[2], key=lambda i: (i.t, i.kind, i.ref)) == sorted(
        items, key=lambda i: (i.t, i.kind, i.ref)
    )
    for k, share in enumerate(shares):
        assert {i.ref % 3 for i in share} == {k}
        assert [i.t for i in share] == sorted(i.t for i in share)  # still in time order
    assert shares == [list(partition(items, k, 3)) for k in range(3)]  # deterministic


def test_master_merges_worker_journals_and_lateness_exactly(tmp_path: Path) -> None:
    items = _items(40)
    write_schedule(tmp_path / "schedule.csv", items)
    config = ReplayConfig(
        clock=ClockSpec(1_795_755_600.0, 600.0, 1000.0),
        schedule=tmp_path / "schedule.csv",
        journal=tmp_path / "journals" / "replay.jsonl",
        progress=tmp_path / "progress.json",
        late_after=60.0,
        users=4,
        drop_after=150.0,
    )
    creds = '{"consumer_key": "ck", "consumer_secret": "cs"}'
    master = MasterReplay(config, 2, creds, segment_bytes=1024)
    shares = [master.share_for("w-a"), master.share_for("w-b"), master.share_for("w-c")]
    assert [s["index"] for s in shares] == [0, 1, -1] and shares[2]["rows"] == []
    assert master.share_for("w-a")["index"] == 0  # asking again gets the same share
    alone = Lateness()

    def send(kind: str, data: dict[str, Any]) -> None:
        master.journal(data)

    for share in shares[:2]:
        index = share["index"]
        done: list[bool] = []
        replay, forwarder = worker_replay(share, send, lambda d=done: d.append(True))
        while (item := replay.take()) is not None:
            lag = float(item.ref % 7) * 30  # 0..180 s late: some late, one in 7 is dropped
            alone.record(lag)
            if lag > 150:
                replay.drop(item, item.t + lag)
            else:
                replay.record(item, item.t + lag, item.t + lag + 1, Outcome(True, 200))
            replay.release()
            if item.ref % 5 == 0:
                forwarder.flush()
        assert done == [True]
        master.report(worker_report(replay, index))  # a periodic report, then the final one
        master.done({**worker_report(replay, index), "lines": forwarder.take()})
    assert master.finished
    master.close()

    records = list(replay_records(config.journal))
    assert not config.journal.exists()  # one journal per worker instead, in segments
    for index in (0, 1):
        files = segment_files(config.journal.with_name(f"replay-{index}.jsonl"))
        assert len(files) > 2 and all(f.stat().st_size <= 1024 for f in files)
    assert sorted((r.kind, r.ref, r.due) for r in records) == sorted(
        (i.kind, i.ref, round(i.t, 3)) for i in items
    )
    progress = json.loads(config.progress.read_text())
    assert progress["finished"] is True
    assert progress["scheduled"] == {"order": 40, "ship": 40, "view": 80}
    dropped = sum(1 for i in items if i.ref % 7 == 6)
    assert sum(progress["dropped"].values()) == sum(progress["failed"].values()) == dropped
    assert sum(progress["done"].values()) == len(items) - dropped
    assert sum(r.dropped for r in records) == dropped
    assert progress["late"]["order"] == sum(1 for i in items if i.kind == "order" and i.ref % 7 > 2)
    assert progress["lateness_s"] == alone.summary()  # merged HDR histograms: exact


def test_locust_command_lines_for_each_mode(tmp_path: Path) -> None:
    def argv(scale: Scale) -> list[str]:
        return locust_argv(
            "py", tmp_path / "lf.py", tmp_path / "r.json", "http://h", tmp_path, 1, scale, 9
        )

    single = argv(Scale())
    assert "--headless" in single and "--processes" not in single and "--master" not in single
    procs = argv(Scale(processes=3))
    assert procs[procs.index("--processes") + 1] == "3"
    assert procs[procs.index("--users") + 1] == "3"  # at least one user per worker
    master = argv(Scale(master=True, expect_workers=2, master_bind="127.0.0.1", master_port=7))
    assert master[master.index("--expect-workers") + 1] == "2"
    assert master[master.index("--master-bind-port") + 1] == "7"
    ui = argv(Scale(ui=True))
    assert "--headless" not in ui and ui[ui.index("--web-host") + 1] == "127.0.0.1"
    with pytest.raises(ValueError, match="cannot be combined"):
        Scale(processes=2, master=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lines(stream: IO[str], into: list[str]) -> None:
    for line in stream:
        into.append(line)


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def _probe_ui(log: list[str], proc: subprocess.Popen[str], deadline: float) -> dict[str, Any]:
    """While the run goes: find the printed URL, then GET / and the stats endpoint."""
    found: dict[str, Any] = {}
    while time.monotonic() < deadline and proc.poll() is None:
        match = UI_URL.search("".join(log))
        if match:
            found["url"] = match.group(1)
            try:
                found["index"] = _get(found["url"] + "/")
                found["stats"] = _get(found["url"] + "/stats/requests")
            except OSError as exc:  # printed before Locust listens: try again
                found["error"] = repr(exc)
            else:
                found["running"] = proc.poll() is None
                return found
        time.sleep(0.2)
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same profile three ways, all at once (~40 s wall on 2 cores)."""
    tmp = tmp_path_factory.mktemp("scale")
    results = tmp / "results"
    port = str(_free_port())
    modes = {
        "single": ["--ui"],
        "processes": ["--processes", "2"],
        "master": ["--master", "--expect-workers", "2", "--master-bind", "127.0.0.1"],
    }
    peakbench = [sys.executable, "-m", "peakbench", "run"]
    procs = {}
    for name, flags in modes.items():
        profile = tmp / f"{name}.yaml"
        profile.write_text(yaml.safe_dump({**SMALL, "name": name}))
        extra = ["--master-port", port] if name == "master" else []
        procs[name] = subprocess.Popen(
            [*peakbench, str(profile), "--results", str(results), *flags, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    workers = [
        subprocess.Popen(
            [*peakbench, "--worker", "--master-host", "127.0.0.1", "--master-port", port],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    out: dict[str, Any] = {}
    single: list[str] = []
    reader = threading.Thread(target=_lines, args=(procs["single"].stdout, single), daemon=True)
    reader.start()
    try:
        out["ui"] = _probe_ui(single, procs["single"], time.monotonic() + 60)
        for name, proc in procs.items():
            if name == "single":
                proc.wait(timeout=150)
                reader.join(timeout=5)
                log = "".join(single)
            else:
                log, _ = proc.communicate(timeout=150)
            found = sorted(results.glob(f"*-{name}-*"))
            assert found and (found[-1] / "summary.json").exists(), log
            out[name] = found[-1]
        for worker in workers:
            log, _ = worker.communicate(timeout=20)
            assert worker.returncode == 0, log
    finally:
        for proc in [*procs.values(), *workers]:
            proc.kill()
    return out


def _close(a: float | None, b: float | None, rel: float, abs_s: float) -> bool:
    assert a is not None and b is not None
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_s)


def test_distributed_runs_match_a_single_process(runs: dict[str, Any]) -> None:
    modes = ("single", "processes", "master")
    summaries = {k: json.loads((runs[k] / "summary.json").read_text()) for k in modes}
    for summary in summaries.values():  # three wall-time runs at once on the machine's cores
        kept_up(summary)
    base = summaries["single"]
    assert (runs["single"] / "journals" / "replay.jsonl").exists()
    for name in ("processes", "master"):
        s, root = summaries[name], runs[name]
        assert s["valid"], (name, s["invalid_reasons"])
        assert sorted(p.name for p in (root / "journals").glob("replay*.jsonl")) == [
            "replay-0.jsonl",
            "replay-1.jsonl",
        ]
        for kind in ("orders", "ships", "views"):
            assert s[kind]["scheduled"] == base[kind]["scheduled"] > 0, (name, kind)
            assert s[kind]["done"] == base[kind]["done"] == base[kind]["scheduled"], (name, kind)
        refs = [
            {json.loads(line)["ref"] % 2 for line in (root / "journals" / f).read_text().split()}
            for f in ("replay-0.jsonl", "replay-1.jsonl")
        ]
        assert refs == [{0}, {1}]  # split by order
        for key in ("staleness_s", "refresh_latency_s"):
            assert s[key]["count"] == pytest.approx(base[key]["count"], rel=0.05), (name, key)
            for p in ("p50", "p95"):
                assert _close(s[key][p], base[key][p], 0.25, 300.0), (name, key, p)
        progress = json.loads((root / "progress.json").read_text())
        assert progress["finished"] is True
        assert progress["lateness_s"]["count"] == sum(progress["scheduled"].values())
        assert progress["lateness_s"]["p99"] < SMALL["clock"]["scale"] * 1.0  # < 1 s wall late


def test_every_mode_sizes_its_pool_with_the_shape(runs: dict[str, Any]) -> None:
    for name in ("single", "processes", "master"):
        root = runs[name]
        replay = json.loads((root / "run.json").read_text())["profile"]["replay"]
        assert replay["sizing"] == "auto"
        log = [json.loads(x) for x in (root / "shape.jsonl").read_text().splitlines()]
        assert log, name
        processes = 1 if name == "single" else 2
        for line in log:
            assert line["users"] >= processes and line["users"] % processes == 0, (name, line)
            assert processes <= line["per_process"] * processes <= replay["max_users"]
        assert any(x["response_s"] != 0.1 for x in log), name  # measured, not the assumption


def test_the_web_ui_answers_while_the_run_goes_and_the_run_still_ends(
    runs: dict[str, Any],
) -> None:
    ui = runs["ui"]
    assert ui.get("url", "").startswith("http://127.0.0.1:"), ui
    assert ui.get("running") is True, ui  # probed while the run was going
    status, ctype, body = ui["index"]
    assert status == 200 and "text/html" in ctype and b"<html" in body.lower()
    status, ctype, body = ui["stats"]
    stats = json.loads(body)
    assert status == 200 and "application/json" in ctype
    assert {"stats", "user_count", "state"} <= set(stats)
    # ... and the run ended by itself with its results, like a headless one
    root = runs["single"]
    summary = json.loads((root / "summary.json").read_text())
    kept_up(summary)
    assert summary["valid"], summary["invalid_reasons"]
    assert summary["orders"]["done"] == summary["orders"]["scheduled"] > 0
    assert (root / "locust_stats.csv").exists()
