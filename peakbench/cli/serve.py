"""``peakbench mocks serve``, ``mocks ca``, ``store serve``: the mock fleet and sandbox store."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from peakbench.cli.common import (
    UsageError,
)

if TYPE_CHECKING:
    pass


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


def add_parsers(sub: Any) -> None:
    """Add this group's subcommands to ``peakbench``'s subparsers."""
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
