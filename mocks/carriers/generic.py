"""The generic carrier personality: a plain JSON tracking API (the contract in the common brief).

Routes: ``GET /v1/trackings/{number}`` and ``POST /v1/trackings/batch`` (at most 40 numbers),
auth by ``X-Api-Key``, envelope ``{"data": ...}`` or ``{"error": {"code", "message"}}``, neutral
statuses, ``updated_at`` in ISO-8601 UTC and event times in the scan's local offset.

Answers are assembled from JSON fragments rendered once per parcel (an LRU cache over the
already cached :func:`peakbench.plan.timeline.journey`): a poll then costs a bisect and a join. The
tracking number, carrier name and statuses need no escaping (the number parsed as base-36, the
name matched ``[a-z0-9-]``), so plain string assembly yields valid JSON.
"""

from __future__ import annotations

import bisect
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import orjson

from mocks.carriers.base import BATCH, OTHER, TRACK, Ask, Reply
from peakbench.config.fleet import CarrierSpec
from peakbench.plan.timeline import ScanEvent, TimelineModel, journey

BATCH_LIMIT = 40
"""Most tracking numbers per batch request."""

TRACKING_NUMBER_LENGTH = 16
"""Length of every number :func:`peakbench.plan.timeline.make_tracking_number` makes."""

_TRACK_PREFIX = "/v1/trackings/"
_BATCH_PATH = "/v1/trackings/batch"
_NOT_FOUND_MESSAGE = "no parcel with this tracking number"


def error_body(code: str, message: str) -> bytes:
    """``{"error": {"code", "message"}}`` as bytes."""
    return json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":")).encode()


_UNAUTHORIZED = error_body("unauthorized", "missing or unknown X-Api-Key")
_NOT_FOUND = error_body("not_found", _NOT_FOUND_MESSAGE)
_NO_ROUTE = error_body("not_found", "no such route")
_RATE_LIMITED = error_body("rate_limited", "too many requests, retry after the Retry-After delay")
_BLOCKED = error_body("blocked", "this API key is blocked after repeated quota violations")
_FAILED = error_body("internal", "the tracking service is temporarily unavailable")
_TOO_LARGE = error_body("bad_request", "request body too large")


def utc_iso(epoch: float) -> str:
    """ISO-8601 UTC with a ``Z``, second precision (as :func:`peakbench.plan.clock.iso`, faster)."""
    # %-formatting a struct_time slice is the fastest way to print it
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % time.gmtime(int(epoch))[:6]  # noqa: UP031


def local_iso(epoch: float, utc_offset_s: int) -> str:
    """ISO-8601 in a scan's local offset, second precision: ``2026-11-27T10:15:00-05:00``."""
    sign = "-" if utc_offset_s < 0 else "+"
    hours, minutes = divmod(abs(utc_offset_s) // 60, 60)
    local = time.gmtime(int(epoch) + utc_offset_s)[:6]
    return "%04d-%02d-%02dT%02d:%02d:%02d" % local + f"{sign}{hours:02d}:{minutes:02d}"  # noqa: UP031


@lru_cache(maxsize=4096)
def _event_head(code: str, status: str, message: str, city: str, state: str, country: str) -> str:
    # scans repeat a small vocabulary of steps and places: encode each combination once
    location = {"city": city, "state": state, "country": country}
    fields = {"code": code, "status": status, "description": message, "location": location}
    return json.dumps(fields, separators=(",", ":"))[:-1] + ',"occurred_at":"'


def event_json(event: ScanEvent) -> str:
    """One event of the ``events`` list as a JSON fragment."""
    head = _event_head(
        event.code, event.status, event.message, event.city, event.state, event.country
    )
    return head + local_iso(event.occurred_at, event.utc_offset_s) + '"}'


@dataclass(slots=True)
class Rendered:
    """A parcel's whole journey as fragments; a poll at ``epoch`` takes a visible prefix."""

    head: str
    """``{"tracking_number":…,"carrier":…,`` — the constant start of its Tracking object."""
    visible_at: tuple[float, ...]
    events: tuple[str, ...]
    tails: tuple[str, ...]
    """Per prefix length n ≥ 1: ``"status":…,"updated_at":…,"events":[`` of event n-1."""
    last: tuple[int, str] = (-1, "")
    """The last answer given, by prefix length: polls mostly see what the previous one saw."""


class GenericPersonality:
    """The generic JSON API of carrier ``carrier`` over the journeys of ``model``.

    ``cache_size`` bounds how many parcels keep their rendered fragments (about 3 KB each);
    a peak's open parcels should fit, since a plugin polls them in a cycle and an LRU cache
    smaller than a cycle never hits. Personalities of the same carrier name over the same model
    share their fragments (:func:`shared_renders`): a process that runs worlds in turn renders
    each parcel once.
    """

    content_type = b"application/json"

    def __init__(self, carrier: str, model: TimelineModel, cache_size: int = 16384) -> None:
        self.carrier = carrier
        self.model = model
        self._carrier_json = json.dumps(carrier)
        self.rendered = shared_renders(carrier, model, cache_size, self._render)

    # -- requests ---------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[str, str]:
        if path.startswith(_TRACK_PREFIX):
            if method == "POST" and path == _BATCH_PATH:
                return BATCH, ""
            number = path[len(_TRACK_PREFIX) :]
            if method == "GET" and number and "/" not in number:
                return TRACK, number
        return OTHER, ""

    def reads_body(self, route: str) -> bool:
        return route == BATCH

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        for name, value in headers:
            if name == b"x-api-key":
                return value.decode("latin-1") or None
        return None

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        if route == TRACK:
            return Ask(TRACK, (argument,))
        if route != BATCH:
            return Ask(route, ())
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:  # what orjson refuses (NaN, lone surrogates) json decides
            try:
                doc = json.loads(body)
            except (ValueError, RecursionError):  # bad JSON, bad UTF-8, 5,000-digit integers
                return Ask(BATCH, (), "body is not valid JSON")
        numbers = doc.get("tracking_numbers") if isinstance(doc, dict) else None
        if not isinstance(numbers, list):
            return Ask(BATCH, (), 'expected {"tracking_numbers": [up to 40 strings]}')
        if len(numbers) > BATCH_LIMIT:
            return Ask(BATCH, numbers, f"at most {BATCH_LIMIT} tracking numbers per request")
        if not all(isinstance(n, str) for n in numbers):
            return Ask(BATCH, numbers, "tracking_numbers must all be strings")
        return Ask(BATCH, numbers)

    # -- answers ----------------------------------------------------------------------------------

    def respond(self, ask: Ask, epoch: float) -> Reply:
        if ask.error is not None:
            return Reply(400, error_body("bad_request", ask.error), "bad_request", len(ask.numbers))
        if ask.route == TRACK:
            tracking = self.tracking_json(ask.numbers[0], epoch)
            if tracking is None:
                return Reply(404, _NOT_FOUND, "not_found", 1)
            return Reply(200, f'{{"data":{tracking}}}'.encode(), None, 1)
        if ask.route == BATCH:
            data: list[str] = []
            errors: list[str] = []
            for number in ask.numbers:
                tracking = self.tracking_json(number, epoch)
                if tracking is None:
                    errors.append(
                        f'{{"tracking_number":{json.dumps(number)},"code":"not_found",'
                        f'"message":"{_NOT_FOUND_MESSAGE}"}}'
                    )
                else:
                    data.append(tracking)
            body = f'{{"data":[{",".join(data)}],"errors":[{",".join(errors)}]}}'
            return Reply(200, body.encode(), None, len(ask.numbers))
        return Reply(404, _NO_ROUTE, "not_found", 0)

    def unauthorized(self, ask: Ask) -> Reply:
        return Reply(401, _UNAUTHORIZED, "auth", len(ask.numbers))

    def throttled(self, ask: Ask, retry_after: int, cause: str, epoch: float, limit: int) -> Reply:
        headers = ((b"retry-after", str(retry_after).encode()),)
        return Reply(429, _RATE_LIMITED, cause, len(ask.numbers), headers)

    def blocked(self, ask: Ask, status: int, retry_after: int) -> Reply:
        # a 429 ban looks like a throttle and says when it ends; a 401/403 ban says nothing
        headers = ((b"retry-after", str(retry_after).encode()),) if status == 429 else ()
        return Reply(status, _BLOCKED, "ban", len(ask.numbers), headers)

    def failed(self, ask: Ask, status: int) -> Reply:
        return Reply(status, _FAILED, "fault", len(ask.numbers))

    def too_large(self) -> Reply:
        return Reply(413, _TOO_LARGE, "bad_request", 0)

    # -- the Tracking object ----------------------------------------------------------------------

    def tracking_json(self, number: str, epoch: float) -> str | None:
        """The Tracking object of ``number`` at Unix time ``epoch``; None for unknown numbers."""
        if len(number) != TRACKING_NUMBER_LENGTH:  # keep junk out of the cache
            return None
        rendered = self.rendered(number)
        if rendered is None:
            return None
        n = bisect.bisect_right(rendered.visible_at, epoch)
        if rendered.last[0] == n:
            return rendered.last[1]
        if n == 0:
            answer = rendered.head + '"status":"pending","updated_at":null,"events":[]}'
        else:
            answer = rendered.head + rendered.tails[n - 1] + ",".join(rendered.events[:n]) + "]}"
        rendered.last = (n, answer)
        return answer

    def _render(self, number: str) -> Rendered | None:
        try:
            events = journey(self.model, number)
        except ValueError:
            return None
        return Rendered(
            head=f'{{"tracking_number":"{number}","carrier":{self._carrier_json},',
            visible_at=tuple(e.visible_at for e in events),
            events=tuple(event_json(e) for e in events),
            tails=tuple(
                f'"status":"{e.status}","updated_at":"{utc_iso(e.visible_at)}","events":['
                for e in events
            ),
        )


Renders = Callable[[str], Rendered | None]

SHARED_MODELS = 8
"""How many (carrier, model) pairs keep their rendered parcels in a process (oldest dropped)."""
_shared: dict[tuple[str, TimelineModel], Renders] = {}


def shared_renders(carrier: str, model: TimelineModel, cache_size: int, render: Renders) -> Renders:
    """The process's cache of rendered parcels of ``carrier`` over ``model``, made with
    ``render`` if there is none. A parcel's fragments depend on nothing else (its journey is
    the model's, the head names the carrier), and :attr:`Rendered.last` only remembers a
    pure function's last value, so sharing them changes no answer."""
    key = (carrier, model)
    cache = _shared.get(key)
    if cache is None:
        if len(_shared) >= SHARED_MODELS:
            del _shared[next(iter(_shared))]
        cache = _shared[key] = lru_cache(maxsize=cache_size)(render)
    return cache


def prerender(carrier: str, model: TimelineModel, numbers: Iterable[str]) -> int:
    """Render the parcels ``numbers`` of ``carrier`` over ``model`` ahead of a world that will
    poll them (in a process that then forks it); how many are known parcels."""
    personality = GenericPersonality(carrier, model)
    return sum(personality.tracking_json(n, 0.0) is not None for n in numbers)


def make(carrier: CarrierSpec, model: TimelineModel) -> GenericPersonality:
    """The generic personality of ``carrier`` (the factory :mod:`mocks.carriers` looks up)."""
    return GenericPersonality(carrier.name, model)
