<?php
/**
 * Plugin Name: peakbench queue probe (staging only)
 * Description: Read-only view of the store's background queues for peakbench: Action Scheduler's pending, past-due, running and failed actions per hook, the oldest past-due age, and WP-Cron's next due time. Behind the WooCommerce REST API keys.
 * Version:     0.1.0
 * Requires PHP: 7.4
 * License:     Apache-2.0
 *
 * A must-use plugin: copy this file into wp-content/mu-plugins/ (docs/staging-wordpress.md).
 *
 *   GET /wp-json/peakbench/v1/queue   (WooCommerce REST keys with read access)
 *
 *   {
 *     "now": 1764684000,                    // the store's clock, Unix seconds
 *     "action_scheduler": {
 *       "available": true,
 *       "pending": 12, "past_due": 9, "running": 1, "failed": 0,
 *       "oldest_past_due_s": 754,            // now - scheduled time of the oldest past-due action
 *       "hooks": { "woocommerce_run_product_attribute_lookup_update_callback": {
 *                    "pending": 3, "past_due": 3, "running": 0, "failed": 0 }, ... }
 *     },
 *     "wp_cron": { "disabled": false, "next_due": 1764684030, "events": 14, "past_due": 2 }
 *   }
 *
 * Why: stale tracking in real stores is most often a backed-up Action Scheduler queue (TrackShip
 * and AST do their work in scheduled actions and WP-Cron events; WP-Cron only runs when someone
 * visits the site). The route only counts; it changes nothing. Failed actions are counted over
 * the last day (Action Scheduler keeps them for a month).
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** The route is a WooCommerce REST route as far as key authentication goes. */
add_filter(
	'woocommerce_rest_is_request_to_rest_api',
	function ( $is_api ) {
		$uri = isset( $_SERVER['REQUEST_URI'] ) ? (string) wp_unslash( $_SERVER['REQUEST_URI'] ) : '';
		return $is_api || false !== strpos( $uri, '/' . rest_get_url_prefix() . '/peakbench/' );
	}
);

add_action(
	'rest_api_init',
	function () {
		register_rest_route(
			'peakbench/v1',
			'/queue',
			array(
				'methods'             => 'GET',
				'callback'            => 'peakbench_queue_probe',
				'permission_callback' => function () {
					return current_user_can( 'manage_woocommerce' ) || current_user_can( 'manage_options' );
				},
			)
		);
	}
);

/**
 * Counts of Action Scheduler's table and WP-Cron's array, read-only.
 *
 * @return array<string, mixed>
 */
function peakbench_queue_probe() {
	global $wpdb;
	$now    = time();
	$table  = $wpdb->prefix . 'actionscheduler_actions';
	$as     = array(
		'available'         => false,
		'pending'           => 0,
		'past_due'          => 0,
		'running'           => 0,
		'failed'            => 0,
		'oldest_past_due_s' => null,
		'hooks'             => array(),
	);
	$exists = $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $table ) ) === $table;
	if ( $exists ) {
		$as['available'] = true;
		$now_gmt         = gmdate( 'Y-m-d H:i:s', $now );
		$day_ago         = gmdate( 'Y-m-d H:i:s', $now - DAY_IN_SECONDS );
		// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- the table name is ours
		$rows = $wpdb->get_results(
			$wpdb->prepare(
				"SELECT hook,
					SUM(status = 'pending') AS pending,
					SUM(status = 'pending' AND scheduled_date_gmt <= %s) AS past_due,
					SUM(status = 'in-progress') AS running,
					SUM(status = 'failed' AND last_attempt_gmt >= %s) AS failed,
					MIN(CASE WHEN status = 'pending' AND scheduled_date_gmt <= %s THEN scheduled_date_gmt END) AS oldest
				FROM {$table}
				WHERE status IN ('pending', 'in-progress', 'failed')
				GROUP BY hook",
				$now_gmt,
				$day_ago,
				$now_gmt
			)
		);
		$oldest = null;
		foreach ( (array) $rows as $row ) {
			$counts = array(
				'pending'  => (int) $row->pending,
				'past_due' => (int) $row->past_due,
				'running'  => (int) $row->running,
				'failed'   => (int) $row->failed,
			);
			if ( 0 === array_sum( $counts ) ) {
				continue;
			}
			$as['hooks'][ $row->hook ] = $counts;
			foreach ( $counts as $key => $value ) {
				$as[ $key ] += $value;
			}
			if ( $row->oldest && ( null === $oldest || $row->oldest < $oldest ) ) {
				$oldest = $row->oldest;
			}
		}
		if ( null !== $oldest ) {
			$as['oldest_past_due_s'] = max( 0, $now - strtotime( $oldest . ' UTC' ) );
		}
	}
	$cron     = function_exists( '_get_cron_array' ) ? _get_cron_array() : array();
	$times    = is_array( $cron ) ? array_map( 'intval', array_keys( $cron ) ) : array();
	$events   = 0;
	$past_due = 0;
	foreach ( (array) $cron as $time => $hooks ) {
		$n       = 0;
		foreach ( (array) $hooks as $instances ) {
			$n += count( (array) $instances );
		}
		$events += $n;
		if ( (int) $time <= $now ) {
			$past_due += $n;
		}
	}
	return array(
		'now'              => $now,
		'action_scheduler' => $as,
		'wp_cron'          => array(
			'disabled' => defined( 'DISABLE_WP_CRON' ) && DISABLE_WP_CRON,
			'next_due' => $times ? min( $times ) : null,
			'events'   => $events,
			'past_due' => $past_due,
		),
	);
}
