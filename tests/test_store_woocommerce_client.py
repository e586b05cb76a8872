"""The official WooCommerce REST client (``woocommerce`` on PyPI) against a real sandbox store.

The client is used as shipped, with only the URL and keys changed. Over plain HTTP it signs every
request with OAuth 1.0a (HMAC-SHA256, parameters in the query), so each passing call here is a
signature the store verified; a wrong secret must be refused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from woocommerce import API

from peakbench.plan.clock import ClockSpec

ROOT = Path(__file__).resolve().parents[1]
CREDS = {"consumer_key": "ck_official_client", "consumer_secret": "cs_official_secret"}
ORDER = {
    "set_paid": True,
    "billing": {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"},
    "line_items": [{"product_id": 12, "quantity": 1}],
}


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``python -m mocks.store serve`` child on 127.0.0.1, port 0 (no carrier is called)."""
    run = tmp_path_factory.mktemp("store")
    (run / "store.json").write_text(
        json.dumps({"plugin": {}, "carriers": {"acme": {"base_url": "http://127.0.0.1:9"}}})
    )
    spec = ClockSpec(start_epoch=1_795_755_600.0, scale=60.0, wall_epoch=time.time())
    (run / "clock.json").write_text(json.dumps(spec.to_json()))
    env = dict(os.environ, PEAKBENCH_STORE_CREDENTIALS=json.dumps(CREDS))
    env["PEAKBENCH_CARRIER_KEYS"] = json.dumps({"acme": ["k"]})
    cmd = [sys.executable, "-m", "mocks.store", "serve", "--config", str(run / "store.json")]
    cmd += ["--clock", str(run / "clock.json"), "--db", str(run / "store.sqlite")]
    cmd += ["--ready-file", str(run / "ready.json")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while not (run / "ready.json").exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
            assert time.monotonic() < deadline, "store did not become ready"
            time.sleep(0.05)
        yield json.loads((run / "ready.json").read_text())["base_url"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests must not route loopback traffic through an environment proxy."""
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


def wcapi(url: str, secret: str = CREDS["consumer_secret"]) -> API:
    return API(url=url, consumer_key=CREDS["consumer_key"], consumer_secret=secret, timeout=10)


def test_official_client_creates_gets_updates_orders(store_url: str) -> None:
    api = wcapi(store_url)
    assert not api.is_ssl  # so every call below is OAuth 1.0a signed
    created = api.post("orders", ORDER)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "processing"
    assert order["billing"]["first_name"] == "Grace"

    got = api.get(f"orders/{order['id']}")
    assert got.status_code == 200
    assert got.json() == order

    updated = api.put(
        f"orders/{order['id']}",
        {"status": "on-hold", "meta_data": [{"key": "qa", "value": "peak"}]},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["status"] == "on-hold"
    assert {"key": "qa", "value": "peak"}.items() <= updated.json()["meta_data"][0].items()
    assert api.get(f"orders/{order['id']}").json()["status"] == "on-hold"

    note = api.post(f"orders/{order['id']}/notes", {"note": "Packed.", "customer_note": True})
    assert note.status_code == 201, note.text
    assert note.json()["note"] == "Packed." and note.json()["customer_note"] is True


def test_official_client_lists_with_pagination_headers(store_url: str) -> None:
    api = wcapi(store_url)
    batch = api.post(
        "orders/batch", {"create": [dict(ORDER, customer_note=str(i)) for i in range(7)]}
    )
    assert batch.status_code == 200, batch.text
    made = [o["id"] for o in batch.json()["create"]]
    assert len(made) == 7

    first = api.get("orders", params={"per_page": 3, "orderby": "id", "order": "asc"})
    assert first.status_code == 200, first.text
    total = int(first.headers["X-WP-Total"])
    assert total >= 7
    assert int(first.headers["X-WP-TotalPages"]) == -(-total // 3)
    assert len(first.json()) == 3
    assert "prev" not in first.links and "page=2" in first.links["next"]["url"]
    assert "oauth_signature" not in first.headers["Link"]

    last_page = int(first.headers["X-WP-TotalPages"])
    last = api.get(
        "orders", params={"per_page": 3, "page": last_page, "orderby": "id", "order": "asc"}
    )
    assert last.status_code == 200
    assert "next" not in last.links and f"page={last_page - 1}" in last.links["prev"]["url"]
    ids = [o["id"] for o in first.json()] + [o["id"] for o in last.json()]
    assert ids == sorted(ids)
    assert made[-1] == last.json()[-1]["id"]

    too_big = api.get("orders", params={"per_page": 101})
    assert too_big.status_code == 400
    assert too_big.json()["code"] == "rest_invalid_param"


def test_official_client_batch_updates_and_deletes(store_url: str) -> None:
    api = wcapi(store_url)
    a, b = (api.post("orders", ORDER).json()["id"] for _ in range(2))
    resp = api.post(
        "orders/batch",
        {
            "create": [{"line_items": "not a list"}],
            "update": [{"id": a, "status": "completed"}, {"id": 10**9, "status": "completed"}],
            "delete": [b],
        },
    )
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["create"][0]["id"] == 0 and out["create"][0]["error"]["code"] == "rest_invalid_param"
    assert out["update"][0]["status"] == "completed"
    assert out["update"][1]["error"]["code"] == "woocommerce_rest_shop_order_invalid_id"
    assert out["delete"][0]["id"] == b
    assert api.get(f"orders/{b}").status_code == 404
    over = api.post("orders/batch", {"delete": list(range(1, 102))})
    assert over.status_code == 413


def test_wrong_secret_is_refused(store_url: str) -> None:
    resp = wcapi(store_url, secret="cs_wrong").get("orders")
    assert resp.status_code == 401
    assert resp.json()["code"] == "woocommerce_rest_authentication_error"
    assert "signature" in resp.json()["message"]
