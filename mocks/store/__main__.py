"""``python -m mocks.store serve …``: the sandbox store's composition root.

The only place that reads argv and the environment: ``PEAKBENCH_STORE_CREDENTIALS`` (the REST
consumer key/secret) and ``PEAKBENCH_CARRIER_KEYS`` (API keys per carrier, the plugin uses the
first of each).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mocks.store.auth import carrier_keys_from_env, credentials_from_env, is_loopback
from mocks.store.config import Credentials, StoreConfig
from mocks.store.serve import serve_store
from peakbench.clock import ClockSpec


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mocks.store")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the sandbox store and run its plugin")
    serve.add_argument("--config", type=Path, required=True, help="RUN/store.json")
    serve.add_argument("--clock", type=Path, required=True, help="RUN/clock.json")
    serve.add_argument("--db", type=Path, required=True, help="RUN/store.sqlite")
    serve.add_argument("--ready-file", type=Path, required=True, help="RUN/store.ready.json")
    serve.add_argument("--host", default="127.0.0.1")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        where = f"--config {args.config}: "
        config = StoreConfig.load(args.config)
        where = f"--clock {args.clock}: "
        clock = ClockSpec.from_json(json.loads(args.clock.read_text()))
        where = ""
        pair = credentials_from_env(os.environ.get("PEAKBENCH_STORE_CREDENTIALS"))
        credentials = Credentials(pair.consumer_key, pair.consumer_secret)
        keys = carrier_keys_from_env(os.environ.get("PEAKBENCH_CARRIER_KEYS"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"store: {where}{' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        warning = f"--host {args.host} makes the store reachable from other machines"
        print(f"store: WARNING: {warning} (default 127.0.0.1)", file=sys.stderr)
    return serve_store(config, clock, args.db, args.ready_file, args.host, credentials, keys)


if __name__ == "__main__":
    sys.exit(main())
