"""The reference plugin and its queue, with a ManualClock and a respx fake generic carrier."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from mocks.carriers.generic import GenericPersonality
from mocks.store.config import CarrierEndpoint
from mocks.store.db import StoreDB
from mocks.store.plugin import POLL_HOOK, SCHEDULE_HOOK, Plugin
from mocks.store.policy import Reply, chunks, classify, on_refusal, plan_polls
from mocks.store.queue import Action as QueuedAction
from mocks.store.queue import ActionQueue, Complete, Postpone
from peakbench.config.store import PluginSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import TimelineModel, journey, make_tracking_number, visible_count

BASE = "http://127.0.0.1:9911"
KEY = "key-acme-1"
MODEL = TimelineModel(seed=3)
PERSONALITY = GenericPersonality("acme", MODEL)  # the real payloads, not a copy of them
DAY = 86400.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(t=0.0)


@pytest.fixture
def db(tmp_path: Path) -> StoreDB:
    return StoreDB(tmp_path / "store.sqlite")


class FakeCarrier:
    """The generic personality's batch route over the real timeline, at the ManualClock's time."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.calls: list[list[str]] = []
        self.refuse: tuple[int, dict[str, str], str] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        numbers = json.loads(request.content)["tracking_numbers"]
        self.calls.append(numbers)
        if request.headers.get("x-api-key") != KEY:
            return httpx.Response(401, json={"error": {"code": "unauthorized", "message": "no"}})
        if self.refuse:
            status, headers, code = self.refuse
            return httpx.Response(
                status, headers=headers, json={"error": {"code": code, "message": "refused"}}
            )
        if len(numbers) > 40:
            return httpx.Response(400, json={"error": {"code": "bad_request", "message": ">40"}})
        epoch = self.clock.spec.start_epoch + self.clock.now()
        data = [json.loads(PERSONALITY.tracking_json(n, epoch) or "null") for n in numbers]
        return httpx.Response(200, json={"data": data, "errors": []})


@pytest.fixture
def carrier(clock: ManualClock) -> Iterator[FakeCarrier]:
    fake = FakeCarrier(clock)
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        mock.post("/v1/trackings/batch").mock(side_effect=fake)
        yield fake


def make_plugin(db: StoreDB, clock: ManualClock, **spec: Any) -> Plugin:
    carriers = {"acme": CarrierEndpoint("acme", BASE, api_key=KEY)}
    return Plugin(PluginSpec(**spec), carriers, db, clock)


def ship(db: StoreDB, clock: ManualClock, n: int, first_seq: int = 1) -> list[str]:
    """``n`` shipments of one order each, shipped at run second 0."""
    numbers = []
    with db.transaction():
        for seq in range(first_seq, first_seq + n):
            number = make_tracking_number(clock.spec.start_epoch, "domestic", seq)
            oid = db.insert_order(f"wc_order_{seq}", "completed", 0.0)
            db.add_shipment(oid, "acme", number, 0.0, f"tid{seq}", "2026-11-27")
            numbers.append(number)
    return numbers


def truth_count(clock: ManualClock, number: str) -> int:
    return visible_count(journey(MODEL, number), clock.spec.start_epoch + clock.now())


def changes(db: StoreDB) -> list[tuple[str, float, int]]:
    rows = db.conn.execute(
        "SELECT tracking_number, t, shown_count FROM tracking_changes ORDER BY id"
    )
    return [tuple(r) for r in rows]


# -- pure decisions -------------------------------------------------------------------------------


def test_chunking_and_poll_planning() -> None:
    assert chunks(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert chunks([], 3) == []
    open_ = [("a", f"A{i}") for i in range(80)] + [("b", "B0"), ("a", "A80")]
    plans = plan_polls(open_, busy={"A0", "A1"}, batch_size=35)
    assert [(c, len(ns)) for c, ns in plans] == [("a", 35), ("a", 35), ("a", 9), ("b", 1)]
    assert "A0" not in plans[0][1]


def test_classify_and_refusal_policies() -> None:
    throttled = classify(429, {"error": {"code": "rate_limited"}}, {"retry-after": "120"})
    assert (throttled.outcome, throttled.retry_after) == ("throttled", 120.0)
    assert classify(429, {"error": {"code": "blocked"}}, {}).outcome == "blocked"
    assert classify(403, {"error": {"code": "blocked"}}, {}).outcome == "blocked"
    assert classify(401, None, {}).outcome == "blocked"
    assert classify(500, None, {}).outcome == "error"
    assert classify(200, {"nope": 1}, {}).outcome == "error"
    assert on_refusal("ignore", throttled, 1, 60).step == "continue"
    assert on_refusal("stop-run", throttled, 1, 60).step == "stop-run"
    assert on_refusal("backoff", throttled, 3, 60).delay == 120.0
    bare = Reply(429, "throttled")
    assert [on_refusal("backoff", bare, a, 60).delay for a in (1, 2, 3)] == [60, 120, 240]
    assert on_refusal("backoff", Reply(500, "error"), 1, 60).step == "continue"


# -- the queue ------------------------------------------------------------------------------------


def test_claim_takes_at_most_claim_batch_due_actions_in_order(
    db: StoreDB, clock: ManualClock
) -> None:
    queue = ActionQueue(db, clock, claim_batch=3)
    ids = [queue.schedule("h", {"i": i}, at=float(10 - i)) for i in range(8)]
    later = queue.schedule("h", {"i": "later"}, at=1000.0)
    clock.advance(20)
    first = queue.claim()
    assert [a.id for a in first] == ids[7:4:-1]  # oldest scheduled first
    second = queue.claim()
    assert len(second) == 3
    assert not {a.id for a in first} & {a.id for a in second}
    assert later not in [a.id for a in queue.claim(limit=10)]


@pytest.mark.anyio
async def test_run_respects_time_limit_and_releases_unstarted(
    db: StoreDB, clock: ManualClock
) -> None:
    queue = ActionQueue(db, clock, claim_batch=25, concurrency=1, time_limit=30.0)

    async def slow(action: QueuedAction) -> Complete:
        clock.advance(10.0)
        return Complete()

    queue.register("slow", slow)
    for i in range(10):
        queue.schedule("slow", {"i": i}, at=0.0)
    assert await queue.run_once() == 3
    counts = queue.counts()
    assert (counts["complete"], counts["pending"], counts["running"]) == (3, 7, 0)
    unclaimed = db.conn.execute(
        "SELECT count(*) FROM actions WHERE status = 'pending' AND claimed_t IS NULL"
    ).fetchone()[0]
    assert unclaimed == 7
    queue.sample()
    sample = db.conn.execute("SELECT t, pending, due, running FROM queue_samples").fetchone()
    assert tuple(sample) == (30.0, 7, 7, 0)
    assert await queue.run_once() == 3


@pytest.mark.anyio
async def test_concurrent_batches_each_claim_their_own(db: StoreDB, clock: ManualClock) -> None:
    queue = ActionQueue(db, clock, claim_batch=5, concurrency=4, time_limit=30.0)
    active, peak = 0, 0
    seen: list[int] = []

    async def work(action: QueuedAction) -> Complete:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        seen.append(action.args["i"])
        await asyncio.sleep(0.001)
        active -= 1
        return Complete()

    queue.register("w", work)
    for i in range(30):
        queue.schedule("w", {"i": i}, at=0.0)
    assert await queue.run_once() == 30  # four runners, each claiming batches of 5 in turn
    assert peak == 4
    assert sorted(seen) == list(range(30))  # no action claimed twice
    queue.sample()
    sample = db.conn.execute("SELECT pending, due, running FROM queue_samples").fetchone()
    assert tuple(sample) == (0, 0, 0)


@pytest.mark.anyio
async def test_traffic_cron_starves_without_requests(db: StoreDB, clock: ManualClock) -> None:
    ran: list[float] = []

    async def work(action: QueuedAction) -> Complete:
        ran.append(clock.now())
        return Complete()

    wp = ActionQueue(db, clock, tick=60.0, cron="traffic")
    wp.register("w", work)
    for i in range(3):
        wp.enqueue("w", {"i": i}, due_t=10.0)
    clock.t = 10.0
    assert await wp.cron_step() is None  # due, but nobody visits: WP-Cron never fires
    clock.t = 4 * 3600.0
    assert await wp.cron_step() is None
    wp.sample()
    assert db.conn.execute("SELECT due FROM queue_samples").fetchone()[0] == 3
    wp.on_traffic(clock.now())  # the first visitor after the quiet night
    assert await wp.cron_step() == 3
    assert ran == [4 * 3600.0] * 3
    assert 4 * 3600.0 < wp.next_cron <= 4 * 3600.0 + 60.0  # missed ticks are not made up
    clock.advance(300.0)
    assert await wp.cron_step() is None  # due again, but it needs a new request
    wp.on_traffic()
    assert wp.cron_fires(clock.now())

    system = ActionQueue(db, clock, tick=60.0, cron="system")
    system.register("w", work)
    system.enqueue("w", {"i": "later"})
    assert await system.cron_step() == 1  # a real cron needs no traffic
    assert system.next_cron == clock.now() + 60.0
    assert await system.cron_step() is None  # not due again before its tick


@pytest.mark.anyio
async def test_webhooks_share_the_queue_with_polls(db: StoreDB, clock: ManualClock) -> None:
    queue = ActionQueue(db, clock, claim_batch=25, time_limit=30.0)
    order: list[str] = []

    async def work(action: QueuedAction) -> Complete:
        order.append(action.hook)
        clock.advance(1.0)
        return Complete()

    queue.register("webhook", work)
    queue.register("poll", work)
    for _ in range(40):
        queue.enqueue("webhook", {"tracking_number": "X"}, due_t=0.0)
    queue.enqueue("poll", {}, due_t=5.0)
    clock.t = 5.0
    assert await queue.run_once() == 30  # time limit: the backlog of webhooks ...
    assert "poll" not in order  # ... holds the plugin's poll back to the next run
    assert await queue.run_once() == 11
    assert order[-1] == "poll"


# -- the plugin -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_poll_updates_shown_count_and_logs_each_change_once(
    db: StoreDB, clock: ManualClock, carrier: FakeCarrier
) -> None:
    plugin = make_plugin(db, clock, batch_size=35, interval=3600)
    numbers = ship(db, clock, 5)
    plugin.ensure_scheduled()
    clock.t = 1.5 * DAY
    await plugin.queue.run_once()  # scheduling pass + one poll action
    expected = {n: truth_count(clock, n) for n in numbers}
    assert any(expected.values())
    for n in numbers:
        row = db.shipment(n)
        assert row is not None
        assert row.shown_count == expected[n] == len(row.events)
    logged = changes(db)
    assert sorted(n for n, _, _ in logged) == sorted(n for n in numbers if expected[n])
    assert all(t == pytest.approx(1.5 * DAY) for _, t, _ in logged)

    await plugin.poll(_action({"carrier": "acme", "numbers": numbers}))  # nothing new
    assert changes(db) == logged

    clock.t = 3 * DAY
    await plugin.poll(_action({"carrier": "acme", "numbers": numbers}))
    moved = [n for n in numbers if truth_count(clock, n) != expected[n]]
    assert moved
    assert [n for n, _, _ in changes(db)[len(logged) :]] == moved
    assert plugin.counters.ok == plugin.counters.requests == 3
    await plugin.stop()


@pytest.mark.anyio
async def test_delivered_shipments_stop_being_polled(
    db: StoreDB, clock: ManualClock, carrier: FakeCarrier
) -> None:
    plugin = make_plugin(db, clock)
    numbers = ship(db, clock, 3)
    clock.t = 40 * DAY  # every journey is over
    await plugin.poll(_action({"carrier": "acme", "numbers": numbers}))
    assert all(db.shipment(n).delivered for n in numbers)  # type: ignore[union-attr]
    assert db.counts()["open_shipments"] == 0
    assert {r[0] for r in db.conn.execute("SELECT status FROM tracking_changes")} == {"delivered"}
    await plugin.stop()


@pytest.mark.anyio
async def test_calls_carry_at_most_40_numbers(
    db: StoreDB, clock: ManualClock, carrier: FakeCarrier
) -> None:
    plugin = make_plugin(db, clock, batch_size=100)
    numbers = ship(db, clock, 100)
    plugin.ensure_scheduled()
    clock.t = DAY
    await plugin.queue.run_once()
    assert [len(c) for c in carrier.calls] == [40, 40, 20]
    assert [n for c in carrier.calls for n in c] == numbers
    rows = db.conn.execute("SELECT numbers, status, outcome FROM plugin_requests").fetchall()
    assert [tuple(r) for r in rows] == [(40, 200, "ok"), (40, 200, "ok"), (20, 200, "ok")]
    await plugin.stop()


@pytest.mark.anyio
async def test_scheduling_skips_shipments_already_queued(
    db: StoreDB, clock: ManualClock, carrier: FakeCarrier
) -> None:
    plugin = make_plugin(db, clock, batch_size=10)
    ship(db, clock, 25)
    first = _action({}, hook=SCHEDULE_HOOK)
    await plugin.schedule_pass(first)
    assert len(plugin.queue.open_args(POLL_HOOK)) == 3
    ship(db, clock, 4, first_seq=100)
    await plugin.schedule_pass(first)
    polls = plugin.queue.open_args(POLL_HOOK)
    assert [len(p["numbers"]) for p in polls] == [10, 10, 5, 4]
    nexts = db.conn.execute(
        "SELECT scheduled_t FROM actions WHERE hook = ? AND status = 'pending'", (SCHEDULE_HOOK,)
    ).fetchall()
    assert [r[0] for r in nexts] == [3600.0, 3600.0]
    assert plugin.counters.runs == 2
    await plugin.stop()


@pytest.mark.anyio
async def test_on_throttle_ignore_records_and_goes_on(
    db: StoreDB, clock: ManualClock, carrier: FakeCarrier
) -> None:
    plugin = make_plugin(db, clock, on_throttle="ignore")
    numbers = ship(db, clock, 80)
    carrier.refuse = (429, {"Retry-After": "120"}, "rate_limited")
    result = await plugin.poll(_action({"carrier": "acme", "numbers": numbers}))
    assert isinstance(result, Complete)
    assert len(carrier.calls) == 2
    assert (plugin.counters.requests, plugin.counters.throttled) == (2, 2)
    outcomes = [r[0] for r in db.conn.execute("SELECT outcome FROM plugin_requests")]
    assert outcomes == ["throttled", "throttled"]
    await plugin.stop()


@pytest.mark.anyio
async def test_on_throttle_stop_run_fails_action_and_ends_the_run(
    db: StoreDB, clock: ManualClock, carrier: FakeCarrier
) -> None:
    plugin = make_plugin(db, clock, on_throttle="stop-run")
    numbers = ship(db, clock, 30)
    for chunk in chunks(numbers, 10):
        plugin.queue.schedule(POLL_HOOK, {"carrier": "acme", "numbers": chunk}, at=0.0)
    carrier.refuse = (403, {}, "blocked")
    assert await plugin.queue.run_once() == 1
    counts = plugin.queue.counts()
    assert (counts["failed"], counts["pending"]) == (1, 2)
    assert len(carrier.calls) == 1
    assert plugin.counters.blocked == 1
    error = db.conn.execute("SELECT last_error FROM actions WHERE status = 'failed'").fetchone()
    assert "403" in error[0]
    await plugin.stop()


@pytest.mark.anyio
async def test_on_throttle_backoff_postpones_by_retry_after_or_doubling(
    db: StoreDB, clock: ManualClock, carrier: FakeCarrier
) -> None:
    plugin = make_plugin(db, clock, on_throttle="backoff", tick=60)
    numbers = ship(db, clock, 50)
    action_id = plugin.queue.schedule(POLL_HOOK, {"carrier": "acme", "numbers": numbers}, 0.0)
    clock.t = 1000.0
    carrier.refuse = (429, {"Retry-After": "120"}, "rate_limited")
    await plugin.queue.run_once()

    def row() -> tuple[Any, ...]:
        return tuple(
            db.conn.execute(
                "SELECT status, scheduled_t, attempts, args FROM actions WHERE id = ?", (action_id,)
            ).fetchone()
        )

    status, at, attempts, args = row()
    assert (status, at, attempts) == ("pending", 1120.0, 1)
    assert json.loads(args)["numbers"] == numbers  # the first call failed: nothing was polled
    assert len(carrier.calls) == 1

    carrier.refuse = (429, {}, "rate_limited")  # no Retry-After: base delay (tick) doubled
    clock.t = 1120.0
    await plugin.queue.run_once()
    assert row()[:3] == ("pending", 1120.0 + 120.0, 2)

    carrier.refuse = None
    clock.t = 1240.0
    await plugin.queue.run_once()
    assert row()[0] == "complete"
    assert isinstance(await plugin.poll(_action({"carrier": "acme", "numbers": []})), Complete)
    await plugin.stop()


@pytest.mark.anyio
async def test_backoff_keeps_only_the_unpolled_rest(db: StoreDB, clock: ManualClock) -> None:
    plugin = make_plugin(db, clock, on_throttle="backoff")
    carrier = FakeCarrier(clock)
    numbers = ship(db, clock, 90)
    calls = 0

    def second_call_throttled(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        carrier.refuse = (429, {"Retry-After": "30"}, "rate_limited") if calls == 2 else None
        return carrier(request)

    with respx.mock(base_url=BASE) as mock:
        mock.post("/v1/trackings/batch").mock(side_effect=second_call_throttled)
        result = await plugin.poll(_action({"carrier": "acme", "numbers": numbers}))
    assert isinstance(result, Postpone)
    assert result.at == pytest.approx(clock.now() + 30)
    assert result.args == {"carrier": "acme", "numbers": numbers[40:]}
    await plugin.stop()


@pytest.mark.anyio
async def test_timeouts_and_errors_are_recorded_and_ignored(
    db: StoreDB, clock: ManualClock
) -> None:
    plugin = make_plugin(db, clock, on_throttle="stop-run")
    numbers = ship(db, clock, 45)
    replies: Iterator[httpx.Response | Exception] = iter(
        [httpx.ConnectTimeout("slow"), httpx.Response(502, text="bad gateway")]
    )

    def flaky(request: httpx.Request) -> httpx.Response:
        reply = next(replies)
        if isinstance(reply, Exception):
            raise reply
        return reply

    with respx.mock(base_url=BASE) as mock:
        mock.post("/v1/trackings/batch").mock(side_effect=flaky)
        result = await plugin.poll(_action({"carrier": "acme", "numbers": numbers}))
    assert isinstance(result, Complete)
    rows = db.conn.execute("SELECT status, outcome FROM plugin_requests").fetchall()
    assert [tuple(r) for r in rows] == [(0, "timeout"), (502, "error")]
    assert (plugin.counters.errors, plugin.counters.ok) == (2, 0)
    assert db.counts()["changes"] == 0
    await plugin.stop()


def _action(args: dict[str, Any], hook: str = POLL_HOOK, attempts: int = 1) -> QueuedAction:
    return QueuedAction(id=0, hook=hook, args=args, scheduled_t=0.0, attempts=attempts)


@pytest.mark.anyio
async def test_a_store_started_before_second_zero_polls_on_the_grid_of_one_started_at_zero(
    db: StoreDB, clock: ManualClock, carrier: FakeCarrier
) -> None:
    """The wall-time store starts in the warm-up, before the run's second 0; its ticks and its
    first scheduling pass fall at 0, 60, … as in the virtual world, which starts at 0."""
    clock.t = -249.0
    plugin = make_plugin(db, clock, batch_size=35, interval=3600)
    plugin.ensure_scheduled()
    assert plugin.queue.next_cron == 0.0
    assert await plugin.queue.cron_step() is None  # nothing fires in the warm-up
    due = db.conn.execute("SELECT scheduled_t FROM actions WHERE hook = ?", (SCHEDULE_HOOK,))
    assert [r[0] for r in due] == [0.0]
    clock.t = 0.0
    plugin.queue.on_traffic(0.0)
    assert await plugin.queue.cron_step() is not None
    assert plugin.queue.next_cron == 60.0
    started_late = ActionQueue(db, ManualClock(t=125.0), tick=60.0)
    assert started_late.next_cron == 125.0  # a restart mid-run ticks from its own start
