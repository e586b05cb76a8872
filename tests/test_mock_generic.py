"""The generic carrier personality: pure functions first, then the ASGI app in process."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocks.app import CarrierApp, create_carrier_app
from mocks.carriers import make_personality
from mocks.carriers.generic import GenericPersonality, local_iso, prerender
from mocks.journal import Journal
from peakbench.config.fleet import CarrierSpec, FleetSpec
from peakbench.plan.clock import ManualClock, iso
from peakbench.plan.timeline import journey, make_tracking_number, visible_count

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
KEYS = ["secret-a", "secret-b"]
LOCAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def fleet_of(*behaviours: dict[str, Any]) -> FleetSpec:
    return FleetSpec.model_validate(
        {"seed": 3, "carriers": [{"name": "acme", "behaviours": list(behaviours)}]}
    )


def numbers(count: int, shipped: float = START - 3 * DAY) -> list[str]:
    lanes = ("domestic", "cross-border")
    return [make_tracking_number(shipped + i * 60, lanes[i % 2], i) for i in range(count)]


def make_app(tmp_path: Path, *behaviours: dict[str, Any], t: float = 0.0) -> CarrierApp:
    fleet = fleet_of(*behaviours)
    clock = ManualClock(t=t, start_epoch=START)
    journal = Journal("acme", tmp_path / "carrier-acme.jsonl")
    return create_carrier_app(fleet.carriers[0], fleet, clock, KEYS, journal)


def call(app: CarrierApp, fn: Callable[[httpx.AsyncClient], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            return await fn(client)

    return asyncio.run(main())


def journal_lines(app: CarrierApp) -> list[dict[str, Any]]:
    app.journal.flush()
    assert app.journal.path is not None
    return [json.loads(line) for line in app.journal.path.read_text().splitlines()]


# -- pure personality ------------------------------------------------------------------------------


def test_routes_map_to_neutral_names() -> None:
    p = GenericPersonality("acme", fleet_of().timeline_model(fleet_of().carriers[0]))
    assert p.match("GET", "/v1/trackings/PB123") == ("track", "PB123")
    assert p.match("POST", "/v1/trackings/batch") == ("batch", "")
    assert p.match("GET", "/v1/trackings/batch") == ("track", "batch")
    assert p.match("GET", "/v1/trackings/") == ("other", "")
    assert p.match("GET", "/v1/trackings/a/b") == ("other", "")
    assert p.match("DELETE", "/v1/trackings/PB123") == ("other", "")
    assert p.match("GET", "/") == ("other", "")
    assert p.credential([(b"accept", b"*/*"), (b"x-api-key", b"k")], b"", 0.0) == "k"
    assert p.credential([(b"x-api-key", b"")], b"", 0.0) is None


def test_personalities_of_one_carrier_and_model_share_rendered_parcels() -> None:
    fleet = fleet_of()
    model = fleet.timeline_model(fleet.carriers[0])
    parcels = numbers(6)
    assert prerender("acme", model, [*parcels, "not-a-number"]) == 6
    first, second = GenericPersonality("acme", model), GenericPersonality("acme", model)
    assert all(first.rendered(n) is second.rendered(n) for n in parcels)
    # another carrier name or another seed renders its own parcels, with its own head
    other = GenericPersonality("zenith", model)
    reseeded = FleetSpec.model_validate({"seed": 4, "carriers": [{"name": "acme"}]})
    again = GenericPersonality("acme", reseeded.timeline_model(reseeded.carriers[0]))
    late = START + 30 * DAY
    for n in parcels:
        assert other.rendered(n) is not first.rendered(n)
        assert again.rendered(n) is not first.rendered(n)
        assert json.loads(other.tracking_json(n, late) or "")["carrier"] == "zenith"
        assert first.tracking_json(n, late) == second.tracking_json(n, late)
        assert [
            e["occurred_at"] for e in json.loads(first.tracking_json(n, late) or "")["events"]
        ] == [local_iso(e.occurred_at, e.utc_offset_s) for e in journey(model, n)]


def test_tracking_is_the_visible_prefix_oldest_first() -> None:
    fleet = fleet_of()
    model = fleet.timeline_model(fleet.carriers[0])
    p = make_personality(CarrierSpec(name="acme"), model)
    assert isinstance(p, GenericPersonality)
    number = numbers(1)[0]
    events = journey(model, number)
    before = json.loads(p.tracking_json(number, events[0].visible_at - 1) or "")
    assert before == {
        "tracking_number": number,
        "carrier": "acme",
        "status": "pending",
        "updated_at": None,
        "events": [],
    }
    for k in (1, 3, len(events)):
        epoch = events[k - 1].visible_at
        doc = json.loads(p.tracking_json(number, epoch) or "")
        assert len(doc["events"]) == visible_count(events, epoch) >= k
        shown = doc["events"]
        newest = events[len(shown) - 1]
        assert doc["status"] == newest.status
        assert doc["updated_at"] == iso(newest.visible_at)
        assert [e["code"] for e in shown] == [e.code for e in events[: len(shown)]]
        assert shown[0]["location"] == {
            "city": events[0].city,
            "state": events[0].state,
            "country": events[0].country,
        }
        assert all(LOCAL.match(e["occurred_at"]) for e in shown)
    assert p.tracking_json("PB" + "0" * 14, START) is None
    assert p.tracking_json("nope", START) is None


def test_local_iso_prints_the_scan_offset() -> None:
    assert local_iso(START + 5 * 3600 + 15 * 60, -5 * 3600) == "2026-11-27T05:15:00-05:00"
    assert local_iso(START, 8 * 3600) == "2026-11-27T13:00:00+08:00"
    assert local_iso(START, 0) == "2026-11-27T05:00:00+00:00"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b'{"tracking_numbers": 1' + b"0" * 6000 + b"}", "not valid JSON"),
        (b"[]", "expected"),
        (b'{"tracking_numbers": "PB1"}', "expected"),
        (b'{"tracking_numbers": [1, 2]}', "strings"),
        (b'{"tracking_numbers": NaN}', "expected"),  # not JSON, but read as before
        (b'{"tracking_numbers": [NaN]}', "strings"),
        (json.dumps({"tracking_numbers": ["x"] * 41}).encode(), "at most 40"),
    ],
)
def test_malformed_batches_are_bad_requests(body: bytes, error: str) -> None:
    fleet = fleet_of()
    p = GenericPersonality("acme", fleet.timeline_model(fleet.carriers[0]))
    ask = p.parse("batch", "", body)
    assert ask.error is not None and error in ask.error
    reply = p.respond(ask, START)
    assert reply.status == 400 and reply.cause == "bad_request"
    assert json.loads(reply.body)["error"]["code"] == "bad_request"


# -- the app in process ----------------------------------------------------------------------------


def test_auth_missing_or_unknown_key_is_401_and_journaled_anon(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    number = numbers(1)[0]

    async def go(c: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await c.get(f"/v1/trackings/{number}"),
            await c.get(f"/v1/trackings/{number}", headers={"X-Api-Key": "secret-c"}),
            await c.get(f"/v1/trackings/{number}", headers={"X-Api-Key": "secret-b"}),
        ]

    missing, unknown, good = call(app, go)
    for r in (missing, unknown):
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
    assert good.status_code == 200
    lines = journal_lines(app)
    assert [(x["key"], x["status"], x["outcome"], x["cause"]) for x in lines] == [
        ("anon", 401, "error", "auth"),
        ("anon", 401, "error", "auth"),
        ("k1", 200, "ok", None),
    ]
    assert "secret" not in app.journal.path.read_text()  # type: ignore[union-attr]


def test_track_and_batch_envelopes_follow_store_time(tmp_path: Path) -> None:
    app = make_app(tmp_path, t=0.0)
    asked = numbers(3)
    model = fleet_of().timeline_model(fleet_of().carriers[0])
    headers = {"X-Api-Key": "secret-a"}

    async def go(c: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        one = await c.get(f"/v1/trackings/{asked[0]}", headers=headers)
        batch = await c.post(
            "/v1/trackings/batch",
            json={"tracking_numbers": [*asked, "PB-UNKNOWN"]},
            headers=headers,
        )
        app.clock.advance(5 * DAY)  # type: ignore[attr-defined]
        later = await c.get(f"/v1/trackings/{asked[0]}", headers=headers)
        return one, batch, later

    one, batch, later = call(app, go)
    assert one.status_code == 200 and one.headers["content-type"] == "application/json"
    data = one.json()["data"]
    events = journey(model, asked[0])
    assert len(data["events"]) == visible_count(events, START)
    assert len(later.json()["data"]["events"]) == visible_count(events, START + 5 * DAY)
    assert len(later.json()["data"]["events"]) > len(data["events"])
    body = batch.json()
    assert [d["tracking_number"] for d in body["data"]] == asked
    assert body["errors"] == [
        {
            "tracking_number": "PB-UNKNOWN",
            "code": "not_found",
            "message": body["errors"][0]["message"],
        }
    ]
    lines = journal_lines(app)
    assert [(x["route"], x["numbers"], x["status"]) for x in lines] == [
        ("track", 1, 200),
        ("batch", 4, 200),
        ("track", 1, 200),
    ]


def test_errors_404_400_413(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    headers = {"X-Api-Key": "secret-a"}

    async def go(c: httpx.AsyncClient) -> list[httpx.Response]:
        return [
            await c.get("/v1/trackings/PB0000000000000X", headers=headers),
            await c.get("/v2/whatever", headers=headers),
            await c.post("/v1/trackings/batch", content=b"{nope", headers=headers),
            await c.post(
                "/v1/trackings/batch", json={"tracking_numbers": numbers(41)}, headers=headers
            ),
            await c.post("/v1/trackings/batch", content=b" " * (2 << 20), headers=headers),
        ]

    statuses = [(r.status_code, r.json()["error"]["code"]) for r in call(app, go)]
    assert statuses == [
        (404, "not_found"),
        (404, "not_found"),
        (400, "bad_request"),
        (400, "bad_request"),
        (413, "bad_request"),
    ]
    lines = journal_lines(app)
    assert [(x["outcome"], x["cause"], x["numbers"]) for x in lines] == [
        ("error", "not_found", 1),
        ("error", "not_found", 0),
        ("error", "bad_request", 0),
        ("error", "bad_request", 41),
        ("error", "bad_request", 0),
    ]
    assert app.journal.counters.errors == 5


def test_quota_429_with_retry_after_then_ban_403_and_latency(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"type": "quota", "limit": 2, "per": "1m"},
        {"type": "block", "violations": 2, "within": "1m", "ban": "1h"},
        {"type": "latency", "delay": "0s"},
        {"type": "latency", "delay": "250ms", "routes": ["batch"]},
    )
    number = numbers(1)[0]
    headers = {"X-Api-Key": "secret-a"}

    async def go(c: httpx.AsyncClient) -> list[httpx.Response]:
        out = [await c.get(f"/v1/trackings/{number}", headers=headers) for _ in range(5)]
        out.append(await c.get(f"/v1/trackings/{number}", headers={"X-Api-Key": "secret-b"}))
        return out

    replies = call(app, go)
    assert [r.status_code for r in replies] == [200, 200, 429, 429, 403, 200]
    assert int(replies[2].headers["retry-after"]) == 30  # one token per 60/2 s
    assert replies[2].json()["error"]["code"] == "rate_limited"
    assert replies[4].json()["error"]["code"] == "blocked"
    assert "retry-after" not in replies[4].headers
    lines = journal_lines(app)
    assert [(x["outcome"], x["cause"]) for x in lines] == [
        ("ok", None),
        ("ok", None),
        ("throttled", "quota:1m"),
        ("throttled", "quota:1m"),
        ("blocked", "ban"),
        ("ok", None),
    ]
    counters = app.journal.counters
    assert (counters.ok, counters.throttled, counters.blocked) == (3, 2, 1)

    async def batch(c: httpx.AsyncClient) -> httpx.Response:
        return await c.post("/v1/trackings/batch", json={"tracking_numbers": []}, headers=headers)

    before = app.clock.now()
    assert call(app, batch).status_code == 403
    assert app.clock.now() == pytest.approx(before + 0.25)  # slept on the store clock
    assert journal_lines(app)[-1]["delay"] == 0.25


def test_admin_health_and_counters(tmp_path: Path) -> None:
    app = make_app(tmp_path)

    async def go(c: httpx.AsyncClient) -> tuple[Any, Any, int]:
        await c.get("/v1/trackings/x", headers={"X-Api-Key": "secret-a"})
        health = (await c.get("/__admin/health")).json()
        counters = (await c.get("/__admin/counters")).json()
        return health, counters, (await c.get("/__admin/nope")).status_code

    health, counters, missing = call(app, go)
    assert health == {"ok": True, "carrier": "acme"}
    assert counters["requests"] == 1 and counters["errors"] == 1 and counters["carrier"] == "acme"
    assert missing == 404
    assert len(journal_lines(app)) == 1  # admin traffic is not carrier traffic


# -- never a 5xx -----------------------------------------------------------------------------------

_APP: CarrierApp | None = None


def _shared_app(tmp_path_factory: pytest.TempPathFactory) -> CarrierApp:
    global _APP
    if _APP is None:
        _APP = make_app(
            tmp_path_factory.mktemp("fuzz"),
            {"type": "quota", "limit": 50, "per": "1s"},
            {"type": "block", "violations": 20, "within": "1m", "ban": "10s"},
            {"type": "latency", "distribution": "lognormal", "median": "1s", "p99": "5s"},
        )
    return _APP


async def _raw(app: CarrierApp, method: str, path: str, headers: list, body: bytes) -> int:
    sent: list[dict[str, Any]] = []
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]

    async def receive() -> dict[str, Any]:
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": b"",
        "headers": headers,
        "client": ("10.0.0.1", 5555),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["type"] == "http.response.start"
    assert sent[1]["type"] == "http.response.body"
    return int(sent[0]["status"])


_TEXT = st.text(max_size=60)
_NUMBER = st.sampled_from(numbers(5)) | st.text(alphabet="PBDX0123456789AZ", max_size=20) | _TEXT
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _NUMBER,
    lambda inner: st.lists(inner, max_size=45) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=60,
)
_BODY = (
    st.binary(max_size=300)
    | _JSONISH.map(lambda v: json.dumps(v).encode())
    | st.lists(_JSONISH, max_size=50).map(lambda v: json.dumps({"tracking_numbers": v}).encode())
)
_PATH = st.sampled_from(
    ["/v1/trackings/batch", "/__admin/health", "/__admin/counters"]
) | st.tuples(st.sampled_from(["/v1/trackings/", "/", "/v1/", "/__admin/"]), _NUMBER).map("".join)
_HEADERS = st.lists(
    st.tuples(
        st.sampled_from([b"x-api-key", b"content-type", b"content-length"])
        | st.binary(max_size=20),
        st.sampled_from([b"secret-a", b"secret-b", b""]) | st.binary(max_size=40),
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "HEAD", "DELETE"]) | st.text(max_size=8),
    path=_PATH,
    headers=_HEADERS,
    body=_BODY,
    advance=st.floats(min_value=0, max_value=10 * DAY),
)
def test_random_requests_never_get_a_5xx(
    tmp_path_factory: pytest.TempPathFactory,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    advance: float,
) -> None:
    app = _shared_app(tmp_path_factory)
    app.clock.advance(advance)  # type: ignore[attr-defined]
    status = asyncio.run(_raw(app, method, path, headers, body))
    assert 200 <= status < 500
