"""The AfterShip Tracking personality: trackings created by the store, then polled by id.

Routes, as the official SDKs (Python ``aftership-tracking-sdk`` 10 and JS
``@aftership/tracking-sdk``, API version 2026-07) call them: ``POST /tracking/<version>/trackings``
(create, flat body ``{"tracking_number", "slug"}``), ``GET /tracking/<version>/trackings`` (list;
``tracking_numbers=a,b`` filters, ``limit`` ≤ 200), ``GET|PUT|DELETE
/tracking/<version>/trackings/{id}``, ``POST …/trackings/{id}/retrack`` and
``POST …/trackings/{id}/mark-as-completed`` (``{"reason": "DELIVERED"|"LOST"|
"RETURNED_TO_SENDER"}``); and the legacy v4 routes older integrations call: ``POST /v4/trackings``
(``{"tracking": {...}}``), ``GET /v4/trackings``, ``GET|DELETE /v4/trackings/{slug}/{number}``,
``GET /v4/trackings/{id}``, ``POST /v4/trackings/{slug}/{number}/retrack`` and
``/mark-as-completed``, ``GET /v4/last_checkpoint/{slug}/{number}`` and
``/v4/last_checkpoint/{id}``. Auth: header ``as-api-key`` (legacy ``aftership-api-key``).

Trackings belong to the account (API key) that created them: another key gets 404 ``4004``.
The requested ``slug`` is kept and answered back (the fleet carrier's name when none is given).
Envelope ``{"meta": {"code", "type"?, "message"?}, "data": ...}``: the versioned API answers the
tracking itself in ``data``, v4 wraps it in ``data.tracking``. Retrack is only allowed on an
inactive tracking (``4013`` otherwise, as the SDKs document).

Throttle signature: 429 ``meta {code: 429, type: "TooManyRequests"}``. ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (unix time) go on EVERY response, as the
vendor sends them (the app adds them from the binding quota: :meth:`AfterShip.rate_headers`).
Tracking ids are the hex of the tracking number (32 hex digits for our 16-character numbers,
like AfterShip's): no state beyond the registrations.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

from mocks.carriers._aftership_doc import (
    number_of,
    tracking_doc,
    tracking_id,
)
from mocks.carriers._aftership_requests import (
    ERRORS,
    FORBIDDEN,
    INTERNAL,
    NO_ROUTE,
    NOT_FOUND,
    QUOTA,
    RATE,
    RETRACK_REFUSED,
    UNAUTHORIZED,
    Asked,
    completion_reason,
    list_filter,
    meta_error,
)
from mocks.carriers._refresh import MISSING, Registrations
from mocks.carriers.base import BATCH, OTHER, TRACK, Ask, Headers, Reply
from peakbench.config.fleet import CarrierSpec
from peakbench.plan.timeline import TimelineModel

__all__ = ["AfterShip", "make", "number_of", "tracking_id"]

CAPACITY = 2_000_000
"""Default cap on registered trackings (all accounts); beyond it create answers 403."""

PLAN_RATE = 10
"""``X-RateLimit-Limit`` when no quota behaviour applies (AfterShip's 10 req/s per account)."""

REGISTER, UPDATE, DELETE, RETRACK, COMPLETE = "register", "update", "delete", "retrack", "complete"
_VERSIONED = re.compile(
    r"^/tracking/\d{4}-\d{2}/trackings(?:/([^/]+)(?:/(retrack|mark-as-completed))?)?$"
)
_LEGACY = re.compile(r"^/v4/trackings(?:/([^/]+)(?:/([^/]+))?(?:/(retrack|mark-as-completed))?)?$")
_LAST_CHECKPOINT = re.compile(r"^/v4/last_checkpoint/([^/]+)(?:/([^/]+))?$")
_NUMBER = re.compile(r"^[A-Za-z0-9]{4,40}$")
_ACTIONS = {"retrack": RETRACK, "mark-as-completed": COMPLETE}


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


class AfterShip(Registrations):
    """AfterShip Tracking over the journeys of ``model``; ``slug`` is the carrier's name (the
    slug answered when a create names none). A registration's value is ``(slug, completed)``."""

    content_type = b"application/json"
    wants_query = True
    """The app passes ``path?query``: the list route filters by ``tracking_numbers``."""
    plan_rate = PLAN_RATE
    """``X-RateLimit-Limit`` (and all of it left) when no quota behaviour applies."""

    def __init__(self, carrier: str, model: TimelineModel, capacity: int = CAPACITY) -> None:
        self.slug = carrier
        self.model = model
        super().__init__(capacity)

    # -- requests -------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[str, str]:
        path, _, query = path.partition("?")
        found = _VERSIONED.match(path)
        if found:
            target, action = found.group(1), found.group(2)
            if target is None:
                route = {"POST": REGISTER, "GET": BATCH}.get(method, OTHER)
                return route, ("q:" + query if route == BATCH else "")
            if action is not None:
                return (_ACTIONS[action], "id:" + target) if method == "POST" else (OTHER, "")
            route = {"GET": TRACK, "PUT": UPDATE, "DELETE": DELETE}.get(method, OTHER)
            return route, ("id:" + target if route != OTHER else "")
        found = _LEGACY.match(path)
        if found:
            first, second, action = found.groups()
            if first is None:
                route = {"POST": REGISTER, "GET": BATCH}.get(method, OTHER)
                return route, ("v4q:" + query if route == BATCH else "v4" if route != OTHER else "")
            target = f"v4:{first}/{second}" if second else f"v4id:{first}"
            if action is not None:
                return (_ACTIONS[action], target) if method == "POST" else (OTHER, "")
            route = {"GET": TRACK, "DELETE": DELETE}.get(method, OTHER)
            return route, (target if route != OTHER else "")
        found = _LAST_CHECKPOINT.match(path)
        if found and method == "GET":
            first, second = found.groups()
            return TRACK, (f"lc:{first}/{second}" if second else f"lcid:{first}")
        return OTHER, ""

    def reads_body(self, route: str) -> bool:
        return route in (REGISTER, COMPLETE)

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        for name, value in headers:
            if name == b"as-api-key" or name == b"aftership-api-key":
                return self.caller(value.decode("latin-1") or None)
        return self.caller(None)

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        kind, _, target = argument.partition(":")
        legacy = kind.startswith(("v4", "lc"))
        if route == REGISTER:
            return self._parse_create(body, legacy)
        if route == BATCH:
            return Ask(BATCH, list_filter(target, legacy))
        if route in (TRACK, UPDATE, DELETE, RETRACK, COMPLETE):
            if kind in ("v4", "lc"):
                slug, _, number = target.partition("/")
                numbers: tuple[str, ...] = (number,)
            else:
                slug, found = "", number_of(target)
                numbers = (found or "",)
            reason = None
            if route == COMPLETE:
                reason = completion_reason(body)
                if reason is None:
                    return Ask(route, Asked(numbers, legacy), "reason")
            asked = Asked(numbers, legacy, slug or None, reason, checkpoint=kind.startswith("lc"))
            return Ask(route, asked)
        return Ask(route, Asked((), legacy))

    def _parse_create(self, body: bytes, legacy: bool) -> Ask:
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):
            return Ask(REGISTER, Asked((), legacy), "json")
        if legacy:
            doc = doc.get("tracking") if isinstance(doc, dict) else None
        number = doc.get("tracking_number") if isinstance(doc, dict) else None
        if not isinstance(number, str) or not number:
            return Ask(REGISTER, Asked((), legacy), "required")
        slug = doc.get("slug") if isinstance(doc, dict) else None
        slug = slug if isinstance(slug, str) and slug else None
        error = None if _NUMBER.match(number) else "invalid"
        return Ask(REGISTER, Asked((number,), legacy, slug), error)

    # -- answers --------------------------------------------------------------------------------

    def respond(self, ask: Ask, epoch: float) -> Reply:
        asked = ask.numbers if isinstance(ask.numbers, Asked) else Asked(ask.numbers)
        legacy = asked.legacy
        count = len(asked)
        if ask.error is not None:
            code, message = ERRORS[ask.error]
            return Reply(400, meta_error(code, "BadRequest", message), "bad_request", count)
        if ask.route == OTHER:
            return Reply(404, NO_ROUTE, "not_found", 0)
        if ask.route == BATCH:
            return Reply(200, self._list(asked, epoch), None, 0)
        number = asked[0]
        if ask.route == REGISTER:
            return self._create(number, asked.slug or self.slug, epoch, legacy)
        found = self.find(number)
        if found is MISSING or (asked.slug is not None and asked.slug != found[0]):
            return Reply(404, NOT_FOUND, "not_found", 1)
        slug, completed = found
        if ask.route == RETRACK:
            if completed is None and self._active(number, slug, epoch):
                return Reply(400, RETRACK_REFUSED, "bad_request", 1)
            self.add(number, (slug, None))
            completed = None
        elif ask.route == COMPLETE:
            self.add(number, (slug, asked.reason))
            completed = asked.reason
        elif ask.route == TRACK and asked.checkpoint:
            return Reply(200, self._last_checkpoint(number, slug, epoch), None, 1)
        body = self._envelope(200, number, slug, completed, epoch, legacy)
        if ask.route == DELETE:
            self.drop(number)
        return Reply(200, body, None, 1)

    def _create(self, number: str, slug: str, epoch: float, legacy: bool) -> Reply:
        if self.find(number) is not MISSING:
            data = {"id": tracking_id(number), "slug": slug, "tracking_number": number}
            body = meta_error(4003, "BadRequest", "Tracking already exists.", _wrap(data, legacy))
            return Reply(400, body, "bad_request", 1)
        if not self.add(number, (slug, None)):
            return Reply(403, QUOTA, "bad_request", 1)
        return Reply(201, self._envelope(201, number, slug, None, epoch, legacy), None, 1)

    def _active(self, number: str, slug: str, epoch: float) -> bool:
        return bool(self.tracking(number, epoch, slug=slug)["active"])

    def _envelope(
        self, code: int, number: str, slug: str, completed: str | None, epoch: float, legacy: bool
    ) -> bytes:
        tracking = self.tracking(number, epoch, legacy, slug, completed)
        return _dumps({"meta": {"code": code}, "data": _wrap(tracking, legacy)})

    def _last_checkpoint(self, number: str, slug: str, epoch: float) -> bytes:
        tracking = self.tracking(number, epoch, True, slug)
        checkpoints = tracking["checkpoints"]
        data = {
            "id": tracking["id"],
            "tracking_number": number,
            "slug": slug,
            "tag": tracking["tag"],
            "subtag": tracking["subtag"],
            "subtag_message": tracking["subtag_message"],
            "checkpoint": checkpoints[-1] if checkpoints else {},
        }
        return _dumps({"meta": {"code": 200}, "data": data})

    def _list(self, asked: Asked, epoch: float) -> bytes:
        mine = self.mine()
        if asked.only is not None:
            numbers = [n for n in dict.fromkeys(asked.only) if n in mine][::-1]
        else:
            numbers = list(mine)[::-1]  # newest first
        total = len(numbers)
        legacy = asked.legacy
        trackings = [
            self.tracking(n, epoch, legacy, mine[n][0], mine[n][1]) for n in numbers[: asked.limit]
        ]
        if legacy:
            data: dict[str, Any] = {"page": 1, "limit": asked.limit, "count": total}
            data["trackings"] = trackings
        else:
            more = total > asked.limit
            pagination = {"total": total, "next_cursor": None, "has_next_page": more}
            data = {"pagination": pagination, "trackings": trackings}
        return _dumps({"meta": {"code": 200}, "data": data})

    def rate_headers(self, limit: int, remaining: int, reset: int) -> Headers:
        """``X-RateLimit-*`` of a response: the binding quota's ``limit``, what is ``remaining``
        of it, and the Unix time it ``reset``s (the app calls this for every response)."""
        return (
            (b"x-ratelimit-limit", b"%d" % limit),
            (b"x-ratelimit-remaining", b"%d" % remaining),
            (b"x-ratelimit-reset", b"%d" % reset),
        )

    def unauthorized(self, ask: Ask) -> Reply:
        return Reply(401, UNAUTHORIZED, "auth", len(ask.numbers))

    def throttled(self, ask: Ask, retry_after: int, cause: str, epoch: float, limit: int) -> Reply:
        headers = self.rate_headers(limit, 0, int(epoch) + retry_after)
        return Reply(429, RATE, cause, len(ask.numbers), headers)

    def blocked(self, ask: Ask, status: int, retry_after: int) -> Reply:
        if status == 429:  # a ban that looks like a throttle says when it ends
            headers = ((b"retry-after", str(retry_after).encode()),)
            return Reply(429, RATE, "ban", len(ask.numbers), headers)
        body = UNAUTHORIZED if status == 401 else FORBIDDEN
        return Reply(status, body, "ban", len(ask.numbers))

    def failed(self, ask: Ask, status: int) -> Reply:
        return Reply(status, INTERNAL, "fault", len(ask.numbers))

    def too_large(self) -> Reply:
        code, message = ERRORS["large"]
        return Reply(413, meta_error(code, "BadRequest", message), "bad_request", 0)

    # -- the tracking object and push -----------------------------------------------------------

    def tracking(
        self,
        number: str,
        epoch: float,
        legacy: bool = False,
        slug: str | None = None,
        completed: str | None = None,
    ) -> dict[str, Any]:
        """The tracking object of ``number`` as the aggregator knows it at ``epoch`` (its last
        poll), v4 field names when ``legacy``."""
        known = self.known(number, epoch)
        return tracking_doc(self.model, number, slug or self.slug, known, legacy, completed)

    def push_body(self, number: str, epoch: float) -> bytes | None:
        """The ``tracking_update`` webhook body of ``number`` at ``epoch``; None before any
        checkpoint is visible. ``event_id`` is stable per (number, checkpoint count)."""
        found = self.registration(number)
        slug = found[0] if found is not MISSING else self.slug
        tracking = tracking_doc(self.model, number, slug, epoch)
        if not tracking["checkpoints"]:
            return None
        seen = f"{self.slug}:{number}:{len(tracking['checkpoints'])}"
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, seen))
        doc = {"event": "tracking_update", "event_id": event_id, "is_tracking_first_tag": False}
        return _dumps({**doc, "msg": tracking, "ts": int(epoch)})

    def push_headers(self, body: bytes, secret: str) -> tuple[tuple[bytes, bytes], ...]:
        """Header ``aftership-hmac-sha256``: base64 HMAC-SHA256 of the body with the secret."""
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return ((b"aftership-hmac-sha256", base64.b64encode(digest)),)


def _wrap(tracking: dict[str, Any], legacy: bool) -> dict[str, Any]:
    return {"tracking": tracking} if legacy else tracking


def make(carrier: CarrierSpec, model: TimelineModel) -> AfterShip:
    """The AfterShip personality of ``carrier`` (the factory :mod:`mocks.carriers` looks up)."""
    personality = AfterShip(carrier.name, model)
    personality.follow(carrier, model.seed)
    return personality
