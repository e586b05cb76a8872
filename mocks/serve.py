"""Serving a carrier fleet: one uvicorn server per carrier, each on its own port, one event loop.

The process contract (common brief): bind 127.0.0.1 port 0 ourselves and hand the socket to
uvicorn; once every carrier listens, write the ready file atomically
(``{"pid", "carriers": {"<name>": {"port", "base_url"}}}``); flush journals every wall second;
on SIGTERM/SIGINT, or when the parent dies (``os.getppid()`` changes), stop within about a
second, flushing journals, and exit 0.

``python -m mocks serve`` (see :mod:`mocks.__main__`) and ``peakbench mocks serve`` both end in
:func:`serve_fleet`; :func:`main` parses their arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path

import uvicorn
import uvloop

from mocks._server import base_url, listen, server_config, watch_parent, write_ready_file
from mocks.app import create_carrier_app
from mocks.journal import Journal
from peakbench.clock import ClockSpec, WallClock
from peakbench.config.fleet import FleetSpec

FLUSH_EVERY_S = 1.0
"""Wall seconds between journal flushes."""
GRACE_S = 0.5
"""Wall seconds in-flight requests get to finish at shutdown."""


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to us: several share one loop and one process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def run_fleet(
    fleet: FleetSpec,
    clock_spec: ClockSpec,
    journal_dir: Path,
    ready_file: Path,
    host: str = "127.0.0.1",
    keys: Mapping[str, Sequence[str]] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve every carrier of ``fleet`` until ``stop`` is set, a signal arrives or the parent dies.

    ``keys``: carrier name → accepted API keys (a carrier without an entry accepts any key).
    """
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    clock = WallClock(clock_spec)
    keys = keys or {}
    journals: list[Journal] = []
    servers: list[_Server] = []
    tasks: list[asyncio.Task[None]] = []
    ready: dict[str, dict[str, object]] = {}
    try:
        for carrier in fleet.carriers:
            journal = Journal(carrier.name, journal_dir / f"carrier-{carrier.name}.jsonl")
            journals.append(journal)
            app = create_carrier_app(
                carrier, fleet, clock, list(keys.get(carrier.name, ())), journal
            )
            sock = listen(host)
            port = sock.getsockname()[1]
            config = server_config(app, GRACE_S)
            server = _Server(config)
            servers.append(server)
            tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
            ready[carrier.name] = {"port": port, "base_url": base_url(host, port)}
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks) or stop.is_set():
                break
            await asyncio.sleep(0.01)
        else:
            write_ready_file(ready_file, {"pid": os.getpid(), "carriers": ready})
        watchers = [
            asyncio.create_task(_flush_journals(journals)),
            asyncio.create_task(watch_parent(stop.set)),
        ]
        ended = asyncio.create_task(stop.wait())
        await asyncio.wait([ended, *tasks], return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        for watcher in watchers:
            watcher.cancel()
    finally:
        for server in servers:
            server.should_exit = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for journal in journals:
            journal.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise RuntimeError(f"a carrier server failed: {failures[0]!r}") from failures[0]


async def _flush_journals(journals: Sequence[Journal]) -> None:
    while True:
        await asyncio.sleep(FLUSH_EVERY_S)
        for journal in journals:
            journal.flush()


def serve_fleet(
    fleet: FleetSpec,
    clock_spec: ClockSpec,
    journal_dir: Path,
    ready_file: Path,
    host: str = "127.0.0.1",
    keys: Mapping[str, Sequence[str]] | None = None,
) -> int:
    """Run the fleet's mock carriers on a uvloop loop until told to stop; returns the exit code."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run_fleet(fleet, clock_spec, journal_dir, ready_file, host, keys))
    return 0


def parse_keys(text: str | None) -> dict[str, list[str]]:
    """``PEAKBENCH_CARRIER_KEYS`` (JSON ``{"<carrier>": ["<key>", ...]}``); ValueError if bad."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"PEAKBENCH_CARRIER_KEYS is not JSON: {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(k, str) for k in v) for v in data.values()
    ):
        raise ValueError('PEAKBENCH_CARRIER_KEYS must look like {"<carrier>": ["<key>", ...]}')
    return data


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """``mocks serve --config F --clock F --journal-dir D --ready-file F [--host H]``."""
    parser = argparse.ArgumentParser(prog="python -m mocks", description="Mock carrier servers.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a carrier fleet until SIGTERM")
    serve.add_argument("--config", type=Path, required=True, help="RUN/fleet.json")
    serve.add_argument("--clock", type=Path, required=True, help="RUN/clock.json")
    serve.add_argument("--journal-dir", type=Path, required=True, help="RUN/journals")
    serve.add_argument("--ready-file", type=Path, required=True, help="RUN/mocks.ready.json")
    serve.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        fleet = FleetSpec.model_validate(json.loads(args.config.read_text(encoding="utf-8")))
        clock_spec = ClockSpec.from_json(json.loads(args.clock.read_text(encoding="utf-8")))
        keys = parse_keys(environ.get("PEAKBENCH_CARRIER_KEYS"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = " ".join(str(exc).split())
        print(f"mocks serve: {message}", file=sys.stderr)
        return 2
    return serve_fleet(fleet, clock_spec, args.journal_dir, args.ready_file, args.host, keys)
