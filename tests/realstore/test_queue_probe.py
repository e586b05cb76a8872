"""The queue probe must-use plugin on the real store: read-only counts of Action Scheduler's
queue and WP-Cron behind the REST keys; with WP-Cron stopped, past-due actions pile up, and
they drain once it runs again."""

from __future__ import annotations

import time
from typing import Any

import httpx
from _wpstore import RealStore

HOOK = "peakbench_probe_test"


def _queue(store: RealStore, auth: tuple[str, str] | None = None) -> httpx.Response:
    auth = auth or (store.consumer_key, store.consumer_secret)
    return httpx.get(
        store.url + "/wp-json/peakbench/v1/queue", auth=auth, verify=store.tls(), timeout=30
    )


def _schedule(store: RealStore, n: int, ago_s: int) -> None:
    store.php(
        f"for ( $i = 0; $i < {n}; $i++ ) {{ "
        f"as_schedule_single_action( time() - {ago_s}, '{HOOK}', array( $i ) ); }}"
    )


def _hook(body: dict[str, Any]) -> dict[str, int]:
    return body["action_scheduler"]["hooks"].get(HOOK, {"pending": 0, "past_due": 0})


def test_the_queue_route_is_behind_the_rest_keys(real_store: RealStore) -> None:
    assert _queue(real_store, (real_store.consumer_key, "cs_wrong")).status_code == 401
    anonymous = httpx.get(
        real_store.url + "/wp-json/peakbench/v1/queue", verify=real_store.tls(), timeout=30
    )
    assert anonymous.status_code == 401
    body = _queue(real_store).json()
    assert body["action_scheduler"]["available"] is True
    assert abs(body["now"] - time.time()) < 60
    assert body["wp_cron"]["events"] > 0 and body["wp_cron"]["next_due"] is not None


def test_past_due_actions_pile_up_while_wp_cron_is_stopped(real_store: RealStore) -> None:
    real_store.set_cron(False)
    try:
        _schedule(real_store, 3, 120)
        first = _queue(real_store).json()
        _schedule(real_store, 4, 30)
        second = _queue(real_store).json()
    finally:
        real_store.set_cron(True)
    assert first["wp_cron"]["disabled"] is True
    assert _hook(first)["past_due"] == 3
    assert _hook(second)["past_due"] == 7 == _hook(second)["pending"]
    assert second["action_scheduler"]["past_due"] >= 7
    assert second["action_scheduler"]["oldest_past_due_s"] >= 120
    # WP-Cron runs again on the next visit: Action Scheduler's runner drains the hook
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        httpx.get(real_store.url + "/wp-cron.php", verify=real_store.tls(), timeout=60)
        body = _queue(real_store).json()
        if _hook(body)["pending"] == 0:
            break
        time.sleep(2)
    assert body["wp_cron"]["disabled"] is False
    assert _hook(body)["pending"] == 0, body["action_scheduler"]
