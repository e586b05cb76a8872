"""Does a mock carrier's memory stay flat however many distinct parcels it serves?

Starts the real ``python -m mocks serve`` on loopback, pulls ``--numbers`` distinct tracking
numbers (default 1,000,000) through ``POST /v1/trackings/batch`` in batches of 40 with a few
concurrent httpx clients, and samples the server's RSS (``VmRSS`` of ``/proc/<pid>/status``) at
0, 25, 50, 75 and 100 % of the requests. Bounded by the request count and ``--time-limit``.

    .venv/bin/python benchmarks/bench_mock_memory.py [--numbers 1000000] [--time-limit 600]

Expect growth until the bounded caches are full (16,384 journeys, 4,096 rendered parcels), then
a flat line: the 25 % → 100 % growth is the figure that would reveal per-parcel state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from peakbench.plan.clock import ClockSpec
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0
MILESTONES = (0.0, 0.25, 0.5, 0.75, 1.0)


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def start_server(run: Path) -> tuple[subprocess.Popen[bytes], str]:
    (run / "fleet.json").write_text(json.dumps({"seed": 1, "carriers": [{"name": "bench"}]}))
    clock = ClockSpec(start_epoch=START, scale=1.0, wall_epoch=time.time())
    (run / "clock.json").write_text(json.dumps(clock.to_json()))
    ready = run / "mocks.ready.json"
    command = [sys.executable, "-m", "mocks", "serve", "--config", str(run / "fleet.json")]
    command += ["--clock", str(run / "clock.json"), "--journal-dir", str(run / "journals")]
    command += ["--ready-file", str(ready)]
    env = {**os.environ, "PEAKBENCH_CARRIER_KEYS": json.dumps({"bench": ["bench-key"]})}
    proc = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 20
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the mock server did not start")
        time.sleep(0.05)
    return proc, json.loads(ready.read_text())["carriers"]["bench"]["base_url"]


def batch_body(index: int, batch: int) -> bytes:
    lanes = ("cross-border", "domestic", "domestic", "domestic", "domestic")
    first = index * batch
    numbers = [
        make_tracking_number(START - 86400 - (i % 500_000) * 7, lanes[i % 5], i)
        for i in range(first, first + batch)
    ]
    return json.dumps({"tracking_numbers": numbers}).encode()


async def pull(
    base_url: str, pid: int, requests: int, batch: int, concurrency: int, time_limit: float
) -> list[tuple[float, int, float, float]]:
    """Rows of (share, requests done, RSS MiB, elapsed s) at each milestone."""
    marks = [round(m * requests) for m in MILESTONES]
    rows = [(0.0, 0, rss_mib(pid), 0.0)]
    began = time.monotonic()
    next_index = 0
    done = 0
    failures = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal next_index, done, failures
        while next_index < requests and time.monotonic() - began < time_limit:
            index = next_index
            next_index += 1
            response = await client.post("/v1/trackings/batch", content=batch_body(index, batch))
            if response.status_code != 200:
                failures += 1
            done += 1
            for share, mark in zip(MILESTONES[1:], marks[1:], strict=True):
                if done == mark:
                    rows.append((share, done, rss_mib(pid), time.monotonic() - began))

    headers = {"X-Api-Key": "bench-key", "content-type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30
    ) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    if done < requests:
        rows.append((done / requests, done, rss_mib(pid), time.monotonic() - began))
        print(f"time limit reached after {done:,} of {requests:,} requests")
    if failures:
        print(f"{failures:,} requests did not get 200")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=600.0, help="wall seconds")
    args = parser.parse_args()
    requests = args.numbers // args.batch
    with tempfile.TemporaryDirectory(prefix="bench-mock-") as tmp:
        proc, base_url = start_server(Path(tmp))
        try:
            rows = asyncio.run(
                pull(base_url, proc.pid, requests, args.batch, args.concurrency, args.time_limit)
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=10)
        lines = sum(1 for _ in (Path(tmp) / "journals" / "carrier-bench.jsonl").open())
    print(f"\nmock carrier memory: {args.numbers:,} distinct numbers, batches of {args.batch}")
    print(f"{'progress':>9} {'requests':>9} {'numbers':>10} {'RSS MiB':>8} {'elapsed s':>10}")
    for share, done, rss, elapsed in rows:
        numbers = done * args.batch
        print(f"{share:>8.0%} {done:>9,} {numbers:>10,} {rss:>8.1f} {elapsed:>10.1f}")
    first, quarter, last = rows[0][2], rows[1][2], rows[-1][2]
    elapsed = rows[-1][3]
    print(f"growth 0% → 100%: {last - first:+.1f} MiB; 25% → 100%: {last - quarter:+.1f} MiB")
    print(
        f"throughput: {rows[-1][1] / max(elapsed, 1e-9):,.0f} req/s, "
        f"{rows[-1][1] * args.batch / max(elapsed, 1e-9):,.0f} numbers/s"
    )
    print(f"journal lines: {lines:,}; server exit code on SIGTERM: {code}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
