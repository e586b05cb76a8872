<?php
/**
 * A tiny harness for peakbench-carrier-redirect.php: stubs the few WordPress functions it uses,
 * loads it, and checks what it does to requests. No WordPress needed:
 *
 *     php wordpress/tests/harness.php     # prints "N passed, 0 failed", exit 1 on a failure
 */

define( 'ABSPATH', __DIR__ . '/' );
define( 'PEAKBENCH_MOCKS_URL', 'https://127.0.0.1:8443/' );
define( 'PEAKBENCH_HOST_MAP', '{"api.17track.net": "https://127.0.0.1:9002"}' );
define( 'PEAKBENCH_CARRIER_HOSTS', 'api.shop-carrier.test, ' );
define( 'PEAKBENCH_CA_FILE', __FILE__ ); // any readable file stands in for ca.pem

$GLOBALS['hooks'] = array();
$GLOBALS['sent']  = array();

function add_filter( $hook, $callback, $priority = 10, $accepted_args = 1 ) {
	$GLOBALS['hooks'][ $hook ][ $priority ][] = array( $callback, $accepted_args );
	return true;
}

function add_action( $hook, $callback, $priority = 10, $accepted_args = 1 ) {
	return add_filter( $hook, $callback, $priority, $accepted_args );
}

function apply_filters( $hook, $value, ...$args ) {
	$by_priority = isset( $GLOBALS['hooks'][ $hook ] ) ? $GLOBALS['hooks'][ $hook ] : array();
	ksort( $by_priority );
	foreach ( $by_priority as $callbacks ) {
		foreach ( $callbacks as list( $callback, $accepted ) ) {
			$value = call_user_func_array( $callback, array_slice( array_merge( array( $value ), $args ), 0, $accepted ) );
		}
	}
	return $value;
}

/** WP_Http::request's order: http_request_args, pre_http_request, then (here) "send". */
function wp_remote_request( $url, $args = array() ) {
	$args = apply_filters( 'http_request_args', $args + array( 'sslverify' => true ), $url );
	$pre  = apply_filters( 'pre_http_request', false, $args, $url );
	if ( false !== $pre ) {
		return $pre;
	}
	$GLOBALS['sent'][] = array(
		'url'    => $url,
		'args'   => $args,
		'verify' => apply_filters( 'https_ssl_verify', $args['sslverify'] ? $args['sslcertificates'] : false, $url ),
	);
	return array(
		'response' => array( 'code' => 200 ),
		'body'     => '{"from": "' . $url . '"}',
	);
}

require __DIR__ . '/../peakbench-carrier-redirect.php';

$passed = 0;
$failed = 0;
function check( $label, $condition ) {
	global $passed, $failed;
	if ( $condition ) {
		++$passed;
	} else {
		++$failed;
		fwrite( STDERR, "FAILED: {$label}\n" );
	}
}

function send( $url, $args = array() ) {
	$GLOBALS['sent'] = array();
	$reply           = wp_remote_request( $url, $args + array( 'sslcertificates' => '/wp/ca-bundle.crt' ) );
	return array( $reply, $GLOBALS['sent'] );
}

// A carrier host goes to the shared mock port, with Host kept, path and query intact.
list( $reply, $sent ) = send(
	'https://api.aftership.com/tracking/2024-10/trackings?page=2',
	array(
		'method'  => 'GET',
		'headers' => array(
			'as-api-key' => 'k',
			'HOST'       => 'wrong',
		),
	)
);
check( 'one request sent', 1 === count( $sent ) );
check( 'to the mock port', 'https://127.0.0.1:8443/tracking/2024-10/trackings?page=2' === $sent[0]['url'] );
check( 'Host is the vendor', 'api.aftership.com' === $sent[0]['args']['headers']['Host'] );
check( 'no second Host header', ! isset( $sent[0]['args']['headers']['HOST'] ) );
check( 'other headers kept', 'k' === $sent[0]['args']['headers']['as-api-key'] );
check( 'trusts the local CA', PEAKBENCH_CA_FILE === $sent[0]['args']['sslcertificates'] );
check( 'verification stays on', PEAKBENCH_CA_FILE === $sent[0]['verify'] );
check( 'unsafe-url check off for loopback', false === $sent[0]['args']['reject_unsafe_urls'] );
check( 'the mock answer is returned', 200 === $reply['response']['code'] );

// The per-host map wins over the shared URL; raw header strings are understood.
list( , $sent ) = send( 'https://api.17track.net/track/v2.2/gettrackinfo', array( 'headers' => "17token: t\r\nHost: x" ) );
check( 'per-host map', 'https://127.0.0.1:9002/track/v2.2/gettrackinfo' === $sent[0]['url'] );
check( 'raw headers parsed', 't' === $sent[0]['args']['headers']['17token'] );
check( 'raw Host replaced', 'api.17track.net' === $sent[0]['args']['headers']['Host'] );

// Extra hosts from PEAKBENCH_CARRIER_HOSTS; a non-default port is kept in Host.
list( , $sent ) = send( 'https://API.shop-carrier.test:8443/v1/x' );
check( 'extra host redirected', 'https://127.0.0.1:8443/v1/x' === $sent[0]['url'] );
check( 'port kept in Host', 'api.shop-carrier.test:8443' === $sent[0]['args']['headers']['Host'] );

// Anything else is left alone, and verification against WordPress's bundle is untouched.
list( , $sent ) = send( 'https://api.wordpress.org/core/version-check/1.7/' );
check( 'other hosts untouched', 'https://api.wordpress.org/core/version-check/1.7/' === $sent[0]['url'] );
check( 'other hosts keep the WP bundle', '/wp/ca-bundle.crt' === $sent[0]['verify'] );

// A caller that switched verification off is not switched back on (nor is it our business).
list( , $sent ) = send( 'https://api.easypost.com/v2/trackers', array( 'sslverify' => false ) );
check( 'sslverify false respected', false === $sent[0]['verify'] );

// An earlier pre_http_request answer wins; a direct call to the mock is not redirected again.
$canned = array( 'response' => array( 'code' => 418 ) );
check( 'earlier answer kept', $canned === peakbench_pre_http_request( $canned, array(), 'https://api.aftership.com/' ) );
list( , $sent ) = send( 'https://127.0.0.1:8443/__admin/health' );
check( 'mock url not redirected', 'https://127.0.0.1:8443/__admin/health' === $sent[0]['url'] );
check( 'mock url trusts the CA', PEAKBENCH_CA_FILE === $sent[0]['verify'] );

// The cURL safety net points an unrewritten carrier request at the mock.
if ( function_exists( 'curl_init' ) ) {
	$handle = curl_init( 'https://apis.fedex.com/track/v1/trackingnumbers' );
	peakbench_http_api_curl( $handle, array(), 'https://apis.fedex.com/track/v1/trackingnumbers' );
	check( 'curl handle still usable', false !== curl_getinfo( $handle ) );
}

echo "{$passed} passed, {$failed} failed\n";
exit( $failed ? 1 : 0 );
