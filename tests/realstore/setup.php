<?php
/**
 * Builds the test store's WordPress in steps, one PHP process each (a plugin is loaded only by
 * the process after the one that activates it). Run as: php setup.php STEP CONFIG.json
 *
 *   core     install WordPress (no installer page, no network), permalinks, home URL
 *   woo      activate WooCommerce
 *   plugins  install WooCommerce's tables, skip onboarding, activate AST and TrackShip
 *   data     TrackShip's tables and tracking page, carriers, products, REST keys
 *
 * Prints one JSON object on its last line (what the Python side needs: ids, keys).
 */

$step = $argv[1];
$cfg  = json_decode( file_get_contents( $argv[2] ), true );

$_SERVER['HTTP_HOST']   = $cfg['host'];
$_SERVER['HTTPS']       = 'on';
$_SERVER['SERVER_PORT'] = $cfg['port'];
$_SERVER['REQUEST_URI'] = '/';
if ( 'core' === $step ) {
	define( 'WP_INSTALLING', true );
}
require $cfg['wp'] . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

$out = array( 'step' => $step );

function peakbench_fail( $what ) {
	fwrite( STDERR, "setup failed: $what\n" );
	exit( 1 );
}

if ( 'core' === $step ) {
	$result = wp_install( 'peakbench staging', 'admin', 'admin@example.test', false, '', $cfg['admin_password'] );
	update_option( 'siteurl', $cfg['url'] );
	update_option( 'home', $cfg['url'] );
	update_option( 'permalink_structure', '/%postname%/' );
	update_option( 'timezone_string', 'UTC' );
	switch_theme( 'twentytwentyone' );
	$out['user_id'] = $result['user_id'];
}

if ( 'woo' === $step ) {
	$r = activate_plugin( 'woocommerce/woocommerce.php' );
	if ( is_wp_error( $r ) ) {
		peakbench_fail( $r->get_error_message() );
	}
}

if ( 'plugins' === $step ) {
	WC_Install::install();
	update_option( 'woocommerce_onboarding_profile', array( 'skipped' => true ) );
	update_option( 'woocommerce_task_list_hidden', 'yes' );
	update_option( 'woocommerce_show_marketplace_suggestions', 'no' );
	update_option( 'woocommerce_allow_tracking', 'no' );
	update_option( 'woocommerce_default_country', 'US:TX' );
	update_option( 'woocommerce_currency', 'USD' );
	foreach ( $cfg['activate'] as $plugin ) {
		$r = activate_plugin( $plugin );
		if ( is_wp_error( $r ) ) {
			peakbench_fail( "$plugin: " . $r->get_error_message() );
		}
	}
}

if ( 'data' === $step ) {
	global $wpdb;
	// REST keys: a row with the HMAC of the key (what WooCommerce's key screen writes)
	$wpdb->insert(
		$wpdb->prefix . 'woocommerce_api_keys',
		array(
			'user_id'         => 1,
			'description'     => 'peakbench',
			'permissions'     => 'read_write',
			'consumer_key'    => wc_api_hash( $cfg['consumer_key'] ),
			'consumer_secret' => $cfg['consumer_secret'],
			'truncated_key'   => substr( $cfg['consumer_key'], -7 ),
		)
	);
	// test products, found again by SKU
	$ids = array();
	foreach ( $cfg['products'] as $i => $p ) {
		$id = wc_get_product_id_by_sku( $p['sku'] );
		if ( ! $id ) {
			$product = new WC_Product_Simple();
			$product->set_name( $p['name'] );
			$product->set_sku( $p['sku'] );
			$product->set_regular_price( $p['price'] );
			$product->set_status( 'publish' );
			$product->set_virtual( false );
			$id = $product->save();
		}
		$ids[] = $id;
	}
	$out['product_ids'] = $ids;
	if ( function_exists( 'trackship_for_woocommerce' ) ) {
		update_option( 'trackship_apikey', $cfg['trackship_key'] );
		update_option( 'trackship_trackers_balance', 1000000 );
		WC_Trackship_Install::get_instance()->update_database_check();
		trackship_for_woocommerce()->actions->create_tracking_page();
		$page = get_page_by_path( 'ts-shipment-tracking' );
		$out['tracking_page'] = $page ? $page->ID : null;
	}
	// The carriers' rows AST and TrackShip would load from api.trackship.com at install
	$ast = $wpdb->prefix . 'woo_shippment_provider';
	$ts  = $wpdb->prefix . 'trackship_shipping_provider';
	foreach ( $cfg['carriers'] as $slug => $name ) {
		if ( $wpdb->get_var( "SHOW TABLES LIKE '$ast'" ) === $ast
			&& ! $wpdb->get_var( $wpdb->prepare( "SELECT id FROM $ast WHERE ts_slug = %s", $slug ) ) ) {
			$wpdb->insert(
				$ast,
				array(
					'provider_name'         => $name,
					'ts_slug'               => $slug,
					'provider_url'          => '',
					'shipping_country'      => 'Global',
					'shipping_country_name' => 'Global',
					'shipping_default'      => 1,
					'display_in_order'      => 1,
					'trackship_supported'   => 1,
				)
			);
		}
		if ( $wpdb->get_var( "SHOW TABLES LIKE '$ts'" ) === $ts
			&& ! $wpdb->get_var( $wpdb->prepare( "SELECT id FROM $ts WHERE ts_slug = %s", $slug ) ) ) {
			$wpdb->insert( $ts, array( 'provider_name' => $name, 'ts_slug' => $slug ) );
		}
	}
	flush_rewrite_rules( false );
	$out['active_plugins'] = get_option( 'active_plugins' );
}

echo json_encode( $out ), "\n";
