"""``peakbench run`` against the real store: TrackShip registers each shipped number with the
trackship mock, the mock pushes signed webhooks the store accepts, and the customer's TrackShip
page (HTML readout) or the order's REST JSON (``ts_shipment_status``) is read back. Each run's
summary is checked against the store's own database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _wpprofiles import peakbench, woocommerce_target, write
from _wpstore import RealStore

TRACKSHIP_PAGE = {
    "kind": "html",
    "page": "/ts-shipment-tracking/?order_id={order_id}&order_key={order_key}",
    "status_selector": ".heading_shipment_status",
    "status_attribute": "text",
    "event_selector": ".tracking_detail",
    "event_exclude_text": "not yet available",
    "event_time_selector": "strong",
    "event_time_attribute": "text",
    "event_time_format": "%B %d, %Y %I:%M %p",
}
ORDER_META = {
    "kind": "json",
    "route": "/wp-json/wc/v3/orders/{order_id}",
    "status": "meta_data[key=ts_shipment_status].value[0].status",
}


def _profile(store: RealStore, name: str, readout: dict[str, Any]) -> dict[str, Any]:
    lag = {"median": "5s", "p90": "15s"}
    return {
        "name": name,
        "seed": 5,
        "clock": {"start": "now", "scale": 1, "duration": "120s"},
        "target": woocommerce_target(store, readout=readout),
        "peak": {"curve": "flat", "peak_orders_per_hour": 240, "order_window": "60s"},
        "fulfilment": {"median": "15s", "p90": "30s"},
        "carriers": [
            {"name": "usps", "ingestion_lag": lag, "cross_border_share": 0},
            {
                "name": "trackship",
                "personality": "trackship",
                "share": 1e-9,  # an aggregator ships nothing: it tracks usps's parcels
                "ingestion_lag": lag,
                "cross_border_share": 0,
                "push": {
                    "url": "/wp-json/wc/v1/tracking-webhook",
                    "cadence": {"min": "10s", "max": "20s"},
                    "ca_file": str(store.ca_file),
                },
            },
        ],
        "listen": {"mode": "shared", "port": store.mocks_port, "tls_dir": str(store.tls_dir)},
        "views": {
            "per_order": {"6-8": 1.0},
            "first_view_median": "20s",
            "after_event_median": "10s",
            "expected_day_share": 0,
        },
        "replay": {"users": 4, "warmup_wall_s": 2},
        "probe": {"period": "15s", "max_reads_per_s": 2},
    }


def _run(store: RealStore, tmp: Path, profile: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    path = write(tmp, profile)
    proc = peakbench(store, "run", str(path), "--results", str(tmp / "results"), timeout=300)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    (root,) = (tmp / "results").iterdir()
    summary = json.loads((root / "summary.json").read_text())
    assert summary["valid"], summary["invalid_reasons"]
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert store.consumer_secret not in text and store.consumer_key not in text, path
    return summary, root


def _store_orders(store: RealStore, refs: int) -> dict[str, str]:
    """The run's orders in the store's database: order id → tracking number (AST's item)."""
    rows = store.sql(
        "SELECT p.ID FROM wp_posts p JOIN wp_postmeta m ON m.post_id = p.ID "
        f"WHERE p.post_type = 'shop_order' AND m.meta_key = '_peakbench_ref' "
        f"ORDER BY p.ID DESC LIMIT {refs}"
    )
    numbers = {}
    for (order_id,) in rows:
        items = store.sql(
            "SELECT meta_value FROM wp_postmeta WHERE meta_key = '_wc_shipment_tracking_items' "
            f"AND post_id = {order_id}"
        )
        numbers[order_id] = items[0][0] if items else ""
    return numbers


def _stored_status(store: RealStore, number: str) -> str | None:
    rows = store.sql(
        f"SELECT shipment_status FROM wp_trackship_shipment WHERE tracking_number = '{number}'"
    )
    return rows[0][0] if rows and rows[0][0] != "NULL" else None


def _pushed(root: Path) -> dict[str, int]:
    """Tracking number → the last push status the store answered."""
    last: dict[str, int] = {}
    for path in sorted((root / "journals").glob("push-trackship*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            last[row["number"]] = row["status"]
    return last


def _replay(root: Path, kind: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (root / "journals" / "replay.jsonl").open()]
    return [r for r in rows if r["kind"] == kind]


def test_trackship_run_reads_the_customer_page_and_matches_the_database(
    real_store: RealStore, tmp_path: Path
) -> None:
    summary, root = _run(
        real_store, tmp_path, _profile(real_store, "real-trackship", TRACKSHIP_PAGE)
    )
    orders, ships = summary["orders"], summary["ships"]
    assert orders["done"] == orders["scheduled"] > 0 and ships["done"] == ships["scheduled"]
    in_store = _store_orders(real_store, orders["done"])
    assert len(in_store) == orders["done"]
    shipped = [n for n in in_store.values() if n]
    assert len(shipped) == ships["done"]
    # every number reached TrackShip's mock, which pushed it back; the store accepted each push
    assert summary["carriers"]["trackship"]["ok"] >= ships["done"]
    pushed = _pushed(root)
    numbers = {r["tracking_number"] for r in _replay(root, "view")}
    assert pushed and set(pushed.values()) == {200}, pushed
    for number in pushed:
        assert any(number in items for items in shipped)
        assert _stored_status(real_store, number) in ("pre_transit", "in_transit")
    # the customer's page showed what the plugin stored, and the views measured refresh latency
    views = _replay(root, "view")
    assert summary["views"]["done"] == len(views) > 0 and numbers
    assert all(v["page_status"] for v in views)
    assert summary["refresh_latency_s"]["method"] == "sampled"
    # the freshness probe read every open shipment's page every 15 s: refresh latency with a
    # known resolution, from what the plugin stored after TrackShip's pushes
    probe = summary["probe"]
    assert probe["period_s"] == 15 and probe["reads"]["done"] == probe["reads"]["scheduled"] > 0
    shown = [p for p in _replay(root, "probe") if p["shown"]]
    assert shown and all(p["page_status"] != "Shipped" for p in shown)
    refresh = probe["refresh_latency_s"]
    assert refresh["count"] > 0 and refresh["resolution_s"] == 15
    assert 0 < refresh["p50"] < 120


def test_rest_readout_run_reads_the_status_the_plugin_stored(
    real_store: RealStore, tmp_path: Path
) -> None:
    profile = _profile(real_store, "real-rest", ORDER_META)
    profile["target"]["queue_probe"] = {"every": 5}
    real_store.set_cron(False)  # WP-Cron stopped for the whole run: past-due actions pile up
    try:
        summary, root = _run(real_store, tmp_path, profile)
    finally:
        real_store.set_cron(True)
    assert "Advanced Shipment Tracking for WooCommerce 3.9.2" in summary["plugin"]["strategy"]
    assert "TrackShip for WooCommerce 2.0.7" in summary["plugin"]["strategy"]
    run = json.loads((root / "run.json").read_text())
    assert "TrackShip for WooCommerce 2.0.7" in json.dumps(run)
    queue = summary["queue"]
    assert queue["source"] == "queue-probe" and queue["samples"] >= 10 and queue["errors"] == 0
    assert queue["cron_disabled_samples"] == queue["samples"]
    samples = [json.loads(line) for line in (root / "journals" / "queue.jsonl").open()]
    past_due = [s["past_due"] for s in samples]
    assert past_due[-1] > past_due[0] and max(past_due) == queue["max_due"] > 0
    report = (root / "report.html").read_text()
    assert "TrackShip for WooCommerce 2.0.7" in report  # the plugin, not "plugin ?"
    assert "fig-queue" in report  # the store's queue over time, as for the sandbox
    assert summary["orders"]["done"] == summary["orders"]["scheduled"] > 0
    views = _replay(root, "view")
    assert views and summary["views"]["done"] == len(views)
    pushed = _pushed(root)
    assert pushed and set(pushed.values()) == {200}
    for view in views:
        stored = _stored_status(real_store, view["tracking_number"])
        if view["page_status"] is not None:  # read after a push: the status the plugin stored
            assert stored is not None
    probes = _replay(root, "probe")
    assert summary["probe"]["reads"]["done"] == len(probes) > 0
    statuses = {p["page_status"] for p in probes}
    assert statuses & {"pre_transit", "in_transit"}, statuses
    for read in probes:  # each read showed the status the plugin had stored by then, or none
        assert read["page_status"] in (None, "pending_trackship", "pre_transit", "in_transit")
