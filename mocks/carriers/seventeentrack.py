"""The 17TRACK v2.2 personality: a registration-based aggregator API (``17track``).

Every call is ``POST /track/v2.2/<endpoint>`` with a JSON array body (at most 40 items, else
request code -18010014) and the key in header ``17token``. Answers are HTTP 200 with
``{"code": 0, "data": {"accepted": [...], "rejected": [{"number", "error": {"code",
"message"}}]}}``; only numbers registered with ``register`` are tracked (others are rejected with
-18019902). ``gettrackinfo`` returns ``track_info`` (``latest_status``, ``latest_event``,
``milestone``, ``tracking.providers[].events`` NEWEST first, times in the scan's offset plus UTC).

Throttle signature: a burst quota is HTTP 429 "Request frequency exceeds the allowed limit"; a
daily quota (``per`` ≥ 1 day) is HTTP 200 with request code -18019907 (-18019908, quota
exhausted, on ``register``); a ban is HTTP 401 with -18010004 (account disabled) or the ban's
status. Request-level errors use ``{"code", "data": {"errors": [{"code", "message"}]}}``
(assumed from the v2.2 document's examples). Sources: reference/carriers.md §1.

State: only the registered numbers, per account (``17token``): a second account registers the
same number afresh and cannot read or stop the first's; bounded by ``capacity`` in all.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable
from typing import Any

from mocks.carriers._refresh import Registrations
from mocks.carriers._seventeentrack_doc import DAY, track_info
from mocks.carriers.base import BATCH, OTHER, Ask, Reply
from peakbench.config.fleet import CarrierSpec
from peakbench.durations import parse_duration
from peakbench.plan.timeline import TimelineModel

BATCH_LIMIT = 40
"""Most numbers per call (more: request code -18010014)."""

CAPACITY = 2_000_000
"""Default cap on registered numbers; beyond it ``register`` rejects with -18019908."""

MAX_NUMBER_LENGTH = 50
_PREFIX = "/track/v2.2/"
REGISTER = "register"
ENDPOINTS = {
    "register": REGISTER,
    "gettrackinfo": BATCH,
    "stoptrack": "stoptrack",
    "retrack": "retrack",
    "getquota": "getquota",
    "push": "push",
}
"""17TRACK endpoint → journal route (``gettrackinfo`` is the polling route: ``batch``)."""

MESSAGES = {
    -18010002: "Access token is invalid.",
    -18010003: "Internal service error, please retry later.",
    -18010004: "The account has been disabled.",
    -18010012: "The format of the tracking number is invalid.",
    -18010013: "Submitted data is invalid.",
    -18010014: f"The number of submitted items exceeds the limit of {BATCH_LIMIT}.",
    -18019901: "The tracking number has been registered, don't need to repeat registration.",
    -18019902: "The tracking number is not registered, please register first.",
    -18019907: "Exceeded the daily request limit.",
    -18019908: "The tracking quota has been exhausted.",
}
"""17TRACK error codes used by this mock and their messages."""

_RATE_MESSAGE = "Request frequency exceeds the allowed limit"


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def request_error(code: int, message: str | None = None) -> bytes:
    """A request-level error envelope ``{"code", "data": {"errors": [...]}}``."""
    text = message or MESSAGES[code]
    return _dumps({"code": code, "data": {"errors": [{"code": code, "message": text}]}})


def _per(cause: str) -> float:
    try:
        return parse_duration(cause.partition(":")[2])
    except ValueError:  # "concurrency" and other causes without a window
        return 0.0


class SeventeenTrack(Registrations):
    """17TRACK v2.2 over the journeys of ``model`` for carrier ``carrier``.

    ``carrier_key`` is the numeric 17TRACK carrier code answered in ``carrier`` fields (derived
    from the name when None); ``capacity`` bounds the registered numbers.
    """

    content_type = b"application/json"

    def __init__(
        self,
        carrier: str,
        model: TimelineModel,
        capacity: int = CAPACITY,
        carrier_key: int | None = None,
    ) -> None:
        self.carrier = carrier
        self.model = model
        super().__init__(capacity)
        self.carrier_key = carrier_key or 100_000 + zlib.crc32(carrier.encode()) % 90_000

    # -- requests -------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[str, str]:
        if method == "POST" and path.startswith(_PREFIX):
            route = ENDPOINTS.get(path[len(_PREFIX) :])
            if route is not None:
                return route, path[len(_PREFIX) :]
        return OTHER, ""

    def reads_body(self, route: str) -> bool:
        return route != OTHER and route != "getquota"

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        for name, value in headers:
            if name == b"17token":
                return self.caller(value.decode("latin-1") or None)
        return self.caller(None)

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        if route == OTHER or route == "getquota" or not body:
            return Ask(route, ())
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):
            return Ask(route, (), str(-18010013))
        if not isinstance(doc, list):
            return Ask(route, (), str(-18010013))
        if len(doc) > BATCH_LIMIT:
            return Ask(route, ["?"] * len(doc), str(-18010014))
        numbers = [item.get("number") if isinstance(item, dict) else None for item in doc]
        if not all(isinstance(n, str) for n in numbers):
            return Ask(route, (), str(-18010013))
        return Ask(route, numbers)  # type: ignore[arg-type]  # all str, checked above

    # -- answers --------------------------------------------------------------------------------

    def respond(self, ask: Ask, epoch: float) -> Reply:
        count = len(ask.numbers)
        if ask.error is not None:
            return Reply(200, request_error(int(ask.error)), "bad_request", count)
        if ask.route == OTHER:
            return Reply(404, request_error(-18010013, "No such API."), "not_found", 0)
        if ask.route == "getquota":
            used = len(self.mine())
            quota = {
                "quota_total": self.capacity,
                "quota_used": used,
                "quota_remain": self.capacity - used,
                "today_used": used,
                "max_track_daily": self.capacity,
                "free_email_quota": 0,
                "used_email_quota": 0,
            }
            return Reply(200, _dumps({"code": 0, "data": quota}), None, 0)
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for number in ask.numbers:
            code, item = self._one(ask.route, number, epoch)
            if code:
                rejected.append(
                    {"number": number, "error": {"code": code, "message": MESSAGES[code]}}
                )
            else:
                accepted.append(item)
        body = {"code": 0, "data": {"accepted": accepted, "rejected": rejected}}
        return Reply(200, _dumps(body), None, count)

    def _one(self, route: str, number: str, epoch: float) -> tuple[int, dict[str, Any]]:
        """``(error code, accepted item)`` of one number; code 0 when accepted."""
        if route == REGISTER:
            if not (0 < len(number) <= MAX_NUMBER_LENGTH) or not number.isalnum():
                return -18010012, {}
            if number in self.mine():
                return -18019901, {}
            if not self.add(number):
                return -18019908, {}
            return 0, {
                "origin": 1,
                "number": number,
                "carrier": self.carrier_key,
                "email": None,
                "lang": None,
            }
        if number not in self.mine():
            return -18019902, {}
        if route == BATCH:
            return 0, self.item(number, self.known(number, epoch))
        return 0, {"number": number, "carrier": self.carrier_key}

    def unauthorized(self, ask: Ask) -> Reply:
        return Reply(401, request_error(-18010002), "auth", len(ask.numbers))

    def throttled(self, ask: Ask, retry_after: int, cause: str, epoch: float, limit: int) -> Reply:
        if _per(cause) >= DAY:
            # the daily limit is not an HTTP error at 17TRACK: 200 with a request code
            code = -18019908 if ask.route == REGISTER else -18019907
            return Reply(200, request_error(code), cause, len(ask.numbers))
        return Reply(429, request_error(429, _RATE_MESSAGE), cause, len(ask.numbers))

    def blocked(self, ask: Ask, status: int, retry_after: int) -> Reply:
        if status == 429:
            return Reply(429, request_error(429, _RATE_MESSAGE), "ban", len(ask.numbers))
        return Reply(status, request_error(-18010004), "ban", len(ask.numbers))

    def failed(self, ask: Ask, status: int) -> Reply:
        return Reply(status, request_error(-18010003), "fault", len(ask.numbers))

    def too_large(self) -> Reply:
        return Reply(413, request_error(-18010013), "bad_request", 0)

    # -- track_info and push --------------------------------------------------------------------

    def item(self, number: str, epoch: float) -> dict[str, Any]:
        """The accepted ``gettrackinfo`` item of ``number`` at ``epoch``."""
        return {
            "number": number,
            "carrier": self.carrier_key,
            "param": None,
            "tag": None,
            "track_info": self.track_info(number, epoch),
        }

    def track_info(self, number: str, epoch: float) -> dict[str, Any]:
        """``track_info`` of ``number`` at Unix time ``epoch`` (events newest first)."""
        return track_info(self.model, number, epoch, self.carrier, self.carrier_key)

    def push_body(self, number: str, epoch: float) -> bytes | None:
        """The ``TRACKING_UPDATED`` webhook body of ``number`` at ``epoch``; None before any
        scan is visible."""
        info = self.track_info(number, epoch)
        if info["latest_event"] is None:
            return None
        data = {"number": number, "carrier": self.carrier_key, "param": None, "tag": None}
        return _dumps({"event": "TRACKING_UPDATED", "data": {**data, "track_info": info}})

    def push_headers(self, body: bytes, secret: str) -> tuple[tuple[bytes, bytes], ...]:
        """Header ``sign``: SHA-256 hex of ``body + "/" + secret`` (17TRACK's webhook check)."""
        sign = hashlib.sha256(body + b"/" + secret.encode()).hexdigest()
        return ((b"sign", sign.encode()),)


def make(carrier: CarrierSpec, model: TimelineModel) -> SeventeenTrack:
    """The 17TRACK personality of ``carrier`` (the factory :mod:`mocks.carriers` looks up)."""
    personality = SeventeenTrack(carrier.name, model)
    personality.follow(carrier, model.seed)
    return personality
