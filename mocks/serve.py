"""``mocks serve``: the mock carriers' command line, parsed into one of two ways to serve.

A run's child (``--config/--clock/--journal-dir/--ready-file``) ends in
:func:`mocks.fleet.serve_fleet`; a standalone fleet (``--fleet FILE``, optionally ``--detach``)
in :mod:`mocks.standalone`. ``python -m mocks serve`` (see :mod:`mocks.__main__`) and
``peakbench mocks serve`` both call :func:`main`. Bad input: one line, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from mocks.fleet import PortUnavailableError, parse_keys, serve_fleet
from mocks.push.wiring import push_wiring
from mocks.standalone import detach, serve_standalone
from mocks.store.auth import is_loopback
from peakbench.config.fleet import FleetSpec
from peakbench.measure.segments import SEGMENT_BYTES_ENV, parse_size, segment_bytes_from_env
from peakbench.plan.clock import ClockSpec


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """``mocks serve --config F --clock F --journal-dir D --ready-file F [--host H]`` (a run's
    child) or ``mocks serve --fleet FILE [--journal-dir D]`` (standalone, see
    :mod:`mocks.standalone`); both take ``--tls-cert/--tls-key`` and ``--remote-admin``."""
    parser = argparse.ArgumentParser(prog="peakbench mocks", description="Mock carrier servers.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve a carrier fleet until SIGTERM / Ctrl-C",
        description="Serve a carrier fleet: standalone from a fleet YAML (--fleet), or as a "
        "run's child (--config/--clock/--journal-dir/--ready-file). API keys come from "
        'PEAKBENCH_CARRIER_KEYS ({"<carrier>": ["<key>", ...]}); absent: any key is accepted.',
    )
    serve.add_argument("--fleet", type=Path, help="fleet YAML to serve standalone")
    serve.add_argument("--config", type=Path, help="RUN/fleet.json")
    serve.add_argument("--clock", type=Path, help="RUN/clock.json")
    serve.add_argument(
        "--journal-dir", type=Path, help="RUN/journals (standalone: default a new temp folder)"
    )
    serve.add_argument("--ready-file", type=Path, help="RUN/mocks.ready.json")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate: serve HTTPS")
    serve.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    serve.add_argument(
        "--remote-admin", action="store_true", help="let non-loopback clients use /__admin/"
    )
    serve.add_argument("--store-url", help="store base URL for webhook pushes (push: carriers)")
    serve.add_argument(
        "--store-ready-file", type=Path, help="RUN/store.ready.json: the store URL, once known"
    )
    serve.add_argument(
        "--journal-segment-bytes",
        metavar="SIZE",
        help=f"journal segment size, e.g. 16MiB (default: ${SEGMENT_BYTES_ENV} or 16MiB)",
    )
    serve.add_argument(
        "--journal-keep",
        type=int,
        metavar="N",
        help="standalone only: keep the newest N segments of each journal (default: all)",
    )
    serve.add_argument(
        "--fresh",
        action="store_true",
        help="ignore the quota and ban state in an existing journal (default: recover it)",
    )
    serve.add_argument(
        "--detach",
        action="store_true",
        help="standalone only: start the fleet in the background in its own session (it keeps "
        "running when this shell exits), print its pid and URLs, and return",
    )
    serve.add_argument(
        "--log",
        type=Path,
        metavar="FILE",
        help="with --detach: where the fleet's output goes (default: a file in the temp folder)",
    )
    args = parser.parse_args(argv)
    if args.detach or args.log:
        if args.fleet is None or not args.detach:
            parser.error("--detach goes with --fleet (a standalone fleet); --log with --detach")
        child: list[str] = []
        skip = False
        for arg in argv:  # the same command, without what only the launcher reads
            if skip or arg == "--detach" or arg.startswith("--log="):
                skip = False
                continue
            if arg == "--log":
                skip = True
                continue
            child.append(arg)
        return detach(child, args.ready_file, args.log)
    if args.journal_keep is not None and (args.fleet is None or args.journal_keep < 1):
        parser.error("--journal-keep N goes with --fleet, N at least 1 (a run keeps its journals)")
    try:
        if args.journal_segment_bytes:
            segment_bytes = parse_size(args.journal_segment_bytes, "--journal-segment-bytes")
        else:
            segment_bytes = segment_bytes_from_env(environ)
    except ValueError as exc:
        print(f"mocks serve: {exc}", file=sys.stderr)
        return 2
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    tls = (args.tls_cert, args.tls_key) if args.tls_cert is not None else None
    # loud when told to leave loopback (issue 7)
    exposed = [f"--host {args.host}: the carriers"] if not is_loopback(args.host) else []
    exposed += ["--remote-admin: /__admin/"] if args.remote_admin else []
    for what in exposed:
        print(f"mocks: WARNING: {what} answer other machines too", file=sys.stderr)
    if args.fleet is not None:
        return serve_standalone(
            args.fleet, environ, args.journal_dir, args.ready_file, args.host, tls,
            args.remote_admin, store_url=args.store_url, segment_bytes=segment_bytes,
            keep=args.journal_keep, fresh=args.fresh,
        )  # fmt: skip
    missing = [
        f"--{name.replace('_', '-')}"
        for name in ("config", "clock", "journal_dir", "ready_file")
        if getattr(args, name) is None
    ]
    if missing:
        parser.error(f"give --fleet FILE, or all of {', '.join(missing)}")
    try:
        fleet = FleetSpec.model_validate(json.loads(args.config.read_text(encoding="utf-8")))
        if tls is None and fleet.listen.tls_dir is not None:  # the profile asks for HTTPS
            tls_dir = Path(fleet.listen.tls_dir)
            tls = (tls_dir / "mocks.pem", tls_dir / "mocks-key.pem")
        clock_spec = ClockSpec.from_json(json.loads(args.clock.read_text(encoding="utf-8")))
        keys = parse_keys(environ.get("PEAKBENCH_CARRIER_KEYS"))
        push = push_wiring(fleet, environ, args.store_url, args.store_ready_file)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        message = " ".join(str(exc).split())
        print(f"mocks serve: {message}", file=sys.stderr)
        return 2
    try:
        return serve_fleet(
            fleet, clock_spec, args.journal_dir, args.ready_file, args.host, keys,
            tls=tls, remote_admin=args.remote_admin, push=push,
            segment_bytes=segment_bytes, fresh=args.fresh,
        )  # fmt: skip
    except PortUnavailableError as exc:
        print(f"mocks serve: {exc}", file=sys.stderr)
        return 2
