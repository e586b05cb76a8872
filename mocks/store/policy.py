"""The reference plugin's decisions, as pure functions (no I/O, no clock).

Which shipments go into which poll action, how a carrier's answer is classified, and what an
``on_throttle`` policy does about it. The plugin (``plugin.py``) does the I/O around these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

T = TypeVar("T")

CARRIER_BATCH_LIMIT = 40
"""Most numbers the generic carrier accepts in one batch call (17TRACK's limit, carriers.md §1)."""
MIN_TIMEOUT_WALL_S = 2.0
"""A request timeout never scales below this many wall seconds: round trips do not scale."""
MAX_BACKOFF_S = 86400.0
"""Cap of the doubling backoff, store seconds."""

Outcome = Literal["ok", "throttled", "blocked", "error", "timeout"]
Step = Literal["continue", "stop-run", "postpone"]


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """Split ``items`` in order into lists of at most ``size``."""
    if size <= 0:
        raise ValueError("chunk size must be positive")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def plan_polls(
    open_shipments: Iterable[tuple[str, str]], busy: set[str], batch_size: int
) -> list[tuple[str, list[str]]]:
    """One ``(carrier, numbers)`` poll per ``batch_size`` open shipments of a carrier.

    Shipments already in a pending or running poll (``busy``) are left out, so a backlog does not
    pile up duplicate polls of the same numbers.
    """
    per_carrier: dict[str, list[str]] = {}
    for carrier, number in open_shipments:
        if number not in busy:
            per_carrier.setdefault(carrier, []).append(number)
    return [
        (carrier, chunk)
        for carrier, numbers in per_carrier.items()
        for chunk in chunks(numbers, batch_size)
    ]


def request_timeout_wall(request_timeout: float, scale: float) -> float:
    """Wall seconds to wait for a carrier: the store-time timeout, scaled, floored."""
    return max(request_timeout / max(scale, 1e-9), MIN_TIMEOUT_WALL_S)


@dataclass(frozen=True, slots=True)
class Reply:
    """A carrier's answer to one batch call, as the plugin understands it."""

    status: int
    """HTTP status; 0 when no answer came."""
    outcome: Outcome
    retry_after: float | None = None
    """Store seconds from ``Retry-After``, when the carrier sent one."""
    trackings: list[dict[str, Any]] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


def parse_retry_after(value: str | None) -> float | None:
    """Delta-seconds ``Retry-After`` (what the mocks send); None when absent or not a number."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def classify(status: int, body: Any, headers: Mapping[str, str]) -> Reply:
    """Turn a batch response (status, decoded JSON body or None, headers) into a :class:`Reply`."""
    if status == 200:
        if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
            return Reply(status, "error")
        trackings = [
            t if type(t) is dict else dict(t)  # a decoded body's own dicts need no copy
            for t in body["data"]
            if (type(t) is dict or isinstance(t, Mapping))  # the ABC check only for non-dicts
            and isinstance(t.get("tracking_number"), str)
            and isinstance(t.get("events"), list)
        ]
        errors = body.get("errors") if isinstance(body.get("errors"), list) else []
        missing = [
            e["tracking_number"]
            for e in errors or []
            if isinstance(e, Mapping) and isinstance(e.get("tracking_number"), str)
        ]
        return Reply(status, "ok", trackings=trackings, not_found=missing)
    code = None
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        code = body["error"].get("code")
    retry_after = parse_retry_after(headers.get("retry-after"))
    if status == 429:
        return Reply(status, "blocked" if code == "blocked" else "throttled", retry_after)
    if status in (401, 403):
        return Reply(status, "blocked", retry_after)
    return Reply(status, "error", retry_after)


def classify_one(number: str, status: int, body: Any, headers: Mapping[str, str]) -> Reply:
    """Like :func:`classify`, for ``GET /v1/trackings/{number}`` (``{"data": Tracking}``; a 404
    ``not_found`` is an answer, not an error)."""
    if status == 200 and isinstance(body, Mapping):
        return classify(200, {"data": [body.get("data")]}, headers)
    error = body.get("error") if isinstance(body, Mapping) else None
    if status == 404 and isinstance(error, Mapping) and error.get("code") == "not_found":
        return Reply(404, "ok", not_found=[number])
    return classify(status, body, headers)


@dataclass(frozen=True, slots=True)
class Decision:
    step: Step
    delay: float = 0.0
    """Store seconds to postpone by, for ``postpone``."""


def on_refusal(policy: str, reply: Reply, attempts: int, base_delay: float) -> Decision:
    """What ``on_throttle`` does with a refused call (429/403/401).

    ``ignore`` goes on with the next call; ``stop-run`` ends the queue run; ``backoff``
    postpones the action by ``Retry-After``, or by ``base_delay`` doubled per attempt when the
    carrier sent none (capped at a day). Anything not a refusal continues.
    """
    if reply.outcome not in ("throttled", "blocked") or policy == "ignore":
        return Decision("continue")
    if policy == "stop-run":
        return Decision("stop-run")
    if reply.retry_after is not None:
        return Decision("postpone", reply.retry_after)
    delay = base_delay * 2.0 ** max(attempts - 1, 0)
    return Decision("postpone", min(delay, MAX_BACKOFF_S))
