"""OAuth 2.0 client-credentials tokens, as UPS, FedEx and USPS issue them.

A carrier's token endpoint takes the client credentials in an HTTP Basic header (UPS) or in a
form or JSON body (FedEx, USPS) and answers a bearer token that expires after a TTL in store
seconds. The mock keeps only the tokens it issued, in a bounded table (oldest evicted first),
and maps a presented token back to the ``client_id:client_secret`` string it was issued for:
the accepted-key string of ``PEAKBENCH_CARRIER_KEYS``, so journal and quotas see one caller
whether it sends credentials or a token.

Which clock a token lives on: under a wall clock (real runs) its times are WALL times, since
clients compare ``issued_at``, the JWT ``iat``/``exp`` and ``expires_in`` with their own clock;
a token then lives ``ttl_s`` wall seconds (at ``clock.scale`` ×N that is N×``ttl_s`` store
seconds, so token traffic per store hour drops by N: docs/fidelity.md). Under virtual time
(no wall clock) they are store times, so the world stays a pure function of store time.

Tokens belong to the client they were issued to, and each client holds at most
``per_client`` live tokens (its oldest go first), so one account's token storm never evicts
another account's tokens; the whole table stays bounded by ``capacity``.

Tokens are JWT-shaped (``header.payload.signature``, with ``exp`` and ``iat`` in the payload,
never the secret) because real clients decode them to schedule a refresh. The personality's
sans-I/O seam splits a request into ``credential`` (headers, body), ``parse`` and ``respond``,
so :class:`TokenDesk` remembers the client of the last token request between those calls; the
app makes them for one request with no ``await`` in between (it does await the body between
``match`` and ``credential``, so nothing may be remembered from ``match``).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

from mocks.carriers.base import OTHER, TRACK, Ask

TOKEN = "token"
"""Route name of token endpoints (journal ``route``, behaviour ``routes``): they get their own
limits (FedEx IP thresholds on the token endpoint; UPS 'a new token per call makes it worse')."""

MISSING, UNKNOWN, EXPIRED = "missing", "unknown", "expired"
"""Why the last credential was refused (vendors word these differently)."""

NEEDS_TOKEN = "this resource needs a bearer token"
"""``Ask.error`` of a non-token request that presented client credentials: answered 401."""


@dataclass(frozen=True, slots=True)
class Grant:
    """One issued token."""

    token: str
    client: str
    """``client_id:client_secret`` it was issued for."""
    issued_at: float
    """Unix seconds (wall clock in real runs, store calendar in virtual time)."""
    expires_at: float

    @property
    def client_id(self) -> str:
        return self.client.split(":", 1)[0]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The value of the first header ``name`` (lower case), or None."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def bearer(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    value = header(headers, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def basic_credentials(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """``id:secret`` from an ``Authorization: Basic`` header, or None."""
    value = header(headers, b"authorization")
    if value is None:
        return None
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    client_id, colon, secret = decoded.partition(":")
    return f"{client_id}:{secret}" if colon and client_id and secret else None


def form_fields(body: bytes) -> dict[str, str]:
    """A token request body's fields, JSON object or ``x-www-form-urlencoded``; {} if neither.

    Only string values are kept; the first of repeated form fields wins.
    """
    text = body.strip()
    if not text:
        return {}
    if text[:1] == b"{":
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return {}
        if not isinstance(doc, dict):
            return {}
        return {k: v for k, v in doc.items() if isinstance(v, str)}
    try:
        fields = parse_qs(text.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in fields.items() if v}


def client_credentials(headers: Iterable[tuple[bytes, bytes]], body: bytes) -> str | None:
    """``client_id:client_secret`` from a Basic header, else from the body; None if absent."""
    basic = basic_credentials(headers)
    if basic is not None:
        return basic
    fields = form_fields(body)
    client_id, secret = fields.get("client_id", ""), fields.get("client_secret", "")
    return f"{client_id}:{secret}" if client_id and secret else None


def grant_type_error(body: bytes) -> str | None:
    """Why a token request body is not a client-credentials grant, or None when it is."""
    grant = form_fields(body).get("grant_type")
    if grant is None:
        return "grant_type is missing"
    if grant != "client_credentials":
        return f"unsupported grant_type {grant[:40]!r}"
    return None


class TokenDesk:
    """Issues bearer tokens valid for ``ttl_s`` seconds; remembers at most ``capacity``, and at
    most ``per_client`` per client (see the module docstring for which clock).

    :meth:`credential` is a personality's ``credential`` for OAuth carriers; ``parse`` calls
    :meth:`token_required` and ``respond`` calls :meth:`issue` on the token route.
    """

    def __init__(self, ttl_s: float, capacity: int = 65536, per_client: int = 1024) -> None:
        if ttl_s <= 0 or capacity <= 0 or per_client <= 0:
            raise ValueError("token TTL and capacities must be positive")
        self.ttl_s = ttl_s
        self.capacity = capacity
        self.per_client = per_client
        self._grants: OrderedDict[str, Grant] = OrderedDict()
        self._by_client: OrderedDict[str, deque[str]] = OrderedDict()
        self.wall_of: Callable[[float], float] = _same
        """Store epoch → the epoch token times are printed and checked in (identity: store)."""
        self.presented: str | None = None
        """Client credentials of the last token request (None: none or unusable)."""
        self.refused: str | None = None
        """Why the last credential was refused: missing, unknown, expired."""

    def __len__(self) -> int:
        return len(self._grants)

    def use_clock(self, clock: object) -> None:
        """Print and check token times on ``clock``'s wall time when it has one (``wall_at``)."""
        wall_at = getattr(clock, "wall_at", None)
        spec = getattr(clock, "spec", None)
        if callable(wall_at) and spec is not None:
            start = float(spec.start_epoch)
            self.wall_of = lambda epoch: float(wall_at(epoch - start))

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        """The caller's ``client_id:client_secret``, or None (reason in :attr:`refused`).

        A bearer token maps to its client while unexpired; otherwise client credentials (Basic
        header or body) are read and remembered for :meth:`issue`. Deciding by what is
        presented, not by the route, keeps this free of state between ``match`` and
        ``credential``: the app awaits the body in between, when other requests run.
        """
        token = bearer(headers)
        if token is None:
            self.presented = client_credentials(headers, body)
            self.refused = None if self.presented else MISSING
            return self.presented
        self.presented = None
        grant = self._grants.get(token)
        if grant is None:
            self.refused = UNKNOWN
            return None
        if self.wall_of(epoch) >= grant.expires_at:
            self.refused = EXPIRED
            return None
        self.refused = None
        return grant.client

    def token_required(self, route: str) -> str | None:
        """:data:`NEEDS_TOKEN` when client credentials came to a route other than the token
        endpoint (which wants a bearer token), else None; forgets them either way.

        Call it from ``parse`` (the app calls ``parse`` right after ``credential``).
        """
        presented, self.presented = self.presented, (self.presented if route == TOKEN else None)
        return NEEDS_TOKEN if presented is not None and route != TOKEN else None

    def token_ask(self, route: str, argument: str, body: bytes) -> Ask | None:
        """What ``parse`` answers for the token side of OAuth: a refusal when client
        credentials came where a bearer token belongs, the token request itself (with its
        grant-type error, if any), or None for the carrier's own routes to parse."""
        needs_token = self.token_required(route)
        if needs_token is not None:
            return Ask(route, (argument,) if argument else (), needs_token)
        if route == TOKEN:
            return Ask(TOKEN, (), grant_type_error(body))
        return None

    def issue(self, epoch: float) -> Grant | None:
        """A new token for the client of the last token request at Unix time ``epoch``."""
        client = self.presented
        if client is None:
            return None
        self.presented = None
        client_id = client.split(":", 1)[0]
        issued = self.wall_of(epoch)
        claims = {
            "sub": client_id,
            "iat": int(issued),
            "exp": int(issued + self.ttl_s),
            "jti": secrets.token_hex(8),
        }
        token = ".".join(
            (
                _b64(b'{"alg":"RS256","typ":"JWT"}'),
                _b64(json.dumps(claims, separators=(",", ":")).encode()),
                _b64(secrets.token_bytes(32)),
            )
        )
        grant = Grant(token, client, issued, issued + self.ttl_s)
        self._grants[token] = grant
        mine = self._by_client.get(client)
        if mine is None:
            mine = self._by_client[client] = deque()
            if len(self._by_client) > self.capacity:
                self._by_client.popitem(last=False)
        mine.append(token)
        while len(mine) > self.per_client:
            self._grants.pop(mine.popleft(), None)
        self._evict(issued)
        return grant

    def _evict(self, now: float) -> None:
        grants = self._grants
        # one TTL for all: insertion order is expiry order, expired ones sit at the front
        while grants:
            oldest = next(iter(grants.values()))
            if len(grants) <= self.capacity and oldest.expires_at > now:
                break
            grants.popitem(last=False)


def _same(epoch: float) -> float:
    return epoch


class TokenTrackRequests:
    """The request side shared by APIs with a client-credentials token endpoint and one number per
    ``GET <track_prefix><number>`` (UPS, USPS): routing, body reading, credentials and parsing.

    Subclasses set ``token_path``, ``track_prefix`` and ``tokens`` (their :class:`TokenDesk`).
    """

    token_path: str
    track_prefix: str
    tokens: TokenDesk

    def match(self, method: str, path: str) -> tuple[str, str]:
        route, argument = OTHER, ""
        if path == self.token_path and method == "POST":
            route = TOKEN
        elif path.startswith(self.track_prefix) and method == "GET":
            number = path[len(self.track_prefix) :]
            if number and "/" not in number:
                route, argument = TRACK, number
        return route, argument

    def reads_body(self, route: str) -> bool:
        return route == TOKEN

    def use_clock(self, clock: object) -> None:
        """Token times on ``clock``'s wall time when it has one (the app calls this)."""
        self.tokens.use_clock(clock)

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        return self.tokens.credential(headers, body, epoch)

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        token_side = self.tokens.token_ask(route, argument, body)
        if token_side is not None:
            return token_side
        if route == TRACK:
            return Ask(TRACK, (argument,))
        return Ask(route, ())
