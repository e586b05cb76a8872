"""The client matrix, Python side: real carrier clients from PyPI pointed at a real mock server.

Each client fetches and parses a parcel's status and events, then meets a quota (429), a ban
and a bad key, and must report each in its own way. One fleet per personality serves three
keys: ``k0`` unlimited, ``k1`` one request an hour (then 429), ``k2`` one request an hour and
banned at its first violation (then 403). docs/clients.md is the matrix these tests prove.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attr
import easypost
import pytest
import tracking
from _servers import serving
from tracking.exceptions import ForbiddenError, TooManyRequestsError, UnauthorizedError

from mocks.app import create_carrier_app
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import ScanEvent, TimelineModel, journey, make_tracking_number

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
ROUTES = ["track", "batch", "register"]
BEHAVIOURS: list[dict[str, Any]] = [
    {"type": "quota", "limit": 1, "per": "1h", "keys": ["k1"], "routes": ROUTES},
    {"type": "quota", "limit": 1, "per": "1h", "keys": ["k2"], "routes": ROUTES},
    {"type": "block", "violations": 1, "within": "1h", "ban": "2h", "keys": ["k2"]},
]
OAUTH_KEYS = ("good:secret", "slow:secret", "banned:secret")
API_KEYS = ("key-good-0001", "key-slow-0002", "key-banned-0003")
SHIPPED = START - 8 * DAY - 3777  # its label not at local midnight
OTHERS = [make_tracking_number(SHIPPED + i, "domestic", 30 + i) for i in range(3)]


def _delivered_domestic() -> str:
    """A domestic parcel delivered, every scan visible, by START (the fleet's seed is 5)."""
    fleet = FleetSpec.model_validate({"seed": 5, "carriers": [{"name": "x"}]})
    model = fleet.timeline_model(fleet.carriers[0])
    for seq in range(100):
        number = make_tracking_number(SHIPPED, "domestic", seq)
        events = journey(model, number)
        if events[-1].status == "delivered" and events[-1].visible_at <= START:
            return number
    raise AssertionError("no delivered domestic parcel in 100 tries")


DOMESTIC = _delivered_domestic()


class Served:
    def __init__(self, base: str, model: TimelineModel) -> None:
        self.base = base
        self.model = model

    def events(self, number: str) -> tuple[ScanEvent, ...]:
        return journey(self.model, number)


@contextmanager
def mock(
    tmp_path: Path, personality: str, keys: tuple[str, ...], quirks: tuple[str, ...] = ()
) -> Iterator[Served]:
    carrier = {
        "name": personality,
        "personality": personality,
        "behaviours": BEHAVIOURS,
        "quirks": list(quirks),
    }
    fleet = FleetSpec.model_validate({"seed": 5, "carriers": [carrier]})
    spec = fleet.carriers[0]
    clock = ManualClock(t=0.0, start_epoch=START)
    journal = Journal(personality, tmp_path / f"carrier-{personality}.jsonl")
    app = create_carrier_app(spec, fleet, clock, list(keys), journal)
    with serving(app) as base:
        yield Served(base, fleet.timeline_model(spec))


def karrio_gateway(provider: str, base: str, **credentials: str) -> Any:
    """A karrio gateway whose settings point at ``base`` (karrio's ``server_url`` is a property
    of the provider's Settings: a subclass overrides it)."""
    import importlib

    import karrio.sdk as karrio

    settings = importlib.import_module(f"karrio.mappers.{provider}.settings").Settings

    @attr.s(auto_attribs=True)
    class AtMock(settings):  # type: ignore[misc, valid-type]
        @property
        def server_url(self) -> str:
            return base

    return karrio.gateway[provider].create(AtMock(**credentials))


def karrio_track(gateway: Any, number: str) -> tuple[list[Any], list[Any]]:
    import karrio.sdk as karrio
    from karrio.core.models import TrackingRequest

    # karrio's EasyPost connector needs each number's carrier; the others ignore options
    request = TrackingRequest(tracking_numbers=[number], options={number: {"carrier": "usps"}})
    details, messages = karrio.Tracking.fetch(request).from_(gateway).parse()
    return details, messages


# -- USPS v3: usps-v3 and karrio-usps --------------------------------------------------------------


def test_usps_v3_client_parses_a_domestic_parcel_and_reports_429_ban_and_bad_key(
    tmp_path: Path,
) -> None:
    from usps_v3 import Client
    from usps_v3.exceptions import APIError, AuthError, RateLimitError

    def client(key: str, base: str) -> Client:
        client_id, secret = key.split(":")
        return Client(client_id, secret, base_url=base, cache_dir=tmp_path / client_id)

    with mock(tmp_path, "usps", OAUTH_KEYS) as served:
        doc = client(OAUTH_KEYS[0], served.base).tracking.track(DOMESTIC)
        slow = client(OAUTH_KEYS[1], served.base)
        slow.tracking.track(DOMESTIC)
        with pytest.raises(RateLimitError) as limited:
            slow.tracking.track(DOMESTIC)
        banned = client(OAUTH_KEYS[2], served.base)
        banned.tracking.track(DOMESTIC)
        with pytest.raises(RateLimitError):
            banned.tracking.track(DOMESTIC)
        with pytest.raises(APIError) as ban:
            banned.tracking.track(DOMESTIC)
        with pytest.raises(AuthError) as bad:
            client("nobody:wrong", served.base).tracking.track(DOMESTIC)
    events = served.events(DOMESTIC)
    assert doc["statusCategory"] == "Delivered" and len(doc["trackingEvents"]) == len(events)
    first = doc["trackingEvents"][-1]  # newest first
    assert first["eventCode"] == "GX" and first["eventType"].startswith("Shipping Label Created")
    assert limited.value.retry_after is not None and limited.value.retry_after > 0
    assert ban.value.status_code == 403 and bad.value.status_code == 401


def test_karrio_usps_parses_a_domestic_parcel_with_its_first_event(tmp_path: Path) -> None:
    with mock(tmp_path, "usps", OAUTH_KEYS) as served:
        good = karrio_gateway("usps", served.base, client_id="good", client_secret="secret")
        details, messages = karrio_track(good, DOMESTIC)
        slow = karrio_gateway("usps", served.base, client_id="slow", client_secret="secret")
        karrio_track(slow, DOMESTIC)
        _, limited = karrio_track(slow, DOMESTIC)
        banned = karrio_gateway("usps", served.base, client_id="banned", client_secret="secret")
        karrio_track(banned, DOMESTIC)
        karrio_track(banned, DOMESTIC)
        _, ban = karrio_track(banned, DOMESTIC)
        nobody = karrio_gateway("usps", served.base, client_id="no", client_secret="body")
        bad = karrio_result(nobody, DOMESTIC)
    assert messages == [] and len(details) == 1
    parsed = details[0]
    events = served.events(DOMESTIC)
    assert parsed.status == "delivered" and len(parsed.events) == len(events)
    first = parsed.events[-1]
    assert first.code == "GX" and first.description.startswith("Shipping Label Created")
    label = events[0]
    assert first.timestamp.startswith(_local_minute(label))  # the full time, not a date
    assert [m.message for m in limited] == ["Quota limit exceeded."]  # messages, not raises
    assert [m.message for m in ban] == ["Access to this API has been denied."]
    assert "401" in bad or "invalid_client" in bad


def test_karrio_usps_fails_on_date_only_events_which_stay_opt_in(tmp_path: Path) -> None:
    with mock(tmp_path, "usps", OAUTH_KEYS, quirks=("date-only-events",)) as served:
        good = karrio_gateway("usps", served.base, client_id="good", client_secret="secret")
        failed = karrio_result(good, DOMESTIC)
    assert failed.startswith("ParsedMessagesError") or "time data" in failed, failed


def karrio_result(gateway: Any, number: str) -> str:
    """What a karrio fetch ends in, as text: its messages, or the error it raised."""
    try:
        details, messages = karrio_track(gateway, number)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return " ".join(f"{m.code} {m.message}" for m in messages) or f"{len(details)} details"


def _local_minute(event: ScanEvent) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(int(event.occurred_at) + event.utc_offset_s))


# -- FedEx: fedextrack and karrio-fedex ------------------------------------------------------------


def test_fedextrack_parses_scans_and_reports_429_ban_and_bad_key(tmp_path: Path) -> None:
    from fedextrack import FedEx

    def fedex(key: str, base: str) -> FedEx:
        client_id, secret = key.split(":")
        return FedEx(client_id, secret, base_url=base + "/")

    with mock(tmp_path, "fedex", OAUTH_KEYS) as served:
        doc = fedex(OAUTH_KEYS[0], served.base).track_by_tracking_number(DOMESTIC)
        slow = fedex(OAUTH_KEYS[1], served.base)
        slow.track_by_tracking_number(DOMESTIC)
        statuses = [_http_status(lambda: slow.track_by_tracking_number(DOMESTIC))]
        banned = fedex(OAUTH_KEYS[2], served.base)
        statuses += [_http_status(lambda: banned.track_by_tracking_number(DOMESTIC))] * 1
        statuses += [_http_status(lambda: banned.track_by_tracking_number(DOMESTIC))]
        statuses += [_http_status(lambda: banned.track_by_tracking_number(DOMESTIC))]
        nobody = fedex("nobody:wrong", served.base)
        statuses += [_http_status(lambda: nobody.track_by_tracking_number(DOMESTIC))]
    result = doc["output"]["completeTrackResults"][0]["trackResults"][0]
    assert result["latestStatusDetail"]["code"] == "DL"
    assert len(result["scanEvents"]) == len(served.events(DOMESTIC))
    assert statuses == [429, 200, 429, 403, 401]


def _http_status(call: Any) -> int:
    try:
        call()
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


def test_karrio_fedex_parses_scans_and_fetches_the_delivery_document(tmp_path: Path) -> None:
    def gateway(base: str, client_id: str) -> Any:
        return karrio_gateway(
            "fedex", base, api_key=client_id, secret_key="secret", track_api_key=client_id,
            track_secret_key="secret", account_number="123",
        )  # fmt: skip

    with mock(tmp_path, "fedex", OAUTH_KEYS) as served:
        details, messages = karrio_track(gateway(served.base, "good"), DOMESTIC)
        slow = gateway(served.base, "slow")
        karrio_track(slow, DOMESTIC)
        limited = karrio_result(slow, DOMESTIC)
        banned = gateway(served.base, "banned")
        karrio_track(banned, DOMESTIC)
        karrio_track(banned, DOMESTIC)
        ban = karrio_result(banned, DOMESTIC)
        bad = karrio_result(gateway(served.base, "nobody"), DOMESTIC)
    assert [m.code for m in messages] == [] and details[0].status == "delivered"
    assert len(details[0].events) == len(served.events(DOMESTIC))
    assert "TOO.MANY.REQUESTS" in limited
    assert "FORBIDDEN" in ban
    assert "NOT.AUTHORIZED" in bad


def test_daylily_fedex_tracker_reads_status_and_dates_but_no_events(tmp_path: Path) -> None:
    import requests
    from daylily_carrier_tracking.fedex_tracker import FedexTracker

    def tracker(base: str, client_id: str) -> FedexTracker:
        config = {
            "oauth_url": base + "/oauth/token",
            "track_url": base + "/track/v1/trackingnumbers",
            "client_id": client_id,
            "client_secret": "secret",
        }
        return FedexTracker(config=config)

    with mock(tmp_path, "fedex", OAUTH_KEYS) as served:
        out = tracker(served.base, "good").track(DOMESTIC)
        slow = tracker(served.base, "slow")
        statuses = [slow.track(DOMESTIC)["source"]["http_status"] for _ in range(2)]
        banned = tracker(served.base, "banned")
        statuses += [banned.track(DOMESTIC)["source"]["http_status"] for _ in range(3)]
        with pytest.raises(requests.HTTPError) as bad:
            tracker(served.base, "nobody").track(DOMESTIC)
    ops = out["ops_meta"]
    assert out["source"]["http_status"] == 200 and ops["Delivery_Status"] == "Delivered"
    assert ops["Delivery_dt"] and ops["Ship_dt"]
    assert statuses == [200, 429, 200, 429, 403]  # reported in its result, never raised
    assert bad.value.response is not None and bad.value.response.status_code == 401


# -- DHL: dhltrack and karrio-dhl-universal --------------------------------------------------------


def test_dhltrack_parses_events_and_reports_429_ban_and_bad_key(tmp_path: Path) -> None:
    from dhltrack import DHL

    def dhl(key: str, base: str) -> DHL:
        return DHL(key, "unused", base_url=base + "/track/")

    with mock(tmp_path, "dhl", API_KEYS) as served:
        doc = dhl(API_KEYS[0], served.base).track(DOMESTIC)
        slow = dhl(API_KEYS[1], served.base)
        slow.track(DOMESTIC)
        statuses = [_http_status(lambda: slow.track(DOMESTIC))]
        banned = dhl(API_KEYS[2], served.base)
        statuses += [_http_status(lambda: banned.track(DOMESTIC)) for _ in range(3)]
        statuses += [_http_status(lambda: dhl("nobody", served.base).track(DOMESTIC))]
    shipment = doc["shipments"][0]
    assert shipment["status"]["statusCode"] == "delivered"
    assert len(shipment["events"]) == len(served.events(DOMESTIC))
    assert statuses == [429, 200, 429, 403, 401]


def test_karrio_dhl_universal_parses_events(tmp_path: Path) -> None:
    with mock(tmp_path, "dhl", API_KEYS) as served:
        good = karrio_gateway(
            "dhl_universal", served.base, consumer_key=API_KEYS[0], consumer_secret="-"
        )
        details, messages = karrio_track(good, DOMESTIC)
        slow = karrio_gateway(
            "dhl_universal", served.base, consumer_key=API_KEYS[1], consumer_secret="-"
        )
        karrio_track(slow, DOMESTIC)
        limited = karrio_result(slow, DOMESTIC)
        banned = karrio_gateway(
            "dhl_universal", served.base, consumer_key=API_KEYS[2], consumer_secret="-"
        )
        karrio_track(banned, DOMESTIC)
        karrio_track(banned, DOMESTIC)
        ban = karrio_result(banned, DOMESTIC)
        nobody = karrio_gateway(
            "dhl_universal", served.base, consumer_key="nobody", consumer_secret="-"
        )
        bad = karrio_result(nobody, DOMESTIC)
    assert messages == [] and details[0].status == "delivered"
    assert len(details[0].events) == len(served.events(DOMESTIC))
    assert "429" in limited and "403" in ban and "401" in bad


# -- UPS: karrio-ups -------------------------------------------------------------------------------


def test_karrio_ups_parses_activity(tmp_path: Path) -> None:
    def gateway(base: str, client_id: str) -> Any:
        return karrio_gateway(
            "ups", base, client_id=client_id, client_secret="secret", account_number="A1"
        )

    with mock(tmp_path, "ups", OAUTH_KEYS) as served:
        details, messages = karrio_track(gateway(served.base, "good"), DOMESTIC)
        slow = gateway(served.base, "slow")
        karrio_track(slow, DOMESTIC)
        limited = karrio_result(slow, DOMESTIC)
        banned = gateway(served.base, "banned")
        karrio_track(banned, DOMESTIC)
        karrio_track(banned, DOMESTIC)
        ban = karrio_result(banned, DOMESTIC)
        bad = karrio_result(gateway(served.base, "nobody"), DOMESTIC)
    assert messages == [] and details[0].status == "delivered"
    assert len(details[0].events) == len(served.events(DOMESTIC))
    assert "10429" in limited and "10403" in ban and "10401" in bad


# -- EasyPost: karrio-easypost


def test_karrio_easypost_parses_tracking_details(tmp_path: Path) -> None:
    with mock(tmp_path, "easypost", API_KEYS) as served:
        base = served.base + "/v2"
        details, messages = karrio_track(
            karrio_gateway("easypost", base, api_key=API_KEYS[0]), DOMESTIC
        )
        slow = karrio_gateway("easypost", base, api_key=API_KEYS[1])
        karrio_track(slow, DOMESTIC)
        limited = karrio_result(slow, DOMESTIC)
        banned = karrio_gateway("easypost", base, api_key=API_KEYS[2])
        karrio_track(banned, DOMESTIC)
        karrio_track(banned, DOMESTIC)
        ban = karrio_result(banned, DOMESTIC)
        bad = karrio_result(karrio_gateway("easypost", base, api_key="nobody"), DOMESTIC)
    assert messages == [] and details[0].delivered is True  # no overall status from karrio
    assert details[0].meta["tracker_id"].startswith("trk_")
    assert len(details[0].events) == len(served.events(DOMESTIC))
    assert "RATE_LIMITED" in limited and "FORBIDDEN" in ban and "APIKEY.REQUIRED" in bad


# -- AfterShip and EasyPost: the ban (fetch, 429 and bad key are in test_carrier_*) ---------------


def test_aftership_sdk_reports_the_ban_as_forbidden(tmp_path: Path) -> None:
    with mock(tmp_path, "aftership", API_KEYS) as served:
        config = tracking.Configuration(domain=served.base, api_key=API_KEYS[2], max_retry=0)
        client = tracking.Client(config)
        created = client.tracking.create_tracking({"tracking_number": OTHERS[0]})
        assert created.data is not None and created.data.id is not None
        with pytest.raises(TooManyRequestsError):
            client.tracking.get_tracking_by_id(created.data.id)
        with pytest.raises(ForbiddenError):
            client.tracking.get_tracking_by_id(created.data.id)
        stranger = tracking.Configuration(domain=served.base, api_key="nobody", max_retry=0)
        with pytest.raises(UnauthorizedError):
            tracking.Client(stranger).tracking.get_tracking_by_id(created.data.id)


def test_easypost_client_reports_the_ban_as_forbidden(tmp_path: Path) -> None:
    from easypost.errors import ForbiddenError as EasyPostForbidden
    from easypost.errors import RateLimitError

    with mock(tmp_path, "easypost", API_KEYS) as served:
        client = easypost.EasyPostClient(API_KEYS[2], api_base=f"{served.base}/v2")
        created = client.tracker.create(tracking_code=OTHERS[1])
        with pytest.raises(RateLimitError):
            client.tracker.retrieve(created.id)
        with pytest.raises(EasyPostForbidden):
            client.tracker.retrieve(created.id)
