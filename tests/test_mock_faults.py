"""Faults and concurrency limits: pipeline outputs with explicit times, then through the app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from mocks._server import listen, server_config
from mocks.app import CarrierApp, create_carrier_app
from mocks.behaviours.pipeline import Mangle, Pipeline, Refusal, build_pipeline
from mocks.journal import Journal
from peakbench.config.fleet import CarrierSpec, FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
KEYS = ["secret-a", "secret-b"]
NUMBER = make_tracking_number(START - 2 * 86400, "domestic", 1)


def pipeline_of(*behaviours: dict[str, Any], seed: str = "1:acme") -> Pipeline:
    carrier = CarrierSpec.model_validate({"name": "acme", "behaviours": list(behaviours)})
    return build_pipeline(carrier.behaviours, seed, START)


def admit(pipeline: Pipeline, t: float = 0.0, key: str = "k0", route: str = "track") -> Any:
    return pipeline.admit(route, key, "10.0.0.1", t, START + t)


# -- pipeline outputs ----------------------------------------------------------------------------


def test_5xx_fault_fires_at_its_rate_with_seeded_draws() -> None:
    pipeline = pipeline_of({"type": "fault", "kind": "5xx", "status": 502, "rate": 0.02})
    outcomes = [admit(pipeline) for _ in range(20_000)]
    faults = [r for r in outcomes if r is not None]
    assert len(faults) / len(outcomes) == pytest.approx(0.02, abs=0.004)
    assert set(faults) == {Refusal("fault", 502, "fault:5xx", 0, 0, "reply", 0.0)}
    again = pipeline_of({"type": "fault", "kind": "5xx", "status": 502, "rate": 0.02})
    assert [admit(again) for _ in range(20_000)] == outcomes
    other_seed = pipeline_of({"type": "fault", "kind": "5xx", "rate": 0.02}, seed="2:acme")
    assert [admit(other_seed) is None for _ in range(20_000)] != [r is None for r in outcomes]


def test_wrapper_probability_and_fault_rate_multiply() -> None:
    pipeline = pipeline_of({"type": "fault", "kind": "5xx", "rate": 0.5, "probability": 0.2})
    share = sum(admit(pipeline) is not None for _ in range(20_000)) / 20_000
    assert share == pytest.approx(0.1, abs=0.01)


def test_reset_and_hang_faults_refuse_in_their_form() -> None:
    reset = admit(pipeline_of({"type": "fault", "kind": "reset"}))
    assert reset == Refusal("fault", 503, "fault:reset", 0, 0, "reset", 0.0)
    hang = admit(pipeline_of({"type": "fault", "kind": "hang", "hang": "2m"}))
    assert hang == Refusal("fault", 503, "fault:hang", 0, 0, "hang", 120.0)


def test_mangles_only_after_answering_and_only_on_their_routes() -> None:
    pipeline = pipeline_of(
        {"type": "fault", "kind": "malformed", "routes": ["batch"]},
        {"type": "fault", "kind": "truncated", "cut": 0.25, "honest": False, "routes": ["track"]},
        {"type": "fault", "kind": "slow-body", "body": "20s", "routes": ["other"]},
    )
    assert not pipeline.faults and len(pipeline.mangles) == 3
    assert admit(pipeline) is None  # mangles never refuse
    assert pipeline.mangle("batch", 0.0) == Mangle("malformed", 0.5, 0.0, True)
    assert pipeline.mangle("track", 0.0) == Mangle("truncated", 0.25, 0.0, False)
    assert pipeline.mangle("other", 0.0) == Mangle("slow-body", 0.5, 20.0, True)
    assert pipeline.mangle("token", 0.0) is None


def test_mangle_rate_and_active_window() -> None:
    pipeline = pipeline_of(
        {"type": "fault", "kind": "malformed", "rate": 0.1, "active": {"start": "1h"}}
    )
    assert all(pipeline.mangle("track", 0.0) is None for _ in range(1000))
    share = sum(pipeline.mangle("track", 3600.0) is not None for _ in range(20_000)) / 20_000
    assert share == pytest.approx(0.1, abs=0.01)


def test_a_5xx_still_charges_the_quota_it_passed() -> None:
    pipeline = pipeline_of(
        {"type": "quota", "limit": 2, "per": "1m"},
        {"type": "fault", "kind": "5xx", "rate": 1.0},
    )
    assert [admit(pipeline).kind for _ in range(3)] == ["fault", "fault", "quota"]


def test_concurrency_limit_refuses_while_full_and_frees_on_release() -> None:
    pipeline = pipeline_of({"type": "concurrency", "limit": 2, "retry_after": "2s"})
    assert admit(pipeline) is None and admit(pipeline, key="k1") is None  # global scope
    refusal = admit(pipeline, key="k2")
    assert refusal == Refusal("concurrency", 429, "concurrency", 2, 2)
    assert pipeline.inflight == 2  # a refused request is not in flight
    pipeline.release("track", "k0", "10.0.0.1", 1.0)
    assert admit(pipeline, 1.0, key="k2") is None
    assert admit(pipeline, 1.0) is not None


def test_per_key_concurrency_and_route_filter() -> None:
    pipeline = pipeline_of({"type": "concurrency", "limit": 1, "scope": "key", "routes": ["batch"]})
    assert admit(pipeline, route="batch") is None
    assert admit(pipeline, route="batch") is not None
    assert admit(pipeline, route="batch", key="k1") is None
    assert all(admit(pipeline) is None for _ in range(5))  # track is not limited
    pipeline.release("batch", "k0", "10.0.0.1", 0.0)
    assert admit(pipeline, route="batch") is None


def test_concurrency_counts_in_flight_even_outside_its_active_window() -> None:
    pipeline = pipeline_of(
        {"type": "concurrency", "limit": 1, "active": {"start": "10s"}},
    )
    assert admit(pipeline, 0.0) is None and admit(pipeline, 0.0) is None  # inactive: no refusal
    assert admit(pipeline, 10.0) is not None  # two still in flight
    pipeline.release("track", "k0", "10.0.0.1", 11.0)
    pipeline.release("track", "k0", "10.0.0.1", 11.0)
    assert admit(pipeline, 12.0) is None


def test_concurrency_refusals_count_as_violations_towards_a_ban() -> None:
    pipeline = pipeline_of(
        {"type": "concurrency", "limit": 1},
        {"type": "block", "violations": 2, "within": "1m", "ban": "1h", "form": "waf"},
    )
    assert admit(pipeline) is None
    assert admit(pipeline).kind == "concurrency"
    assert admit(pipeline).kind == "concurrency"
    pipeline.release("track", "k0", "10.0.0.1", 1.0)
    ban = admit(pipeline, 1.0)
    assert (ban.kind, ban.status, ban.form, ban.retry_after) == ("ban", 403, "waf", 3599)


# -- through the app -----------------------------------------------------------------------------


def make_app(tmp_path: Path, *behaviours: dict[str, Any]) -> CarrierApp:
    fleet = FleetSpec.model_validate(
        {"seed": 3, "carriers": [{"name": "acme", "behaviours": list(behaviours)}]}
    )
    clock = ManualClock(t=0.0, start_epoch=START)
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


async def track(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get(f"/v1/trackings/{NUMBER}", headers={"X-Api-Key": KEYS[0]})


def test_app_answers_an_injected_5xx_in_the_carrier_envelope(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"type": "fault", "kind": "5xx", "status": 503})
    response = call(app, track)
    assert response.status_code == 503
    assert "error" in response.json()
    line = journal_lines(app)[0]
    assert (line["status"], line["outcome"], line["cause"]) == (503, "error", "fault:5xx")


def test_app_sends_malformed_and_truncated_bodies(tmp_path: Path) -> None:
    good = call(make_app(tmp_path / "a"), track)
    assert good.status_code == 200 and good.json()["data"]["tracking_number"] == NUMBER
    malformed = call(make_app(tmp_path / "b", {"type": "fault", "kind": "malformed"}), track)
    assert malformed.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.content)
    app = make_app(tmp_path / "c", {"type": "fault", "kind": "truncated", "cut": 0.5})
    truncated = call(app, track)
    assert len(truncated.content) == len(good.content) // 2
    assert truncated.content == good.content[: len(good.content) // 2]
    assert journal_lines(app)[0]["cause"] == "fault:truncated"


def test_app_words_quota_concurrency_and_waf_ban(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"type": "quota", "limit": 1, "per": "1m"},
        {"type": "block", "violations": 1, "within": "1m", "ban": "1h", "form": "waf"},
    )

    async def three(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await track(client) for _ in range(3)]

    ok, throttled, banned = call(app, three)
    assert ok.status_code == 200 and throttled.status_code == 429
    assert banned.status_code == 403 and banned.headers["content-type"].startswith("text/html")
    outcomes = [(x["outcome"], x["cause"]) for x in journal_lines(app)]
    assert outcomes == [("ok", None), ("throttled", "quota:1m"), ("blocked", "ban")]


def test_app_releases_every_admitted_request(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {"type": "concurrency", "limit": 1},
        {"type": "congestion", "per_inflight": "1s"},
        {"type": "fault", "kind": "malformed", "rate": 0.5},
    )

    async def many(client: httpx.AsyncClient) -> list[int]:
        return [(await track(client)).status_code for _ in range(20)]

    assert call(app, many) == [200] * 20  # sequential: never more than one in flight
    assert app.pipeline.inflight == 0
    assert app.pipeline.limits[0].behaviour.inflight == {}


def test_real_server_resets_and_hangs_up_on_refusals(tmp_path: Path) -> None:
    async def main(app: CarrierApp) -> list[str]:
        sock = listen("127.0.0.1")
        server = uvicorn.Server(server_config(app, grace_s=1.0))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            for _ in range(200):
                if server.started:
                    break
                await asyncio.sleep(0.01)
            port = sock.getsockname()[1]
            errors = []
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as c:
                for _ in range(2):
                    with pytest.raises(httpx.TransportError) as caught:
                        await track(c)
                    errors.append(type(caught.value).__name__)
            return errors
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 5)
            sock.close()

    reset = make_app(tmp_path / "r", {"type": "fault", "kind": "reset"})
    assert len(asyncio.run(main(reset))) == 2
    hang = make_app(tmp_path / "h", {"type": "fault", "kind": "hang", "hang": "30s"})
    assert len(asyncio.run(main(hang))) == 2
    for app, cause in ((reset, "fault:reset"), (hang, "fault:hang")):
        lines = journal_lines(app)
        assert [(x["status"], x["outcome"], x["cause"]) for x in lines] == [(0, "error", cause)] * 2
