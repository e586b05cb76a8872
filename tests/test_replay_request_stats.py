"""The replay reports each request to Locust itself (one ``request`` event, no
``catch_response``): Locust's stats must be what ``catch_response`` would have recorded.

A Locust process (a subprocess: gevent must not patch pytest) sends the same requests twice
against a small store on port 0: once through :class:`loadtests.users.ReplayUser`, once through
Locust's ``catch_response`` with ``success()``/``failure(error)`` — the replay's former way. Pages
that do not parse, HTTP errors, a body that is not a JSON object and a refused connection must
give the same names, counts, failures, error texts and bytes in both.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _servers import QuietHandler

ROOT = Path(__file__).resolve().parents[1]
GOOD_PAGE = (
    '<!doctype html><html><body><p class="tracking-status" data-status="in_transit">x</p><ol>'
    '<li class="tracking-event" data-status="in_transit" data-occurred="2026-11-27T10:15:00-05:00">'
    "a</li></ol></body></html>"
)


class _Handler(QuietHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        path = urlsplit(self.path).path
        if path.endswith("/orders"):
            self.reply(201, "[]")  # not an order object: a failed creation
        elif "/orders/1/" in path:
            self.reply(201, json.dumps({"tracking_id": "t1"}))
        elif "/orders/2/" in path:
            self.reply(400, json.dumps({"code": "woocommerce_rest_bad_provider"}))
        else:
            self.reply(201, "[]")

    def do_GET(self) -> None:
        order = urlsplit(self.path).path.rstrip("/").split("/")[-1]
        if order == "1":
            self.reply(200, GOOD_PAGE, "text/html; charset=utf-8")
        elif order == "2":
            self.reply(200, "<html>maintenance</html>", "text/html")  # does not parse
        elif order == "3":
            self.reply(404, json.dumps({"code": "woocommerce_rest_shop_order_invalid_id"}))
        else:
            self.reply(500, "oops", "text/plain")


@pytest.fixture
def store_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from locust import task
    from locust.contrib.fasthttp import FastHttpUser
    from locust.env import Environment
    from loadtests.orders import OrderBook
    from loadtests.storefront import Storefront
    from loadtests.users import NAMES, ReplayUser, _http_error
    from peakbench.adapters import woocommerce as wc
    from peakbench.plan.schedule import Item
    from pathlib import Path
    from loadtests.replay import Replay, ReplayConfig
    from peakbench.plan.clock import ClockSpec, iso

    url, dead = sys.argv[1], sys.argv[2]
    store = Storefront(wc.Credentials("ck_test", "cs_test"))
    ReplayUser.orders = OrderBook()
    ReplayUser.store = store
    spec = ClockSpec(1_795_755_600.0, 1.0, 0.0)
    config = ReplayConfig(spec, Path("unused.csv"), Path("unused.jsonl"), None, 1.0, 1)
    ReplayUser.replay = Replay(config, iter([]), {}, None, lambda: None)
    SHIPPED_ON = iso(1_795_755_600.0)[:10]
    for order in (1, 2, 3, 4):
        ReplayUser.orders.end(order, wc.OrderHandle(order, f"k{order}"))
    items = [Item(0.0, "view", o, "acme", "PBD1") for o in (1, 2, 3, 4, 1)]
    items += [Item(0.0, "ship", o, "acme", "PBD1") for o in (1, 2, 3)]

    def replay_stats(host):
        env = Environment(user_classes=[ReplayUser], host=host)
        env.create_local_runner()  # the runner hooks Locust's stats to the request event
        ReplayUser.host = host  # what a runner does with --host
        user = ReplayUser(env)
        outcomes = []
        for item in items:
            run = user._view if item.kind == "view" else user._ship
            outcomes.append([run(item).ok])
        request = store.create(1, 0)
        outcomes.append([user._send(request, NAMES["order"], as_json=True)[0].ok])
        return env, outcomes

    class Reference(FastHttpUser):  # the replay's former way: catch_response
        @task
        def nothing(self):
            pass

    def send(client, request, name, as_json, view):
        url = request.path + ("?key=" + request.params["key"] if request.params else "")
        with client.request(request.method, url, name=name, json=request.json,
                            headers=dict(request.headers), catch_response=True) as response:
            status = int(response.status_code or 0)
            error = None if 200 <= status < 300 else _http_error(status, response)
            if error is None and view:
                try:
                    store.read_view(response.content or b"", lambda: response.text or "")
                except ValueError as exc:
                    error = str(exc)
            if error is None and as_json and not isinstance(response.json(), dict):
                error = "response is not a JSON object"
            if error is None:
                response.success()
            else:
                response.failure(store.scrub(error))
            return [error is None]

    def reference_stats(host):
        env = Environment(user_classes=[Reference], host=host)
        env.create_local_runner()
        Reference.host = host
        client = Reference(env).client
        outcomes = []
        for item in items:
            handle = wc.OrderHandle(item.ref, f"k{item.ref}")
            if item.kind == "view":
                outcomes.append(send(client, store.view(handle), NAMES["view"], False, True))
            else:
                request = store.ship(handle, "acme", "PBD1", SHIPPED_ON)
                outcomes.append(send(client, request, NAMES["ship"], False, False))
        outcomes.append(send(client, store.create(1, 0), NAMES["order"], True, False))
        return env, outcomes

    def table(env, outcomes):
        stats = env.stats
        entries = sorted(
            [k[1], k[0], e.num_requests, e.num_failures, e.total_content_length]
            for k, e in stats.entries.items()
        )
        errors = sorted(
            [e.method, e.name, repr(e.error), e.occurrences] for e in stats.errors.values()
        )
        total = [stats.total.num_requests, stats.total.num_failures]
        return {"entries": entries, "errors": errors, "total": total, "ok": outcomes}

    out = {}
    for label, host in (("live", url), ("dead", dead)):
        out[label] = {
            "replay": table(*replay_stats(host)),
            "reference": table(*reference_stats(host)),
        }
    print(json.dumps(out))
    """
)


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_locust_stats_equal_what_catch_response_recorded(store_url: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, store_url, _dead_url()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    live, dead = out["live"], out["dead"]
    assert live["replay"] == live["reference"]
    assert dead["replay"] == dead["reference"]
    # the failures it should have: a page that does not parse, a 404 and a 500 page, a refused
    # shipment and an order body that is a list (5 views, 3 ships, 1 order)
    views, ships, order = [True, False, False, False, True], [True, False, True], [False]
    assert live["replay"]["ok"] == [[ok] for ok in views + ships + order]
    assert live["replay"]["total"] == [9, 5]
    errors = {e[2] for e in live["replay"]["errors"]}
    assert any("HTTP 404 woocommerce_rest_shop_order_invalid_id" in e for e in errors)
    assert any("HTTP 400 woocommerce_rest_bad_provider" in e for e in errors)
    assert any("response is not a JSON object" in e for e in errors)
    assert dead["replay"]["total"] == [9, 9]
