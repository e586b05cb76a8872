"""How fast the replay harness itself goes, and what it costs per request beside bare Locust.

Against a trivial target (a raw ASGI app on uvicorn answering the store's routes with canned
bodies), two measurements, in one run:

1. **Sustained rate**: the replay (``loadtests/locustfile.py``, ``--processes 2`` by default)
   executes open-model schedules of rising rate (orders + ships + views, 1 order : 1 ship : 3
   views) at clock scale 1; the highest rate whose arrival lateness p99 (from the merged
   ``progress.json``) stays under ``--bound-ms`` is what the harness sustains.
2. **CPU per request**: at one fixed rate, one Locust process each, the replay and a bare
   FastHttpUser (``benchmarks/bare_locustfile.py``, the same requests) are measured over the
   same steady window: process CPU time (psutil, user + system) over requests the target
   counted. Several repetitions, alternating; medians.

    .venv/bin/python benchmarks/bench_harness.py [--rates 1000,2000,...] [--cpu-rate 400] \\
        [--reps 3] [--processes 2] [--only rate|cpu] [--baseline OTHER_CHECKOUT ...] \\
        [--bare burst,spread,burst-sync]
        [--out benchmarks/out/harness.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from peakbench.plan.clock import ClockSpec  # noqa: E402
from peakbench.plan.schedule import Item, write_schedule  # noqa: E402

CREDENTIALS = {"consumer_key": "ck_bench", "consumer_secret": "cs_bench"}
VIEWS_PER_ORDER = 3
REQUESTS_PER_ORDER = 2 + VIEWS_PER_ORDER
PAGE = (
    b"<!doctype html><html><body><h1>Order tracking</h1>"
    b'<p class="tracking-status" data-status="in_transit">In transit</p><ul>'
    b'<li class="tracking-event" data-status="in_transit" '
    b'data-occurred="2026-11-27T10:15:00-05:00">Departed</li>'
    b'<li class="tracking-event" data-status="info_received" '
    b'data-occurred="2026-11-27T08:00:00-05:00">Label</li></ul></body></html>'
)
ORDER = json.dumps(
    {"id": 101, "order_key": "wc_order_bench", "status": "processing", "number": "101"}
).encode()
SHIPPED = b'{"tracking_id":"t1","tracking_provider":"generic","tracking_number":"x"}'


# -- the trivial target ---------------------------------------------------------------------------


def serve_target(ready: Path) -> None:
    """Raw ASGI app: canned answers to the store routes; GET /__count = requests served."""
    import asyncio

    import uvicorn

    served = [0]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path: str = scope["path"]
        more = True
        while more:  # drain the body
            more = (await receive()).get("more_body", False)
        if path == "/__count":
            status, body, ctype = 200, str(served[0]).encode(), b"text/plain"
        else:
            served[0] += 1
            if path.startswith("/order-tracking/"):
                status, body, ctype = 200, PAGE, b"text/html; charset=utf-8"
            elif path.endswith("/shipment-trackings"):
                status, body, ctype = 201, SHIPPED, b"application/json"
            else:
                status, body, ctype = 201, ORDER, b"application/json"
        headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # uvicorn writes a response's headers and body separately and uvloop leaves Nagle on for a
    # socket handed to it: without this every response waits ~40 ms for the client's delayed ACK
    # (accepted sockets inherit the option on Linux).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, loop="uvloop", http="httptools", lifespan="on", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        tmp = ready.with_name(ready.name + ".tmp")
        tmp.write_text(json.dumps({"url": f"http://127.0.0.1:{sock.getsockname()[1]}"}))
        os.replace(tmp, ready)
        await task

    asyncio.run(main())


def _count(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(url + "/__count", timeout=5) as resp:
        return int(resp.read())


# -- runs -----------------------------------------------------------------------------------------


def _schedule(rate: float, seconds: float) -> list[Item]:
    """``rate`` requests/s for ``seconds``: orders evenly spaced, ship +1 s, views +2/+3/+4 s."""
    orders = int(rate * seconds / REQUESTS_PER_ORDER)
    items: list[Item] = []
    for ref in range(orders):
        t = ref * REQUESTS_PER_ORDER / rate
        number = f"PBD{ref:013d}"
        items.append(Item(t, "order", ref))
        items.append(Item(t + 1.0, "ship", ref, "generic", number))
        items += [Item(t + 1.0 + v, "view", ref, "generic", number) for v in (1, 2, 3)]
    return sorted(items, key=lambda i: i.t)


def _env() -> dict[str, str]:
    return {**os.environ, "PEAKBENCH_STORE_CREDENTIALS": json.dumps(CREDENTIALS)}


def _replay_cmd(
    run: Path,
    url: str,
    rate: float,
    seconds: float,
    processes: int,
    warmup: float,
    root: Path = ROOT,
) -> list[str]:
    run.mkdir(parents=True)
    write_schedule(run / "schedule.csv", _schedule(rate, seconds))
    spec = ClockSpec(1_795_755_600.0, 1.0, time.time() + warmup)
    users = max(20, int(rate / 25)) * max(1, processes)
    config = {
        "clock": spec.to_json(),
        "schedule": "schedule.csv",
        "journal": "journals/replay.jsonl",
        "progress": "progress.json",
        "late_after": 0.05,
        "users": users,
    }
    (run / "replay.json").write_text(json.dumps(config))
    cmd = [
        sys.executable, "-m", "locust", "-f", str(root / "loadtests" / "locustfile.py"),
        "--headless", "--users", str(users), "--spawn-rate", str(users), "--host", url,
        "--csv", str(run / "locust"), "--only-summary", "--loglevel", "WARNING",
        "--exit-code-on-error", "0", "--peakbench-replay", str(run / "replay.json"),
    ]  # fmt: skip
    if processes > 1:
        cmd += ["--processes", str(processes)]
    return cmd


def sustained(url: str, rate: float, seconds: float, processes: int, tmp: Path) -> dict[str, Any]:
    run = tmp / f"rate-{int(rate)}-{time.monotonic_ns()}"
    cmd = _replay_cmd(run, url, rate, seconds, processes, warmup=3.0 + processes)
    subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, timeout=seconds + 60)
    progress = json.loads((run / "progress.json").read_text())
    executed = sum(progress["done"].values()) + sum(progress["failed"].values())
    return {
        "rate": rate,
        "processes": processes,
        "scheduled": sum(progress["scheduled"].values()),
        "executed": executed,
        "failed": sum(progress["failed"].values()),
        "dropped": sum(progress.get("dropped", {}).values()),
        "late": sum(progress["late"].values()),
        "finished": progress["finished"],
        "lateness_ms": {
            k: None if v is None else round(v * 1000, 1)
            for k, v in progress["lateness_s"].items()
            if k != "count"
        },
    }


def _on_cpu_s(process: psutil.Process) -> float:
    """Seconds ``process`` has run on a CPU (user + system), to the nanosecond: the sum of its
    threads' ``/proc/PID/task/TID/schedstat``. psutil's ``cpu_times`` counts 10 ms ticks, which
    over a window of a few thousand requests is a step of ~3 µs per request."""
    total_ns = 0
    try:
        for task in Path(f"/proc/{process.pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):  # a thread that ended
                total_ns += int((task / "schedstat").read_text().split()[0])
    except FileNotFoundError:
        raise psutil.NoSuchProcess(process.pid) from None
    if total_ns == 0:  # no schedstat (kernel without it): psutil's ticks
        t = process.cpu_times()
        return float(t.user + t.system)
    return total_ns / 1e9


def _cpu_window(
    cmd: list[str],
    env: dict[str, str],
    url: str,
    start_in: float,
    window: float,
    cwd: Path = ROOT,
) -> tuple[float, float]:
    """(µs of CPU of the process tree per request the target served, times the process tree
    went to sleep (voluntary context switches) per request) over the steady window."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        ps = psutil.Process(proc.pid)
        time.sleep(start_in)

        def cpu() -> tuple[float, int]:
            total, sleeps = 0.0, 0
            for p in [ps, *ps.children(recursive=True)]:
                try:
                    total += _on_cpu_s(p)
                    sleeps += p.num_ctx_switches().voluntary
                except psutil.NoSuchProcess:
                    pass
            return total, sleeps

        (c0, s0), n0 = cpu(), _count(url)
        time.sleep(window)
        (c1, s1), n1 = cpu(), _count(url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    n = max(1, n1 - n0)
    return (c1 - c0) / n * 1e6, (s1 - s0) / n


BARE_VARIANTS = ("burst", "spread", "burst-sync", "spread-sync", "burst-sync-nocsv")
"""How the bare user runs (``bare_locustfile.py``): ``burst`` = an iteration's five requests back
to back after one wake-up, users in staggered phases so that the process starts one iteration
at each instant where the benchmark schedule puts an order, a ship and three views (the replay's
pacing, see :func:`_schedule`); ``spread`` = one wake-up per request, every request at its own
instant, evenly spaced; ``-sync`` = users in step (Locust's ``constant_throughput``), so the
process sends every user's iteration in one burst a few times a second and idles in between
(the reference before the evening of 2026-11-24); ``-nocsv`` = without Locust's ``--csv``."""


def _bare_env(variant: str, rate: float, users: int) -> dict[str, str]:
    return {
        **_env(),
        "BARE_ITERATIONS_PER_S_PER_USER": str(rate / REQUESTS_PER_ORDER / users),
        "BARE_USERS": str(users),
        "BARE_PACING": variant.split("-")[0],
        "BARE_PHASES": "synchronized" if "-sync" in variant else "staggered",
    }


def _bare_cmd(url: str, users: int, seconds: float, variant: str, tmp: Path) -> list[str]:
    cmd = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "bare_locustfile.py"),
        "--headless", "--users", str(users), "--spawn-rate", str(users), "--host", url,
        "--only-summary", "--loglevel", "WARNING", "--run-time", f"{int(seconds)}s",
    ]  # fmt: skip
    if not variant.endswith("-nocsv"):  # the same Locust options as the replay's
        cmd += ["--csv", str(tmp / f"bare-{variant}-{time.monotonic_ns()}")]
    return cmd


def cpu_per_request(
    url: str,
    rate: float,
    reps: int,
    tmp: Path,
    baselines: tuple[Path, ...] = (),
    bare_variants: tuple[str, ...] = ("burst",),
) -> dict[str, Any]:
    """Replay vs bare, interleaved per repetition; ``baselines``: other checkouts whose replay
    (their ``loadtests/``, ``peakbench/``) runs in the same rotation, for before/after;
    ``bare_variants``: :data:`BARE_VARIANTS`, the first is the reference of ``overhead``."""
    # The schedule reaches its full rate at run second 4 (views come 2-4 s after their order);
    # Locust takes ~1.5 s to start: the window opens once both sides are steady.
    warm, window = 7.0, 8.0
    seconds = warm + window + 6.0
    harness: list[float] = []
    bares: dict[str, list[float]] = {v: [] for v in bare_variants}
    others: dict[str, list[float]] = {str(b): [] for b in baselines}
    sleeps: dict[str, list[float]] = {}
    users = max(20, int(rate / 25))

    def measure(label: str, into: list[float], *args: Any, **kwargs: Any) -> None:
        us, slept = _cpu_window(*args, **kwargs)
        into.append(us)
        sleeps.setdefault(label, []).append(slept)

    for rep in range(reps):
        cmd = _replay_cmd(tmp / f"cpu-{rep}", url, rate, seconds, 1, warmup=1.0)
        measure("replay", harness, cmd, _env(), url, warm, window)
        for variant in bare_variants:
            bare_cmd = _bare_cmd(url, users, seconds, variant, tmp)
            env = _bare_env(variant, rate, users)
            measure(f"bare {variant}", bares[variant], bare_cmd, env, url, warm, window)
        for i, base in enumerate(baselines):
            cmd = _replay_cmd(tmp / f"cpu-{rep}-base{i}", url, rate, seconds, 1, 1.0, root=base)
            measure(str(base), others[str(base)], cmd, _env(), url, warm, window, cwd=base)
    bare = bares[bare_variants[0]]
    h, b = statistics.median(harness), statistics.median(bare)
    result: dict[str, Any] = {
        "rate": rate,
        "reps": reps,
        "bare_variant": bare_variants[0],
        "harness_us_per_request": [round(x, 1) for x in harness],
        "bare_us_per_request": [round(x, 1) for x in bare],
        "harness_median_us": round(h, 1),
        "bare_median_us": round(b, 1),
        "overhead": round(h / b - 1, 3),
        # replay/bare within each rotation: robust to the shared machine's load drifting
        "overhead_per_rep": [round(x / y - 1, 3) for x, y in zip(harness, bare, strict=True)],
        "bare_variants": {
            variant: {
                "us_per_request": [round(x, 1) for x in values],
                "median_us": round(statistics.median(values), 1),
                "replay_overhead": round(h / statistics.median(values) - 1, 3),
            }
            for variant, values in bares.items()
        },
    }
    if baselines:
        result["baselines"] = {
            name: {
                "us_per_request": [round(x, 1) for x in values],
                "median_us": round(statistics.median(values), 1),
                "overhead": round(statistics.median(values) / b - 1, 3),
            }
            for name, values in others.items()
        }
    # why CPU per request differs between pacings: how often the process sleeps and wakes
    result["sleeps_per_request"] = {k: round(statistics.median(v), 2) for k, v in sleeps.items()}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="1000,2000,3000,4000,5000,6000,7000,8000")
    parser.add_argument("--seconds", type=float, default=10.0, help="schedule length per rate")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--bound-ms", type=float, default=100.0, help="lateness p99 bound")
    parser.add_argument("--cpu-rate", type=float, default=400.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", choices=("rate", "cpu"), help="run one of the two measurements")
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="CHECKOUT",
        help="also measure the replay of this checkout (before/after), in the same rotation",
    )
    parser.add_argument(
        "--bare",
        default="burst",
        help=f"bare-user variants, comma-separated, the first is the reference: {BARE_VARIANTS}",
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "harness.json"))
    parser.add_argument("--target", metavar="READY_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.target:
        serve_target(Path(args.target))
        return 0
    variants = tuple(args.bare.split(","))
    if set(variants) - set(BARE_VARIANTS):
        parser.error(f"--bare: choose from {BARE_VARIANTS}")
    with tempfile.TemporaryDirectory(prefix="bench-harness-") as name:
        tmp = Path(name)
        ready = tmp / "target.ready"
        target = subprocess.Popen([sys.executable, __file__, "--target", str(ready)])
        try:
            deadline = time.monotonic() + 15
            while not ready.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            url = json.loads(ready.read_text())["url"]
            steps = []
            best = 0.0
            rates = [] if args.only == "cpu" else [float(r) for r in args.rates.split(",")]
            for rate in rates:
                step = sustained(url, rate, args.seconds, args.processes, tmp)
                steps.append(step)
                print(json.dumps(step), flush=True)
                p99 = step["lateness_ms"]["p99"]
                ok = (
                    step["finished"]
                    and step["executed"] == step["scheduled"]
                    and not step["failed"]
                    and not step["dropped"]
                    and p99 is not None
                )
                if not (ok and p99 < args.bound_ms):
                    break
                best = rate
            cpu = None
            if args.only != "rate":
                baselines = tuple(Path(b).resolve() for b in args.baseline)
                cpu = cpu_per_request(url, args.cpu_rate, args.reps, tmp, baselines, variants)
                print(json.dumps(cpu), flush=True)
        finally:
            target.terminate()
            target.wait(timeout=10)
    result = {
        "machine": {"cpus": os.cpu_count(), "processes": args.processes},
        "bound_ms": args.bound_ms,
        "sustained_requests_per_s": best,
        "steps": steps,
        "cpu": cpu,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("sustained_requests_per_s", "bound_ms")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
