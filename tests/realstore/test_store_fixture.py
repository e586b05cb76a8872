"""The real store the fixture builds: its plugins, its HTTPS, its REST keys, and the rails that
keep it on loopback."""

from __future__ import annotations

import json

import httpx
from _wpstore import RealStore


def _get(store: RealStore, path: str) -> httpx.Response:
    auth = (store.consumer_key, store.consumer_secret)
    return httpx.get(store.url + path, auth=auth, verify=store.tls(), timeout=60)


def test_the_store_serves_woocommerce_over_https_with_its_rest_keys(real_store: RealStore) -> None:
    assert real_store.build_seconds < 120
    response = _get(real_store, "/wp-json/wc/v3/system_status")
    assert response.status_code == 200, response.text[:300]
    plugins = {p["plugin"]: p["version"] for p in response.json()["active_plugins"]}
    assert plugins["woocommerce/woocommerce.php"] == "7.8.2"
    assert plugins["woo-advanced-shipment-tracking/woocommerce-advanced-shipment-tracking.php"] == (
        "3.9.2"
    )
    assert plugins["trackship-for-woocommerce/trackship-for-woocommerce.php"] == "2.0.7"
    refused = httpx.get(
        real_store.url + "/wp-json/wc/v3/orders",
        auth=(real_store.consumer_key, "cs_wrong"),
        verify=real_store.tls(),
    )
    assert refused.status_code == 401


def test_the_test_products_exist_with_prices(real_store: RealStore) -> None:
    assert len(real_store.product_ids) == 3
    for product_id in real_store.product_ids:
        body = _get(real_store, f"/wp-json/wc/v3/products/{product_id}").json()
        assert body["sku"].startswith("peakbench-") and float(body["price"]) > 0


def test_nothing_leaves_loopback(real_store: RealStore) -> None:
    out = real_store.php(
        """
        $r = wp_remote_get( 'https://wordpress.org/' );
        $c = wp_remote_get( 'https://api.trackship.com/v1/shipping_carriers/supported' );
        echo json_encode( array(
            'blocked' => is_wp_error( $r ) ? $r->get_error_message() : 'reached',
            'carrier' => is_wp_error( $c ) ? $c->get_error_message() : 'answered',
            'fopen' => ini_get( 'allow_url_fopen' ),
            'mu' => array_keys( get_mu_plugins() ),
        ) );
        """
    )
    seen = json.loads(out.strip().splitlines()[-1])
    assert "blocked" in seen["blocked"].lower()  # WP_HTTP_BLOCK_EXTERNAL, set before any install
    # the carrier host went to the mocks' loopback port (nothing listens there yet)
    assert f"127.0.0.1 port {real_store.mocks_port}" in seen["carrier"]
    assert seen["fopen"] in ("", "0")  # AST's file_get_contents of carrier images cannot leave
    assert "peakbench-carrier-redirect.php" in seen["mu"]
