"""``peakbench target check``: a real staging store probed before any run (docs/targets.md)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from peakbench.cli.common import (
    _overrides,
)
from peakbench.config.loader import load_profile

if TYPE_CHECKING:
    pass


def cmd_target_check(args: argparse.Namespace, console: Console) -> int:
    """Prove the profile's target works: reachable, authenticated, one order created, shipped,
    read back and deleted (exit 0), refused (2) or failed (3)."""
    from peakbench.run.target import run_check

    profile = load_profile(Path(args.profile), _overrides(args.set))
    return run_check(profile, os.environ, console, allow_production=args.allow_production)


def add_parsers(sub: Any) -> None:
    """Add this group's subcommands to ``peakbench``'s subparsers."""
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
