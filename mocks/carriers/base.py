"""What a carrier personality is: the sans-I/O seam between the ASGI app and one vendor's API.

A personality maps requests to neutral routes (``track``, ``batch``, ``other``: the names that
behaviour ``routes`` and the journal use), finds the caller's credential, and turns the neutral
timeline into the vendor's envelope, status vocabulary and timestamp style, including how it
refuses (its throttle signature). It owns no quota logic: the behaviours decide, it only words.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Protocol

TRACK, BATCH, OTHER = "track", "batch", "other"
"""Neutral route names (journal ``route``, behaviour ``routes``)."""

Headers = tuple[tuple[bytes, bytes], ...]


class Ask(NamedTuple):
    """A parsed request: what the caller asked for."""

    route: str
    numbers: tuple[str, ...] | list[str]
    """Tracking numbers asked (empty for ``other`` and for unusable bodies)."""
    error: str | None = None
    """Why the request is malformed (answered 400), else None."""


class Reply(NamedTuple):
    """A response, ready to send, plus what the journal needs to know about it."""

    status: int
    body: bytes
    cause: str | None = None
    """Journal cause (``auth``, ``bad_request``, ``not_found``, ...), None for 2xx."""
    numbers: int = 0
    """How many tracking numbers were asked."""
    headers: Headers = ()
    """Headers beyond content-type and content-length (e.g. ``Retry-After``)."""


class Personality(Protocol):
    """One vendor's API over the neutral timeline; every method is pure (no I/O)."""

    content_type: bytes

    # Optional: ``wants_query = True`` makes the app pass ``path?query`` to :meth:`match` (APIs
    # such as DHL's that put the tracking number in the query string).

    def match(self, method: str, path: str) -> tuple[str, str]:
        """``(route, argument)`` for a request line, e.g. ``("track", "<number>")``."""
        ...

    def reads_body(self, route: str) -> bool:
        """Whether requests to ``route`` carry a body the personality needs."""
        ...

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        """The accepted-key string the caller presented, or None.

        ``headers`` are raw ASGI headers (lower-case names); ``body`` is the request body when
        :meth:`reads_body` says the route has one (OAuth token endpoints carry client
        credentials there), else ``b""``; ``epoch`` lets a personality expire bearer tokens it
        issued. OAuth personalities map a valid token back to the ``client_id:client_secret``
        it was issued for, so the journal and the quotas see the same caller either way.
        """
        ...

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        """What a request asks for; never raises on malformed input."""
        ...

    def respond(self, ask: Ask, epoch: float) -> Reply:
        """The answer at Unix time ``epoch`` (store calendar)."""
        ...

    def unauthorized(self, ask: Ask) -> Reply: ...

    def throttled(self, ask: Ask, retry_after: int, cause: str, epoch: float, limit: int) -> Reply:
        """A quota refusal in the vendor's throttle signature.

        ``retry_after``: whole store seconds until the binding quota lets the caller pass;
        ``cause``: the journal cause (``quota:1s``, ``quota:1d``: vendors word burst and daily
        limits differently); ``epoch``: Unix time of the request (for reset timestamps);
        ``limit``: the binding quota's limit (for ``X-RateLimit-Limit``-style headers).
        """
        ...

    def blocked(self, ask: Ask, status: int, retry_after: int) -> Reply:
        """A ban refusal with the block's ``status``."""
        ...

    def failed(self, ask: Ask, status: int) -> Reply:
        """An injected server fault (5xx ``status``) in the vendor's error envelope."""
        ...

    def too_large(self) -> Reply: ...
