"""The TrackShip-style aggregator personality ``trackship`` (reference/carriers.md §5).

What TrackShip for WooCommerce (2.0.7) calls, and what TrackShip pushes back:

- ``POST /v1/shipment/create/ts4wc`` (route ``register``): no auth header, the key is the body's
  ``user_key``; the body is JSON sent without a JSON content type, so the raw body is parsed
  whatever the Content-Type. 200 ``{"status":"ok","status_msg":"pending_trackship",
  "trackers_balance":"…","user_plan":"…"}``; refusals carry an error slug in ``status_msg``
  (never over 30 characters: a longer one breaks the plugin's database write).
- ``POST /v1/shipment/delete`` (``delete``): header ``trackship-api-key``; stops tracking.
- ``POST /v1/user-plan/get`` (``plan``); ``GET /v1/shipping_carriers/supported``
  (``carriers``: ``{"data": [{"label", "slug"}]}``), which the plugin sends WITHOUT a key, and
  ``GET /v1/shipping_carriers/all`` (``carriers``: ``{"data": [{"shipping_provider",
  "tracking_url", "shipping_country", "slug", "trackship_supported", "paypal_slug"}]}``, where
  Advanced Shipment Tracking 3.9.2 loads its provider list): both public (:data:`PUBLIC_ROUTES`).
- Push (:meth:`TrackShipPersonality.push_body`): ``POST /wp-json/wc/v1/tracking-webhook`` with
  the §5 field list, events oldest first; for a cross-border parcel the scans in the destination
  country go to ``destination_events`` (the name the plugin reads), the rest to ``events``.
  WooCommerce REST auth is added by the push engine, not here.

It keeps only what a push needs per registered number (order id, destination country), per
account (the ``user_key`` / ``trackship-api-key``: one store's delete never touches another's),
and tracks only registered numbers. Throttles and bans are worded as ``{"status":"error",
"status_msg":<slug>}``, since that is all the plugin stores.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from mocks.carriers._refresh import MISSING, Registrations
from mocks.carriers.base import OTHER, Ask, Headers, Reply
from peakbench.config.fleet import CarrierSpec
from peakbench.plan.timeline import ScanEvent, TimelineModel, journey, visible_count

REGISTER, DELETE, PLAN, CARRIERS = "register", "delete", "plan", "carriers"
"""Route names of the TrackShip API (journal ``route``, behaviour ``routes``)."""

PUBLIC_ROUTES = frozenset({CARRIERS})
"""Routes answered without a key (the plugin and AST send none there)."""

STATUS_MSG_MAX = 30
"""Longest ``status_msg`` the plugin can store."""

PLAN_NAME = "Enterprise"
PLAN_TRACKERS = 1_000_000
"""Trackers in the mock account's plan: a peak run must not run out unless it means to."""

SUPPORTED = (
    ("USPS", "usps", "US", "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1="),
    ("UPS", "ups", "US", "https://www.ups.com/track?tracknum="),
    ("FedEx", "fedex", "US", "https://www.fedex.com/fedextrack/?tracknumbers="),
    ("DHL Express", "dhl", "Global", "https://www.dhl.com/en/express/tracking.html?AWB="),
    ("DHL eCommerce", "dhl-ecommerce", "US", "https://webtrack.dhlglobalmail.com/?trackingnumber="),
    (
        "Canada Post",
        "canada-post",
        "CA",
        "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=",
    ),
    (
        "Royal Mail",
        "royal-mail",
        "GB",
        "https://www.royalmail.com/track-your-item#/tracking-results/",
    ),
    ("Australia Post", "australia-post", "AU", "https://auspost.com.au/mypost/track/#/details/"),
    ("China Post", "china-post", "CN", "https://www.ems.com.cn/qps/yjcx?mailNum="),
    ("YunExpress", "yunexpress", "CN", "https://www.yuntrack.com/parcelTracking?id="),
)
"""Carrier slugs the mock accepts (plus the fleet carrier's own name)."""

EVENT_STATUS = {
    "info_received": "pre_transit",
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "failed_attempt": "failure",
    "delivered": "delivered",
    "exception": "exception",
}
"""Neutral status → TrackShip ``tracking_event_status``."""

_PATHS = {
    ("POST", "/v1/shipment/create/ts4wc"): REGISTER,
    ("POST", "/v1/shipment/delete"): DELETE,
    ("POST", "/v1/user-plan/get"): PLAN,
    ("GET", "/v1/shipping_carriers/supported"): CARRIERS,
    ("GET", "/v1/shipping_carriers/all"): CARRIERS,
}
_ESTIMATE_DAYS = {"D": 5, "X": 15}
"""Days from the first scan to the delivery estimate, by lane (domestic, cross-border)."""


def _dump(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _error(slug: str) -> bytes:
    return _dump({"status": "error", "status_msg": slug[:STATUS_MSG_MAX]})


def wp_time(epoch: float, utc_offset_s: int = 0) -> str:
    """PHP ``Y-m-d H:i:s`` of ``epoch`` in a local offset (UTC by default), no zone."""
    return "%04d-%02d-%02d %02d:%02d:%02d" % time.gmtime(int(epoch) + utc_offset_s)[:6]  # noqa: UP031


class _All(tuple[str, ...]):
    """``/v1/shipping_carriers/all`` was asked (the full provider rows)."""


def _json_body(body: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


class TrackShipPersonality(Registrations):
    """TrackShip's API for the plugin, and its pushes, over the journeys of ``model``. A
    registration's value is ``(order id, destination country ISO-2 or "")``."""

    content_type = b"application/json"
    public_routes = PUBLIC_ROUTES

    def __init__(self, carrier: str, model: TimelineModel, capacity: int = PLAN_TRACKERS) -> None:
        super().__init__(capacity)
        self.carrier = carrier
        self.model = model
        self.supported = {s[1] for s in SUPPORTED} | {carrier}
        self._pending: dict[str, tuple[int, str]] = {}
        """Order fields of register calls parsed but not answered yet (refused ones linger:
        bounded)."""

    # -- requests ---------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[str, str]:
        path = path.rstrip("/") or "/"
        route = _PATHS.get((method, path), OTHER)
        return route, ("all" if path.endswith("/all") else "")

    def reads_body(self, route: str) -> bool:
        return route in (REGISTER, DELETE, PLAN)

    def credential(
        self, headers: Iterable[tuple[bytes, bytes]], body: bytes, epoch: float
    ) -> str | None:
        for name, value in headers:
            if name == b"trackship-api-key":
                return self.caller(value.decode("latin-1") or None)
        # the register and plan calls carry the key in the body, not in a header
        doc = _json_body(body) if body else None
        key = doc.get("user_key") if doc else None
        return self.caller(key if isinstance(key, str) and key else None)

    def parse(self, route: str, argument: str, body: bytes) -> Ask:
        if route == CARRIERS:
            return Ask(route, _All() if argument else ())
        if route not in (REGISTER, DELETE):
            return Ask(route, ())
        doc = _json_body(body)
        if doc is None:
            return Ask(route, (), "invalid_request")
        number = doc.get("tracking_number")
        if not isinstance(number, str) or not number.strip():
            return Ask(route, (), "invalid_tracking")
        error = self._register_error(number.strip(), doc) if route == REGISTER else None
        return Ask(route, (number.strip(),), error)

    # -- answers ----------------------------------------------------------------------------------

    def respond(self, ask: Ask, epoch: float) -> Reply:
        n = len(ask.numbers)
        if ask.error is not None:
            return Reply(400, _error(ask.error), "bad_request", n)
        if ask.route == REGISTER:
            return self._register(ask, epoch)
        if ask.route == DELETE:
            self.drop(ask.numbers[0])
            return Reply(200, _dump({"status": "ok", "status_msg": "deleted"}), None, n)
        if ask.route == PLAN:
            plan = {
                "status": "ok",
                "subscription_plan": PLAN_NAME,
                "tracker_balance": str(self.balance),
                "period": "month",
                "email": "qa@peakbench.invalid",
            }
            return Reply(200, _dump(plan), None, 0)
        if ask.route == CARRIERS:
            return Reply(200, _dump({"data": self._carriers(isinstance(ask.numbers, _All))}))
        return Reply(404, _error("not_found"), "not_found", 0)

    def _carriers(self, full: bool) -> list[dict[str, Any]]:
        rows = list(SUPPORTED)
        if self.carrier not in {s[1] for s in SUPPORTED}:
            rows.append((self.carrier, self.carrier, "Global", ""))
        if not full:
            return [{"label": label, "slug": slug} for label, slug, _, _ in rows]
        return [
            {
                "shipping_provider": label,
                "tracking_url": url,
                "shipping_country": country,
                "slug": slug,
                "trackship_supported": 1,
                "paypal_slug": slug.upper().replace("-", "_"),
            }
            for label, slug, country, url in rows
        ]

    def _register(self, ask: Ask, epoch: float) -> Reply:
        number = ask.numbers[0]
        fields = self._pending.pop(number, (0, ""))
        if self.find(number) is MISSING and not self.add(number, fields):
            return Reply(402, _error("insufficient_balance"), "bad_request", 1)
        reply = {
            "status": "ok",
            "status_msg": "pending_trackship",
            "trackers_balance": str(self.balance),
            "user_plan": PLAN_NAME,
        }
        return Reply(200, _dump(reply), None, 1)

    def unauthorized(self, ask: Ask) -> Reply:
        return Reply(401, _error("unauthorized_api_key"), "auth", len(ask.numbers))

    def throttled(self, ask: Ask, retry_after: int, cause: str, epoch: float, limit: int) -> Reply:
        headers = ((b"retry-after", str(retry_after).encode()),)
        return Reply(429, _error("rate_limit_exceeded"), cause, len(ask.numbers), headers)

    def blocked(self, ask: Ask, status: int, retry_after: int) -> Reply:
        headers = ((b"retry-after", str(retry_after).encode()),) if status == 429 else ()
        slug = "unauthorized_api_key" if status == 401 else "account_blocked"
        return Reply(status, _error(slug), "ban", len(ask.numbers), headers)

    def failed(self, ask: Ask, status: int) -> Reply:
        return Reply(status, _error("connection_issue"), "fault", len(ask.numbers))

    def too_large(self) -> Reply:
        return Reply(413, _error("invalid_request"), "bad_request", 0)

    def _register_error(self, number: str, doc: dict[str, Any]) -> str | None:
        """Why a register call is refused (an error slug), else None; keeps its order fields
        for :meth:`respond` (the app calls it right after, with no await in between)."""
        provider = doc.get("tracking_provider")
        if not isinstance(provider, str) or provider not in self.supported:
            return "carrier_unsupported"
        try:
            journey(self.model, number)
        except ValueError:
            return "invalid_tracking"
        order_id = doc.get("order_id")
        country = doc.get("destination_country")
        if len(self._pending) >= 1024:  # refused calls leave theirs behind: drop the oldest
            del self._pending[next(iter(self._pending))]
        self._pending[number] = (
            order_id if isinstance(order_id, int) and not isinstance(order_id, bool) else 0,
            country.upper()[:2] if isinstance(country, str) else "",
        )
        return None

    def reset(self) -> None:
        """Forget every registration (the admin API's reset)."""
        super().reset()
        self._pending.clear()

    @property
    def balance(self) -> int:
        """Trackers left in the plan."""
        return self.capacity - len(self)

    # -- push -------------------------------------------------------------------------------------

    def push_body(self, number: str, epoch: float) -> bytes | None:
        registration = self.registration(number)
        if registration is MISSING:
            return None
        events = journey(self.model, number)
        shown = events[: visible_count(events, epoch)]
        if not shown:
            return None
        order_id, country = registration
        return _dump(push_document(number, order_id, country, events, shown, epoch))

    def push_headers(self, body: bytes, secret: str) -> Headers:
        # TrackShip authenticates with the store's WooCommerce REST key (added by the engine)
        return ((b"content-type", b"application/json"), (b"user-agent", b"TrackShip/1.0"))


def _event(event: ScanEvent) -> dict[str, Any]:
    return {
        "message": event.message,
        "status": EVENT_STATUS.get(event.status, "unknown"),
        "datetime": wp_time(event.occurred_at, event.utc_offset_s),
        "tracking_location": {
            "city": event.city,
            "state": event.state,
            "country": event.country,
            "zip": None,
        },
    }


def push_document(
    number: str,
    order_id: int,
    destination_country: str,
    journey_events: tuple[ScanEvent, ...],
    shown: tuple[ScanEvent, ...],
    epoch: float,
) -> dict[str, Any]:
    """TrackShip's webhook body for ``number`` when the aggregator knows ``shown`` (a prefix of
    ``journey_events``) at Unix time ``epoch`` (carriers.md §5 field list)."""
    first, last, final = shown[0], shown[-1], journey_events[-1]
    origin = first.country
    destination = destination_country or final.country  # known at label time
    cross_border = destination != origin
    origin_events = [_event(e) for e in shown if not cross_border or e.country != destination]
    destination_events = [_event(e) for e in shown if cross_border and e.country == destination]
    if last.status == "delivered":
        estimate = wp_time(last.occurred_at, last.utc_offset_s)[:10]
    else:
        days = _ESTIMATE_DAYS["X" if cross_border else "D"]
        estimate = wp_time(first.occurred_at + days * 86400, first.utc_offset_s)[:10]
    return {
        "order_id": order_id,
        "tracking_number": number,
        "tracking_event_status": EVENT_STATUS.get(last.status, "unknown"),
        "last_event_time": wp_time(last.occurred_at, last.utc_offset_s),
        "first_event_time": wp_time(first.occurred_at, first.utc_offset_s),
        "updated_at": wp_time(epoch),
        "tracking_est_delivery_date": estimate,
        "events": origin_events,
        "destination_events": destination_events if cross_border else None,
        "origin_country": origin,
        "destination_country": destination,
        "destination_state": final.state,
        "destination_city": final.city,
        "delivery_number": number if cross_border else "",
        "delivery_provider": "usps" if cross_border else "",
        "shipping_service": "International Mail" if cross_border else "Ground",
    }


def make(carrier: CarrierSpec, model: TimelineModel) -> TrackShipPersonality:
    """The TrackShip personality of ``carrier`` (the factory :mod:`mocks.carriers` looks up)."""
    return TrackShipPersonality(carrier.name, model)
