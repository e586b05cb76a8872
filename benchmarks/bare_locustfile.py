"""The baseline for ``bench_harness.py``: a bare Locust FastHttpUser doing the harness's requests.

Each iteration creates an order, ships it and views its tracking page three times (the same
requests, bodies and routes as the peakbench replay), paced by ``constant_throughput`` so the
request rate matches the harness's schedule. No journal, no schedule, no page parsing.

``BARE_PACING=burst`` (default) sends the five requests back to back after one wake-up;
``BARE_PACING=spread`` wakes up once per request, evenly spaced over the iteration, the way an
open-model schedule without coinciding due times paces them.
"""

from __future__ import annotations

import os

import gevent
from locust import constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

from peakbench.adapters import woocommerce as wc

ITERATIONS_PER_S = float(os.environ.get("BARE_ITERATIONS_PER_S_PER_USER", "1"))
SPREAD = os.environ.get("BARE_PACING", "burst") == "spread"
GAP_S = 1.0 / ITERATIONS_PER_S / 5  # five requests per iteration
_CREDS = wc.credentials_from_json(os.environ["PEAKBENCH_STORE_CREDENTIALS"])
AUTH = wc.auth_header(_CREDS.consumer_key, _CREDS.consumer_secret)


class BareUser(FastHttpUser):
    wait_time = constant_throughput(ITERATIONS_PER_S)
    concurrency = 1
    ref = 0

    @task
    def order_ship_view(self) -> None:
        BareUser.ref += 1
        order = wc.create_order(BareUser.ref)
        body = self.client.post(
            order.path, json=dict(order.json or {}), headers=AUTH, name="order:create"
        ).json()
        ship = wc.ship(int(body["id"]), "generic", f"PBD{BareUser.ref:013d}")
        if SPREAD:
            gevent.sleep(GAP_S)
        self.client.post(ship.path, json=dict(ship.json or {}), headers=AUTH, name="order:ship")
        page = wc.tracking_page(int(body["id"]), str(body["order_key"]))
        for _ in range(3):
            if SPREAD:
                gevent.sleep(GAP_S)
            self.client.get(page.path, params=dict(page.params), name="view:tracking")
