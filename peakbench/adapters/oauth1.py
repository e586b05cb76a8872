"""OAuth 1.0a one-legged signing of WooCommerce REST requests, the way the official client signs.

WooCommerce accepts OAuth 1.0a over plain HTTP (Basic auth is refused there): the official
``woocommerce`` Python client signs with HMAC-SHA256, the consumer secret and an empty token
secret, and puts every ``oauth_*`` parameter in the query string; a JSON body is not signed.
Signing is oauthlib's (RFC 5849); nothing here does I/O.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_QUERY, Client

from peakbench.adapters.request import Request


class _WooCommerceClient(Client):
    """oauthlib's client without the optional ``oauth_version``, which the official WooCommerce
    client does not send: same parameters, same base string, same signature."""

    def get_oauth_params(self, request: Any) -> list[tuple[str, str]]:
        params = super().get_oauth_params(request)
        return [(k, v) for k, v in params if k != "oauth_version"]


def sign(
    request: Request,
    base_url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    timestamp: str | None = None,
    nonce: str | None = None,
) -> Request:
    """Return ``request`` with ``oauth_*`` query parameters signed for ``base_url``.

    ``timestamp`` (Unix seconds as text) and ``nonce`` are for repeatable tests; by default
    oauthlib draws them. The request's own query parameters are part of the signature.
    """
    client = _WooCommerceClient(
        consumer_key,
        client_secret=consumer_secret,
        signature_method=SIGNATURE_HMAC_SHA256,
        signature_type=SIGNATURE_TYPE_QUERY,
        timestamp=timestamp,
        nonce=nonce,
    )
    signed_uri, _, _ = client.sign(request.url(base_url), http_method=request.method)
    params = dict(parse_qsl(urlsplit(signed_uri).query, keep_blank_values=True))
    path = request.path.split("?", 1)[0]  # its query is in ``params`` now, signed
    return Request(request.method, path, params, request.json, request.headers)
