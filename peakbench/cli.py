"""The ``peakbench`` command line. Errors are one clear line each, never a traceback (``--debug``).

Exit codes: 0 passed, 1 an SLO failed, 2 usage or configuration error, 3 the run is invalid.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from peakbench.config.loader import ProfileError, load_profile

EXIT_USAGE = 2
DEFAULT_PROFILE = "profiles/black-friday.yaml"


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


def _default_profile() -> Path:
    here = Path(DEFAULT_PROFILE)
    if here.exists():
        return here
    packaged = Path(__file__).resolve().parent.parent / DEFAULT_PROFILE
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
    profile = load_profile(Path(args.profile), _overrides(args.set))
    carriers = ", ".join(c.name for c in profile.carriers)
    console.print(
        f"{args.profile}: ok — profile '{profile.name}', carriers {carriers}, "
        f"{profile.clock.duration / 3600:g} h of store time at ×{profile.clock.scale:g}",
        highlight=False,
        soft_wrap=True,
    )
    return 0


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from peakbench.orchestrator import Run

    path = Path(args.profile) if args.profile else _default_profile()
    profile = load_profile(path, _overrides(args.set))
    outcome = Run(profile, str(path), Path(args.results), console, sys.argv[1:]).execute()
    return outcome.exit_code


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    from peakbench.analysis import analyse
    from peakbench.orchestrator import exit_code_for
    from peakbench.report.console import render_summary
    from peakbench.results import load_run, write_json

    root = Path(args.run)
    if not (root / "run.json").exists():
        raise UsageError(f"{root}: not a peakbench results folder (no run.json)")
    if args.recompute:
        profile, clock, _ = load_run(root)
        old = json.loads((root / "summary.json").read_text())
        summary = analyse(profile, clock, root, old["clock"]["end"], old.get("partial", False))
        summary["valid"] = summary["valid"] and old["valid"]
        summary["invalid_reasons"] = old["invalid_reasons"]
        write_json(root / "summary.json", summary)
    else:
        summary = json.loads((root / "summary.json").read_text())
    render_summary(console, summary)
    return exit_code_for(summary)


def cmd_mocks_serve(args: argparse.Namespace, console: Console) -> int:
    import os

    from mocks.serve import main as serve_main

    return int(serve_main(["serve", *args.rest], os.environ) or 0)


def cmd_store_serve(args: argparse.Namespace, console: Console) -> int:
    from mocks.store.__main__ import main as store_main

    return int(store_main(["serve", *args.rest]) or 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peakbench",
        description="Replay a promotion peak against a store and measure what customers see.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

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
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check a profile without running anything")
    val.add_argument("profile")
    val.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    val.set_defaults(func=cmd_validate)

    rep = sub.add_parser("report", help="render a run folder's summary again")
    rep.add_argument("run")
    rep.add_argument(
        "--recompute",
        action="store_true",
        help="recompute the summary from the folder's journals first",
    )
    rep.set_defaults(func=cmd_report)

    mocks = sub.add_parser("mocks", help="the mock carrier fleet")
    msub = mocks.add_subparsers(dest="mocks_command", required=True)
    mserve = msub.add_parser("serve", help="serve a fleet standalone (see --help)", add_help=False)
    mserve.add_argument("rest", nargs=argparse.REMAINDER)
    mserve.set_defaults(func=cmd_mocks_serve)

    store = sub.add_parser("store", help="the sandbox store")
    ssub = store.add_subparsers(dest="store_command", required=True)
    sserve = ssub.add_parser(
        "serve", help="serve the sandbox store standalone (see --help)", add_help=False
    )
    sserve.add_argument("rest", nargs=argparse.REMAINDER)
    sserve.set_defaults(func=cmd_store_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # the servers own their options: hand everything after "serve" over untouched
    if argv[:2] == ["mocks", "serve"]:
        return cmd_mocks_serve(argparse.Namespace(rest=argv[2:]), Console())
    if argv[:2] == ["store", "serve"]:
        return cmd_store_serve(argparse.Namespace(rest=argv[2:]), Console())
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    try:
        return int(args.func(args, console))
    except ProfileError as exc:
        for issue in exc.issues:
            err.print(f"error: {issue}", highlight=False, markup=False, soft_wrap=True)
        return EXIT_USAGE
    except UsageError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        return EXIT_USAGE
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


if __name__ == "__main__":
    sys.exit(main())
