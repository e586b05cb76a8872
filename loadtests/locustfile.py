"""Composition root of the Locust process: replays a peakbench schedule against a store.

    python -m locust -f loadtests/locustfile.py --headless --users U --spawn-rate U \\
        --host STORE_URL --csv RUN/locust --only-summary --loglevel WARNING \\
        --peakbench-replay RUN/replay.json [--processes N | --master --expect-workers N]

    python -m locust -f loadtests/locustfile.py --worker --master-host HOST   # other hosts

with ``PEAKBENCH_STORE_CREDENTIALS`` in the environment (a worker without it uses the master's):
the sandbox's keys, or a real store's when ``replay.json`` has a ``target`` (never in a file).
One process replays the whole schedule and journals to ``journals/replay.jsonl``; a master deals
the schedule out to its workers and writes ``journals/replay-<index>.jsonl`` per worker
(:mod:`loadtests.cluster`). The number of users is the load shape's (:mod:`loadtests.shape`): the
profile's ``replay`` sizing from ``run.json`` beside ``replay.json`` (``users: auto`` sizes the
pool to the schedule), or a fixed ``--users`` without a run record. The process ends by itself
once every scheduled item was executed (the final ``progress.json`` says ``finished: true``), on
SIGTERM or Ctrl-C (journal flushed, ``finished: false``), or within a second of its parent dying.
Exit codes: Locust's (0, or 1 when a request failed); 2 when the replay cannot start.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import gevent
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

from loadtests import cluster
from loadtests.orders import OrderBook
from loadtests.pool import PooledReplay
from loadtests.replay import Replay, ReplayConfig, load_config
from loadtests.shape import KEEP, LocalProbe, MasterProbe, Probe, ReplayShape, live_users
from loadtests.sizing import Arrivals, Sizer, load_sizing
from loadtests.storefront import Storefront
from loadtests.users import ReplayUser
from peakbench.adapters.shopify_pacer import Pacer, ShopifySettings
from peakbench.adapters.woocommerce import Credentials, credentials_from_json
from peakbench.config.targets import WooCommerceTarget
from peakbench.plan.clock import WallClock
from peakbench.plan.schedule import read_schedule

# Locust runs the User classes and uses the load shape it finds in this module
__all__ = ["ReplayShape", "ReplayUser"]

CREDENTIALS_ENV = "PEAKBENCH_STORE_CREDENTIALS"
SHOPIFY_JOURNAL = "shopify.jsonl"
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
    if environment.web_ui is not None:  # --ui: the web server keeps the process alive otherwise
        environment.web_ui.stop()


def _parent_died(environment: Environment, parent: int) -> bool:
    if os.getppid() == parent:
        return False
    logger.warning("peakbench replay: parent process died, stopping")
    _quit(environment)
    return True


def _finish(environment: Environment, close: Any) -> None:
    close()
    # Locust rewrites its CSVs once a second and only closes them at shutdown, so quitting right
    # away would leave the last second of requests out of RUN/locust_stats.csv.
    gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.25)
    _quit(environment)


def _arm(replay: Replay, credentials: str) -> None:
    """Hand the replay to the users and let them start."""
    ReplayUser.replay = replay
    if replay.config.shopify is not None:
        _arm_shopify(replay, replay.config.shopify, credentials)
    else:
        target = replay.config.target
        ReplayUser.orders = OrderBook()
        ReplayUser.store = Storefront(
            credentials_from_json(credentials),
            target if isinstance(target, WooCommerceTarget) else None,
        )
    ReplayUser.ready.set()


def _arm_shopify(replay: Replay, settings: ShopifySettings, credentials: str) -> None:
    """The Shopify user replays: one pacer (cost bucket, create rate) for the process."""
    from loadtests.shopify_user import ShopifyReplayUser

    token = shopify_token(credentials)
    ShopifyReplayUser.settings = settings
    ShopifyReplayUser.token = token
    ShopifyReplayUser.book = OrderBook()
    ShopifyReplayUser.store = Storefront(Credentials(token, token))  # scrubs the token
    ShopifyReplayUser.pacer = Pacer(
        settings.bucket_size, settings.restore_rate, settings.create_per_minute, replay.clock.now()
    )
    calls = replay.config.journal.with_name(SHOPIFY_JOURNAL).open("a", encoding="utf-8")
    ShopifyReplayUser.calls = calls
    replay.keep(calls)


def shopify_token(credentials: str) -> str:
    """``access_token`` of the store credentials JSON; ValueError without the secret."""
    try:
        data = json.loads(credentials)
    except ValueError:
        raise ValueError("store credentials are not valid JSON") from None
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise ValueError("a Shopify store's credentials need a non-empty 'access_token'")
    return token


@events.init.add_listener
def _on_init(environment: Environment, **_kw: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        _init_worker(environment, runner)
        return
    options = environment.parsed_options
    path = getattr(options, "peakbench_replay", "") if options is not None else ""
    if not path:
        _fail("--peakbench-replay RUN/replay.json is required")
    raw_credentials = os.environ.get(CREDENTIALS_ENV)
    if not raw_credentials:
        _fail(f"{CREDENTIALS_ENV} is not set")
    try:
        config = load_config(Path(path))
        if config.shopify is not None:
            shopify_token(raw_credentials or "")
        else:
            credentials_from_json(raw_credentials or "")
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    if config.shopify is not None:  # the Shopify user replays, alone
        from loadtests.shopify_user import ShopifyReplayUser

        environment.user_classes = [ShopifyReplayUser]
        if isinstance(runner, MasterRunner):
            _fail("a Shopify replay runs in one Locust process (one cost bucket per app)")
    if isinstance(runner, MasterRunner):
        workers = int(getattr(options, "expect_workers", 1) or 1)
        _init_master(environment, runner, config, workers, raw_credentials or "", Path(path))
        return
    if options is not None and getattr(options, "num_users", None) not in (None, config.users):
        logger.warning(
            "peakbench replay: --users %s but replay.json says %s", options.num_users, config.users
        )
    try:
        # The finish callback runs in a user greenlet that runner.quit() would kill: spawn it.
        replay = PooledReplay.open(config, lambda: gevent.spawn(_finish, environment, replay.close))
        _arm(replay, raw_credentials or "")
        assert runner is not None  # Locust creates the runner before firing init
        probe = LocalProbe(runner, replay)
        _shape(environment, config, Path(path), 1, _local_arrivals(config), probe)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    replay.publish()
    gevent.spawn(_tick_local, environment, replay, os.getppid())

    def _flush(**_kw: Any) -> None:
        replay.journal.flush()
        replay.flush_extra()
        replay.publish()

    environment.events.test_stop.add_listener(_flush)
    environment.events.quitting.add_listener(lambda **_kw: replay.close())


def _shape(
    environment: Environment,
    config: ReplayConfig,
    replay_json: Path,
    processes: int,
    arrivals: Callable[[], Arrivals],
    probe: Probe,
) -> None:
    """Configure the load shape: the profile's sizing (``run.json``) or Locust's ``--users``."""
    shape = environment.shape_class
    if not isinstance(shape, ReplayShape):
        return
    options = environment.parsed_options
    users = getattr(options, "num_users", None) or config.users
    sizing = load_sizing(replay_json, users)
    sizing = dataclasses.replace(sizing, users=max(sizing.users, processes))
    sizer = Sizer(sizing, arrivals(), config.clock.scale) if sizing.auto else None
    log = config.progress.with_name("shape.jsonl") if config.progress is not None else None
    shape.configure(sizing, sizer, probe if sizer else None, WallClock(config.clock), log)
    environment.events.quitting.add_listener(lambda **_kw: shape.close())
    if getattr(options, "headless", False):
        # A headless Locust waits for a shape test to end before it installs its own SIGTERM
        # handler: until then SIGTERM would kill the process with the journal unflushed.
        gevent.signal_handler(signal.SIGTERM, lambda: gevent.spawn(_quit, environment))


def _local_arrivals(config: ReplayConfig) -> Callable[[], Arrivals]:
    return lambda: Arrivals.from_items(read_schedule(config.schedule))


def _tick_local(environment: Environment, replay: Replay, parent: int) -> None:
    while not replay.finished:
        gevent.sleep(TICK_S)
        replay.journal.flush()
        replay.flush_extra()
        replay.publish()
        if _parent_died(environment, parent):
            return


def _init_master(
    environment: Environment,
    runner: MasterRunner,
    config: ReplayConfig,
    workers: int,
    credentials: str,
    replay_json: Path,
) -> None:
    try:
        master = cluster.MasterReplay(config, workers, credentials)
        probe = MasterProbe(runner, master)
        _shape(environment, config, replay_json, workers, master.arrivals, probe)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    closed = [False]

    def _close() -> None:
        if not closed[0]:
            closed[0] = True
            master.close()

    def _on_hello(msg: Any, **_kw: Any) -> None:
        runner.send_message(cluster.SHARE, master.share_for(msg.node_id), client_id=msg.node_id)

    def _on_journal(msg: Any, **_kw: Any) -> None:
        master.journal(msg.data)

    def _on_done(msg: Any, **_kw: Any) -> None:
        master.done(msg.data)
        if master.finished:
            master.publish()
            gevent.spawn(_finish, environment, _close)

    def _on_report(client_id: str, data: dict[str, Any], **_kw: Any) -> None:
        if isinstance(data.get("peakbench"), dict):
            master.report(data["peakbench"])

    runner.register_message(cluster.HELLO, _on_hello)
    runner.register_message(cluster.JOURNAL, _on_journal)
    runner.register_message(cluster.DONE, _on_done)
    environment.events.worker_report.add_listener(_on_report)
    environment.events.quitting.add_listener(lambda **_kw: _close())
    master.publish()
    gevent.spawn(_tick_master, environment, master, os.getppid())


def _tick_master(environment: Environment, master: cluster.MasterReplay, parent: int) -> None:
    while not master.finished:
        gevent.sleep(TICK_S)
        master.publish()
        if _parent_died(environment, parent):
            return


def _init_worker(environment: Environment, runner: WorkerRunner) -> None:
    state: dict[str, Any] = {}

    def send(kind: str, data: dict[str, Any]) -> None:
        runner.send_message(kind, data)

    def _on_share(msg: Any, **_kw: Any) -> None:
        if "replay" in state:
            return
        share = msg.data
        index = int(share["index"])
        state["index"] = index

        def _done() -> None:
            replay, forwarder = state["replay"], state["forwarder"]
            send(cluster.DONE, {**cluster.worker_report(replay, index), "lines": forwarder.take()})

        replay, forwarder = cluster.worker_replay(share, send, lambda: gevent.spawn(_done))
        state["replay"], state["forwarder"] = replay, forwarder
        # a worker on another host may have no credentials of its own: it uses the master's
        _arm(replay, os.environ.get(CREDENTIALS_ENV) or str(share["credentials"]))
        if not share["rows"]:
            replay.take()  # nothing to do: report done at once

    def _on_report(client_id: str, data: dict[str, Any], **_kw: Any) -> None:
        if "replay" in state:
            data["peakbench"] = cluster.worker_report(state["replay"], state["index"])

    def _tick() -> None:
        parent = os.getppid()
        while True:
            if "replay" not in state:
                send(cluster.HELLO, {})
            else:
                state["forwarder"].flush()
            gevent.sleep(TICK_S)
            if os.getppid() != parent:
                logger.warning("peakbench replay: parent process died, stopping")
                runner.quit()
                return

    def _on_keep(msg: Any, **_kw: Any) -> None:
        if "replay" in state:
            state["replay"].pool.resize(int(msg.data["keep"]), live_users(runner))

    runner.register_message(cluster.SHARE, _on_share)
    runner.register_message(KEEP, _on_keep)
    environment.events.report_to_master.add_listener(_on_report)
    gevent.spawn(_tick)
