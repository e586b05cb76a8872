"""The ``peakbench`` command line. Errors are one clear line each, never a traceback (``--debug``).

Exit codes: 0 passed, 1 an SLO failed, 2 usage or configuration error, 3 the run is invalid.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from rich.console import Console

from peakbench.cli.helptext import DefaultsShown, VersionAction, all_parsers
from peakbench.config.loader import ProfileError
from peakbench.run.output import GuardedOutput, make_console

if TYPE_CHECKING:
    pass
from peakbench.cli import advise, report, run, serve, target
from peakbench.cli.common import EXIT_USAGE, UsageError
from peakbench.cli.serve import cmd_mocks_serve, cmd_store_serve


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

    for add in (run.add_parsers, report.add_parsers, serve.add_parsers, target.add_parsers):
        add(sub)
    advise.add_parser(sub)
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


def entry() -> None:
    """The ``peakbench`` command: :func:`main`, then an exit that skips tearing the interpreter
    down. A run leaves a large heap (its plan, journeys, figures) whose teardown takes about a
    third of a second and decides nothing. Exit handlers still run and both streams are flushed
    first. The exit is the ordinary one while another thread still runs (it waits for it) or
    under a profiler or tracer (``python -m cProfile``, a debugger), which write at the end."""
    code = main()
    if threading.active_count() > 1 or sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing can reach it
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    entry()
