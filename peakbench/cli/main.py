"""The ``peakbench`` command line. Errors are one clear line each, never a traceback (``--debug``).

Exit codes: 0 passed, 1 an SLO failed, 2 usage or configuration error, 3 the run is invalid.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console

from peakbench.cli.helptext import DefaultsShown, VersionAction, all_parsers
from peakbench.config.loader import ProfileError, load_profile
from peakbench.run.output import GuardedOutput, make_console

if TYPE_CHECKING:
    from peakbench.adapters.woocommerce import Credentials
    from peakbench.config.profile import Profile, SloSpec
    from peakbench.plan.clock import ClockSpec

EXIT_USAGE = 2
EXIT_INVALID = 3
DEFAULT_PROFILE = "profiles/black-friday.yaml"


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


def _default_profile() -> Path:
    here = Path(DEFAULT_PROFILE)
    if here.exists():
        return here
    packaged = Path(__file__).resolve().parents[2] / DEFAULT_PROFILE
    return packaged if packaged.exists() else here


def _overrides(pairs: list[str]) -> list[tuple[str, str]]:
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(
                f"--set expects KEY=VALUE like target.plugin.interval=10m, got {pair!r}"
            )
        out.append((key.strip(), value))
    return out


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


def _port(value: int, flag: str) -> int:
    if not 1 <= value <= 65535:
        raise UsageError(f"{flag} must be a TCP port between 1 and 65535, got {value}")
    return value


def _results_folder(arg: str) -> Path:
    """``--results``, checked without creating anything: a folder, or one that can be made."""
    path = Path(arg)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--results {arg}: exists and is not a folder")
    parent = path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--results {arg}: cannot create run folders there ({parent} is not a "
                         "writable folder)")  # fmt: skip
    return path


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
    from peakbench.run.target import refusal

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
    from peakbench.run.target import TargetRefused, woocommerce_credentials

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


def _baseline(arg: str | None, slo: SloSpec, validating: bool = False) -> Path | None:
    """The baseline run folder for relative SLOs, checked before anything starts (``validate``
    refuses the same: a profile that ``run`` would refuse is not valid)."""
    from peakbench.measure.slo import BaselineError, load_baseline, needs_baseline

    chosen = arg or slo.baseline_run
    if chosen is None:
        if needs_baseline(slo):
            keys = ", ".join(slo.baseline)
            also = " (run refuses this profile without one; pass it here too)" if validating else ""
            raise UsageError(
                f"relative SLOs ({keys}) need a baseline run: pass --baseline RUN{also}"
            )
        return None
    if not needs_baseline(slo):
        raise UsageError(
            "--baseline needs relative SLOs in the profile, e.g. --set slo.staleness_p95=+10%"
        )
    try:
        load_baseline(Path(chosen))
    except BaselineError as exc:
        raise UsageError(str(exc)) from None
    return Path(chosen)


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    from peakbench.measure.analysis import analyse
    from peakbench.measure.explain import explain
    from peakbench.measure.results import write_json
    from peakbench.measure.slo import regate
    from peakbench.report.console import render_summary
    from peakbench.report.html import write_report
    from peakbench.report.junit import write_junit
    from peakbench.report.markdown import write_markdown
    from peakbench.run.orchestrator import exit_code_for

    root = Path(args.run)
    if (root / "advise.json").exists():  # an advise folder (docs/advise.md)
        from peakbench.cli.advise import report as advise_report

        return advise_report(root, console)
    _run_record(root)
    old = _summary(root)
    if args.recompute:
        profile, clock, _ = _loaded_run(root)
        summary = analyse(profile, clock, root, old["clock"]["end"], old.get("partial", False))
        summary["valid"] = summary["valid"] and old["valid"]
        # the run's own reasons (a fault, the orchestrator's) first, then any the journals add
        fresh = [r for r in summary["invalid_reasons"] if r not in old["invalid_reasons"]]
        summary["invalid_reasons"] = [*old["invalid_reasons"], *fresh]
        summary["explanation"] = explain(summary)
        write_json(root / "summary.json", summary)
    else:
        summary = old
    if args.baseline:
        profile, _, _ = _loaded_run(root)
        summary = regate(profile.slo, summary, _baseline(args.baseline, profile.slo))
        summary["explanation"] = explain(summary)
        write_json(root / "summary.json", summary)
    write_junit(root, summary)
    render_summary(console, summary)
    html_path, md_path = write_report(root), write_markdown(root)
    console.print(f"report: {html_path}\nsummary: {md_path}", highlight=False, soft_wrap=True)
    return exit_code_for(summary)


def _run_record(root: Path) -> dict[str, Any]:
    """A run folder's run.json, or a UsageError naming the file when it is missing, empty or
    not a run record."""
    path = root / "run.json"
    if not path.exists():
        raise UsageError(f"{root}: not a peakbench results folder (no run.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        detail = "empty" if _empty(path) else " ".join(str(exc).split())
        raise UsageError(f"{path}: not a usable run record ({detail})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: not a usable run record (not a JSON object)")
    return data


def _empty(path: Path) -> bool:
    try:
        return not path.read_bytes().strip()
    except OSError:
        return False


def _summary(root: Path) -> dict[str, Any]:
    """A run folder's summary.json, or a UsageError saying why there is none to use."""
    path = root / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{root}: the run never finished (no summary.json)") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict) or not isinstance(data.get("clock"), dict):
        raise UsageError(f"{path}: not a peakbench summary")
    return data


def _loaded_run(root: Path) -> tuple[Profile, ClockSpec, dict[str, Any]]:
    """:func:`peakbench.measure.results.load_run`, with a damaged run.json as a UsageError."""
    from pydantic import ValidationError

    from peakbench.measure.results import load_run

    try:
        return load_run(root)
    except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise UsageError(f"{root / 'run.json'}: not a usable run record ({detail})") from None


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    """Compare runs with the first (the baseline): exit 0, or 1 with --fail-on-worse when a
    candidate is significantly worse on any metric."""
    from peakbench.report.compare import compare, comparison_html, render_comparison

    if len(args.runs) < 2:
        raise UsageError("compare needs at least two run folders: BASELINE CANDIDATE...")
    if not 0 < args.confidence < 1 or args.resamples < 100:
        raise UsageError("--confidence must be in (0, 1) and --resamples at least 100")
    if args.html and not Path(args.html).resolve().parent.is_dir():
        raise UsageError(f"--html {args.html}: no such folder {Path(args.html).parent}")
    from peakbench.report.replicated import compare_sets
    from peakbench.run.replications import set_runs

    for run in args.runs:
        if (Path(run) / "run.json").exists():
            _run_record(Path(run))
    try:
        sets = [set_runs(Path(r)) for r in args.runs]
        if all(s is not None for s in sets):  # replication sets: seed-to-seed intervals
            result = compare_sets([s for s in sets if s is not None], args.confidence)
        elif any(s is not None for s in sets):
            raise UsageError("compare replication sets with replication sets, runs with runs")
        else:
            result = compare(
                [Path(r) for r in args.runs],
                resamples=args.resamples,
                confidence=args.confidence,
                seed=args.seed,
            )
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    render_comparison(console, result)
    if args.html:
        Path(args.html).write_text(comparison_html(result))
        console.print(f"comparison: {args.html}", highlight=False, soft_wrap=True)
    if args.fail_on_worse and result.invalid:
        # a crashed or invalid run measured nothing a gate can rely on: not "no worse"
        for run in result.invalid:
            sys.stderr.write(f"compare: {run.name} is {run.verdict}: {run.reason}\n")
        return EXIT_INVALID
    return 1 if args.fail_on_worse and result.any_worse else 0


def cmd_results_list(args: argparse.Namespace, console: Console) -> int:
    """List the run folders under --results with their verdicts and key figures."""
    from peakbench.report.history import list_runs, render_history

    try:
        entries = list_runs(Path(args.results))
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    render_history(console, entries)
    broken = [problem for e in entries for problem in e.corrupt]
    for problem in broken:  # listed with the rest, and named as errors: exit 2
        sys.stderr.write(f"error: {problem}\n")
    return EXIT_USAGE if broken else 0


def cmd_mocks_serve(args: argparse.Namespace, console: Console) -> int:
    from mocks.serve import main as serve_main

    return int(serve_main(["serve", *args.rest], os.environ) or 0)


def cmd_mocks_ca(args: argparse.Namespace, console: Console) -> int:
    """Create (or reuse) the local CA and a certificate for the impersonated carrier hosts."""
    from mocks.tls import VENDOR_HOSTS, issue, next_steps

    try:
        issued = issue(Path(args.dir), args.host or VENDOR_HOSTS)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"--dir {args.dir}: {exc.strerror or exc}") from None
    ca = "created" if issued.ca_created else "reused"
    cert = "issued" if issued.cert_created else "kept (already covers these names)"
    console.print(f"CA {issued.ca_cert}: {ca}; key {issued.ca_key} (0600)", highlight=False)
    console.print(f"certificate {issued.cert}, key {issued.key}: {cert}", highlight=False)
    console.print(next_steps(issued), highlight=False, markup=False, soft_wrap=True)
    return 0


def cmd_store_serve(args: argparse.Namespace, console: Console) -> int:
    from mocks.store.__main__ import main as store_main

    return int(store_main(["serve", *args.rest]) or 0)


def cmd_target_check(args: argparse.Namespace, console: Console) -> int:
    """Prove the profile's target works: reachable, authenticated, one order created, shipped,
    read back and deleted (exit 0), refused (2) or failed (3)."""
    from peakbench.run.target import run_check

    profile = load_profile(Path(args.profile), _overrides(args.set))
    return run_check(profile, os.environ, console, allow_production=args.allow_production)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peakbench",
        description="Replay a promotion peak against a store and measure what customers see.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument(
        "--version", action=VersionAction, help="print the version (and git commit) and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")

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

    rep = sub.add_parser(
        "report", help="render a run folder's summary, report.html and summary.md again"
    )
    rep.add_argument("run", help="a run folder (results/<UTC>-<profile>-<id>)")
    rep.add_argument(
        "--recompute",
        action="store_true",
        help="recompute the summary from the folder's journals first",
    )
    rep.add_argument("--baseline", metavar="RUN", help="baseline run for relative SLOs (+10%%)")
    rep.set_defaults(func=cmd_report)

    cmp = sub.add_parser("compare", help="compare runs of the same seed with a baseline run")
    cmp.add_argument("runs", nargs="+", metavar="RUN", help="baseline first, then candidates")
    cmp.add_argument("--html", metavar="FILE", help="also write the comparison as HTML")
    cmp.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
    cmp.add_argument("--confidence", type=float, default=0.95, help="joint level of the intervals")
    cmp.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    cmp.add_argument(
        "--fail-on-worse",
        action="store_true",
        help="exit 1 when a candidate is significantly worse on any metric, 3 when a run "
        "crashed or is invalid",
    )
    cmp.set_defaults(func=cmd_compare)

    res = sub.add_parser("results", help="past runs")
    rsub = res.add_subparsers(
        dest="results_command", required=True, metavar="COMMAND", help="what to do"
    )
    rlist = rsub.add_parser("list", help="list run folders with verdicts and key figures")
    rlist.add_argument(
        "--results", default="results", help="folder of run folders (candidates folders too)"
    )
    rlist.set_defaults(func=cmd_results_list)

    mocks = sub.add_parser("mocks", help="the mock carrier fleet")
    msub = mocks.add_subparsers(
        dest="mocks_command", required=True, metavar="COMMAND", help="what to do"
    )
    mserve = msub.add_parser(
        "serve", help="serve a fleet: standalone with --fleet FILE (see --help)", add_help=False
    )
    mserve.add_argument(
        "rest", nargs=argparse.REMAINDER, help="the fleet server's options (mocks serve --help)"
    )
    mserve.set_defaults(func=cmd_mocks_serve)
    mca = msub.add_parser("ca", help="create a local CA and certificates for the carrier hosts")
    mca.add_argument("--dir", required=True, help="folder for ca.pem, mocks.pem and their keys")
    mca.add_argument(
        "--host",
        action="append",
        default=[],
        help="a host name to impersonate (repeatable; default: the known carrier API hosts)",
    )
    mca.set_defaults(func=cmd_mocks_ca)

    store = sub.add_parser("store", help="the sandbox store")
    ssub = store.add_subparsers(
        dest="store_command", required=True, metavar="COMMAND", help="what to do"
    )
    sserve = ssub.add_parser(
        "serve", help="serve the sandbox store standalone (see --help)", add_help=False
    )
    sserve.add_argument(
        "rest", nargs=argparse.REMAINDER, help="the store server's options (store serve --help)"
    )
    sserve.set_defaults(func=cmd_store_serve)

    target = sub.add_parser("target", help="the target store")
    tsub = target.add_subparsers(
        dest="target_command", required=True, metavar="COMMAND", help="what to do"
    )
    tcheck = tsub.add_parser(
        "check", help="prove a target works: one order created, shipped, read back, deleted"
    )
    tcheck.add_argument("profile", help="profile YAML whose target to check")
    tcheck.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a profile field, as with run",
    )
    tcheck.add_argument(
        "--allow-production",
        action="store_true",
        help="check a store that is not marked or does not look like staging",
    )
    tcheck.set_defaults(func=cmd_target_check)

    from peakbench.cli.advise import add_parser as add_advise

    add_advise(sub)
    for each in all_parsers(parser):
        each.formatter_class = DefaultsShown
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # the servers own their options: hand everything after "serve" over untouched
    if argv[:2] == ["mocks", "serve"]:
        return cmd_mocks_serve(argparse.Namespace(rest=argv[2:]), Console())
    if argv[:2] == ["store", "serve"]:
        return cmd_store_serve(argparse.Namespace(rest=argv[2:]), Console())
    # --debug anywhere (peakbench run X --debug), not only before the subcommand
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    args = parser.parse_args(argv)
    args.debug = debug
    console = make_console(GuardedOutput(sys.stdout))
    err = make_console(sys.stderr, stderr=True)
    # SIGTERM outside a run (a run installs its own handlers) ends as cleanly as Ctrl-C
    main_thread = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    try:
        return int(args.func(args, console))
    except ProfileError as exc:
        for issue in exc.issues:
            err.print(f"error: {issue}", highlight=False, markup=False, soft_wrap=True)
        return EXIT_USAGE
    except UsageError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:  # before a run started (loading, preflight): nothing to keep
        err.print("run invalid: interrupted before anything started", highlight=False)
        return 3
    except Exception as exc:
        if args.debug:
            raise
        err.print(
            f"error: {type(exc).__name__}: {exc} (run with --debug for details)",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return 3
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, old)


if __name__ == "__main__":
    sys.exit(main())
