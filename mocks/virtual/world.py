"""The composition root of a virtual-time run: the whole sandbox world in one process.

``python -m mocks.virtual --run RUN`` reads what the orchestrator wrote into the run folder
(``fleet.json``, ``store.json``, ``clock.json``, ``world.json``, ``schedule.csv``) and the secrets
from its environment (``PEAKBENCH_CARRIER_KEYS``, ``PEAKBENCH_STORE_CREDENTIALS``, push
secrets), builds the same carrier apps, store, plugin and push loops as the wall-time children,
connects them in-process, replays the schedule at its store instants and runs store time to the
profile's end. It writes what the wall-time children write: carrier and push journals,
``store.sqlite``, ``journals/replay.jsonl`` and ``progress.json``; then ``world.done.json``
(``{"end", "finished"}``). SIGTERM or SIGINT stops it where it is, keeping what it wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import signal
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mocks.app import CarrierApp, create_carrier_app
from mocks.carriers.generic import prerender
from mocks.journal import Journal
from mocks.push.wiring import PushWiring, push_wiring, start_pushes
from mocks.recovery import journal_path
from mocks.serve import parse_keys
from mocks.shopify.build import ShopifyCredentials, ShopifySandbox
from mocks.store.app import create_store_app
from mocks.store.config import CarrierEndpoint, Credentials, StoreConfig
from mocks.store.db import StoreDB
from mocks.store.plugin import Plugin
from mocks.virtual import loop as virtual_loop
from mocks.virtual.branch import Branch, Brancher, Where
from mocks.virtual.replay import ScheduleReplay
from mocks.virtual.shopify_world import (
    APP_HOST,
    build_virtual_shopify,
    clock_start,
    shopify_replay,
)
from mocks.virtual.transport import Direct, InProcess, url
from peakbench.adapters.woocommerce import Credentials as StoreCredentials
from peakbench.config.fleet import FleetSpec
from peakbench.measure.results import read_json_object, write_json
from peakbench.measure.segments import segment_bytes_from_env
from peakbench.plan.clock import ClockSpec, LoopClock
from peakbench.plan.schedule import read_schedule
from peakbench.run.progress import count_kinds

STORE_HOST = "store.peakbench.test"
PROGRESS_WALL_S = 0.5
"""Wall seconds between progress files (a display concern: it never touches the world)."""
GC_THRESHOLDS = (20_000, 50, 1000)
"""The cyclic collector's thresholds while the world runs. The world allocates millions of
short-lived containers (requests, rows, coroutines) and keeps few cycles; at Python's default
(700, 10, 10) the collector runs every few hundred allocations and costs a twentieth of a run.
Collection never decides anything in the world, so this changes its speed, not its answer."""


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """``RUN/world.json``: what the world runs besides the fleet and the store."""

    duration: float
    """Store seconds the run lasts (the world runs to this instant)."""
    seed: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorldSpec:
        return cls(float(data["duration"]), int(data["seed"]))


def carrier_host(index: int) -> str:
    return f"carrier-{index}.peakbench.test"


async def run_world(
    root: Path,
    fleet: FleetSpec,
    store: StoreConfig,
    clock_spec: ClockSpec,
    spec: WorldSpec,
    credentials: Credentials | ShopifyCredentials,
    carrier_keys: Mapping[str, Sequence[str]],
    push: PushWiring,
    segment_bytes: int,
    branches: Sequence[Branch] = (),
    where: Where | None = None,
) -> tuple[float, bool]:
    """Run the world of the run folder ``root`` to ``spec.duration``; (end, finished).
    ``credentials``: the store's (:class:`ShopifyCredentials` when it speaks Shopify).
    ``branches``: the runs of other ``on_throttle`` policies to fork at the first refusal
    (:mod:`mocks.virtual.branch`); ``where`` then says, in each process, where it wrote."""
    where = where or Where(root, os.getppid())
    loop = asyncio.get_running_loop()
    items = list(read_schedule(root / "schedule.csv"))
    if (store.platform == "shopify") != isinstance(credentials, ShopifyCredentials):
        raise ValueError("a Shopify store takes ShopifyCredentials, a WooCommerce one Credentials")
    orders = sum(item.kind == "order" for item in items)
    # a Shopify replay pre-creating its orders starts the clock before run second 0
    at = clock_start(root, orders) if store.platform == "shopify" else 0.0
    clock = LoopClock(clock_spec.start_epoch, loop, at)
    journal_dir = root / "journals"
    journal_dir.mkdir(parents=True, exist_ok=True)
    journals: list[Journal] = []
    apps: list[CarrierApp] = []
    hosts: dict[str, Any] = {}
    endpoints: dict[str, CarrierEndpoint] = {}
    for index, carrier in enumerate(fleet.carriers):
        journal = Journal(
            carrier.name, journal_path(journal_dir, carrier.name), segment_bytes=segment_bytes
        )
        journals.append(journal)
        accepted = list(carrier_keys.get(carrier.name, ()))
        app = create_carrier_app(carrier, fleet, clock, accepted, journal)
        apps.append(app)
        host = carrier_host(index)
        hosts[host] = app
        known = store.carriers.get(carrier.name)
        endpoints[carrier.name] = CarrierEndpoint(
            carrier.name,
            url(host),
            known.personality if known is not None else carrier.personality,
            next(iter(carrier_keys.get(carrier.name, ())), None),
        )
    transport = InProcess(hosts)
    db = StoreDB(root / "store.sqlite")
    db.group_commits()
    plugin_client = httpx.AsyncClient(transport=transport, trust_env=False)  # Shopify's I/O
    plugin: Plugin | ShopifySandbox
    push_to = url(STORE_HOST)
    scheduled = count_kinds(item.kind for item in items)
    replay: ScheduleReplay
    if isinstance(credentials, ShopifyCredentials):  # the Shopify store and app (docs/shopify.md)
        plugin = build_virtual_shopify(
            store, endpoints, db, clock, credentials, transport, plugin_client, STORE_HOST,
            journal_dir,
        )  # fmt: skip
        push_to = url(APP_HOST)  # aggregators push to the app, not to the store
        replay = shopify_replay(root, clock, plugin, credentials, scheduled, segment_bytes)
    else:
        plugin = Plugin(store.plugin, endpoints, db, clock, client=Direct(hosts))
        store_app = create_store_app(db, plugin, clock, credentials)
        transport.add(STORE_HOST, store_app)
        replay = ScheduleReplay(
            clock,
            store_app,
            StoreCredentials(credentials.consumer_key, credentials.consumer_secret),
            journal_dir / "replay.jsonl",
            root / "progress.json",
            scheduled,
            seed=0,
            segment_bytes=segment_bytes,
        )
    stop = asyncio.Event()
    wiring = PushWiring(push.secrets, push.store_credentials, push_to, transport)
    published = [time.monotonic()]
    brancher: Brancher | None = None

    def on_item(t: float) -> None:
        # wall time only paces the progress file and notices an orphaned world: never the world
        if time.monotonic() - published[0] >= PROGRESS_WALL_S:
            published[0] = time.monotonic()
            replay.publish()  # with the journal lines so far: the live display follows them
            for journal in journals:
                journal.flush()
            db.commit_group()
            if os.getppid() != where.parent:
                raise asyncio.CancelledError

    pushers: list[asyncio.Task[None]] = []
    finished = False
    try:
        await plugin.start()
        pushers = start_pushes(apps, fleet, clock, journal_dir, wiring, stop, segment_bytes)
        if branches and isinstance(plugin, Plugin) and not pushers:  # (pushers keep journals)
            brancher = Brancher(branches, where, db, journals, replay, plugin, clock.now)
        await replay.run(items, on_item)
        rest = spec.duration - clock.now()
        if rest > 0:
            await clock.sleep(rest)
        finished = True
    finally:
        end = min(clock.now(), spec.duration)
        stop.set()
        await asyncio.gather(*pushers, return_exceptions=True)
        await plugin.stop()
        await plugin_client.aclose()
        for journal in journals:
            journal.close()
        replay.close()
        db.close()
        if brancher is not None:
            brancher.wait(stop=not finished)
    return end, finished


def prepare(fleet: FleetSpec, parcels: Iterable[tuple[str, str]]) -> int:
    """Render ahead, in this process, the carrier answers a world of ``fleet`` will give about
    ``parcels`` (``(carrier, tracking_number)``, a plan's shipments): a process that forks its
    worlds (advise's workers) then renders each parcel once for every run of the plan, instead
    of once a run. Only generic carriers keep renders to share; how many parcels were rendered."""
    wanted: dict[str, list[str]] = {}
    for name, number in parcels:
        wanted.setdefault(name, []).append(number)
    rendered = 0
    for carrier in fleet.carriers:
        if carrier.personality == "generic" and carrier.name in wanted:
            model = fleet.timeline_model(carrier)
            rendered += prerender(carrier.name, model, wanted[carrier.name])
    return rendered


def main(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """``python -m mocks.virtual --run RUN [--wait]``: run the world of a run folder; 0 when
    it ran to the end, 2 for a bad run folder or environment, 3 when it was stopped early (or,
    with ``--wait``, never told to go)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m mocks.virtual",
        description="Run a run folder's sandbox world in virtual store time.",
    )
    parser.add_argument("--run", type=Path, required=True, help="the run folder (RUN)")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="read a line from stdin before reading the run folder (the parent starts the "
        "process while it plans, then says go); stdin's end without a line: exit 3, nothing run",
    )
    parser.add_argument(
        "--branch",
        action="append",
        default=[],
        metavar="POLICY=DIR",
        help="also write, in DIR, the run of on_throttle POLICY: the world forks at the first "
        "refusal that reaches its plugin, the instant the runs part (repeatable)",
    )
    args = parser.parse_args(argv)
    root: Path = args.run
    if args.wait and not sys.stdin.readline().strip():
        print("world: the run ended before its world started", file=sys.stderr)
        return 3
    try:
        fleet = FleetSpec.model_validate(_read(root / "fleet.json"))
        store = StoreConfig.from_json(_read(root / "store.json"))
        clock_spec = ClockSpec.from_json(_read(root / "clock.json"))
        spec = WorldSpec.from_json(_read(root / "world.json"))
        keys = parse_keys(environ.get("PEAKBENCH_CARRIER_KEYS"))
        raw = environ.get("PEAKBENCH_STORE_CREDENTIALS")
        if not raw:
            raise ValueError("PEAKBENCH_STORE_CREDENTIALS is not set")
        data = json.loads(raw)
        credentials: Credentials | ShopifyCredentials = (
            ShopifyCredentials.from_json(data)
            if store.platform == "shopify"
            else Credentials.from_json(data)
        )
        push = push_wiring(fleet, environ, url(STORE_HOST), None)
        segment_bytes = segment_bytes_from_env(environ)
        branches = [Branch.parse(text) for text in args.branch]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"world: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    where = Where(root, os.getppid())
    world = run_world(
        root, fleet, store, clock_spec, spec, credentials, keys, push, segment_bytes,
        branches, where,
    )  # fmt: skip
    gc.collect()
    gc.freeze()  # what the imports built lives as long as the process: never scan it again
    gc.set_threshold(*GC_THRESHOLDS)
    end, finished = 0.0, False
    with asyncio.Runner(loop_factory=virtual_loop.new_loop) as runner:
        task: list[asyncio.Task[tuple[float, bool]]] = []

        async def guarded() -> tuple[float, bool]:
            me = asyncio.current_task()
            assert me is not None
            task.append(me)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, me.cancel)
            return await world

        try:
            end, finished = runner.run(guarded())
        except asyncio.CancelledError:
            progress = read_json_object(where.root / "progress.json")
            end = float(progress.get("t", 0.0)) if progress else 0.0
    done: dict[str, Any] = {"end": round(end, 3), "finished": finished}
    if where.branched_at is not None:
        done["branched_at"] = round(where.branched_at, 3)
    write_json(where.root / "world.done.json", done)
    code = 0 if finished else 3
    if where.branched_at is not None:  # a branch never closes its parent's database: no exit
        for stream in (sys.stdout, sys.stderr):  # handlers, no finalisers, just the end
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    return code


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
