"""``peakbench mocks serve --fleet FILE``: a fleet of mock carriers outside any run.

For pointing a real staging store at the mocks: FILE is a fleet YAML (a ``FleetSpec`` plus an
optional ``clock: {scale, start}``; see ``profiles/fleets/fleet-example.yaml``), validated with the
profile loader's messages (``file:line field.path: problem``, did-you-mean, exit 2). Prints each
carrier's base URL and admin URL, journals to ``--journal-dir`` (default: a new temp folder,
printed), and runs until Ctrl-C. Restarted on the same ``--journal-dir`` it goes on with the
clock and the quota and ban state its journals were written with (:mod:`mocks.recovery`).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mocks.fleet import parse_keys, serve_fleet
from mocks.manifest import resume_clock
from mocks.push.wiring import push_wiring
from peakbench.config.fleet import StandaloneFleetSpec
from peakbench.config.loader import ProfileError, parse_model, read_text
from peakbench.measure.segments import DEFAULT_SEGMENT_BYTES
from peakbench.plan.clock import ClockSpec

EXIT_USAGE = 2


def parse_fleet_file(text: str, source: str = "<fleet>") -> StandaloneFleetSpec:
    """Validate fleet YAML; raise :class:`ProfileError` listing every issue, one line each."""
    return parse_model(text, StandaloneFleetSpec, source, "fleet file")


def load_fleet_file(path: Path) -> StandaloneFleetSpec:
    """Read and validate a fleet file (see :func:`parse_fleet_file`)."""
    return parse_fleet_file(read_text(path, "fleet file"), str(path))  # one-line refusals


def clock_spec_of(spec: StandaloneFleetSpec, now: float) -> ClockSpec:
    """Run second 0 is ``now`` (wall), at store time ``clock.start`` (default: now too)."""
    start = spec.clock.start.timestamp() if spec.clock.start is not None else now
    return ClockSpec(start_epoch=start, scale=spec.clock.scale, wall_epoch=now)


def fleet_table(ready: Mapping[str, Any], spec: StandaloneFleetSpec) -> Table:
    """One row per carrier: personality, then its base URL (own port) or its hosts (shared
    port, whose URL is printed above the table), and its admin URL."""
    shared = spec.listen.mode == "shared"
    table = Table(title="mock carriers", title_justify="left")
    for column in ("carrier", "personality", "hosts" if shared else "base URL", "admin URL"):
        table.add_column(column, overflow="fold")
    for carrier in spec.carriers:
        info = ready["carriers"][carrier.name]
        where = ", ".join(info["hosts"]) if shared else info["base_url"]
        table.add_row(carrier.name, carrier.personality, where, info["admin_url"])
    return table


def serve_standalone(
    fleet_file: Path,
    environ: Mapping[str, str],
    journal_dir: Path | None = None,
    ready_file: Path | None = None,
    host: str = "127.0.0.1",
    tls: tuple[Path, Path] | None = None,
    remote_admin: bool = False,
    console: Console | None = None,
    store_url: str | None = None,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    keep: int | None = None,
    fresh: bool = False,
) -> int:
    """Serve ``fleet_file`` until Ctrl-C / SIGTERM; returns the exit code (2: bad input).

    ``segment_bytes``, ``keep``: journal segment size and how many segments each journal keeps
    (None: all); ``fresh``: ignore the state in existing journals (else it is recovered)."""
    console = console or Console()
    err = Console(stderr=True)
    try:
        spec = load_fleet_file(fleet_file)
        keys = parse_keys(environ.get("PEAKBENCH_CARRIER_KEYS"))
        push = push_wiring(spec, environ, store_url, None)
    except ProfileError as exc:
        for issue in exc.issues:
            err.print(f"error: {issue}", highlight=False, markup=False, soft_wrap=True)
        return EXIT_USAGE
    except ValueError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        return EXIT_USAGE
    for path in tls or ():
        if not path.is_file():
            err.print(f"error: {path}: no such file", highlight=False, markup=False)
            return EXIT_USAGE
    if journal_dir is None:
        journal_dir = Path(tempfile.mkdtemp(prefix="peakbench-mocks-"))
    clock = clock_spec_of(spec, time.time())
    if not fresh:  # a restart goes on with the clock its journals were written on
        clock = resume_clock(journal_dir, clock, explicit_start=spec.clock.start is not None)

    def announce(ready: dict[str, Any]) -> None:
        if spec.listen.mode == "shared":
            url = ready["listen"]["base_url"]
            console.print(f"listening on {url}: the Host header picks the carrier", highlight=False)
        console.print(fleet_table(ready, spec))
        if not keys:
            console.print(
                "API keys: PEAKBENCH_CARRIER_KEYS is not set, every carrier accepts any key"
            )
        else:
            open_carriers = [c.name for c in spec.carriers if c.name not in keys]
            if open_carriers:
                console.print(f"API keys: any key accepted by {', '.join(open_carriers)}")
        console.print(
            f"clock: ×{spec.clock.scale:g} store seconds per wall second", highlight=False
        )
        kept = f" (newest {keep} segments of each kept)" if keep else ""
        console.print(f"journals: {journal_dir}{kept}", highlight=False, soft_wrap=True)
        console.print("Ctrl-C to stop.")

    fleet = spec.fleet()
    pushing = [c.name for c in fleet.carriers if getattr(c, "push", None) is not None]
    if pushing and store_url is None:
        console.print(f"push: {', '.join(pushing)} push only to absolute push.url (no --store-url)")
    try:
        return serve_fleet(
            fleet, clock, journal_dir, ready_file, host, keys,
            tls=tls, remote_admin=remote_admin, on_ready=announce, push=push,
            segment_bytes=segment_bytes, keep=keep, fresh=fresh,
            watch_parent_death=False,  # a fleet someone started lives until it is stopped
        )  # fmt: skip
    except KeyboardInterrupt:  # a second Ctrl-C while shutting down
        return 0
    except OSError as exc:  # the shared port is taken, a certificate is unreadable, ...
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        return EXIT_USAGE


DETACH_WAIT_S = 30.0
"""How long ``--detach`` waits for the background fleet to listen."""


def detach(argv: list[str], ready_file: Path | None, log: Path | None) -> int:
    """``mocks serve --fleet F --detach``: start the same command (``argv``, from ``serve`` on)
    in the background in its own
    session (so it outlives the shell that started it), wait until it listens, print its pid,
    URLs and log, and return 0; 2 with the log's last lines when it did not start."""
    import json
    import subprocess
    import sys

    err = Console(stderr=True)
    folder = Path(tempfile.mkdtemp(prefix="peakbench-mocks-"))
    ready = ready_file or folder / "mocks.ready.json"
    log = log or folder / "mocks.log"
    command = [sys.executable, "-m", "mocks", *argv]
    if ready_file is None:
        command += ["--ready-file", str(ready)]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + DETACH_WAIT_S
    while time.monotonic() < deadline and proc.poll() is None and not ready.exists():
        time.sleep(0.1)
    if not ready.exists():
        if proc.poll() is None:
            proc.terminate()
        tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
        err.print(
            f"error: the fleet did not start (log {log}): {' / '.join(tail) or 'no output'}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return EXIT_USAGE
    doc = json.loads(ready.read_text(encoding="utf-8"))
    urls = ", ".join(f"{name} {c['base_url']}" for name, c in doc["carriers"].items())
    print(f"mocks serve: running in the background as pid {proc.pid}: {urls}")
    print(f"  log: {log}\n  ready file: {ready}\n  stop it with: kill {proc.pid}")
    return 0
