"""USPS Tracking v3 and v3r2 (OAuth): ``/oauth2/v3/token``, ``GET /tracking/v3/tracking/{n}``
and ``POST /tracking/v3r2/tracking``.

Reproduced from USPS/api-examples (README, issues 56, 68, 107) and reference/carriers.md:

- Token: ``POST /oauth2/v3/token`` with ``grant_type``, ``client_id``, ``client_secret`` as JSON
  or form → ``{"access_token", "token_type": "Bearer", "issued_at": <ms>, "expires_in": 28799,
  "status": "approved", "scope", "issuer", "client_id", ...}`` (tokens live 8 h). Bad client
  credentials: 401 ``{"error": "invalid_client", "error_description"}``.
- Track v3: ``GET /tracking/v3/tracking/{n}?expand=DETAIL|SUMMARY`` with ``Authorization:
  Bearer``, one number per call → ``{"trackingNumber", "statusCategory", "status",
  "statusSummary", ..., "trackingEvents": [...]}`` NEWEST FIRST (``SUMMARY``: no events; no
  ``expand``: DETAIL, unverified). v3 events are the shape of USPS's public examples:
  ``eventType, eventTimestamp, eventCountry, eventCity, eventState, eventZIP, firm, name,
  authorizedAgent, eventCode``; ``eventTimestamp`` is the LOCAL time WITHOUT an offset (a
  cross-border parcel's events do not sort by it).
- Track v3r2 (spec 3.2.3): ``POST /tracking/v3r2/tracking`` with a JSON list ``[{"trackingNumber",
  "expand"?, "mailingDate"?, "destinationZIPCode"?}]`` → a list with one tracking document per
  entry; an unknown number is its own entry with an ``error`` (207 when the list is mixed, 404
  when none is known). v3r2 events have exactly ``eventTimestamp, GMTTimestamp, GMTOffset,
  eventCode, eventType, eventCity, eventState, eventZIPCode, eventCountry, actionCode,
  reasonCode`` (the spec's ``additionalProperties: false``). The two shapes are never mixed.
- Date-only events: off by default. The fleet's ``quirks: [date-only-events]`` prints the
  pre-shipment event ("Shipping Label Created", code ``GX``) with its date only, as seen once
  in a real feed but unverified; a widely used multi-carrier client fails the whole response
  on it (reference/carriers.md §6).
- Errors: ``{"apiVersion": "/tracking/v3", "error": {"code": "<status>", "message", "errors":
  [{"title", "detail", "source"?}]}}``. Throttle: per-hour quotas → 429 "Exceeded quota limit"
  with ``Retry-After`` (documented by the v3r2 spec; an option: ``retry_after_header``).

Unverified (plausible, marked here): the 404 wording for unknown numbers, the USPS event codes
of domestic scans (international ones keep the UPU codes of the timeline), the v3r2 list limit
(35, as the legacy XML API) and the values of ``actionCode``/``reasonCode`` (empty strings).
"""

from __future__ import annotations

import bisect
import json
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import parse_qs

from mocks.carriers._oauth import (
    EXPIRED,
    NEEDS_TOKEN,
    TOKEN,
    TokenDesk,
    TokenTrackRequests,
)
from mocks.carriers._usps_shapes import (
    DATE_ONLY_CODES,
    DATE_ONLY_QUIRK,
    V3R2_VERSION,
    error_body,
    error_doc,
    summary,
    tracking_event,
    tracking_event_v3r2,
)
from mocks.carriers.base import BATCH, OTHER, TRACK, Ask, Reply
from peakbench.config.fleet import CarrierSpec
from peakbench.plan.timeline import TimelineModel, journey

TOKEN_PATH = "/oauth2/v3/token"
TRACK_PREFIX = "/tracking/v3/tracking/"
V3R2_PATH = "/tracking/v3r2/tracking"
V3R2_LIMIT = 35
"""Most entries in one v3r2 list (unverified: the legacy XML API's limit)."""
TOKEN_TTL_S = 28800.0
QUOTA_MESSAGE = (
    "Exceeded quota limit. Please contact https://emailus.usps.com/s/web-tools-inquiry and a "
    "representative will assist."
)
NOT_FOUND_DETAIL = (
    "The Postal Service could not locate the tracking information for your request. Please "
    "verify your tracking number and try again later."
)
_THROTTLED = error_body(429, QUOTA_MESSAGE, "Too Many Requests.", "Quota limit exceeded.")
_NOT_FOUND = error_body(404, "Not Found", "Not Found", NOT_FOUND_DETAIL)
_NO_ROUTE = error_body(404, "Resource not found", "Not Found", "No such resource.")
_TOO_LARGE = error_body(413, "Request entity too large", "Payload Too Large", "Body too large.")
_BAD_TOKEN = error_body(
    401,
    "Missing or malformed access token.",
    "invalid_token",
    "The access token presented with the request is missing or malformed (not a JWT).",
    "Access Token",
)
_EXPIRED_TOKEN = error_body(
    401, "Access token expired.", "invalid_token", "The access token has expired.", "Access Token"
)
_BAD_CLIENT = json.dumps(
    {"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"}
).encode()
_BLOCKED = error_body(403, "Forbidden", "Forbidden", "Access to this API has been denied.")


class Rendered(NamedTuple):
    visible_at: tuple[float, ...]
    events: tuple[str, ...]
    """v3 JSON of each scan, oldest first."""
    events_v3r2: tuple[str, ...]
    """v3r2 JSON of each scan, oldest first."""
    summaries: tuple[str, ...]


class UspsPersonality(TokenTrackRequests):
    """USPS Tracking v3 and v3r2 over the journeys of ``model``.

    ``token_ttl_s``: seconds a token lives (see :class:`TokenDesk` for which clock);
    ``retry_after_header``: whether a 429 carries ``Retry-After``; ``date_only_codes``: event
    codes printed date-only (none by default: the fleet's ``date-only-events`` quirk sets them).
    """

    content_type = b"application/json"
    token_path = TOKEN_PATH
    track_prefix = TRACK_PREFIX
    wants_query = True
    """The app passes ``path?query``: v3 reads ``expand`` from the query string."""

    def __init__(
        self,
        carrier: str,
        model: TimelineModel,
        token_ttl_s: float = TOKEN_TTL_S,
        retry_after_header: bool = True,
        date_only_codes: frozenset[str] = frozenset(),
        cache_size: int = 4096,
    ) -> None:
        self.carrier = carrier
        self.model = model
        self.tokens = TokenDesk(token_ttl_s)
        self.retry_after_header = retry_after_header
        self.date_only_codes = date_only_codes
        self.rendered = lru_cache(maxsize=cache_size)(self._render)

    # -- requests ---------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[str, str]:
        path, _, query = path.partition("?")
        if path == V3R2_PATH:
            return (BATCH, "") if method == "POST" else (OTHER, "")
        route, argument = super().match(method, path)
        if route == TRACK and _expand(query) == "SUMMARY":
            argument = "summary:" + argument
        return route, argument

    def reads_body(self, route: str) -> bool:
        return route in (TOKEN, BATCH)

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        token_side = self.tokens.token_ask(route, argument, body)
        if token_side is not None:
            return token_side
        if route == TRACK:
            summary_only = argument.startswith("summary:")
            number = argument[8:] if summary_only else argument
            return Ask(TRACK, _Summary((number,)) if summary_only else (number,))
        if route != BATCH:
            return Ask(route, ())
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):
            return Ask(BATCH, (), "The request body is not valid JSON.")
        if not isinstance(doc, list) or not doc:
            return Ask(BATCH, (), "The request body must be a non-empty list of tracking numbers.")
        numbers: list[str] = []
        summaries: list[str] = []
        for item in doc:
            entry = item if isinstance(item, dict) else {}
            wanted = entry.get("trackingNumber")
            if not isinstance(wanted, str) or not wanted:
                return Ask(BATCH, numbers, "trackingNumber is required in every entry.")
            numbers.append(wanted)
            if str(entry.get("expand", "")).upper() == "SUMMARY":
                summaries.append(wanted)
        if len(numbers) > V3R2_LIMIT:
            return Ask(BATCH, numbers, f"At most {V3R2_LIMIT} tracking numbers per request.")
        if summaries:
            return Ask(BATCH, _Mixed(numbers, summaries))
        return Ask(BATCH, numbers)

    # -- answers ----------------------------------------------------------------------------------

    def respond(self, ask: Ask, epoch: float) -> Reply:
        if ask.error == NEEDS_TOKEN:
            return self.unauthorized(ask)
        if ask.route == TOKEN:
            return self._token(ask, epoch)
        if ask.route == TRACK:
            number = ask.numbers[0]
            body = self.tracking_json(number, epoch, isinstance(ask.numbers, _Summary))
            if body is None:
                return Reply(404, _NOT_FOUND, "not_found", 1)
            return Reply(200, body.encode(), None, 1)
        if ask.route == BATCH:
            return self._v3r2(ask, epoch)
        return Reply(404, _NO_ROUTE, "not_found")

    def _token(self, ask: Ask, epoch: float) -> Reply:
        if ask.error is not None:
            doc = {"error": "unsupported_grant_type", "error_description": ask.error}
            return Reply(400, json.dumps(doc).encode(), "bad_request")
        grant = self.tokens.issue(epoch)
        if grant is None:
            return Reply(401, _BAD_CLIENT, "auth")
        token = {
            "access_token": grant.token,
            "token_type": "Bearer",
            "issued_at": int(grant.issued_at * 1000),
            "expires_in": int(self.tokens.ttl_s) - 1,
            "status": "approved",
            "scope": "addresses tracking labels prices",
            "issuer": "https://keyc.usps.com/realms/USPS",
            "client_id": grant.client_id,
            "application_name": "peakbench",
            "api_products": "[Public Access I]",
        }
        return Reply(200, json.dumps(token).encode())

    def _v3r2(self, ask: Ask, epoch: float) -> Reply:
        count = len(ask.numbers)
        if ask.error is not None:
            doc = error_doc(400, "Bad Request", "Bad Request", ask.error, version=V3R2_VERSION)
            return Reply(400, json.dumps(doc).encode(), "bad_request", count)
        summaries = ask.numbers.summaries if isinstance(ask.numbers, _Mixed) else ()
        entries: list[str] = []
        found = 0
        for number in ask.numbers:
            body = self.tracking_json(number, epoch, number in summaries, v3r2=True)
            if body is None:
                missing = error_doc(
                    404, "Not Found", "Not Found", NOT_FOUND_DETAIL, "", V3R2_VERSION
                )
                entry = {"trackingNumber": number, "error": missing["error"]}
                entries.append(json.dumps(entry, separators=(",", ":")))
            else:
                found += 1
                entries.append(body)
        status = 200 if found == count else (207 if found else 404)
        cause = "not_found" if status == 404 else None
        return Reply(status, f"[{','.join(entries)}]".encode(), cause, count)

    def unauthorized(self, ask: Ask) -> Reply:
        if ask.route == TOKEN:
            body = _BAD_CLIENT
        else:
            body = _EXPIRED_TOKEN if self.tokens.refused == EXPIRED else _BAD_TOKEN
        return Reply(401, body, "auth", len(ask.numbers))

    def throttled(self, ask: Ask, retry_after: int, cause: str, epoch: float, limit: int) -> Reply:
        headers = ((b"retry-after", b"%d" % retry_after),) if self.retry_after_header else ()
        return Reply(429, _THROTTLED, cause, len(ask.numbers), headers)

    def blocked(self, ask: Ask, status: int, retry_after: int) -> Reply:
        if status == 429:
            return self.throttled(ask, retry_after, "ban", 0, 0)._replace(cause="ban")
        body = _BAD_TOKEN if status == 401 else _BLOCKED
        return Reply(status, body, "ban", len(ask.numbers))

    def failed(self, ask: Ask, status: int) -> Reply:
        body = error_body(
            status,
            "Internal Server Error" if status == 500 else "Service Unavailable",
            "Server Error",
            "The service is temporarily unavailable.",
        )
        headers = ((b"retry-after", b"60"),) if status == 503 and self.retry_after_header else ()
        return Reply(status, body, "fault", len(ask.numbers), headers)

    def too_large(self) -> Reply:
        return Reply(413, _TOO_LARGE, "bad_request")

    # -- the tracking response --------------------------------------------------------------------

    def tracking_json(
        self, number: str, epoch: float, summary_only: bool = False, v3r2: bool = False
    ) -> str | None:
        """The tracking document of ``number`` at Unix ``epoch`` (v3 shape, or v3r2's), without
        events when ``summary_only``; None if nothing is scanned yet."""
        if len(number) != 16:
            return None
        rendered = self.rendered(number)
        if rendered is None:
            return None
        n = bisect.bisect_right(rendered.visible_at, epoch)
        if n == 0:
            return None
        head = (
            f'{{"trackingNumber":"{number}","mailClass":"Ground Advantage",'
            f"{rendered.summaries[n - 1]}"
        )
        if summary_only:
            return head[:-1] + "}"
        scans = rendered.events_v3r2 if v3r2 else rendered.events
        events = ",".join(reversed(scans[:n]))
        return f'{head}"trackingEvents":[{events}]}}'

    def _render(self, number: str) -> Rendered | None:
        try:
            events = journey(self.model, number)
        except ValueError:
            return None
        only = self.date_only_codes
        return Rendered(
            visible_at=tuple(e.visible_at for e in events),
            events=tuple(_compact(tracking_event(e, only)) for e in events),
            events_v3r2=tuple(_compact(tracking_event_v3r2(e, only)) for e in events),
            summaries=tuple(summary(e) for e in events),
        )


class _Summary(tuple[str, ...]):
    """Numbers asked with ``expand=SUMMARY`` (answered without events)."""


class _Mixed(list[str]):
    """v3r2 numbers, some asked with ``expand: SUMMARY`` (in :attr:`summaries`)."""

    def __init__(self, numbers: list[str], summaries: list[str]) -> None:
        super().__init__(numbers)
        self.summaries = frozenset(summaries)


def _expand(query: str) -> str:
    try:
        values = parse_qs(query, max_num_fields=20).get("expand", [""])
    except ValueError:
        return ""
    return values[0].upper()


def _compact(doc: dict[str, str]) -> str:
    return json.dumps(doc, separators=(",", ":"))


def make(carrier: CarrierSpec, model: TimelineModel) -> UspsPersonality:
    """The USPS personality of ``carrier`` (the factory :mod:`mocks.carriers` looks up); the
    fleet's ``quirks: [date-only-events]`` turns on date-only pre-shipment events."""
    quirks = getattr(carrier, "quirks", ()) or ()
    date_only = DATE_ONLY_CODES if DATE_ONLY_QUIRK in quirks else frozenset()
    return UspsPersonality(carrier.name, model, date_only_codes=date_only)
