"""The Locust replay, end to end: a real Locust process against a tiny fake store on port 0.

Locust runs in a subprocess (gevent must not patch the pytest process); the fake store is a stdlib
``ThreadingHTTPServer`` in a thread of the test process implementing the store contract's routes.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from _servers import QuietHandler

from peakbench.plan.clock import ClockSpec
from peakbench.plan.schedule import Item, write_schedule

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = {"consumer_key": "ck_test", "consumer_secret": "cs_test"}
SCALE = 600.0
START_MARGIN_S = 5.0  # wall seconds for Locust to start before run second 0 (its import alone
# takes ~2 s on a busy 2-core machine)


class FakeStore(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops SYNs when users connect at once

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay_s = delay_s
        self.lock = threading.Lock()
        self.orders: dict[int, dict[str, Any]] = {}
        self.served: list[tuple[int, int]] = []  # (ref, events shown)
        self.unauthorised = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def shown_for(ref: int) -> int:
    """How many events the fake store shows for a shipped order."""
    return ref % 3 + 1


def _page(events: int) -> str:
    items = "".join(
        f'\n  <li  data-occurred="2026-11-2{7 - i}T10:0{i}:00-05:00" class="tracking-event"'
        f' data-status="in_transit">Scan {i}</li>'
        for i in range(events)
    )
    status = "in_transit" if events else "pending"
    return (
        "<!doctype html><html><body><h1>Order tracking</h1>"
        f'<p data-status="{status}" class="tracking-status">Status</p><ul>{items}</ul>'
        "</body></html>"
    )


class _Handler(QuietHandler):
    server: FakeStore

    def _authorised(self) -> bool:
        pair = f"{CREDENTIALS['consumer_key']}:{CREDENTIALS['consumer_secret']}"
        if self.headers.get("Authorization") == "Basic " + base64.b64encode(pair.encode()).decode():
            return True
        with self.server.lock:
            self.server.unauthorised += 1
        self.reply(401, json.dumps({"code": "woocommerce_rest_cannot_view", "message": "no"}))
        return False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        time.sleep(self.server.delay_s)
        if not self._authorised():
            return
        parts = urlsplit(self.path).path.strip("/").split("/")
        if parts[:3] == ["wp-json", "wc", "v3"] and parts[3:] == ["orders"]:
            ref = int(next(m["value"] for m in body["meta_data"] if m["key"] == "_peakbench_ref"))
            with self.server.lock:
                order_id = len(self.server.orders) + 100
                order = {"id": order_id, "order_key": f"wc_order_{order_id:x}", "ref": ref}
                self.server.orders[order_id] = {**order, "shipped": False}
            self.reply(201, json.dumps({**order, "status": "processing"}))
        elif parts[:2] == ["wp-json", "wc-shipment-tracking"] and parts[-1] == "shipment-trackings":
            shipped = self.server.orders.get(int(parts[4]))
            if shipped is None:
                self.reply(404, json.dumps({"code": "woocommerce_rest_shop_order_invalid_id"}))
                return
            shipped["shipped"] = True
            self.reply(201, json.dumps({"tracking_id": "t1", **body}))
        else:
            self.reply(404, "{}")

    def do_GET(self) -> None:
        time.sleep(self.server.delay_s)
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        order = self.server.orders.get(int(parts[1])) if parts[0] == "order-tracking" else None
        if order is None or parse_qs(url.query).get("key") != [order["order_key"]]:
            self.reply(404, "<html>not found</html>", "text/html")
            return
        shown = shown_for(order["ref"]) if order["shipped"] else 0
        with self.server.lock:
            self.server.served.append((order["ref"], shown))
        self.reply(200, _page(shown), "text/html; charset=utf-8")


@pytest.fixture
def store() -> Iterator[FakeStore]:
    server = FakeStore()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _schedule(orders: int, span: float, ship_after: float, view_after: float) -> list[Item]:
    items: list[Item] = []
    for ref in range(orders):
        t = span * ref / max(1, orders)
        number = f"PBD{ref:013d}"
        items.append(Item(t, "order", ref))
        items.append(Item(t + ship_after, "ship", ref, "acme", number))
        items.append(Item(t + view_after, "view", ref, "acme", number))
    return sorted(items, key=lambda i: i.t)


def _prepare(
    tmp_path: Path, host: str, items: list[Item], users: int, late_after: float
) -> tuple[list[str], Path]:
    """Write the run folder; return the Locust command line and the folder."""
    run = tmp_path / "run"
    run.mkdir()
    write_schedule(run / "schedule.csv", items)
    spec = ClockSpec(
        start_epoch=1_795_755_600.0, scale=SCALE, wall_epoch=time.time() + START_MARGIN_S
    )
    config = {
        "clock": spec.to_json(),
        "schedule": str(run / "schedule.csv"),
        "journal": "journals/replay.jsonl",  # relative to replay.json
        "progress": str(run / "progress.json"),
        "late_after": late_after,
        "users": users,
    }
    (run / "replay.json").write_text(json.dumps(config))
    cmd = [
        sys.executable, "-m", "locust", "-f", "loadtests/locustfile.py", "--headless",
        "--users", str(users), "--spawn-rate", str(users), "--host", host,
        "--csv", str(run / "locust"), "--only-summary", "--loglevel", "WARNING",
        "--peakbench-replay", str(run / "replay.json"),
    ]  # fmt: skip
    return cmd, run


def _env(credentials: str | None = json.dumps(CREDENTIALS)) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PEAKBENCH_STORE_CREDENTIALS"}
    if credentials is not None:
        env["PEAKBENCH_STORE_CREDENTIALS"] = credentials
    return env


def _results(run: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    journal_path = run / "journals" / "replay.jsonl"
    lines = [json.loads(x) for x in journal_path.read_text().splitlines()]
    return lines, json.loads((run / "progress.json").read_text())


def _replay(
    tmp_path: Path, host: str, items: list[Item], users: int, late_after: float
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]], dict[str, Any], Path]:
    cmd, run = _prepare(tmp_path, host, items, users, late_after)
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=40)
    lines, progress = _results(run)
    return proc, lines, progress, run


def test_replay_executes_every_item_on_time_and_ends_by_itself(
    tmp_path: Path, store: FakeStore
) -> None:
    items = _schedule(orders=6, span=900.0, ship_after=60.0, view_after=300.0)
    # A view before the parcel ships: the page shows no events yet.
    items = sorted([*items, Item(10.0, "view", 0, "acme", "PBD0000000000000")], key=lambda i: i.t)
    proc, lines, progress, run = _replay(tmp_path, store.url, items, users=8, late_after=60.0)
    assert proc.returncode == 0, proc.stderr[-2000:]

    expected = sorted((i.kind, i.ref) for i in items)
    assert sorted((x["kind"], x["ref"]) for x in lines) == expected
    assert all(x["ok"] and x["error"] is None for x in lines), [x for x in lines if not x["ok"]]
    assert {x["status"] for x in lines if x["kind"] != "view"} == {201}
    lags = [x["start"] - x["due"] for x in lines]
    assert max(lags) < 60.0  # store seconds = 0.1 s wall at this scale
    assert min(lags) > -1.0  # nothing starts before it is due
    assert not any(x["late"] for x in lines)

    views = sorted((x["ref"], x["shown"]) for x in lines if x["kind"] == "view")
    assert views == sorted(store.served)
    assert (0, 0) in views and (5, shown_for(5)) in views
    late_view = next(x for x in lines if x["kind"] == "view" and x["ref"] == 5)
    assert late_view["tracking_number"] == "PBD0000000000005"
    assert late_view["page_status"] == "in_transit"
    assert late_view["newest"] == "2026-11-27T10:00:00-05:00"

    assert progress["finished"] is True
    assert progress["scheduled"] == {"order": 6, "ship": 6, "view": 7}
    assert progress["done"] == progress["scheduled"]
    assert progress["failed"] == {"order": 0, "ship": 0, "view": 0}
    assert 0 <= progress["max_lag"] < 60.0
    assert progress["t"] >= max(i.t for i in items)
    assert store.unauthorised == 0

    stats = (run / "locust_stats.csv").read_text()
    for name in ("order:create", "order:ship", "view:tracking"):
        assert name in stats


def test_store_down_counts_failures_and_still_ends(tmp_path: Path) -> None:
    items = _schedule(orders=4, span=300.0, ship_after=30.0, view_after=60.0)
    started = time.monotonic()
    proc, lines, progress, _ = _replay(tmp_path, _dead_url(), items, users=4, late_after=60.0)
    assert time.monotonic() - started < 20
    assert proc.returncode == 1  # Locust's exit code when requests failed
    assert len(lines) == len(items)
    assert all(not x["ok"] and x["status"] == 0 and x["error"] for x in lines)
    assert all(x["shown"] is None for x in lines if x["kind"] == "view")
    assert progress["finished"] is True
    assert progress["failed"] == {"order": 4, "ship": 4, "view": 4}
    assert progress["done"] == {"order": 0, "ship": 0, "view": 0}


def test_too_few_users_make_items_late(tmp_path: Path, store: FakeStore) -> None:
    store.delay_s = 0.02  # 12 store seconds per request at this scale
    items = [Item(0.0, "order", ref) for ref in range(25)]
    proc, lines, progress, _ = _replay(tmp_path, store.url, items, users=1, late_after=30.0)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(lines) == 25 and all(x["ok"] for x in lines)
    starts = [x["start"] for x in lines]
    assert starts == sorted(starts)  # one user executes them one after another
    late = [x for x in lines if x["late"]]
    assert len(late) >= 15  # items after the ~3rd start more than 30 s late
    assert progress["late"]["order"] == len(late)
    assert progress["max_lag"] >= 24 * 12 * 0.9
    assert progress["done"]["order"] == 25 and progress["finished"] is True


def test_sigterm_flushes_a_partial_replay(tmp_path: Path, store: FakeStore) -> None:
    items = _schedule(orders=100, span=6_000.0, ship_after=60.0, view_after=300.0)  # ~10 s wall
    cmd, run = _prepare(tmp_path, store.url, items, users=4, late_after=60.0)
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(store.orders) < 3:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    lines, progress = _results(run)
    assert 3 <= len(store.orders) < 100
    assert progress["finished"] is False
    assert progress["done"]["order"] == len([x for x in lines if x["kind"] == "order"]) >= 3
    assert sum(progress["done"].values()) == len(lines) < len(items)


@pytest.mark.parametrize(
    ("credentials", "replay_json", "message"),
    [
        (None, None, "PEAKBENCH_STORE_CREDENTIALS is not set"),
        ('{"consumer_key": "ck"}', None, "consumer_secret"),
        (json.dumps(CREDENTIALS), '{"clock": {}}', "missing field"),
    ],
)
def test_bad_setup_exits_2_with_one_clear_line(
    tmp_path: Path, credentials: str | None, replay_json: str | None, message: str
) -> None:
    cmd, run = _prepare(tmp_path, _dead_url(), [Item(0.0, "order", 1)], users=1, late_after=1.0)
    if replay_json is not None:
        (run / "replay.json").write_text(replay_json)
    proc = subprocess.run(
        cmd, cwd=ROOT, env=_env(credentials), capture_output=True, text=True, timeout=20
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "cs_test" not in proc.stderr + proc.stdout


def test_refused_credentials_fail_orders_and_everything_after(
    tmp_path: Path, store: FakeStore
) -> None:
    items = _schedule(orders=3, span=60.0, ship_after=30.0, view_after=60.0)
    cmd, run = _prepare(tmp_path, store.url, items, users=3, late_after=60.0)
    wrong = json.dumps({"consumer_key": "ck_test", "consumer_secret": "cs_wrong"})
    proc = subprocess.run(
        cmd, cwd=ROOT, env=_env(wrong), capture_output=True, text=True, timeout=40
    )
    lines, progress = _results(run)
    assert proc.returncode == 1
    orders = [x for x in lines if x["kind"] == "order"]
    assert [x["error"] for x in orders] == ["HTTP 401 woocommerce_rest_cannot_view"] * 3
    assert all(x["status"] == 401 for x in orders)
    assert all(
        x["error"] == f"order ref {x['ref']} was not created" for x in lines if x not in orders
    )
    assert store.unauthorised == 3 and not store.served
    assert progress["failed"] == {"order": 3, "ship": 3, "view": 3}
    stats = (run / "locust_stats.csv").read_text().splitlines()
    ship_row = next(row for row in stats if ",order:ship," in row)
    assert ship_row.split(",")[2:4] == ["3", "3"]  # requests, failures
