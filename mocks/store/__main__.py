"""``peakbench store serve`` (``python -m mocks.store serve``): the sandbox store's composition
root.

The only place that reads argv and the environment: ``PEAKBENCH_STORE_CREDENTIALS`` (the REST
consumer key/secret) and ``PEAKBENCH_CARRIER_KEYS`` (API keys per carrier, the plugin uses the
first of each).

A run starts the store as its child with ``--config``, ``--clock``, ``--db`` and ``--ready-file``
and the credentials in the environment. Alone (no ``--ready-file``), every option has a default:
the direct-polling plugin with no carriers, store time = wall time from now, a database in a new
temporary folder, and, when ``PEAKBENCH_STORE_CREDENTIALS`` is unset, a generated key pair written
to a file there (0600, never printed); it prints the URL and where the credentials come from.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mocks.store.auth import carrier_keys_from_env, credentials_from_env, is_loopback
from mocks.store.config import Credentials, StoreConfig
from mocks.store.serve import serve_store
from peakbench.plan.clock import ClockSpec

CREDENTIALS_ENV = "PEAKBENCH_STORE_CREDENTIALS"
CREDENTIALS_FILE = "store-credentials.json"
TEMP_PREFIX = "peakbench-store-"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peakbench store",
        description="The sandbox store: WooCommerce-shaped REST, tracking pages and the "
        "reference logistics plugin. Alone, `peakbench store serve` needs nothing: it serves on a "
        "free loopback port and prints its URL and where its credentials are.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="serve the sandbox store and run its plugin until Ctrl-C / SIGTERM"
    )
    serve.add_argument(
        "--config",
        type=Path,
        help='store.json: {"plugin": {...}, "carriers": {"<name>": {"base_url", "personality"}}} '
        "(default: the direct-polling plugin, no carriers)",
    )
    serve.add_argument(
        "--clock",
        type=Path,
        help="clock.json: start_epoch, scale, wall_epoch (default: store time is wall time)",
    )
    serve.add_argument(
        "--db", type=Path, help="SQLite file (default: store.sqlite in a new temporary folder)"
    )
    serve.add_argument(
        "--ready-file",
        type=Path,
        help="write {pid, port, base_url} here once listening; a run's child gives it, and then "
        f"needs {CREDENTIALS_ENV}",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    serve.add_argument(
        "--app-journal",
        type=Path,
        help="platform: shopify: journal each of the tracking app's GraphQL calls here (JSONL)",
    )
    return parser


def _generated_credentials(folder: Path) -> tuple[Credentials, Path]:
    """A fresh WooCommerce-style key pair, written to ``folder`` readable by the owner only."""
    pair = Credentials("ck_" + secrets.token_hex(20), "cs_" + secrets.token_hex(20))
    path = folder / CREDENTIALS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"consumer_key": pair.consumer_key, "consumer_secret": pair.consumer_secret}, out)
        out.write("\n")
    return pair, path


def _announce(
    config: StoreConfig, db: Path, credentials_from: str
) -> Callable[[dict[str, Any]], None]:
    """What a person running the store alone needs, printed once it listens."""

    def on_ready(ready: dict[str, Any]) -> None:
        url = ready["base_url"]
        carriers = ", ".join(f"{c.name} {c.base_url}" for c in config.carriers.values())
        rows = [
            ("REST", f"{url}/wp-json/wc/v3/ (WooCommerce consumer key and secret)"),
            ("pages", f"{url}/order-tracking/<order id>?key=<order key>"),
        ]
        if config.platform == "shopify":
            rows = [
                ("GraphQL", f"{url}/admin/api/2025-07/graphql.json (X-Shopify-Access-Token: "
                 "the credentials' access_token, else ShopifyCredentials.from_json(pair)'s)"),
                ("pages", f"{url}/<shop id>/orders/<order token> (Order.statusPageUrl)"),
                ("app", f"{url}/apps/tracking/health"),
            ]  # fmt: skip
        rows += [
            ("admin", f"{url}/__admin/health, {url}/__admin/stats"),
            ("credentials", credentials_from),
            ("plugin", config.plugin.strategy),
            ("carriers", carriers or "none: give --config store.json to poll a fleet"),
            ("database", str(db)),
        ]
        lines = [f"sandbox store on {url}", *(f"  {k:<12} {v}" for k, v in rows), "Ctrl-C to stop."]
        print("\n".join(lines), flush=True)

    return on_ready


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    alone = args.ready_file is None
    where = ""
    try:
        where = f"--config {args.config}: "
        config = StoreConfig.load(args.config) if args.config else StoreConfig.from_json({})
        where = f"--clock {args.clock}: "
        if args.clock:
            clock = ClockSpec.from_json(json.loads(args.clock.read_text()))
        else:
            now = time.time()
            clock = ClockSpec(start_epoch=now, scale=1.0, wall_epoch=now)
        where = ""
        keys = carrier_keys_from_env(os.environ.get("PEAKBENCH_CARRIER_KEYS"))
        if args.db is not None and not args.db.parent.is_dir():
            raise ValueError(f"--db {args.db}: no folder {args.db.parent}")
        if alone and not (os.environ.get(CREDENTIALS_ENV) or "").strip():
            folder = args.db.parent if args.db else Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
            db = args.db or folder / "store.sqlite"
            credentials: Credentials | dict[str, Any]
            credentials, path = _generated_credentials(folder)
            source = f"generated into {path} (0600); set {CREDENTIALS_ENV} to choose them"
        else:
            raw = os.environ.get(CREDENTIALS_ENV)
            pair = credentials_from_env(raw)
            # the whole object: a Shopify store reads its tokens from it (ShopifyCredentials)
            credentials = {
                **json.loads(raw or "{}"),
                "consumer_key": pair.consumer_key,
                "consumer_secret": pair.consumer_secret,
            }
            source = f"from {CREDENTIALS_ENV}"
            db = args.db or Path(tempfile.mkdtemp(prefix=TEMP_PREFIX)) / "store.sqlite"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"store: {where}{' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        warning = f"--host {args.host} makes the store reachable from other machines"
        print(f"store: WARNING: {warning} (default 127.0.0.1)", file=sys.stderr)
    on_ready = _announce(config, db, source) if alone else None
    return serve_store(
        config, clock, db, args.ready_file, args.host, credentials, keys, on_ready=on_ready,
        app_journal=args.app_journal,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
