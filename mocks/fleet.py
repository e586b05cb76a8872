"""Serving a carrier fleet on one event loop: one uvicorn server per carrier, each on its own
port (default), or one shared port routing by Host header (``listen.mode: shared``).

The process contract (common brief): bind 127.0.0.1 port 0 ourselves and hand the socket to
uvicorn; once every carrier listens, write the ready file atomically
(``{"pid", "carriers": {"<name>": {"port", "base_url", "admin_url", "hosts"}}, "listen"}``);
start the push loops of carriers with ``push:``; flush journals every wall second;
on SIGTERM/SIGINT, or when the parent dies (``os.getppid()`` changes), stop within about a
second, flushing journals, and exit 0.

A restart on the same journal folder recovers each carrier's quota and ban state from its
journal, or says in one line why it cannot (:mod:`mocks.recovery`); journals are written in
size-bounded segments (:mod:`peakbench.measure.segments`). The command line that ends here is
:mod:`mocks.serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import uvicorn
import uvloop

from mocks._server import base_url, listen, server_config, watch_parent, write_ready_file
from mocks.app import CarrierApp, create_carrier_app
from mocks.hosts import HostRouter
from mocks.journal import Journal
from mocks.manifest import StateManifest
from mocks.push.wiring import PushWiring, start_pushes
from mocks.recovery import resume
from peakbench.config.fleet import CarrierSpec, FleetSpec
from peakbench.measure.segments import DEFAULT_SEGMENT_BYTES
from peakbench.plan.clock import ClockSpec, WallClock

FLUSH_EVERY_S = 1.0
"""Wall seconds between journal flushes."""
GRACE_S = 0.5
"""Wall seconds in-flight requests get to finish at shutdown."""
GC_YOUNG_THRESHOLD = 20_000
"""Allocations between young-generation collections (CPython's default is 2,000)."""


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to us: several share one loop and one process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def run_fleet(
    fleet: FleetSpec,
    clock_spec: ClockSpec,
    journal_dir: Path,
    ready_file: Path | None,
    host: str = "127.0.0.1",
    keys: Mapping[str, Sequence[str]] | None = None,
    stop: asyncio.Event | None = None,
    *,
    tls: tuple[Path, Path] | None = None,
    remote_admin: bool = False,
    handle_signals: bool = True,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
    push: PushWiring | None = None,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    keep: int | None = None,
    fresh: bool = False,
    log: Callable[[str], None] | None = None,
    watch_parent_death: bool = True,
) -> None:
    """Serve every carrier of ``fleet`` until ``stop`` is set, a signal arrives or the parent dies.

    ``keys``: carrier name → accepted API keys (a carrier without an entry accepts any key).
    ``fleet.listen`` picks one port per carrier or one shared port routed by Host header.
    ``tls``: (certificate, key) PEM files: serve HTTPS. ``remote_admin``: let non-loopback
    clients use ``/__admin/``. Once listening, the ready document (:func:`ready_document`) goes
    to ``ready_file`` (atomically) and to ``on_ready``. ``handle_signals``: off when not on the
    main thread (tests). ``push``: what carriers with a ``push:`` section need to push to the
    store (their push loops start once the fleet listens; journals ``push-<name>.jsonl``).
    ``segment_bytes``: journal segment size; ``keep``: segments kept per journal (None: all).
    A journal already in ``journal_dir`` is recovered from (``fresh``: its state is ignored);
    each carrier's outcome goes to ``log`` (default: stderr), one line, and to the ready
    document's ``recovery``.
    """
    # a taken shared port is a usage error: say so before anything else starts
    shared = _bind(host, fleet.listen.port) if fleet.listen.mode == "shared" else None
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    clock = WallClock(clock_spec)
    keys = keys or {}
    journals: list[Journal] = []
    servers: list[_Server] = []
    tasks: list[asyncio.Task[None]] = []
    results: list[object] = []
    pushers: list[asyncio.Task[None]] = []
    try:

        def build(carrier: CarrierSpec, journal: Journal) -> CarrierApp:
            journals.append(journal)
            accepted = list(keys.get(carrier.name, ()))
            return create_carrier_app(carrier, fleet, clock, accepted, journal, remote_admin)

        apps, recoveries, manifest = resume(
            journal_dir, fleet, clock, keys, build,
            segment_bytes=segment_bytes, keep=keep, fresh=fresh,
        )  # fmt: skip
        for recovery in recoveries:
            (log or _log)(recovery.line())
        bound: list[tuple[Any, socket.socket]]
        if shared is not None:
            bound = [(HostRouter(apps, remote_admin), shared)]
        else:
            bound = [(app, listen(host)) for app in apps]
        for asgi, sock in bound:
            server = _Server(
                server_config(asgi, GRACE_S, tls) if tls else server_config(asgi, GRACE_S)
            )
            servers.append(server)
            tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
        ports = [sock.getsockname()[1] for _, sock in bound]
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks) or stop.is_set():
                break
            await asyncio.sleep(0.01)
        else:
            ready = ready_document(fleet, host, ports, tls is not None)
            ready["recovery"] = {r.carrier: r.as_json() for r in recoveries}
            if ready_file is not None:
                write_ready_file(ready_file, ready)
            if on_ready is not None:
                on_ready(ready)
        watchers = [asyncio.create_task(_flush_journals(journals, manifest, apps))]
        if watch_parent_death:  # a run's child ends with its run; a standalone fleet does not
            watchers.append(asyncio.create_task(watch_parent(stop.set)))
        pushers = start_pushes(
            apps, fleet, clock, journal_dir, push or PushWiring(), stop, segment_bytes, keep
        )
        ended = asyncio.create_task(stop.wait())
        await asyncio.wait([ended, *tasks], return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        for watcher in watchers:
            watcher.cancel()
    finally:
        stop.set()
        for server in servers:
            server.should_exit = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*pushers, return_exceptions=True)
        for journal in journals:
            journal.close()
        if shared is not None:
            shared.close()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise RuntimeError(f"a carrier server failed: {failures[0]!r}") from failures[0]


def ready_document(fleet: FleetSpec, host: str, ports: Sequence[int], tls: bool) -> dict[str, Any]:
    """What the ready file says: ``{"pid", "carriers": {name: {"port", "base_url",
    "admin_url", "hosts"}}, "listen": {"mode", ...}}``. On a shared port every carrier has the
    same ``base_url``; a client reaches one by sending one of its ``hosts`` as Host header."""
    carriers: dict[str, dict[str, object]] = {}
    listen_info: dict[str, object] = {"mode": fleet.listen.mode}
    if fleet.listen.mode == "shared":
        url = base_url(host, ports[0], tls)
        listen_info.update(port=ports[0], base_url=url, admin_url=f"{url}/__admin/")
        for carrier in fleet.carriers:
            carriers[carrier.name] = {
                "port": ports[0],
                "base_url": url,
                "admin_url": f"{url}/__admin/carriers/{carrier.name}/",
                "hosts": list(carrier.host_names),
            }
    else:
        for carrier, port in zip(fleet.carriers, ports, strict=True):
            url = base_url(host, port, tls)
            carriers[carrier.name] = {
                "port": port,
                "base_url": url,
                "admin_url": f"{url}/__admin/",
                "hosts": list(carrier.host_names),
            }
    return {"pid": os.getpid(), "carriers": carriers, "listen": listen_info}


class PortUnavailableError(OSError):
    """The fleet's fixed port cannot be listened on; ``str()`` is the one-line reason."""


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``port`` (0: one the OS picks); :class:`PortUnavailableError`
    naming the port and the way out when it is taken or needs privileges."""
    if port == 0:
        return listen(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            why = "is busy (another process listens on it)"
        elif exc.errno == errno.EACCES:
            why = "needs privileges (ports below 1024)"
        else:
            raise
        raise PortUnavailableError(
            f"port {port} on {host} {why}: free it or pick another, "
            "or set listen: {mode: shared, port: 0} to take any free port"
        ) from None
    sock.setblocking(False)
    return sock


async def _flush_journals(
    journals: Sequence[Journal], manifest: StateManifest, apps: Sequence[CarrierApp]
) -> None:
    while True:
        await asyncio.sleep(FLUSH_EVERY_S)
        for journal in journals:
            journal.flush()
        manifest.watch(apps)


def _log(line: str) -> None:
    print(f"mocks: {line}", file=sys.stderr, flush=True)


def serve_fleet(
    fleet: FleetSpec,
    clock_spec: ClockSpec,
    journal_dir: Path,
    ready_file: Path | None,
    host: str = "127.0.0.1",
    keys: Mapping[str, Sequence[str]] | None = None,
    *,
    tls: tuple[Path, Path] | None = None,
    remote_admin: bool = False,
    on_ready: Callable[[dict[str, Any]], None] | None = None,
    push: PushWiring | None = None,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    keep: int | None = None,
    fresh: bool = False,
    watch_parent_death: bool = True,
) -> int:
    """Run the fleet's mock carriers on a uvloop loop until told to stop; returns the exit code.
    ``watch_parent_death``: stop when the parent process dies (a run's child does)."""
    fleet_run = run_fleet(
        fleet, clock_spec, journal_dir, ready_file, host, keys,
        tls=tls, remote_admin=remote_admin, on_ready=on_ready, push=push,
        segment_bytes=segment_bytes, keep=keep, fresh=fresh,
        watch_parent_death=watch_parent_death,
    )  # fmt: skip
    # Everything built so far (configs, caches, the server stack) lives as long as the process:
    # keep it out of the collector's generations, and collect the young generation less often,
    # since a request's garbage is short-lived and acyclic (measured: benchmarks/README).
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(fleet_run)
    return 0


@contextlib.contextmanager
def serving(
    fleet: FleetSpec,
    clock_spec: ClockSpec,
    journal_dir: Path,
    keys: Mapping[str, Sequence[str]] | None = None,
    *,
    tls: tuple[Path, Path] | None = None,
    timeout_s: float = 15.0,
    push: PushWiring | None = None,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    keep: int | None = None,
    fresh: bool = False,
) -> Iterator[dict[str, Any]]:
    """Serve ``fleet`` on a background thread (its own uvloop loop) while the ``with`` block
    runs; yields the ready document. For tests and benchmarks that embed the mocks."""
    ready: list[dict[str, Any]] = []
    failure: list[BaseException] = []
    started = threading.Event()
    stop = asyncio.Event()
    loop = uvloop.new_event_loop()

    def on_ready(doc: dict[str, Any]) -> None:
        ready.append(doc)
        started.set()

    def run() -> None:
        coro = run_fleet(
            fleet, clock_spec, journal_dir, None, keys=keys, stop=stop, tls=tls,
            handle_signals=False, on_ready=on_ready, push=push,
            segment_bytes=segment_bytes, keep=keep, fresh=fresh,
        )  # fmt: skip
        try:
            loop.run_until_complete(coro)
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
        finally:
            started.set()
            loop.close()

    thread = threading.Thread(target=run, name="mock-fleet", daemon=True)
    thread.start()
    try:
        if not started.wait(timeout_s) or not ready:
            raise RuntimeError(f"the mock fleet did not start: {failure[:1]}")
        yield ready[0]
    finally:
        if thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
            thread.join(timeout_s)


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
