"""``peakbench target check`` against the real store."""

from __future__ import annotations

from pathlib import Path

from _wpprofiles import AST_READOUT, peakbench, woocommerce_target, write
from _wpstore import RealStore


def _profile(store: RealStore, **target: object) -> dict[str, object]:
    return {
        "name": "real-check",
        "clock": {"start": "now", "scale": 1, "duration": "10m"},
        "target": woocommerce_target(store, readout=AST_READOUT, **target),
        "peak": {"curve": "flat", "peak_orders_per_hour": 60, "order_window": "5m"},
        "fulfilment": {"median": "1m", "p90": "2m"},
        "carriers": [{"name": "usps"}],
    }


def test_target_check_passes_and_names_the_plugins(real_store: RealStore, tmp_path: Path) -> None:
    path = write(tmp_path, _profile(real_store))
    orders = "SELECT COUNT(*) FROM wp_posts WHERE post_type='shop_order'"
    before = real_store.sql(orders)
    proc = peakbench(real_store, "target", "check", str(path))
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "Advanced Shipment Tracking" in out and "3.9.2" in out
    assert "TrackShip for WooCommerce 2.0.7" in out
    assert "product id" in out and "target ok" in out
    assert real_store.consumer_secret not in out + proc.stderr
    # the order was priced (a test product, not a blank $0 item) and is gone again
    numbers = [line for line in out.splitlines() if "via shipment-trackings" in line]
    assert len(numbers) == 1
    assert real_store.sql(orders) == before


def test_target_check_over_oauth_names_the_home_url(real_store: RealStore, tmp_path: Path) -> None:
    # same store, addressed by another name than its home URL: signatures cannot match
    other = real_store.url.replace("127.0.0.1", "localhost")
    profile = _profile(real_store, url=other, auth="oauth1")
    proc = peakbench(real_store, "target", "check", str(write(tmp_path, profile)))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "home URL" in proc.stdout and real_store.url in proc.stdout
    assert f"set target.url: {real_store.url}" in proc.stdout


def test_the_example_profile_checks_out_on_the_store(real_store: RealStore) -> None:
    proc = peakbench(
        real_store,
        "target",
        "check",
        "profiles/staging-woocommerce.yaml",
        "--set",
        f"target.url={real_store.url}",
        "--set",
        f"target.ca_file={real_store.ca_file}",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # just shipped: TrackShip's page shows its placeholder, which is not an event
    assert "html readout: status=Shipped, 0 event(s) shown" in proc.stdout
