"""A small constant-rate (open-model) HTTP/1.1 load generator, for the 50 ms-delay comparison.

Why our own: the rate-controlled tools (wrk2, vegeta, oha) are not installable on this machine
(no Debian package; the Go and Rust registries are out of reach), and ``wrk`` is closed-loop:
a slow answer delays the next request, which hides queueing (coordinated omission).

Request ``i`` is due at ``start + i / rate``. It goes out on an idle keep-alive connection; when
none is idle it waits in a backlog (and a new connection is opened). Latency is measured from
the DUE time, not the send time, so any backlog shows up in the figures instead of vanishing.
The generator's own lateness (send time − due time) is reported too, so a generator that could
not keep up is visible. One request in flight per connection, no pipelining. Loopback only.

    python benchmarks/_rate.py --url http://127.0.0.1:PORT/path --rate 4000 --duration 15 \
        [--header 'X-Api-Key: k'] [--connections 400]

Prints one JSON object: rate, sent, done, errors, non_2xx, achieved_rps, latency_ms
(p50, p90, p99, p999, max; from the due time), from_send_ms (p50, p99, p999; from the actual
send, i.e. without the generator's own lateness), send_lag_ms (p50, p99, max), connections.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import time
from urllib.parse import urlsplit

import httptools
import uvloop

DRAIN_S = 5.0
"""Wall seconds allowed for answers still in flight when the schedule ends."""


class Generator:
    """Shared state of one run: the schedule, the idle pool, and the measurements."""

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.idle: collections.deque[Connection] = collections.deque()
        self.backlog: collections.deque[float] = collections.deque()
        self.latencies: list[float] = []
        self.service: list[float] = []
        self.lags: list[float] = []
        self.errors = 0
        self.non_2xx = 0
        self.opened = 0
        self.opening = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self.opening += 1
        try:
            await loop.create_connection(lambda: Connection(self), self.host, self.port)
            self.opened += 1
        except OSError:
            self.errors += 1
        finally:
            self.opening -= 1

    def dispatch(self, due: float) -> None:
        """Send the request due at ``due`` now, or queue it until a connection is free."""
        if self.idle:
            self.idle.popleft().send(due)
        else:
            self.backlog.append(due)
            if self.opening < 64:
                task = asyncio.ensure_future(self.open())
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    def ready(self, conn: Connection) -> None:
        """``conn`` is free: serve the oldest backlog entry, else park it."""
        if self.backlog:
            conn.send(self.backlog.popleft())
        else:
            self.idle.append(conn)


class Connection(asyncio.Protocol):
    """One keep-alive connection, one request in flight."""

    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.due = 0.0
        self.sent_at = 0.0
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio subclass
        self.gen.ready(self)

    def send(self, due: float) -> None:
        assert self.transport is not None
        self.due = due
        self.busy = True
        self.sent_at = time.perf_counter()
        self.gen.lags.append(self.sent_at - due)
        self.transport.write(self.gen.request)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.gen.errors += 1
            assert self.transport is not None
            self.transport.close()

    def on_message_complete(self) -> None:
        now = time.perf_counter()
        self.gen.latencies.append(now - self.due)
        self.gen.service.append(now - self.sent_at)
        if not 200 <= self.parser.get_status_code() < 300:
            self.gen.non_2xx += 1
        self.busy = False
        self.gen.ready(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self.gen.idle:
            self.gen.idle.remove(self)
        if self.busy:
            self.gen.errors += 1
            self.gen.dispatch(self.due)  # the request still counts, from its due time


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of already sorted ``values``."""
    if not values:
        return float("nan")
    rank = max(0, min(len(values) - 1, round(share * len(values) + 0.5) - 1))
    return values[rank]


async def run(
    url: str, rate: float, duration: float, headers: list[str], connections: int
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", *headers, "", ""]
    gen = Generator(host, port, "\r\n".join(lines).encode())
    await asyncio.gather(*(gen.open() for _ in range(connections)))
    total = int(rate * duration)
    start = time.perf_counter() + 0.05
    sent = 0
    while sent < total:
        now = time.perf_counter()
        due_count = min(total, int((now - start) * rate) + 1) if now >= start else 0
        while sent < due_count:
            gen.dispatch(start + sent / rate)
            sent += 1
        await asyncio.sleep(0.0005)
    ended = time.perf_counter()
    deadline = ended + DRAIN_S
    while len(gen.latencies) + gen.errors < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    latencies = sorted(gen.latencies)
    lags = sorted(gen.lags)
    service = sorted(gen.service)
    ms = 1000.0
    return {
        "rate": rate,
        "duration_s": duration,
        "sent": total,
        "done": len(latencies),
        "errors": gen.errors,
        "non_2xx": gen.non_2xx,
        "achieved_rps": round(len(latencies) / max(ended - start, 1e-9), 1),
        "latency_ms": {
            name: round(percentile(latencies, q) * ms, 2)
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999))
        }
        | {"max": round(latencies[-1] * ms, 2) if latencies else None},
        "from_send_ms": {
            name: round(percentile(service, q) * ms, 2)
            for name, q in (("p50", 0.5), ("p99", 0.99), ("p999", 0.999))
        },
        "send_lag_ms": {
            "p50": round(percentile(lags, 0.5) * ms, 2),
            "p99": round(percentile(lags, 0.99) * ms, 2),
            "max": round(lags[-1] * ms, 2) if lags else None,
        },
        "connections": gen.opened,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, required=True, help="wall seconds")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--connections", type=int, default=400, help="opened before the start")
    args = parser.parse_args()
    if not (urlsplit(args.url).hostname or "").startswith(("127.", "localhost")):
        print("loopback targets only", file=sys.stderr)
        return 2
    result = uvloop.run(run(args.url, args.rate, args.duration, args.header, args.connections))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
