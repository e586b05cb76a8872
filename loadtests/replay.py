"""The replay: an open-model schedule shared by all Locust users of a process.

Locust is a closed-model tool: each user loops as fast as its tasks allow. peakbench turns it into
an open model by handing every user the *same* iterator over the schedule: a user takes the next
item, waits for its due time, executes it, records it and takes the next. Users are a pool of
executors; when the pool is too small, items start late and are counted, never reordered. With
``drop_after`` set, an item that cannot start within that bound is dropped (journaled and counted,
not sent), like k6's dropped iterations. gevent is cooperative and ``next()`` on the schedule never
yields, so taking an item is atomic without a lock.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

from pydantic import ValidationError

from loadtests.journal import Journal, RowBuffer
from peakbench.adapters.shopify_pacer import ShopifySettings
from peakbench.adapters.woocommerce import Observation
from peakbench.config.targets import ShopifyTarget, WooCommerceTarget
from peakbench.measure.segments import segment_bytes_from_env
from peakbench.plan.clock import ClockSpec, WallClock
from peakbench.plan.schedule import Item, read_schedule
from peakbench.run.progress import KINDS, Progress, count_kinds, write_atomic


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    """``RUN/replay.json``: what the orchestrator tells a Locust process to replay."""

    clock: ClockSpec
    schedule: Path
    journal: Path
    progress: Path | None
    """Where :meth:`Replay.publish` writes tallies (``None``: a worker reports to its master)."""
    late_after: float
    """Store seconds: an item that starts later than this after its due time is late."""
    users: int
    """Users the orchestrator starts (informational; Locust's ``--users`` decides)."""
    seed: int = 0
    """Seed of the generated order bodies."""
    drop_after: float | None = None
    """Store seconds: an item that would start later than this after its due time is dropped."""
    target: WooCommerceTarget | ShopifyTarget | None = None
    """A real store (its profile's ``target``, no secrets), or ``None``: the sandbox."""
    shopify: ShopifySettings | None = None
    """The store speaks Shopify Admin GraphQL (``shopify-replay.json``): the Shopify user
    replays (:mod:`loadtests.shopify_user`); ``None``: the WooCommerce user."""


def partition(items: Iterable[Item], index: int, count: int) -> Iterator[Item]:
    """The share of worker ``index`` of ``count``: every item of the orders with ``ref % count ==
    index``, so an order's shipment and views run in the process that created it (its order book
    is per process). Deterministic: the same schedule always splits the same way."""
    return (item for item in items if item.ref % count == index)


def load_config(path: Path) -> ReplayConfig:
    """Read ``replay.json``; relative paths in it are relative to its folder.

    Raises ValueError with one line naming the file and the field.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read replay config ({exc.strerror})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    base = path.parent
    field = "clock"
    try:
        clock = ClockSpec.from_json(data["clock"])
        if clock.scale <= 0:
            raise ValueError("scale must be positive")
        paths = {}
        for field in ("schedule", "journal", "progress"):
            if not isinstance(data[field], str) or not data[field]:
                raise ValueError("expected a path")
            paths[field] = base / data[field]
        field = "late_after"
        late_after = float(data[field])
        field = "users"
        users = int(data[field])
        field = "seed"
        seed = int(data.get(field, 0))
        field = "drop_after"
        drop_after = None if data.get(field) is None else float(data[field])
        field = "target"
        target = parse_target(data.get(field))
        field = "shopify"
        shopify = ShopifySettings.load(base / data[field]) if data.get(field) else None
    except KeyError as exc:
        missing = field if exc.args[0] == field else f"{field}.{exc.args[0]}"
        raise ValueError(f"{path}: missing field '{missing}'") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {field}: {exc}") from None
    return ReplayConfig(
        clock,
        paths["schedule"],
        paths["journal"],
        paths["progress"],
        late_after,
        users,
        seed,
        drop_after,
        target,
        shopify,
    )


def parse_target(data: object) -> WooCommerceTarget | ShopifyTarget | None:
    """``replay.json``'s ``target`` (``None``: the sandbox); ValueError with the first problem."""
    if data is None:
        return None
    try:
        if isinstance(data, dict) and data.get("kind") == "shopify":
            return ShopifyTarget.model_validate(data)
        return WooCommerceTarget.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{where}: {first['msg']}" if where else first["msg"]) from None


class Outcome(NamedTuple):
    """How executing one item went (a named tuple: one is built per request)."""

    ok: bool
    status: int
    """HTTP status; 0 when no response arrived."""
    error: str | None = None
    observation: Observation | None = None
    """Views only: what the page showed."""


class Replay:
    """The schedule, its journal and its tallies, shared by the users of one Locust process."""

    def __init__(
        self,
        config: ReplayConfig,
        items: Iterator[Item],
        scheduled: dict[str, int],
        journal: RowBuffer,
        on_finished: Callable[[], None],
    ) -> None:
        self.config = config
        self.clock = WallClock(config.clock)
        self.journal = journal
        self.progress = Progress(scheduled)
        self._items = items
        self._on_finished = on_finished
        self._in_flight = 0
        self._exhausted = False
        self._extra: list[IO[str]] = []
        """Files beside the journal (``shopify.jsonl``), flushed and closed with it."""

    @classmethod
    def open(
        cls,
        config: ReplayConfig,
        on_finished: Callable[[], None],
        segment_bytes: int | None = None,
    ) -> Replay:
        """Validate and count the schedule (one pass), open the journal (in segments of
        ``segment_bytes``, default from the environment: :func:`segment_bytes_from_env`), start
        streaming."""
        scheduled = count_kinds(item.kind for item in read_schedule(config.schedule))
        unknown = set(scheduled) - {*KINDS, "probe"}  # probe: freshness probe reads
        if unknown:
            raise ValueError(f"{config.schedule}: unknown item kinds {sorted(unknown)}")
        if segment_bytes is None:
            segment_bytes = segment_bytes_from_env(os.environ)
        journal = Journal(config.journal, segment_bytes)
        if config.progress is not None:
            config.progress.parent.mkdir(parents=True, exist_ok=True)
        items = read_schedule(config.schedule)
        if config.shopify is not None and config.shopify.orders == "precreate":
            # every order is taken (and created) first, before run second 0, then the rest
            path = config.schedule
            orders = (i for i in read_schedule(path) if i.kind == "order")
            items = itertools.chain(orders, (i for i in read_schedule(path) if i.kind != "order"))
        return cls(config, items, scheduled, journal, on_finished)

    @property
    def finished(self) -> bool:
        return self.progress.finished

    def take(self) -> Item | None:
        """The next item to execute, or ``None`` when the schedule is exhausted.

        Every item taken must be given back with :meth:`release`, executed or not.
        """
        if not self._exhausted:
            item = next(self._items, None)
            if item is not None:
                self._in_flight += 1
                return item
            self._exhausted = True
        self._check_finished()
        return None

    def release(self) -> None:
        """The user holding an item is done with it."""
        self._in_flight -= 1
        self._check_finished()

    def _check_finished(self) -> None:
        if self._exhausted and self._in_flight == 0 and not self.progress.finished:
            self.progress.finished = True
            self._on_finished()

    def should_drop(self, item: Item, start: float) -> bool:
        """The item would start more than ``drop_after`` late: drop it instead of sending it."""
        bound = self.config.drop_after
        return bound is not None and start - item.t > bound

    def drop(self, item: Item, start: float) -> None:
        """Journal and count a dropped item (failed, status 0, ``dropped: true``)."""
        lag = start - item.t
        self.record(item, start, start, Outcome(False, 0, f"dropped: {lag:.3f}s late"), True)

    def record(
        self, item: Item, start: float, end: float, outcome: Outcome, dropped: bool = False
    ) -> None:
        """Journal and count one executed item; ``start``/``end`` are run seconds."""
        lag = start - item.t
        late = lag > self.config.late_after
        view = None
        if item.kind == "view" or item.kind == "probe":
            seen = outcome.observation
            view = (
                (item.tracking_number, seen.shown, seen.newest_occurred, seen.status)
                if seen is not None
                else (item.tracking_number, None, None, None)
            )
        o = outcome
        self.journal.write_row(
            (item.kind, item.ref, item.t, start, end, o.ok, o.status, late, o.error, view, dropped)
        )
        self.progress.record(item.kind, outcome.ok, lag, late, dropped)

    def publish(self) -> None:
        """Replace the progress file with the current tallies."""
        if self.config.progress is not None:
            write_atomic(self.config.progress, self.progress.snapshot(self.clock.now()))

    def keep(self, extra: IO[str]) -> None:
        """Flush ``extra`` with the journal and close it with the replay."""
        self._extra.append(extra)

    def flush_extra(self) -> None:
        for extra in self._extra:
            if not extra.closed:
                extra.flush()

    def close(self) -> None:
        """Flush the journal and publish the final progress."""
        self.journal.close()
        for extra in self._extra:
            extra.close()
        self.publish()
