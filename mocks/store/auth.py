"""WooCommerce REST authentication, checked the way ``WC_REST_Authentication`` checks it.

Three ways in (woocommerce/includes/class-wc-rest-authentication.php, carriers.md §3):

- **Query keys**: ``consumer_key`` and ``consumer_secret`` in the query string (tried first).
- **HTTP Basic**: ``consumer_key:consumer_secret``. A real store tries these two over HTTPS only;
  the sandbox speaks plain HTTP on loopback, so it accepts them there too.
- **OAuth 1.0a, one-legged**: ``oauth_consumer_key``, ``oauth_timestamp``, ``oauth_nonce``,
  ``oauth_signature_method`` (``HMAC-SHA1`` or ``HMAC-SHA256``) and ``oauth_signature`` in the
  query, a form body or an ``Authorization: OAuth`` header. The signature is verified with
  oauthlib's RFC 5849 primitives over the parameters *as PHP's ``$_GET`` sees them*: a repeated
  query parameter counts once, the last value wins. That matters: the official Python client
  (``woocommerce`` 3.0) puts its parameters in the URL it signs *and* hands them to requests
  again, so they arrive twice, and a real store accepts that. The timestamp must be within
  :data:`WINDOW_S` of the wall clock, and a ``(key, timestamp, nonce)`` is accepted once.

:meth:`Authenticator.authenticate` returns the :class:`ApiKey` on success, a :class:`Denied`
(401, WooCommerce's code and message) when credentials were presented and are wrong, or None
when none were presented: each route then answers its own "cannot view / cannot create" 401, as
WooCommerce's permission callbacks do. Sans-I/O: the app builds a :class:`Presented`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote

from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

Permissions = Literal["read", "write", "read_write"]

WINDOW_S = 15 * 60
"""Accepted distance between an OAuth timestamp and the wall clock, seconds (WooCommerce's)."""

NONCE_CAPACITY = 100_000
"""Nonces remembered at most; past it the oldest are forgotten first (memory stays bounded)."""

AUTH_ERROR = "woocommerce_rest_authentication_error"
_OAUTH_REQUIRED = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
_SIGNERS = {
    "HMAC-SHA1": oauth_signature.sign_hmac_sha1_with_client,
    "HMAC-SHA256": oauth_signature.sign_hmac_sha256_with_client,
}
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One REST API key of the store, with WooCommerce's permission levels."""

    consumer_key: str
    consumer_secret: str = field(repr=False)
    permissions: Permissions = "read_write"

    def may(self, method: str) -> bool:
        """Whether this key may send an HTTP ``method`` (reads need read, the rest write)."""
        need = "read" if method.upper() in _READ_METHODS else "write"
        return self.permissions in (need, "read_write")


@dataclass(frozen=True, slots=True)
class Denied:
    """A refusal as WooCommerce words it: ``{"code", "message", "data": {"status"}}``."""

    code: str
    message: str
    status: int = 401


@dataclass(frozen=True, slots=True)
class _Secrets:
    """What oauthlib's signers read from a client: one-legged OAuth has no token secret."""

    client_secret: str
    resource_owner_secret: str = ""


@dataclass(frozen=True, slots=True)
class Presented:
    """What a request presents for authentication."""

    method: str
    address: Callable[[], str]
    """``scheme://host[:port]/path`` as the client addressed it, without the query: called
    only by OAuth, which signs it (building it cost more than checking a key)."""
    query: Sequence[tuple[str, str]] = ()
    authorization: str = ""
    form: Sequence[tuple[str, str]] = ()
    """Parameters of an ``application/x-www-form-urlencoded`` body (PHP's ``$_POST``)."""


class NonceCache:
    """``(consumer key, timestamp, nonce)`` triples seen within the window, bounded in size."""

    def __init__(self, window_s: float = WINDOW_S, capacity: int = NONCE_CAPACITY) -> None:
        self.window_s = window_s
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, int, str], int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def use(self, key: str, timestamp: int, nonce: str, now: float) -> bool:
        """Record a nonce; False when it was already used (a replay)."""
        entry = (key, timestamp, nonce)
        if entry in self._seen:
            return False
        self._seen[entry] = timestamp
        # entries arrive roughly in timestamp order: expire from the old end, then cap the size
        while self._seen:
            oldest = next(iter(self._seen.values()))
            if oldest >= now - self.window_s and len(self._seen) <= self.capacity:
                break
            self._seen.popitem(last=False)
        return True


def _basic_pair(authorization: str) -> tuple[str, str] | None:
    if authorization[:6].lower() != "basic ":
        return None
    try:
        raw = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = raw.partition(":")
    return (key, secret) if sep and key and secret else None


def _php_params(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Parameters as PHP's ``$_GET``/``$_POST`` hold them: one value per name, the last."""
    return dict(pairs)


class Authenticator:
    """Checks presented credentials against the store's keys; keeps the OAuth nonce cache.

    ``now`` is the WALL clock (Unix seconds): OAuth timestamps are signed with real time, not
    the store's scaled clock.
    """

    def __init__(
        self,
        keys: Iterable[ApiKey],
        *,
        window_s: float = WINDOW_S,
        nonce_capacity: int = NONCE_CAPACITY,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.keys = {k.consumer_key: k for k in keys}
        self.window_s = window_s
        self.nonces = NonceCache(window_s, nonce_capacity)
        self._now = now

    def authenticate(self, req: Presented) -> ApiKey | Denied | None:
        """The key the request proves it holds, a refusal, or None (nothing presented)."""
        query = _php_params(req.query)
        pair: tuple[str, str] | None = None
        if query.get("consumer_key") and query.get("consumer_secret"):
            pair = (query["consumer_key"], query["consumer_secret"])
        else:
            pair = _basic_pair(req.authorization)
        if pair is not None:
            key = self.keys.get(pair[0])
            if key is not None:
                if hmac.compare_digest(key.consumer_secret.encode(), pair[1].encode()):
                    return key
                return Denied(AUTH_ERROR, "Consumer secret is invalid.")
            # an unknown key falls through to OAuth, as in WooCommerce
        return self._oauth(req, query)

    def authorise(self, req: Presented) -> ApiKey | Denied | None:
        """:meth:`authenticate`, then the key's permission for the request's method."""
        found = self.authenticate(req)
        if isinstance(found, ApiKey) and not found.may(req.method):
            need = "read" if req.method.upper() in _READ_METHODS else "write"
            return Denied(AUTH_ERROR, f"The API key provided does not have {need} permissions.")
        return found

    def _oauth(self, req: Presented, query: dict[str, str]) -> ApiKey | Denied | None:
        params = {**query, **_php_params(req.form)}
        if req.authorization[:6] == "OAuth ":
            try:  # values are percent-encoded in the header (WooCommerce urldecodes them)
                header = {k: unquote(v) for k, v in parse_authorization_header(req.authorization)}
            except ValueError:
                header = {}
            header.pop("realm", None)
            params.update(header)
        missing = [name for name in _OAUTH_REQUIRED if not params.get(name)]
        if len(missing) == len(_OAUTH_REQUIRED):
            return None  # not even trying OAuth
        if missing:
            s = "s" if len(missing) > 1 else ""
            return Denied(
                "woocommerce_rest_authentication_missing_parameter",
                f"Missing OAuth parameter{s} {', '.join(missing)}",
            )
        key = self.keys.get(params["oauth_consumer_key"])
        if key is None:
            return Denied(AUTH_ERROR, "Consumer key is invalid.")
        signer = _SIGNERS.get(params["oauth_signature_method"])
        if signer is None:
            return Denied(AUTH_ERROR, "Invalid signature - signature method is invalid.")
        presented = params.pop("oauth_signature").replace(" ", "+")
        try:
            base_uri = oauth_signature.base_string_uri(req.address())
        except ValueError:
            return Denied(AUTH_ERROR, "Invalid signature - provided signature does not match.")
        base = oauth_signature.signature_base_string(
            req.method, base_uri, oauth_signature.normalize_parameters(list(params.items()))
        )
        expected = signer(base, _Secrets(key.consumer_secret))
        if not hmac.compare_digest(expected.encode(), presented.encode()):
            return Denied(AUTH_ERROR, "Invalid signature - provided signature does not match.")
        now = self._now()
        try:
            timestamp = int(params["oauth_timestamp"])
        except ValueError:
            return Denied(AUTH_ERROR, "Invalid timestamp.")
        if abs(timestamp - now) > self.window_s:
            return Denied(AUTH_ERROR, "Invalid timestamp.")
        if not self.nonces.use(key.consumer_key, timestamp, params["oauth_nonce"], now):
            return Denied(AUTH_ERROR, "Invalid nonce - nonce has already been used.")
        return key


def credentials_from_env(text: str | None, name: str = "PEAKBENCH_STORE_CREDENTIALS") -> ApiKey:
    """The store's read/write key pair from environment variable ``name`` (JSON
    ``{"consumer_key": "ck_…", "consumer_secret": "cs_…"}``). ValueError with one line naming
    the variable, never its value: unset, not JSON, not an object, or an empty/non-text field."""
    if not text or not text.strip():
        raise ValueError(f"{name} is not set: the store needs its REST consumer key and secret")
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(f"{name} is not JSON; expected {_CREDENTIALS_SHAPE}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{name} must be a JSON object like {_CREDENTIALS_SHAPE}")
    bad = [k for k in ("consumer_key", "consumer_secret") if not _text(data.get(k))]
    if bad:
        what = "a non-empty string" if len(bad) == 1 else "non-empty strings"
        raise ValueError(f"{name}: {' and '.join(bad)} must be {what}")
    return ApiKey(data["consumer_key"], data["consumer_secret"])


def carrier_keys_from_env(
    text: str | None, name: str = "PEAKBENCH_CARRIER_KEYS"
) -> dict[str, list[str]]:
    """API keys per carrier from ``name`` (JSON ``{"<carrier>": ["<key>", ...]}``; unset: none).
    ValueError with one line naming the variable, never a key."""
    if not text or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(f'{name} is not JSON; expected {{"<carrier>": ["<key>", ...]}}') from None
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(_text(k) for k in v) for v in data.values()
    ):
        raise ValueError(f'{name} must look like {{"<carrier>": ["<key>", ...]}} (non-empty keys)')
    return data


_CREDENTIALS_SHAPE = '{"consumer_key": "ck_…", "consumer_secret": "cs_…"}'


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps a server on this machine (``127.x``, ``::1``,
    ``localhost``); anything else (``0.0.0.0``, a LAN address) deserves a loud warning."""
    import ipaddress

    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
