"""Composition root of the Locust process: replays a peakbench schedule against a store.

    python -m locust -f loadtests/locustfile.py --headless --users U --spawn-rate U \\
        --host STORE_URL --csv RUN/locust --only-summary --loglevel WARNING \\
        --peakbench-replay RUN/replay.json

with ``PEAKBENCH_STORE_CREDENTIALS`` in the environment. The process ends by itself once every
scheduled item was executed (the final ``progress.json`` says ``finished: true``), on SIGTERM or
Ctrl-C (journal flushed, ``finished: false``), or within a second of its parent dying.
Exit codes: Locust's (0, or 1 when a request failed); 2 when the replay cannot start.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import gevent
from locust import events
from locust.env import Environment
from locust.stats import CSV_STATS_INTERVAL_SEC

from loadtests.orders import OrderBook
from loadtests.replay import Replay, load_config
from loadtests.users import ReplayUser
from peakbench.adapters.woocommerce import auth_header, credentials_from_json

__all__ = ["ReplayUser"]  # Locust runs the User classes it finds in this module

CREDENTIALS_ENV = "PEAKBENCH_STORE_CREDENTIALS"
TICK_S = 1.0
"""Wall seconds between journal flushes, progress files and parent checks."""

logger = logging.getLogger("peakbench.replay")


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any, **_kw: Any) -> None:
    parser.add_argument(
        "--peakbench-replay",
        type=str,
        default="",
        help="peakbench: path of RUN/replay.json (clock, schedule, journal, progress, late_after)",
    )


def _fail(message: str) -> NoReturn:
    """Before the run: one clear line and exit 2 (no traceback)."""
    logger.error("peakbench replay: %s", message)
    sys.exit(2)


def _quit(environment: Environment) -> None:
    if environment.runner is not None:
        environment.runner.quit()


def _tick(environment: Environment, replay: Replay, parent: int) -> None:
    while not replay.finished:
        gevent.sleep(TICK_S)
        replay.journal.flush()
        replay.publish()
        if os.getppid() != parent:
            logger.warning("peakbench replay: parent process died, stopping")
            _quit(environment)
            return


def _finish(environment: Environment, replay: Replay) -> None:
    replay.close()
    # Locust rewrites its CSVs once a second and only closes them at shutdown, so quitting right
    # away would leave the last second of requests out of RUN/locust_stats.csv.
    gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.25)
    _quit(environment)


@events.init.add_listener
def _on_init(environment: Environment, **_kw: Any) -> None:
    options = environment.parsed_options
    path = getattr(options, "peakbench_replay", "") if options is not None else ""
    if not path:
        _fail("--peakbench-replay RUN/replay.json is required")
    raw_credentials = os.environ.get(CREDENTIALS_ENV)
    if not raw_credentials:
        _fail(f"{CREDENTIALS_ENV} is not set")
    try:
        config = load_config(Path(path))
        credentials = credentials_from_json(raw_credentials or "")
        # The finish callback runs in a user greenlet that runner.quit() would kill: spawn it.
        replay = Replay.open(config, lambda: gevent.spawn(_finish, environment, replay))
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    if options is not None and getattr(options, "num_users", None) not in (None, config.users):
        logger.warning(
            "peakbench replay: --users %s but replay.json says %s", options.num_users, config.users
        )
    ReplayUser.replay = replay
    ReplayUser.orders = OrderBook()
    ReplayUser.api_headers = auth_header(credentials.consumer_key, credentials.consumer_secret)
    replay.publish()
    gevent.spawn(_tick, environment, replay, os.getppid())

    def _flush(**_kw: Any) -> None:
        replay.journal.flush()
        replay.publish()

    def _close(**_kw: Any) -> None:
        replay.close()

    environment.events.test_stop.add_listener(_flush)
    environment.events.quitting.add_listener(_close)
