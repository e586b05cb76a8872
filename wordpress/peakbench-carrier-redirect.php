<?php
/**
 * Plugin Name: peakbench carrier redirect (staging only)
 * Description: Sends the store's calls to carrier tracking APIs to the peakbench mock fleet instead of the real carriers. Never install on a production store.
 * Version:     0.1.0
 * Requires PHP: 7.4
 * License:     Apache-2.0
 *
 * A must-use plugin: copy this file into wp-content/mu-plugins/ and configure it in wp-config.php
 * (docs/staging-wordpress.md has the whole procedure):
 *
 *   define( 'PEAKBENCH_MOCKS_URL', 'https://127.0.0.1:8443' );   // every carrier host → one port
 *   define( 'PEAKBENCH_HOST_MAP', array(                         // or per host (wins over the above)
 *       'api.aftership.com' => 'https://127.0.0.1:9001',
 *       'api.17track.net'   => 'https://127.0.0.1:9002',
 *   ) );                                                         // a JSON object string works too
 *   define( 'PEAKBENCH_CA_FILE', '/etc/peakbench/ca.pem' );      // from `peakbench mocks ca`
 *   define( 'PEAKBENCH_CARRIER_HOSTS', 'api.other-carrier.example' ); // extra hosts, comma-separated
 *   define( 'WP_HTTP_BLOCK_EXTERNAL', true );                    // nothing leaves the machine...
 *   define( 'WP_ACCESSIBLE_HOSTS', '127.0.0.1,localhost' );      // ...but the mocks; never a carrier
 *
 * What it does, for code that uses the WordPress HTTP API (wp_remote_*, WP_Http):
 * - pre_http_request: a request to a carrier host is sent instead to the mock base URL with the
 *   same method, path, query, headers and body, and `Host: <the carrier host>`, so one mock port
 *   can impersonate several vendors (the mocks route by Host). The answer is returned as if the
 *   carrier had given it. WordPress checks WP_HTTP_BLOCK_EXTERNAL after this filter, so with the
 *   constants above a carrier request that is not redirected fails instead of leaving.
 * - http_request_args / https_ssl_verify: requests to the mocks verify TLS against
 *   PEAKBENCH_CA_FILE (the local CA), never by switching verification off.
 * - http_api_curl: defence in depth for cURL: a carrier request that reaches cURL unrewritten
 *   is connected to the mocks anyway (CURLOPT_CONNECT_TO), never to the carrier.
 *
 * Not covered: clients that bypass the WordPress HTTP API (Guzzle, raw cURL, vendor SDKs). For
 * those, use the vendor plugin's base-URL constant if it has one (TrackMage: TRACKMAGE_API_DOMAIN),
 * or /etc/hosts entries plus the CA in the system trust store (docs/staging-wordpress.md).
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Carrier and aggregator API hosts redirected by default (the hosts `peakbench mocks ca` certifies). */
const PEAKBENCH_DEFAULT_CARRIER_HOSTS = array(
	'api.aftership.com',
	'api.17track.net',
	'onlinetools.ups.com',
	'wwwcie.ups.com',
	'apis.fedex.com',
	'apis-sandbox.fedex.com',
	'apis.usps.com',
	'apis-tem.usps.com',
	'api-eu.dhl.com',
	'api.easypost.com',
	'api.trackship.com',
);

/** Marks a request this plugin already redirected, so the redirected call is not redirected again. */
const PEAKBENCH_REDIRECTED = '_peakbench_redirected';

/**
 * Lower-cased host => mock base URL (scheme://host[:port], no trailing slash) for every host to redirect.
 *
 * @return array<string, string>
 */
function peakbench_host_map() {
	$map = array();
	$hosts = PEAKBENCH_DEFAULT_CARRIER_HOSTS;
	if ( defined( 'PEAKBENCH_CARRIER_HOSTS' ) ) {
		$extra = PEAKBENCH_CARRIER_HOSTS;
		$hosts = array_merge( $hosts, is_array( $extra ) ? $extra : explode( ',', (string) $extra ) );
	}
	if ( defined( 'PEAKBENCH_MOCKS_URL' ) && '' !== PEAKBENCH_MOCKS_URL ) {
		foreach ( $hosts as $host ) {
			$map[ strtolower( trim( $host ) ) ] = rtrim( PEAKBENCH_MOCKS_URL, '/' );
		}
	}
	if ( defined( 'PEAKBENCH_HOST_MAP' ) ) {
		$per_host = PEAKBENCH_HOST_MAP;
		if ( is_string( $per_host ) ) {
			$per_host = json_decode( $per_host, true );
		}
		if ( is_array( $per_host ) ) {
			foreach ( $per_host as $host => $base ) {
				$map[ strtolower( trim( (string) $host ) ) ] = rtrim( (string) $base, '/' );
			}
		}
	}
	unset( $map[''] );
	return $map;
}

/** The local CA file to trust for the mocks, or null when none is configured or readable. */
function peakbench_ca_file() {
	if ( defined( 'PEAKBENCH_CA_FILE' ) && is_readable( PEAKBENCH_CA_FILE ) ) {
		return PEAKBENCH_CA_FILE;
	}
	return null;
}

/**
 * Where a request to $url goes instead: the mock URL and the Host header to send, or null when
 * $url is not a carrier host.
 *
 * @return array{url: string, host: string}|null
 */
function peakbench_redirect_target( $url ) {
	$parts = parse_url( (string) $url );
	if ( ! is_array( $parts ) || empty( $parts['host'] ) ) {
		return null;
	}
	$host = strtolower( $parts['host'] );
	$map  = peakbench_host_map();
	if ( ! isset( $map[ $host ] ) ) {
		return null;
	}
	$target = $map[ $host ] . ( isset( $parts['path'] ) ? $parts['path'] : '/' );
	if ( isset( $parts['query'] ) ) {
		$target .= '?' . $parts['query'];
	}
	$host_header = $host . ( isset( $parts['port'] ) ? ':' . $parts['port'] : '' );
	return array(
		'url'  => $target,
		'host' => $host_header,
	);
}

/** Whether $url points at one of the configured mock servers (same scheme, host and port). */
function peakbench_is_mock_url( $url ) {
	$key = peakbench_origin( $url );
	if ( null === $key ) {
		return false;
	}
	foreach ( array_unique( peakbench_host_map() ) as $base ) {
		if ( peakbench_origin( $base ) === $key ) {
			return true;
		}
	}
	return false;
}

/** "scheme://host:port" of $url with the default port made explicit, or null. */
function peakbench_origin( $url ) {
	$parts = parse_url( (string) $url );
	if ( ! is_array( $parts ) || empty( $parts['host'] ) || empty( $parts['scheme'] ) ) {
		return null;
	}
	$scheme = strtolower( $parts['scheme'] );
	$port   = isset( $parts['port'] ) ? (int) $parts['port'] : ( 'https' === $scheme ? 443 : 80 );
	return $scheme . '://' . strtolower( $parts['host'] ) . ':' . $port;
}

/**
 * The request's headers as an array, any Host header replaced by $host.
 *
 * @param array<string, string>|string $headers As WordPress accepts them (array or raw lines).
 * @return array<string, string>
 */
function peakbench_headers_with_host( $headers, $host ) {
	if ( is_string( $headers ) ) {
		$lines   = preg_split( '/\r?\n/', $headers );
		$headers = array();
		foreach ( $lines as $line ) {
			$pair = explode( ':', $line, 2 );
			if ( 2 === count( $pair ) ) {
				$headers[ trim( $pair[0] ) ] = trim( $pair[1] );
			}
		}
	}
	$out = array();
	foreach ( (array) $headers as $name => $value ) {
		if ( 'host' !== strtolower( (string) $name ) ) {
			$out[ $name ] = $value;
		}
	}
	$out['Host'] = $host;
	return $out;
}

/**
 * pre_http_request: answer a carrier request with the mock's answer to the same request.
 *
 * @param false|array|WP_Error $pre  An earlier filter's answer, or false.
 * @param array                $args The request's parsed arguments.
 * @param string               $url  The request URL.
 * @return false|array|WP_Error
 */
function peakbench_pre_http_request( $pre, $args, $url ) {
	if ( false !== $pre || ! empty( $args[ PEAKBENCH_REDIRECTED ] ) ) {
		return $pre;
	}
	$target = peakbench_redirect_target( $url );
	if ( null === $target ) {
		return $pre;
	}
	$args['headers']              = peakbench_headers_with_host( isset( $args['headers'] ) ? $args['headers'] : array(), $target['host'] );
	$args[ PEAKBENCH_REDIRECTED ] = $target['host'];
	// wp_safe_remote_* reject loopback addresses and unusual ports; the mocks are both, on purpose
	$args['reject_unsafe_urls'] = false;
	$ca                         = peakbench_ca_file();
	if ( null !== $ca && ( ! isset( $args['sslverify'] ) || $args['sslverify'] ) ) {
		$args['sslcertificates'] = $ca;
	}
	return wp_remote_request( $target['url'], $args );
}

/** http_request_args: requests to the mocks trust the local CA (and only it). */
function peakbench_http_request_args( $args, $url ) {
	$ca = peakbench_ca_file();
	if ( null !== $ca && peakbench_is_mock_url( $url ) && ( ! isset( $args['sslverify'] ) || $args['sslverify'] ) ) {
		$args['sslcertificates'] = $ca;
	}
	return $args;
}

/** https_ssl_verify: keep verification on for the mocks, against the local CA. */
function peakbench_https_ssl_verify( $verify, $url = '' ) {
	$ca = peakbench_ca_file();
	if ( false !== $verify && null !== $ca && peakbench_is_mock_url( $url ) ) {
		return $ca;
	}
	return $verify;
}

/**
 * http_api_curl: a carrier request that reaches cURL without being redirected (another plugin
 * answered pre_http_request oddly, or this plugin was loaded late) still connects to the mocks.
 */
function peakbench_http_api_curl( $handle, $args = array(), $url = '' ) {
	if ( ! empty( $args[ PEAKBENCH_REDIRECTED ] ) || ! defined( 'CURLOPT_CONNECT_TO' ) ) {
		return;
	}
	$parts = parse_url( (string) $url );
	if ( ! is_array( $parts ) || empty( $parts['host'] ) ) {
		return;
	}
	$host = strtolower( $parts['host'] );
	$map  = peakbench_host_map();
	if ( ! isset( $map[ $host ] ) ) {
		return;
	}
	$mock      = parse_url( $map[ $host ] );
	$https     = 'https' === strtolower( isset( $parts['scheme'] ) ? $parts['scheme'] : '' );
	$from_port = isset( $parts['port'] ) ? $parts['port'] : ( $https ? 443 : 80 );
	$to_port   = isset( $mock['port'] ) ? $mock['port'] : ( 'https' === $mock['scheme'] ? 443 : 80 );
	curl_setopt( $handle, CURLOPT_CONNECT_TO, array( "{$host}:{$from_port}:{$mock['host']}:{$to_port}" ) );
	$ca = peakbench_ca_file();
	if ( null !== $ca ) {
		curl_setopt( $handle, CURLOPT_CAINFO, $ca );
	}
}

add_filter( 'pre_http_request', 'peakbench_pre_http_request', 99, 3 );
add_filter( 'http_request_args', 'peakbench_http_request_args', 99, 2 );
add_filter( 'https_ssl_verify', 'peakbench_https_ssl_verify', 99, 2 );
add_action( 'http_api_curl', 'peakbench_http_api_curl', 99, 3 );
