"""Our mock carrier against WireMock 3.13.2, side by side in one run, same payload, same load.

Three servers run at once, each pinned to core 1 (``taskset -c 1``); the load generators run on
core 0. The payload is the generic personality's tracking JSON for one delivered parcel: our
mock computes it (personality ``generic``, a quota high enough never to refuse so the quota
logic runs on every request, the request journal writing to disk); WireMock serves the same
bytes from a stub mapping, as shipped (request journal on) and in its fastest configuration
(request journal off), both with asynchronous responses.

1. Throughput, closed loop: ``wrk -t1 -c64`` for ``--seconds`` per repetition, repetitions
   interleaved (ours, WireMock, ours, ...) after warming WireMock up for ``--warmup`` seconds.
   Figures: median req/s of each, and our ratio to each WireMock (target ≥ 1.5).
2. Latency at a constant rate (open model) with a 50 ms injected delay (ours: a ``fixed``
   latency behaviour at clock scale 1; WireMock: ``fixedDelayMilliseconds: 50``):
   ``benchmarks/_rate.py`` at ``--rate`` req/s for ``--rate-seconds``, interleaved, p50 / p99 /
   p99.9 measured from each request's due time (target: our p99 ≤ 65 ms at 4,000 req/s).

    make bench   # or: .venv/bin/python benchmarks/bench_mock_vs_wiremock.py [--reps 3]

Needs ``wrk`` (Debian: ``apt-get install wrk``), Java 17+ and npm; WireMock is installed on first
use with ``npm install wiremock@3.13.2`` into ``benchmarks/.cache`` (git-ignored). Loopback only;
every phase is bounded in time. Writes ``benchmarks/out/mock-vs-wiremock-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from peakbench.plan.clock import ClockSpec
from peakbench.plan.timeline import make_tracking_number

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
OUT = HERE / "out"
WIREMOCK_VERSION = "3.13.2"
WIREMOCK_PACKAGE = f"wiremock@{WIREMOCK_VERSION}"
WIREMOCK_JAR = CACHE / "node_modules/wiremock/build" / f"wiremock-standalone-{WIREMOCK_VERSION}.jar"
SERVER_CORE, LOAD_CORE = "1", "0"
START = 1_795_755_600.0
"""Calendar start of the mock's clock (2026-11-26 00:00 UTC)."""
KEY = "bench-key"
DELAY_MS = 50
NUMBER = make_tracking_number(START - 20 * 86400, "domestic", 7)
"""Shipped 20 days before the clock start: delivered, so its answer no longer changes."""
PATH = f"/v1/trackings/{NUMBER}"
SLOW_PREFIX = "/slow"
"""WireMock serves the delayed copy of the stub under this prefix (one process, two stubs)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(core: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", core, *command]


def wait_until(check: object, what: str, timeout_s: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with code {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError, OSError, ValueError):
            if callable(check) and check():
                return
        time.sleep(0.1)
    raise SystemExit(f"{what} did not start within {timeout_s:.0f} s")


@contextlib.contextmanager
def our_mock(run: Path) -> Iterator[dict[str, str]]:
    """``python -m mocks serve`` with two carriers: ``bench`` (quota) and ``slow`` (quota and
    50 ms fixed latency). Yields carrier name → base URL."""
    quota = {"type": "quota", "limit": 1_000_000_000, "per": "1s"}
    latency = {"type": "latency", "distribution": "fixed", "delay": f"{DELAY_MS}ms"}
    fleet = {
        "seed": 1,
        "carriers": [
            {"name": "bench", "personality": "generic", "behaviours": [quota]},
            {"name": "slow", "personality": "generic", "behaviours": [quota, latency]},
        ],
    }
    (run / "fleet.json").write_text(json.dumps(fleet))
    clock = ClockSpec(start_epoch=START, scale=1.0, wall_epoch=time.time())
    (run / "clock.json").write_text(json.dumps(clock.to_json()))
    ready = run / "mocks.ready.json"
    command = [sys.executable, "-m", "mocks", "serve", "--config", str(run / "fleet.json")]
    command += ["--clock", str(run / "clock.json"), "--journal-dir", str(run / "journals")]
    command += ["--ready-file", str(ready)]
    keys = json.dumps({"bench": [KEY], "slow": [KEY]})
    env = {**os.environ, "PEAKBENCH_CARRIER_KEYS": keys}
    proc = subprocess.Popen(pinned(SERVER_CORE, command), env=env, cwd=HERE.parent)
    try:
        wait_until(ready.exists, "our mock", 20, proc)
        carriers = json.loads(ready.read_text())["carriers"]
        yield {name: str(info["base_url"]) for name, info in carriers.items()}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def ensure_wiremock() -> Path:
    if not WIREMOCK_JAR.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / ".gitignore").write_text("*\n")
        npm = shutil.which("npm") or "npm"
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), WIREMOCK_PACKAGE],
            check=True,
        )
    return WIREMOCK_JAR


def _rotation(names: list[str], rep: int) -> list[str]:
    """The order of one repetition: each server goes first in turn (interleaving)."""
    k = rep % len(names)
    return names[k:] + names[:k]


@contextlib.contextmanager
def wiremock(body: bytes, journal: bool) -> Iterator[str]:
    """WireMock on one core with the payload as two stubs (plain and 50 ms delayed).

    ``journal``: WireMock as shipped, its request journal on (unbounded: a bounded one,
    ``--max-request-journal-entries 100000``, serves ~400 req/s here); else its fastest
    configuration, the journal off. Asynchronous responses keep a 50 ms delay from holding a
    container thread in both.
    """
    port = free_port()
    command = ["java", "-jar", str(ensure_wiremock()), "--port", str(port)]
    command += ["--bind-address", "127.0.0.1", "--disable-banner"]
    command += ["--async-response-enabled", "true"]
    if not journal:
        command += ["--no-request-journal"]
    with tempfile.TemporaryDirectory(prefix="wiremock-") as root:
        command += ["--root-dir", root]
        proc = subprocess.Popen(
            pinned(SERVER_CORE, command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda: httpx.get(f"{url}/__admin/health", timeout=2).status_code == 200,
                "WireMock",
                60,
                proc,
            )
            for prefix, delay in (("", None), (SLOW_PREFIX, DELAY_MS)):
                response: dict[str, object] = {
                    "status": 200,
                    "body": body.decode(),
                    "headers": {"Content-Type": "application/json"},
                }
                if delay:
                    response["fixedDelayMilliseconds"] = delay
                mapping = {
                    "request": {
                        "method": "GET",
                        "urlPath": prefix + PATH,
                        "headers": {"X-Api-Key": {"equalTo": KEY}},
                    },
                    "response": response,
                }
                httpx.post(f"{url}/__admin/mappings", json=mapping, timeout=5).raise_for_status()
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def wrk(url: str, seconds: float, connections: int = 64) -> dict[str, float]:
    """Closed-loop throughput with wrk on the load core: req/s and latency percentiles (ms)."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    command += ["-H", f"X-Api-Key: {KEY}", url]
    out = subprocess.run(
        pinned(LOAD_CORE, command), capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not rps:
        raise SystemExit(f"wrk printed no throughput:\n{out}")
    result = {"rps": float(rps.group(1))}
    for name in ("50", "99"):
        found = re.search(rf"^\s+{name}%\s+([\d.]+)(us|ms|s)", out, re.MULTILINE)
        if found:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
            result[f"p{name}_ms"] = round(float(found.group(1)) * scale, 3)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["non_2xx"] = float(non_2xx.group(1)) if non_2xx else 0.0
    return result


def constant_rate(url: str, rate: float, seconds: float) -> dict[str, object]:
    """Open-model load from ``_rate.py`` on the load core."""
    command = [sys.executable, str(HERE / "_rate.py"), "--url", url, "--rate", f"{rate:g}"]
    command += ["--duration", f"{seconds:g}", "--header", f"X-Api-Key: {KEY}"]
    command += ["--connections", str(int(rate * 0.1))]
    out = subprocess.run(
        pinned(LOAD_CORE, command), capture_output=True, text=True, timeout=seconds + 60
    )
    if out.returncode != 0:
        raise SystemExit(f"_rate.py failed: {out.stderr.strip()}")
    result: dict[str, object] = json.loads(out.stdout)
    return result


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "java": java.splitlines()[0] if java else "unknown",
        "wrk": wrk_version.split("\n")[0].strip(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions per phase")
    parser.add_argument("--seconds", type=float, default=10, help="wall seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=20, help="WireMock warm-up, seconds")
    parser.add_argument("--rate", type=float, default=4000, help="req/s of the delay phase")
    parser.add_argument("--rate-seconds", type=float, default=15)
    args = parser.parse_args()
    for tool in ("wrk", "java", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is needed (apt-get install wrk / a JDK / util-linux)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores: one for the servers, one for the load generators")
    ensure_wiremock()
    report: dict[str, object] = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    report["machine"] = machine()
    with tempfile.TemporaryDirectory(prefix="bench-wm-") as tmp, our_mock(Path(tmp)) as ours:
        reply = httpx.get(ours["bench"] + PATH, headers={"X-Api-Key": KEY}, timeout=5)
        reply.raise_for_status()
        body = reply.content
        report["payload_bytes"] = len(body)
        with wiremock(body, journal=False) as wm, wiremock(body, journal=True) as wmj:
            for url in (wm, wmj):
                check = httpx.get(url + PATH, headers={"X-Api-Key": KEY}, timeout=5)
                if check.content != body:
                    raise SystemExit("WireMock does not serve the same payload")
            targets = {"ours": ours["bench"], "wiremock": wm, "wiremock-journal": wmj}
            slow = {
                "ours": ours["slow"] + PATH,
                "wiremock": wm + SLOW_PREFIX + PATH,
                "wiremock-journal": wmj + SLOW_PREFIX + PATH,
            }
            targets = {name: url + PATH for name, url in targets.items()}
            print(
                f"payload {len(body)} bytes; warming up each WireMock for {args.warmup:g} s ...",
                flush=True,
            )
            wrk(targets["wiremock"], args.warmup)
            wrk(targets["wiremock-journal"], args.warmup)
            wrk(targets["ours"], 3)
            throughput: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
            for rep in range(args.reps):
                for name in _rotation(list(targets), rep):
                    result = wrk(targets[name], args.seconds)
                    throughput[name].append(result)
                    print(
                        f"  throughput rep {rep + 1} {name:>16}: {result['rps']:>9,.0f} req/s",
                        flush=True,
                    )
            for name in ("wiremock", "wiremock-journal"):  # warm the delayed path as well
                constant_rate(slow[name], args.rate, 5)
            delayed: dict[str, list[dict[str, object]]] = {name: [] for name in targets}
            for rep in range(args.reps):
                for name in _rotation(list(targets), rep):
                    result2 = constant_rate(slow[name], args.rate, args.rate_seconds)
                    delayed[name].append(result2)
                    print(
                        f"  {args.rate:g} req/s + {DELAY_MS} ms rep {rep + 1} {name:>16}: "
                        f"{result2['latency_ms']} sent {result2['sent']} done {result2['done']} "
                        f"errors {result2['errors']}",
                        flush=True,
                    )
        journal = Path(tmp) / "journals" / "carrier-bench.jsonl"
        journal_lines = sum(1 for _ in journal.open()) if journal.exists() else 0
    medians = {name: statistics.median(r["rps"] for r in rows) for name, rows in throughput.items()}
    ratio = medians["ours"] / medians["wiremock"]
    ratio_journal = medians["ours"] / medians["wiremock-journal"]
    latency = {
        name: {
            q: statistics.median(float(r["latency_ms"][q]) for r in rows)  # type: ignore[index]
            for q in ("p50", "p99", "p999")
        }
        for name, rows in delayed.items()
    }
    from_send = {
        name: {
            q: statistics.median(float(r["from_send_ms"][q]) for r in rows)  # type: ignore[index]
            for q in ("p50", "p99", "p999")
        }
        for name, rows in delayed.items()
    }
    send_lag = {
        name: statistics.median(float(r["send_lag_ms"]["p99"]) for r in rows)  # type: ignore[index]
        for name, rows in delayed.items()
    }
    report.update(
        throughput=throughput,
        delayed=delayed,
        medians_rps=medians,
        ratio=round(ratio, 2),
        ratio_journal=round(ratio_journal, 2),
        latency_medians_ms=latency,
        from_send_medians_ms=from_send,
        generator_send_lag_p99_ms=send_lag,
        journal_lines=journal_lines,
        targets={
            "throughput_ratio_ge_1_5_journals_on": ratio_journal >= 1.5,
            "throughput_ratio_ge_1_5_wiremock_journal_off": ratio >= 1.5,
            "p99_within_15ms_of_50": latency["ours"]["p99"] <= DELAY_MS + 15,
        },
        args=vars(args),
    )
    OUT.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = OUT / f"mock-vs-wiremock-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nthroughput, 1 core, wrk -t1 -c64, median of {args.reps}:")
    print(f"  ours (journal on)          {medians['ours']:>9,.0f} req/s")
    print(
        f"  WireMock, journal on       {medians['wiremock-journal']:>9,.0f} req/s   "
        f"ratio {ratio_journal:.2f} (target ≥ 1.5)"
    )
    print(
        f"  WireMock, journal off      {medians['wiremock']:>9,.0f} req/s   "
        f"ratio {ratio:.2f} (target ≥ 1.5)"
    )
    print(f"{DELAY_MS} ms injected delay at {args.rate:,.0f} req/s (open model), median of reps:")
    for name, figures in latency.items():
        cells = "  ".join(f"{q} {v:6.1f} ms" for q, v in figures.items())
        sent = "  ".join(f"{q} {v:6.1f}" for q, v in from_send[name].items())
        print(f"  {name:<16} {cells}   (from send: {sent}; generator lag p99 {send_lag[name]} ms)")
    print(f"our journal: {journal_lines:,} lines; results: {path}")
    met = all(report["targets"].values())  # type: ignore[attr-defined]
    print("targets met" if met else f"targets missed: {report['targets']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
