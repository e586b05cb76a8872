"""What the pipeline tells the app when a request is not answered plainly.

:class:`Refusal`: refuse before the personality answers (quota, concurrency, ban, fault).
:class:`Mangle`: spoil an otherwise good answer on its way out (faults after answering).
Both are plain tuples: the app reads their fields on the hot path.
"""

from __future__ import annotations

from typing import NamedTuple

PERMANENT_RETRY_AFTER = 365 * 86400
"""``retry_after`` of a permanent ban (store seconds): a year, i.e. "do not come back"."""


class Refusal(NamedTuple):
    """Why, and how, a request is refused before the personality answers it."""

    kind: str
    """``quota`` / ``concurrency`` (journal outcome throttled), ``ban`` (blocked), ``fault``
    (error)."""
    status: int
    """HTTP status: 429 for quota/concurrency, the block's status for a ban, the fault's 5xx."""
    cause: str
    """Journal cause: ``quota:<per>``, ``concurrency``, ``ban``, ``fault:5xx``, ``fault:reset``,
    ``fault:hang``."""
    retry_after: int
    """Whole store seconds (rounded up) until the caller may pass; 0 for faults."""
    limit: int = 0
    """The binding limit (quota or concurrency), 0 otherwise (``X-RateLimit-Limit`` headers)."""
    form: str = "reply"
    """How to refuse: ``reply`` (the personality words it: throttled / blocked / failed),
    ``waf`` (an HTML denial page), ``reset`` (close the connection without a response),
    ``hang`` (send nothing until the client gives up or ``hang_s`` store seconds pass)."""
    hang_s: float = 0.0
    """Store seconds to hang (form ``hang``)."""


class Mangle(NamedTuple):
    """A post-response fault on an otherwise good answer."""

    form: str
    """``malformed`` (invalid JSON), ``truncated`` (body cut), ``slow-body`` (dribbled)."""
    cut: float = 0.5
    """Share of the body kept (``truncated``)."""
    body_s: float = 0.0
    """Store seconds to dribble the body over (``slow-body``)."""
    honest: bool = True
    """``truncated``: Content-Length says the cut length (True) or promises the whole body and
    the connection closes early (False)."""
