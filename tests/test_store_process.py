"""The real ``python -m mocks.store serve`` child against a fake generic carrier on a real port."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mocks.carriers.generic import GenericPersonality
from peakbench.plan.clock import ClockSpec, WallClock
from peakbench.plan.timeline import TimelineModel, journey, make_tracking_number, visible_count

ROOT = Path(__file__).resolve().parents[1]
KEY = "acme-key-1"
CREDS = {"consumer_key": "ck_proc", "consumer_secret": "cs_proc"}
AUTH = ("ck_proc", "cs_proc")
MODEL = TimelineModel(seed=5)
PERSONALITY = GenericPersonality("acme", MODEL)
SCALE = 3600.0  # one store hour per wall second: the hourly poll runs every wall second


def fake_carrier_app(clock: WallClock, hits: list[int]) -> Starlette:
    """The generic personality's batch route, answering from the real timeline."""

    async def batch(request: Request) -> JSONResponse:
        if request.headers.get("x-api-key") != KEY:
            return JSONResponse({"error": {"code": "unauthorized", "message": "key"}}, 401)
        numbers = (await request.json())["tracking_numbers"]
        hits.append(len(numbers))
        epoch = clock.spec.start_epoch + clock.now()
        data = [json.loads(PERSONALITY.tracking_json(n, epoch) or "null") for n in numbers]
        return JSONResponse({"data": data, "errors": []})

    return Starlette(routes=[Route("/v1/trackings/batch", batch, methods=["POST"])])


@pytest.fixture
def clock_spec() -> ClockSpec:
    return ClockSpec(start_epoch=1_795_755_600.0, scale=SCALE, wall_epoch=time.time())


@pytest.fixture
def carrier(clock_spec: ClockSpec) -> Iterator[tuple[str, list[int]]]:
    hits: list[int] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        fake_carrier_app(WallClock(clock_spec), hits),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", hits
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


def _run_folder(tmp_path: Path, clock_spec: ClockSpec, carrier_url: str) -> Path:
    plugin = {
        "interval": "1h",
        "tick": "60s",
        "batch_size": 35,
        "time_limit": "30s",
        "request_timeout": "10s",
        "on_throttle": "ignore",
    }
    (tmp_path / "store.json").write_text(
        json.dumps(
            {
                "plugin": plugin,
                "carriers": {"acme": {"base_url": carrier_url, "personality": "generic"}},
            }
        )
    )
    (tmp_path / "clock.json").write_text(json.dumps(clock_spec.to_json()))
    return tmp_path


def _serve_cmd(run: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mocks.store",
        "serve",
        "--config",
        str(run / "store.json"),
        "--clock",
        str(run / "clock.json"),
        "--db",
        str(run / "store.sqlite"),
        "--ready-file",
        str(run / "store.ready.json"),
    ]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PEAKBENCH_STORE_CREDENTIALS"] = json.dumps(CREDS)
    env["PEAKBENCH_CARRIER_KEYS"] = json.dumps({"acme": [KEY, "spare"]})
    return env


def _wait_ready(path: Path, proc: subprocess.Popen[bytes], seconds: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return dict(json.loads(path.read_text()))
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        time.sleep(0.05)
    raise AssertionError("store did not become ready")


def test_store_process_serves_polls_and_exits_cleanly(
    tmp_path: Path, clock_spec: ClockSpec, carrier: tuple[str, list[int]]
) -> None:
    carrier_url, hits = carrier
    run = _run_folder(tmp_path, clock_spec, carrier_url)
    proc = subprocess.Popen(_serve_cmd(run), cwd=ROOT, env=_env(), stderr=subprocess.PIPE)
    try:
        ready = _wait_ready(run / "store.ready.json", proc)
        assert ready["pid"] == proc.pid
        assert ready["base_url"] == f"http://127.0.0.1:{ready['port']}"
        assert not (run / "store.ready.json.tmp").exists()
        wall = WallClock(clock_spec)
        with httpx.Client(
            base_url=ready["base_url"], auth=AUTH, timeout=5, trust_env=False
        ) as http:
            assert http.get("/__admin/health").json() == {"ok": True}
            order = http.post(
                "/wp-json/wc/v3/orders",
                json={"set_paid": True, "line_items": [{"product_id": 3, "quantity": 1}]},
            ).json()
            # shipped two store days ago, so the carrier already has events to show
            number = make_tracking_number(
                clock_spec.start_epoch + wall.now() - 2 * 86400, "domestic", 1
            )
            shipped = http.post(
                f"/wp-json/wc-shipment-tracking/v3/orders/{order['id']}/shipment-trackings",
                json={"tracking_provider": "acme", "tracking_number": number},
            )
            assert shipped.status_code == 201
            page = ""
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                page = http.get(
                    f"/order-tracking/{order['id']}", params={"key": order["order_key"]}
                ).text
                if 'class="tracking-event"' in page:
                    break
                time.sleep(0.1)
            shown = re.findall(r'<li class="tracking-event" data-status="([^"]*)"', page)
            assert shown, page
            events = journey(MODEL, number)
            assert len(shown) <= visible_count(events, clock_spec.start_epoch + wall.now())
            stats = http.get("/__admin/stats").json()
            assert stats["plugin"]["ok"] >= 1
            assert stats["changes"] >= 1
            assert (stats["orders"], stats["shipments"]) == (1, 1)
        assert hits and max(hits) <= 40
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert rc == 0, proc.stderr.read() if proc.stderr else rc

    conn = sqlite3.connect(run / "store.sqlite")
    count = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    assert count("SELECT count(*) FROM orders") == 1
    assert count("SELECT shown_count FROM shipments") >= len(shown)
    assert count("SELECT count(*) FROM tracking_changes") >= 1
    assert count("SELECT count(*) FROM plugin_requests WHERE outcome = 'ok'") >= 1
    assert count("SELECT count(*) FROM queue_samples") >= 1
    assert count("SELECT count(*) FROM actions WHERE status = 'complete'") >= 1
    assert count("SELECT count(*) FROM actions WHERE status = 'running'") == 0
    conn.close()


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")


def test_store_exits_when_its_parent_dies(
    tmp_path: Path, clock_spec: ClockSpec, carrier: tuple[str, list[int]]
) -> None:
    run = _run_folder(tmp_path, clock_spec, carrier[0])
    ready_file = run / "store.ready.json"
    parent = (
        "import subprocess, sys, time, os, pathlib\n"
        f"p = subprocess.Popen({_serve_cmd(run)!r}, stdout=subprocess.DEVNULL,\n"
        "                      stderr=subprocess.DEVNULL)\n"
        "print(p.pid, flush=True)\n"
        f"ready = pathlib.Path({str(ready_file)!r})\n"
        "deadline = time.monotonic() + 15\n"
        "while not ready.exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "os._exit(0)\n"
    )
    middle = subprocess.run(
        [sys.executable, "-c", parent],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    pid = int(middle.stdout.split()[0])
    assert ready_file.exists()
    deadline = time.monotonic() + 5
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _gone(pid):
        os.kill(pid, signal.SIGKILL)
        raise AssertionError("the orphaned store did not exit")


def test_missing_credentials_is_a_usage_error(tmp_path: Path, clock_spec: ClockSpec) -> None:
    run = _run_folder(tmp_path, clock_spec, "http://127.0.0.1:9")
    env = _env()
    del env["PEAKBENCH_STORE_CREDENTIALS"]
    done = subprocess.run(
        _serve_cmd(run), cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "PEAKBENCH_STORE_CREDENTIALS is not set" in done.stderr
    assert not (run / "store.ready.json").exists()
