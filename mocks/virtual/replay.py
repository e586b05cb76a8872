"""The schedule, replayed in store time: each order, shipment and customer view enters the
store at its scheduled instant, as the same WooCommerce requests the Locust replay sends.

An item starts exactly at its due time (an event-loop task per item, started in schedule
order), so nothing is ever late or dropped: the harness cannot fall behind a clock that waits
for it. Each executed item is one line of ``journals/replay.jsonl`` in the format the Locust
replay writes (:mod:`peakbench.run.replaylog`), and the tallies go to ``progress.json``
(:mod:`peakbench.run.progress`), so the analysis, the live display and ``report --recompute`` read
a virtual run exactly as a wall-time one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from mocks.virtual.transport import Asgi, call, within
from peakbench.adapters import woocommerce as wc
from peakbench.adapters.request import Request, query_string
from peakbench.measure.segments import SegmentWriter
from peakbench.plan.clock import Clock, epoch_of, iso
from peakbench.plan.schedule import Item
from peakbench.run.progress import Progress, write_atomic
from peakbench.run.replaylog import Row, lines_text

NAMES = {"order": "order:create", "ship": "order:ship", "view": "view:tracking"}

REQUEST_TIMEOUT_S = 70.0
"""Store seconds a request may take before it counts as failed (the Locust user's connection
plus network timeouts)."""


class ScheduleReplay:
    """Executes a schedule against the ``store`` ASGI app, in the loop's time."""

    def __init__(
        self,
        clock: Clock,
        store: Asgi,
        credentials: wc.Credentials,
        journal: Path,
        progress: Path,
        scheduled: dict[str, int],
        *,
        seed: int = 0,
        segment_bytes: int,
        max_buffered: int = 5000,
    ) -> None:
        self.clock = clock
        self.store = store
        self.seed = seed
        self.progress = Progress(scheduled)
        self._progress_path = progress
        self._auth = wc.auth_header(credentials.consumer_key, credentials.consumer_secret)
        self._secrets = (credentials.consumer_secret, credentials.consumer_key)
        self._created: dict[int, Any] = {}
        """What each order's creation returned (a handle), by schedule ref."""
        self._creating: dict[int, asyncio.Event] = {}
        self._rows: list[Row] = []
        self._max_buffered = max_buffered
        journal.parent.mkdir(parents=True, exist_ok=True)
        self._journal = SegmentWriter(journal, segment_bytes, mode="w")
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, items: Iterable[Item], on_item: Callable[[float], None]) -> None:
        """Start every item at its due time; return when all have finished. ``on_item`` is
        called with the store time before each item starts (progress, stop checks)."""
        now = self.clock.now
        for item in items:
            wait = item.t - now()
            if wait > 0:
                await self.clock.sleep(wait)
            on_item(item.t)
            if item.kind == "order":  # ships and views of it wait for its creation to end
                self._creating.setdefault(item.ref, asyncio.Event())
            task = asyncio.create_task(self._execute(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
        self.progress.finished = True

    def publish(self) -> None:
        """Write the buffered journal lines and replace ``progress.json`` with the current
        tallies (the live display follows the journal)."""
        self._flush()
        write_atomic(self._progress_path, self.progress.snapshot(self.clock.now()))

    def move_to(self, journal: Path, progress: Path) -> None:
        """Go on writing the journal at ``journal``, a copy made after :meth:`publish`, and the
        progress at ``progress`` (in a process forked from this one's)."""
        self._journal.move_to(journal)
        self._progress_path = progress

    def close(self) -> None:
        """Write what is buffered and close the journal."""
        self._flush()
        self._journal.close()
        self.publish()

    # -- one item -------------------------------------------------------------------------------

    async def _execute(self, item: Item) -> None:
        start = self.clock.now()
        try:
            if item.kind == "order":
                ok, status, error, seen = await self._create(item)
            elif item.kind == "ship":
                ok, status, error, seen = await self._ship(item)
            else:  # a view, or a freshness probe read (the same request and reading)
                ok, status, error, seen = await self._view(item)
        except Exception as exc:  # a bug here must cost one item, not the whole replay
            ok, status, error, seen = False, 0, f"replay error: {exc!r}", None
        self._record(item, start, self.clock.now(), ok, status, error, seen)

    def _record(
        self,
        item: Item,
        start: float,
        end: float,
        ok: bool,
        status: int,
        error: str | None,
        seen: wc.Observation | None,
        late: bool = False,
    ) -> None:
        """Journal and count one executed item (run seconds)."""
        view = None
        if item.kind == "view" or item.kind == "probe":
            view = (
                (item.tracking_number, seen.shown, seen.newest_occurred, seen.status)
                if seen is not None
                else (item.tracking_number, None, None, None)
            )
        self._rows.append(
            (item.kind, item.ref, item.t, start, end, ok, status, late, error, view, False)
        )
        self.progress.record(item.kind, ok, start - item.t, late)
        if len(self._rows) >= self._max_buffered:
            self._flush()

    async def _create(self, item: Item) -> _Result:
        handle = None
        try:
            status, body, error = await self._send(wc.create_order(item.ref, self.seed))
            if error is None:
                try:
                    parsed = orjson.loads(body)
                except ValueError:
                    error = "response is not JSON"
                else:
                    try:
                        handle = wc.parse_order(parsed)
                    except ValueError as exc:
                        error = str(exc)
            return error is None, status, error, None
        finally:
            self._creation_ended(item.ref, handle)

    def _creation_ended(self, ref: int, created: Any) -> None:
        """The order ``ref``'s creation ended with ``created`` (None when it failed): the ships
        and views waiting for it go on."""
        if created is not None:
            self._created[ref] = created
        event = self._creating.pop(ref, None)
        if event is not None:
            event.set()

    async def _created_order(self, ref: int) -> Any:
        """What the order ``ref``'s creation returned, once it has ended; None if it failed."""
        event = self._creating.get(ref)
        if event is not None:
            await event.wait()
        return self._created.get(ref)

    async def _handle(self, item: Item) -> wc.OrderHandle | None:
        handle: wc.OrderHandle | None = await self._created_order(item.ref)
        return handle

    async def _ship(self, item: Item) -> _Result:
        handle = await self._handle(item)
        if handle is None:
            return False, 0, f"order ref {item.ref} was not created", None
        day = iso(epoch_of(self.clock.spec, item.t))[:10]
        request = wc.ship(handle.id, item.carrier, item.tracking_number, day)
        status, _, error = await self._send(request)
        return error is None, status, error, None

    async def _view(self, item: Item) -> _Result:
        handle = await self._handle(item)
        if handle is None:
            return False, 0, f"order ref {item.ref} was not created", None
        status, body, error = await self._send(wc.tracking_page(handle.id, handle.order_key), False)
        seen = None
        if error is None:
            try:
                seen = wc.parse_tracking_page(body.decode("utf-8", "replace"))
            except ValueError as exc:
                error = str(exc)
        return error is None, status, error, seen

    async def _send(self, request: Request, api: bool = True) -> tuple[int, bytes, str | None]:
        """Send ``request`` to the store app; (status, body, error): error is None for a 2xx."""
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in {**request.headers, **(self._auth if api else {})}.items()
        ]
        body = b""
        if request.json is not None:
            body = orjson.dumps(dict(request.json))
            headers.append((b"content-type", b"application/json"))
        query = query_string(request.params).encode() if request.params else b""
        exchange = call(self.store, request.method, request.path, query, headers, body)
        try:
            status, _, content = await within(REQUEST_TIMEOUT_S, exchange)
        except TimeoutError:
            return 0, b"", "no response: timed out"
        except Exception as exc:  # the store hung up or failed: no response
            return 0, b"", self._scrub(f"no response: {exc!r}")
        if 200 <= status < 300:
            return status, content, None
        return status, content, self._scrub(_http_error(status, content))

    def _scrub(self, text: str) -> str:
        for value in self._secrets:
            text = text.replace(value, "***")
        return text

    def _flush(self) -> None:
        if self._rows:
            rows, self._rows = self._rows, []
            self._journal.write("\n".join(lines_text(list(rows))) + "\n")
            self._journal.flush()


_Result = tuple[bool, int, str | None, "wc.Observation | None"]


def _http_error(status: int, content: bytes) -> str:
    try:  # WooCommerce errors name themselves: {"code": "woocommerce_rest_…", "message": …}
        code: Any = json.loads(content).get("code")
    except Exception:
        code = None
    return f"HTTP {status} {code}" if isinstance(code, str) else f"HTTP {status}"
