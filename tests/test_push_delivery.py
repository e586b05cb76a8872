"""Push delivery against a real receiver on 127.0.0.1: retries, give-up, timeouts, concurrency,
newer state on retry, the attempt journal, and run_push on the wall clock."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from mocks.carriers.trackship import REGISTER, TrackShipPersonality
from mocks.push.journal import PushJournal
from mocks.push.runner import Pusher, join_url, ready_file_url, run_push
from peakbench.config.fleet import CarrierSpec, FleetSpec
from peakbench.config.push import PushSpec
from peakbench.plan.clock import ClockSpec, ManualClock, WallClock
from peakbench.plan.timeline import TimelineModel, journey, make_tracking_number, visible_count

START = 1_795_755_600.0
MODEL = TimelineModel(seed=9)
HOOK = "/wp-json/wc/v1/tracking-webhook"
CREDENTIALS = {"consumer_key": "ck_test", "consumer_secret": "cs_test"}
JOURNAL_KEYS = [
    "t",
    "carrier",
    "number",
    "event_id",
    "attempt",
    "status",
    "error",
    "latency_s",
    "next_t",
]


@dataclass
class Receiver:
    """A store's webhook endpoint: records requests, answers 500 to the first ``fail`` and
    sleeps ``hang_s`` wall seconds on the first ``hang`` requests."""

    url: str = ""
    fail: int = 0
    hang: int = 0
    hang_s: float = 0.0
    work_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    active: int = 0
    max_active: int = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen = len(self.requests)
        self.requests.append(
            {
                "path": scope["path"],
                "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
                "body": body,
            }
        )
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if seen < self.hang:
                await asyncio.sleep(self.hang_s)
            if self.work_s:
                await asyncio.sleep(self.work_s)
        finally:
            self.active -= 1
        status = 500 if seen < self.fail else 200
        out = b'{"status":"success"}' if status == 200 else b'{"code":"error"}'
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": out})

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Receiver()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    app.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    yield app
    server.should_exit = True
    thread.join(timeout=5)


def register(p: TrackShipPersonality, number: str, order_id: int) -> None:
    body = json.dumps(
        {
            "order_id": order_id,
            "tracking_number": number,
            "tracking_provider": "usps",
            "destination_country": "US",
            "user_key": "k",
        }
    ).encode()
    reply = p.respond(p.parse(REGISTER, "", body), START)
    assert reply.status == 200, reply.body


def shipped(seq: int, days_ago: float = 1.0) -> str:
    return make_tracking_number(START - days_ago * 86400, "domestic", seq)


def make_pusher(
    personality: TrackShipPersonality,
    clock: ManualClock,
    client: httpx.AsyncClient,
    journal: PushJournal,
    url: str,
    **spec: Any,
) -> Pusher:
    push = PushSpec.model_validate({"url": url, "cadence": {"min": "1h", "max": "1h"}, **spec})
    return Pusher(
        "ts",
        "trackship",
        push,
        personality,
        MODEL,
        clock,
        journal,
        client,
        store_credentials=CREDENTIALS,
        seed="1",
        min_timeout_wall=0.2,
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_push_is_delivered_with_store_auth_and_journaled(
    receiver: Receiver, tmp_path: Path
) -> None:
    personality = TrackShipPersonality("ts", MODEL)
    number = shipped(1)
    register(personality, number, 41)
    clock = ManualClock(t=100.0)
    path = tmp_path / "journals" / "push-ts.jsonl"
    journal = PushJournal("ts", path)

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            pusher = make_pusher(personality, clock, client, journal, receiver.url + HOOK)
            assert pusher.step() == 1
            await pusher.drain()
            assert pusher.step() == 0  # nothing new until the next poll
            await pusher.drain()

    asyncio.run(main())
    journal.close()
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == HOOK
    expected = "Basic " + base64.b64encode(b"ck_test:cs_test").decode()
    assert request["headers"]["authorization"] == expected
    assert request["headers"]["content-type"] == "application/json"
    body = receiver.bodies()[0]
    count = visible_count(journey(MODEL, number), START + 100.0)
    assert body["order_id"] == 41 and body["tracking_number"] == number
    assert len(body["events"]) == count
    (line,) = lines(path)
    assert list(line) == JOURNAL_KEYS
    assert line["t"] == 100.0 and line["attempt"] == 1 and line["status"] == 200
    assert line["error"] is None and line["next_t"] is None
    assert line["event_id"] == f"{number}:{count}"
    assert journal.counters.delivered == 1


def test_retries_follow_the_schedule_in_store_time(receiver: Receiver, tmp_path: Path) -> None:
    receiver.fail = 2
    personality = TrackShipPersonality("ts", MODEL)
    number = shipped(2, days_ago=0.5)
    register(personality, number, 7)
    clock = ManualClock(t=0.0)
    path = tmp_path / "push-ts.jsonl"
    journal = PushJournal("ts", path)

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            pusher = make_pusher(
                personality, clock, client, journal, receiver.url + HOOK, retries=["60s", "10m"]
            )
            pusher.step()
            await pusher.drain()
            assert len(receiver.requests) == 1
            clock.advance(59.0)
            pusher.step()
            await pusher.drain()
            assert len(receiver.requests) == 1  # not yet: the retry is 60 store seconds later
            clock.advance(1.0)
            pusher.step()
            await pusher.drain()
            assert len(receiver.requests) == 2
            clock.advance(599.0)
            pusher.step()
            await pusher.drain()
            assert len(receiver.requests) == 2
            clock.advance(1.0)
            pusher.step()
            await pusher.drain()
            assert len(receiver.requests) == 3

    asyncio.run(main())
    journal.close()
    got = lines(path)
    assert [(g["attempt"], g["status"], g["error"]) for g in got] == [
        (1, 500, "http"),
        (2, 500, "http"),
        (3, 200, None),
    ]
    assert [g["t"] for g in got] == [0.0, 60.0, 660.0]
    assert [g["next_t"] for g in got] == [60.0, 660.0, None]
    assert len({g["event_id"] for g in got}) == 1  # the state did not change meanwhile


def test_push_is_given_up_after_the_last_try(receiver: Receiver, tmp_path: Path) -> None:
    receiver.fail = 1000
    personality = TrackShipPersonality("ts", MODEL)
    register(personality, shipped(3), 8)
    clock = ManualClock(t=0.0)
    path = tmp_path / "push-ts.jsonl"
    journal = PushJournal("ts", path)

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            pusher = make_pusher(
                personality, clock, client, journal, receiver.url + HOOK, retries=["30s"]
            )
            for _ in range(5):
                pusher.step()
                await pusher.drain()
                clock.advance(30.0)
            assert pusher.delivery.waiting == 0

    asyncio.run(main())
    journal.close()
    got = lines(path)
    assert [g["attempt"] for g in got] == [1, 2]
    assert got[-1]["error"] == "http" and got[-1]["next_t"] is None
    assert journal.counters.gave_up == 1 and journal.counters.delivered == 0


def test_a_retry_sends_the_newer_state(receiver: Receiver, tmp_path: Path) -> None:
    receiver.fail = 1
    personality = TrackShipPersonality("ts", MODEL)
    number = make_tracking_number(START, "domestic", 4)  # shipped at run second 0
    register(personality, number, 9)
    events = journey(MODEL, number)
    first_t = events[0].visible_at - START + 1.0
    second_t = events[1].visible_at - START + 1.0
    clock = ManualClock(t=first_t)
    path = tmp_path / "push-ts.jsonl"
    journal = PushJournal("ts", path)

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            pusher = make_pusher(
                personality,
                clock,
                client,
                journal,
                receiver.url + HOOK,
                retries=[second_t - first_t + 7200.0],
                cadence={"min": "30m", "max": "30m"},
            )
            pusher.step()  # first poll at registration: the label scan
            await pusher.drain()
            while clock.now() < second_t + 3600.0:  # polls learn the pickup scan
                clock.advance(600.0)
                pusher.step()
                await pusher.drain()
            assert len(receiver.requests) == 1  # busy: no second push alongside the retry
            clock.advance(7200.0)
            pusher.step()
            await pusher.drain()

    asyncio.run(main())
    journal.close()
    bodies = receiver.bodies()
    assert len(bodies) == 2
    assert len(bodies[0]["events"]) < len(bodies[1]["events"])
    got = lines(path)
    assert got[1]["attempt"] == 2 and got[1]["status"] == 200
    assert got[0]["event_id"] != got[1]["event_id"]


def test_timeouts_and_refused_connections_are_retried(receiver: Receiver, tmp_path: Path) -> None:
    receiver.hang, receiver.hang_s = 1, 2.0
    personality = TrackShipPersonality("ts", MODEL)
    register(personality, shipped(5), 10)
    clock = ManualClock(t=0.0)
    journal = PushJournal("ts", tmp_path / "a.jsonl")
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}{HOOK}"

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            pusher = make_pusher(
                personality,
                clock,
                client,
                journal,
                receiver.url + HOOK,
                retries=["1m"],
                timeout=0.01,
            )
            began = time.monotonic()
            pusher.step()
            await pusher.drain()
            assert time.monotonic() - began < 1.5  # gave up waiting after ~0.2 s wall
            clock.advance(60.0)
            pusher.step()
            await pusher.drain()
            other = PushJournal("ts", tmp_path / "b.jsonl")
            refused = make_pusher(personality, clock, client, other, dead_url, retries=["1m"])
            refused.step()
            await refused.drain()
            other.close()

    try:
        asyncio.run(main())
    finally:
        dead.close()
    journal.close()
    got = lines(tmp_path / "a.jsonl")
    assert [(g["status"], g["error"]) for g in got] == [(None, "timeout"), (200, None)]
    assert got[0]["next_t"] == 60.0
    (refused_line,) = lines(tmp_path / "b.jsonl")
    assert refused_line["error"] == "connect" and refused_line["next_t"] is not None


def test_concurrency_is_bounded(receiver: Receiver, tmp_path: Path) -> None:
    receiver.work_s = 0.05
    personality = TrackShipPersonality("ts", MODEL)
    batch = [shipped(100 + i) for i in range(24)]
    for i, number in enumerate(batch):
        register(personality, number, 1000 + i)
    clock = ManualClock(t=0.0)
    journal = PushJournal("ts", None)

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            pusher = make_pusher(
                personality, clock, client, journal, receiver.url + HOOK, concurrency=3
            )
            assert pusher.step() == len(batch)
            assert pusher.delivery.in_flight == 3
            await pusher.drain()

    asyncio.run(main())
    assert len(receiver.requests) == len(batch)
    assert receiver.max_active <= 3
    assert {b["order_id"] for b in receiver.bodies()} == {1000 + i for i in range(24)}


def test_run_push_on_the_wall_clock(receiver: Receiver, tmp_path: Path) -> None:
    carrier = CarrierSpec.model_validate(
        {
            "name": "ts",
            "personality": "trackship",
            "push": {"url": HOOK, "cadence": {"min": "1h", "max": "2h"}},
        }
    )
    personality = TrackShipPersonality("ts", MODEL)
    batch = [make_tracking_number(START, "domestic", 200 + i) for i in range(5)]
    for i, number in enumerate(batch):
        register(personality, number, 2000 + i)
    # 1 wall second = 2 store days: a few wall seconds cover whole journeys
    clock = WallClock(ClockSpec(START, 172_800.0, time.time()))
    path = tmp_path / "journals" / "push-ts.jsonl"

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_push(
                carrier,
                personality,
                clock,
                path,
                None,
                CREDENTIALS,
                stop,
                model=MODEL,
                seed=3,
                base_url=lambda: receiver.url,
            )
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done = [b for b in receiver.bodies() if b["tracking_event_status"] == "delivered"]
            if len({b["order_id"] for b in done}) == len(batch):
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    bodies = receiver.bodies()
    delivered = {b["tracking_number"] for b in bodies if b["tracking_event_status"] == "delivered"}
    assert delivered == set(batch)
    for number in batch:  # each number's pushes carry ever more events, never the same twice
        counts = [
            len(b["events"]) + len(b["destination_events"] or [])
            for b in bodies
            if b["tracking_number"] == number
        ]
        assert counts == sorted(set(counts))
        assert counts[-1] == len(journey(MODEL, number))
    got = lines(path)
    assert len(got) == len(bodies)
    assert all(g["status"] == 200 for g in got)


@pytest.mark.parametrize(
    ("personality", "path", "register_body", "signature"),
    [
        ("aftership", "/tracking/2026-07/trackings", {"tracking_number": "{n}"}, "aftership"),
        ("17track", "/track/v2.2/register", [{"number": "{n}"}], "17track"),
        ("easypost", "/v2/trackers", {"tracker": {"tracking_code": "{n}"}}, "easypost"),
    ],
)
def test_registration_personalities_push_signed_bodies(
    receiver: Receiver,
    tmp_path: Path,
    personality: str,
    path: str,
    register_body: Any,
    signature: str,
) -> None:
    module = {"17track": "seventeentrack"}.get(personality, personality)
    mod = pytest.importorskip(f"mocks.carriers.{module}")
    spec = FleetSpec.model_validate(
        {"seed": 2, "carriers": [{"name": "agg", "personality": personality}]}
    )
    carrier = spec.carriers[0]
    model = spec.timeline_model(carrier)
    pers = mod.make(carrier, model)
    number = make_tracking_number(START - 86400, "domestic", 300)
    route, argument = pers.match("POST", path)
    raw = json.dumps(register_body).replace("{n}", number).encode()
    assert pers.respond(pers.parse(route, argument, raw), START).status < 300
    assert list(pers.registered()) == [number]
    clock = ManualClock(t=0.0)
    journal = PushJournal("agg", tmp_path / "push-agg.jsonl")
    secret = "whsec-test"

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            push = PushSpec.model_validate({"url": receiver.url + "/hook"})
            pusher = Pusher(
                "agg", personality, push, pers, model, clock, journal, client, secret, CREDENTIALS
            )
            assert pusher.step() == 1
            await pusher.drain()

    asyncio.run(main())
    journal.close()
    (request,) = receiver.requests
    body, headers = request["body"], request["headers"]
    assert "authorization" not in headers  # store auth is TrackShip's, not the signers'
    assert headers["content-type"] == "application/json"
    json.loads(body)
    if signature == "aftership":
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        assert headers["aftership-hmac-sha256"] == base64.b64encode(digest).decode()
    elif signature == "17track":
        assert headers["sign"] == hashlib.sha256(body + b"/" + secret.encode()).hexdigest()
    else:
        digest_hex = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-hmac-signature"] == f"hmac-sha256-hex={digest_hex}"
    (line,) = lines(tmp_path / "push-agg.jsonl")
    assert line["status"] == 200 and line["number"] == number


class Faulty(TrackShipPersonality):
    """A personality whose body for one number raises: that push is lost, the rest go on."""

    bad = ""

    def push_body(self, number: str, epoch: float) -> bytes | None:
        if number == self.bad:
            raise RuntimeError("bug")
        return super().push_body(number, epoch)


def test_a_personality_bug_costs_one_push(receiver: Receiver) -> None:
    personality = Faulty("ts", MODEL)
    batch = [shipped(400 + i) for i in range(3)]
    for i, number in enumerate(batch):
        register(personality, number, 500 + i)
    personality.bad = batch[1]
    clock = ManualClock(t=0.0)
    journal = PushJournal("ts", None)

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            pusher = make_pusher(personality, clock, client, journal, receiver.url + HOOK)
            assert pusher.step() == 3
            await pusher.drain()
            assert pusher.schedule.tracks[batch[1]].busy is False
            personality.bad = ""
            clock.advance(86400.0)  # a later poll with a newer state pushes it again
            pusher.step()
            await pusher.drain()

    asyncio.run(main())
    orders = [b["order_id"] for b in receiver.bodies()]
    assert sorted(orders[:2]) == [500, 502]
    assert 501 in orders[2:]


def test_store_url_from_its_ready_file(tmp_path: Path) -> None:
    path = tmp_path / "store.ready.json"
    resolve = ready_file_url(path)
    assert resolve() is None
    path.write_text("{not json")
    assert resolve() is None
    path.write_text(json.dumps({"pid": 1, "port": 8, "base_url": "http://127.0.0.1:8"}))
    assert resolve() == "http://127.0.0.1:8"
    assert join_url(HOOK, resolve()) == "http://127.0.0.1:8" + HOOK
    assert join_url("http://h/x", None) == "http://h/x"
    assert join_url(HOOK, None) is None
