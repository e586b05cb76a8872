"""``peakbench run`` and ``peakbench validate``: a profile checked, its target preflighted, run."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from peakbench.cli.common import (
    DEFAULT_PROFILE,
    UsageError,
    _baseline,
    _default_profile,
    _overrides,
    _port,
    _results_folder,
)
from peakbench.config.loader import load_profile

if TYPE_CHECKING:
    from peakbench.adapters.woocommerce import Credentials
    from peakbench.config.profile import Profile


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    """Check a profile as ``run`` would before starting anything: the profile itself, its
    relative SLOs' baseline run, and a real target's staging marker (credentials are the
    environment's, checked by ``run`` and ``target check``)."""
    profile = load_profile(Path(args.profile), _overrides(args.set))
    baseline = _baseline(args.baseline, profile.slo, validating=True)
    _environment()
    _refuse_target(profile, args.allow_production)
    _shopify(profile, 1, validating=True)
    carriers = ", ".join(c.name for c in profile.carriers)
    console.print(
        f"{args.profile}: ok — profile '{profile.name}', carriers {carriers}, "
        f"{profile.clock.duration / 3600:g} h of store time at ×{profile.clock.scale:g}"
        + (f", relative SLOs against {baseline}" if baseline is not None else ""),
        highlight=False,
        soft_wrap=True,
    )
    return 0


def _environment() -> None:
    """The run's fault and journal settings come from the environment: refuse bad ones early
    (``run``, and ``validate`` which refuses what ``run`` would)."""
    from peakbench.measure.faults import FaultPolicy
    from peakbench.measure.segments import segment_bytes_from_env

    try:
        FaultPolicy.from_env(os.environ)
        segment_bytes_from_env(os.environ)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _scale_flags(args: argparse.Namespace) -> None:
    """Flags that only mean something together: refuse them apart rather than ignore them."""
    _port(args.master_port, "--master-port")
    if not args.master and (args.expect_workers != 1 or args.master_bind != "*"):
        flag = "--expect-workers" if args.expect_workers != 1 else "--master-bind"
        raise UsageError(f"{flag} goes with --master (waiting for workers on other hosts)")
    if args.master_host and not args.worker:
        raise UsageError("--master-host goes with --worker (joining a master's run)")


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from peakbench.run.loadgen import Scale
    from peakbench.run.orchestrator import Run

    _scale_flags(args)
    if args.worker:
        return _run_worker(args, console)
    results = _results_folder(args.results)
    try:
        scale = Scale(
            processes=args.processes,
            master=args.master,
            expect_workers=args.expect_workers,
            master_bind=args.master_bind,
            master_port=args.master_port,
            ui=args.ui,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _environment()
    path = Path(args.profile) if args.profile else _default_profile()
    overrides = _overrides(args.set) + ([("clock.mode", "wall")] if args.wall else [])
    profile = load_profile(path, overrides)
    if profile.virtual and (scale.processes > 1 or scale.master or scale.ui):
        flag = "--processes" if scale.processes > 1 else "--master" if scale.master else "--ui"
        raise UsageError(
            f"{flag} spreads a Locust replay, which runs in wall time: add --wall "
            "(this run is in virtual time, one process, no Locust)"
        )
    baseline = _baseline(args.baseline, profile.slo)
    credentials = _preflight(profile, args.allow_production)
    token = _shopify(profile, max(scale.processes, 2 if scale.master else 1))
    if credentials is not None:
        from peakbench.run.preflight import with_products

        try:  # a real store's orders buy its own products, found or created before the run
            profile = with_products(profile, credentials)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if profile.candidates:  # one run per candidate plugin, then a comparison
        from peakbench.run.candidates import run_candidates

        try:
            return run_candidates(
                profile, str(path), results, console, sys.argv[1:],
                baseline=baseline, scale=scale,
            )  # fmt: skip
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if profile.replications > 1:  # one run per seed, in one replication set folder
        from peakbench.run.replications import run_replications

        return run_replications(
            profile, str(path), results, console, sys.argv[1:], baseline=baseline, scale=scale
        )
    run = Run(
        profile,
        str(path),
        results,
        console,
        sys.argv[1:],
        baseline=baseline,
        scale=scale,
        credentials=credentials,
        shopify_token=token,
    )
    return run.execute().exit_code


def _refuse_target(profile: Profile, allow_production: bool) -> None:
    """What ``run`` refuses in a profile's target before it starts anything (UsageError)."""
    from peakbench.config.targets import ShopifyTarget, WooCommerceTarget
    from peakbench.run.checker import refusal

    target = profile.target
    if not isinstance(target, WooCommerceTarget | ShopifyTarget):
        return
    reason = refusal(target, allow_production)
    if reason:
        raise UsageError(reason)
    if profile.candidates:
        raise UsageError(f"candidates compare sandbox plugins: a {target.kind} target runs its own")


def _preflight(profile: Profile, allow_production: bool) -> Credentials | None:
    """Before anything starts: refuse a real target that is not staging, or whose credentials
    are not in the environment; a real WooCommerce store's credentials, ``None`` for the sandbox."""
    from peakbench.config.targets import WooCommerceTarget
    from peakbench.run.checker import TargetRefused, woocommerce_credentials

    _refuse_target(profile, allow_production)
    target = profile.target
    if not isinstance(target, WooCommerceTarget):
        return None
    try:
        return woocommerce_credentials(target, os.environ)
    except TargetRefused as exc:
        raise UsageError(str(exc)) from None


def _shopify(profile: Profile, processes: int, validating: bool = False) -> str | None:
    """A Shopify run's refusals (UsageError) and a real store's token (peakbench/shopify_run)."""
    from peakbench.run.shopify_run import preflight

    try:
        return preflight(profile, processes, {} if validating else os.environ)
    except ValueError as exc:
        if validating and str(exc).startswith("missing credentials"):
            return None  # validate leaves credentials to run and target check
        raise UsageError(str(exc)) from None


def _run_worker(args: argparse.Namespace, console: Console) -> int:
    """``run --worker``: a Locust worker executing its share of a master's run, until it ends."""
    import subprocess

    from peakbench.run.launch import locustfile
    from peakbench.run.loadgen import worker_argv

    if not args.master_host:
        raise UsageError("--worker needs --master-host HOST (the machine running --master)")
    if args.profile or args.processes != 1 or args.master or args.ui:
        raise UsageError(
            "--worker takes only --master-host and --master-port: the master has the run"
        )
    argv = worker_argv(sys.executable, locustfile(), args.master_host, args.master_port)
    console.print(
        f"peakbench worker: joining {args.master_host}:{args.master_port}", highlight=False
    )
    try:
        return subprocess.call(argv)
    except KeyboardInterrupt:
        return 130


def add_parsers(sub: Any) -> None:
    """Add this group's subcommands to ``peakbench``'s subparsers."""
    run = sub.add_parser("run", help="replay a peak profile and gate it on its SLOs")
    run.add_argument("profile", nargs="?", help=f"profile YAML (default: {DEFAULT_PROFILE})")
    run.add_argument("--results", default="results", help="folder for run folders")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a profile field, e.g. --set target.plugin.interval=10m",
    )
    run.add_argument("--baseline", metavar="RUN", help="baseline run for relative SLOs (+10%%)")
    run.add_argument(
        "--wall",
        action="store_true",
        help="run the sandbox in wall time (real processes, sockets, Locust at clock.scale) "
        "instead of virtual store time; same as --set clock.mode=wall",
    )
    run.add_argument(
        "--allow-production",
        action="store_true",
        help="run against a woocommerce store that is not marked or does not look like staging",
    )
    scale = run.add_argument_group("scale (docs/scale.md)")
    scale.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="replay with N Locust worker processes on this machine (schedule split by order)",
    )
    scale.add_argument(
        "--master", action="store_true", help="wait for workers on other hosts (run --worker)"
    )
    scale.add_argument(
        "--expect-workers",
        type=int,
        default=1,
        metavar="N",
        help="with --master: how many workers to wait for",
    )
    scale.add_argument(
        "--master-bind", default="*", metavar="HOST", help="interface the master listens on"
    )
    scale.add_argument(
        "--master-port",
        type=int,
        default=5557,
        metavar="PORT",
        help="port the master listens on (--master) or joins (--worker)",
    )
    scale.add_argument(
        "--worker", action="store_true", help="be a worker of --master-host's run (no profile)"
    )
    scale.add_argument("--master-host", metavar="HOST", help="with --worker: the master's host")
    scale.add_argument(
        "--ui", action="store_true", help="keep Locust's web UI on 127.0.0.1 (URL printed)"
    )
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check a profile without running anything")
    val.add_argument("profile", help="profile YAML")
    val.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a profile field, as with run",
    )
    val.add_argument(
        "--baseline",
        metavar="RUN",
        help="baseline run for relative SLOs (+10%%): run needs it, so validate does too",
    )
    val.add_argument(
        "--allow-production",
        action="store_true",
        help="accept a woocommerce target that is not marked or does not look like staging",
    )
    val.set_defaults(func=cmd_validate)
