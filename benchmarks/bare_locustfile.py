"""The baseline for ``bench_harness.py``: a bare Locust FastHttpUser doing the harness's requests.

Each iteration creates an order, ships it and views its tracking page three times (the same
requests, bodies and routes as the peakbench replay), one iteration per user every
``1 / BARE_ITERATIONS_PER_S_PER_USER`` seconds. No journal, no schedule, no page parsing.

When the iterations start (``BARE_PHASES``):

- ``staggered`` (default): user *i* of ``BARE_USERS`` starts its iterations at
  ``T0 + i·P/BARE_USERS + k·P`` (P the period). Together the users start one iteration every
  ``P/BARE_USERS`` seconds, at the instants where the benchmark schedule puts an order, a ship
  and three views: the same requests at the same times as the replay.
- ``synchronized``: Locust's ``constant_throughput``; users spawned together stay in step, so
  every user starts an iteration at the same instant and the process sends all users' requests
  in one burst, ``1 / BARE_ITERATIONS_PER_S_PER_USER`` times a second, idle in between.

How an iteration sends its requests (``BARE_PACING``): ``burst`` (default) back to back after
one wake-up; ``spread`` one wake-up per request, evenly spaced over ``P/BARE_USERS``.
"""

from __future__ import annotations

import math
import os
import time

import gevent
from locust import constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

from peakbench.adapters import woocommerce as wc

ITERATIONS_PER_S = float(os.environ.get("BARE_ITERATIONS_PER_S_PER_USER", "1"))
USERS = max(1, int(os.environ.get("BARE_USERS", "1")))
SPREAD = os.environ.get("BARE_PACING", "burst") == "spread"
STAGGERED = os.environ.get("BARE_PHASES", "staggered") == "staggered"
PERIOD_S = 1.0 / ITERATIONS_PER_S
GAP_S = PERIOD_S / USERS / 5  # five requests per iteration, spread over one user's slot
T0 = time.perf_counter() + 0.5  # the first phase: after Locust has spawned the users
_CREDS = wc.credentials_from_json(os.environ["PEAKBENCH_STORE_CREDENTIALS"])
AUTH = wc.auth_header(_CREDS.consumer_key, _CREDS.consumer_secret)


def _until_phase(user: BareUser) -> float:
    """Seconds until the user's next iteration start ``phase + k·P`` (k whole)."""
    now = time.perf_counter()
    k = math.floor((now - user.phase) / PERIOD_S) + 1
    return max(0.0, user.phase + k * PERIOD_S - now)


class BareUser(FastHttpUser):
    wait_time = _until_phase if STAGGERED else constant_throughput(ITERATIONS_PER_S)
    concurrency = 1
    ref = 0
    spawned = 0
    phase = T0

    def on_start(self) -> None:
        if STAGGERED:
            self.phase = T0 + BareUser.spawned * PERIOD_S / USERS
            BareUser.spawned += 1
            gevent.sleep(max(0.0, self.phase - time.perf_counter()))

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
