"""Each route a real client calls is answered in the vendor's shape, over a real server: the
AfterShip and EasyPost routes through their official Python SDKs, the rest over HTTP; and
OAuth token times on the wall clock under a wall clock."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
from pathlib import Path
from typing import Any

import easypost
import httpx
import pytest
import tracking
from _servers import serving
from tracking.exceptions import BadRequestError, NotFoundError

from mocks.app import CarrierApp, create_carrier_app
from mocks.carriers.aftership import tracking_id
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ClockSpec, ManualClock, WallClock
from peakbench.plan.timeline import journey, make_tracking_number

START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
KEY = "key-0123456789"


def app_of(
    tmp_path: Path, personality: str, *behaviours: dict[str, Any], keys: tuple[str, ...] = (KEY,)
) -> CarrierApp:
    carrier = {"name": "acme", "personality": personality, "behaviours": list(behaviours)}
    fleet = FleetSpec.model_validate({"seed": 3, "carriers": [carrier]})
    clock = ManualClock(t=0.0, start_epoch=START)
    journal = Journal("acme", tmp_path / f"carrier-{personality}.jsonl")
    return create_carrier_app(fleet.carriers[0], fleet, clock, list(keys), journal)


def numbers(count: int, days_ago: float = 4.0) -> list[str]:
    shipped = START - days_ago * DAY
    return [make_tracking_number(shipped + i * 60, "domestic", 100 + i) for i in range(count)]


# -- AfterShip -------------------------------------------------------------------------------------


def aftership(base: str) -> tracking.Client:
    return tracking.Client(tracking.Configuration(domain=base, api_key=KEY, max_retry=0))


def test_aftership_retrack_and_mark_as_completed_through_the_sdk(tmp_path: Path) -> None:
    number = numbers(1, days_ago=1.5)[0]  # in transit at START
    with serving(app_of(tmp_path, "aftership")) as base:
        client = aftership(base)
        created = client.tracking.create_tracking({"tracking_number": number, "slug": "ups"})
        assert created.data is not None and created.data.slug == "ups"  # the requested slug
        tid = created.data.id
        assert tid is not None
        with pytest.raises(BadRequestError) as refused:  # an active tracking
            client.tracking.retrack_tracking_by_id(tid)
        assert refused.value.meta_code == 4013
        done = client.tracking.mark_tracking_completed_by_id(tid, {"reason": "LOST"})
        assert done.data is not None and done.data.active is False
        assert done.data.tag is not None and done.data.tag.value == "Exception"
        again = client.tracking.retrack_tracking_by_id(tid)
        assert again.data is not None and again.data.active is True
        assert again.data.tag is not None and again.data.tag.value == "InTransit"
        with pytest.raises(NotFoundError):
            client.tracking.retrack_tracking_by_id("ffff")


def test_aftership_list_filter_v4_by_id_last_checkpoint_and_legacy_header(tmp_path: Path) -> None:
    first, second, third = numbers(3, days_ago=1.5)
    app = app_of(tmp_path, "aftership")
    model = app.personality.model  # type: ignore[attr-defined]
    with serving(app) as base, httpx.Client(base_url=base) as http:
        client = aftership(base)
        for n in (first, second, third):
            client.tracking.create_tracking({"tracking_number": n, "slug": "acme"})
        listed = client.tracking.get_trackings(tracking_numbers=f"{first},{third}")
        assert listed.data is not None and listed.data.trackings is not None
        assert {t.tracking_number for t in listed.data.trackings} == {first, third}
        legacy = {"aftership-api-key": KEY}
        by_id = http.get(f"/v4/trackings/{tracking_id(second)}", headers=legacy)
        assert by_id.status_code == 200
        assert by_id.json()["data"]["tracking"]["tracking_number"] == second
        last = http.get(f"/v4/last_checkpoint/acme/{second}", headers=legacy).json()["data"]
        shown = [e for e in journey(model, second) if e.visible_at <= START]
        assert last["slug"] == "acme" and last["tag"] == "InTransit"
        assert last["checkpoint"]["message"] == shown[-1].message
        assert "country_iso3" in last["checkpoint"]
        assert http.get(f"/v4/last_checkpoint/{tracking_id(second)}", headers=legacy).is_success
        assert http.get(f"/v4/trackings/{tracking_id(first)}").status_code == 401


def test_aftership_sends_rate_limit_headers_on_every_response(tmp_path: Path) -> None:
    number = numbers(1)[0]
    quota = {"type": "quota", "limit": 3, "per": "1s"}
    with serving(app_of(tmp_path, "aftership", quota)) as base, httpx.Client(base_url=base) as http:
        headers = {"as-api-key": KEY}
        body = {"tracking_number": number, "slug": "acme"}
        replies = [http.post("/tracking/2026-07/trackings", json=body, headers=headers)]
        replies += [http.get("/tracking/2026-07/trackings", headers=headers) for _ in range(3)]
    assert [r.status_code for r in replies] == [201, 200, 200, 429]
    assert [r.headers["x-ratelimit-limit"] for r in replies] == ["3"] * 4
    assert [r.headers["x-ratelimit-remaining"] for r in replies] == ["2", "1", "0", "0"]
    assert all(int(r.headers["x-ratelimit-reset"]) >= START for r in replies)
    with serving(app_of(tmp_path, "aftership")) as base, httpx.Client(base_url=base) as http:
        plain = http.get("/tracking/2026-07/trackings", headers={"as-api-key": KEY})
    assert plain.headers["x-ratelimit-limit"] == plain.headers["x-ratelimit-remaining"] == "10"


# -- EasyPost --------------------------------------------------------------------------------------


def test_easypost_batch_delete_filters_carrier_and_test_mode(tmp_path: Path) -> None:
    test_key = "EZTK-test-key"
    live_key = "EZAK-live-key"
    first, second, third = numbers(3)
    app = app_of(tmp_path, "easypost", keys=(test_key, live_key))
    with serving(app) as base:
        client = easypost.EasyPostClient(test_key, api_base=f"{base}/v2")
        created = client.tracker.create(tracking_code=first, carrier="UPS")
        assert created.carrier == "UPS" and created.mode == "test"
        client.tracker.create(tracking_code=second, carrier="USPS")
        client.tracker.create(tracking_code=third)
        page = client.tracker.all(tracking_codes=[first, third], page_size=5)
        assert {t.tracking_code for t in page["trackers"]} == {first, third}
        one = client.tracker.all(tracking_code=second)
        assert [t.carrier for t in one["trackers"]] == ["USPS"]
        small = client.tracker.all(page_size=1)
        assert len(small["trackers"]) == 1 and small["has_more"] is True
        batch = client.tracker.retrieve_batch(tracking_codes=[first, second])
        assert {t["tracking_code"] for t in batch["trackers"]} == {first, second}
        client.tracker.delete(created.id)
        with pytest.raises(easypost.errors.NotFoundError):
            client.tracker.retrieve(created.id)
        live = easypost.EasyPostClient(live_key, api_base=f"{base}/v2")
        assert live.tracker.create(tracking_code=first).mode == "production"


# -- FedEx -----------------------------------------------------------------------------------------


def fedex_token(http: httpx.Client) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": "fx", "client_secret": "secret"}
    token = http.post("/oauth/token", data=form).json()["access_token"]
    return {"authorization": f"Bearer {token}"}


def test_fedex_tracking_documents_and_brief_scans(tmp_path: Path) -> None:
    delivered = numbers(1, days_ago=20)[0]
    moving = numbers(1, days_ago=1)[0]
    app = app_of(tmp_path, "fedex", keys=("fx:secret",))
    with serving(app) as base, httpx.Client(base_url=base) as http:
        auth = fedex_token(http)

        def document(number: str) -> httpx.Response:
            body = {
                "trackDocumentDetail": {
                    "documentType": "SIGNATURE_PROOF_OF_DELIVERY",
                    "documentFormat": "PDF",
                },
                "trackDocumentSpecification": [{"trackingNumberInfo": {"trackingNumber": number}}],
            }
            return http.post("/track/v1/trackingdocuments", json=body, headers=auth)

        got = document(delivered)
        early = document(moving)
        info = [{"trackingNumberInfo": {"trackingNumber": delivered}}]
        brief = http.post(
            "/track/v1/trackingnumbers",
            json={"includeDetailedScans": False, "trackingInfo": info},
            headers=auth,
        )
        full = http.post("/track/v1/trackingnumbers", json={"trackingInfo": info}, headers=auth)
    assert got.status_code == 200
    output = got.json()["output"]
    assert output["documentType"] == "SIGNATURE_PROOF_OF_DELIVERY"
    assert base64.b64decode(output["document"][0]).startswith(b"%PDF-")
    assert early.status_code == 404 and early.json()["errors"][0]["code"]
    brief_result = brief.json()["output"]["completeTrackResults"][0]["trackResults"][0]
    full_result = full.json()["output"]["completeTrackResults"][0]["trackResults"][0]
    assert brief_result["scanEvents"] == [] and full_result["scanEvents"]
    assert brief_result["latestStatusDetail"] == full_result["latestStatusDetail"]


# -- TrackShip -------------------------------------------------------------------------------------


def test_trackship_carrier_lists_need_no_key(tmp_path: Path) -> None:
    with serving(app_of(tmp_path, "trackship")) as base, httpx.Client(base_url=base) as http:
        supported = http.get("/v1/shipping_carriers/supported")
        everything = http.get("/v1/shipping_carriers/all")
        plan = http.post("/v1/user-plan/get", content=json.dumps({"user_key": "wrong"}))
    assert supported.status_code == 200
    assert {"label": "USPS", "slug": "usps"} in supported.json()["data"]
    rows = everything.json()["data"]
    assert everything.status_code == 200 and rows
    fields = {"shipping_provider", "tracking_url", "shipping_country", "slug"}
    assert all(fields | {"trackship_supported", "paypal_slug"} <= set(row) for row in rows)
    assert {r["slug"] for r in rows} == {r["slug"] for r in supported.json()["data"]}
    assert plan.status_code == 401  # the other routes still want the key


# -- OAuth token times -----------------------------------------------------------------------------


def test_token_times_are_wall_times_under_a_wall_clock(tmp_path: Path) -> None:
    fleet = FleetSpec.model_validate({"carriers": [{"name": "usps", "personality": "usps"}]})
    past = START - 365 * DAY  # the store calendar a year back, and fast
    clock = WallClock(ClockSpec(start_epoch=past, scale=1200.0, wall_epoch=time.time()))
    journal = Journal("usps", tmp_path / "carrier-usps.jsonl")
    app = create_carrier_app(fleet.carriers[0], fleet, clock, ["id:secret"], journal)
    number = make_tracking_number(past - 3 * DAY, "domestic", 5)
    form = {"grant_type": "client_credentials", "client_id": "id", "client_secret": "secret"}
    with serving(app) as base, httpx.Client(base_url=base) as http:
        before = time.time()
        doc = http.post("/oauth2/v3/token", data=form).json()
        claims = json.loads(base64.urlsafe_b64decode(doc["access_token"].split(".")[1] + "=="))
        auth = {"authorization": f"Bearer {doc['access_token']}"}
        assert http.get(f"/tracking/v3/tracking/{number}", headers=auth).status_code == 200
    assert before - 1 <= doc["issued_at"] / 1000 <= time.time() + 1
    assert claims["exp"] - claims["iat"] == 28800 and claims["exp"] > time.time() + 28000


# -- DHL


def test_dhl_service_filter_finds_only_the_shipments_service(tmp_path: Path) -> None:
    from dhltrack import DHL

    number = numbers(1)[0]
    with serving(app_of(tmp_path, "dhl")) as base:
        client = DHL(KEY, "unused", base_url=base + "/track/")
        found = client.track(number, service="ecommerce")
        plain = client.track(number)
        with pytest.raises(urllib.error.HTTPError) as missing:
            client.track(number, service="express")
    assert found == plain and found["shipments"][0]["service"] == "ecommerce"
    assert missing.value.code == 404


# -- USPS


def test_usps_v3r2_post_and_v3_summary_over_a_real_server(tmp_path: Path) -> None:
    known, unknown = numbers(1)[0], "9400100000000000000000"
    app = app_of(tmp_path, "usps", keys=("usps-id:usps-secret",))
    form = {"grant_type": "client_credentials", "client_id": "usps-id"}
    with serving(app) as base, httpx.Client(base_url=base) as http:
        token = http.post("/oauth2/v3/token", data={**form, "client_secret": "usps-secret"})
        auth = {"authorization": f"Bearer {token.json()['access_token']}"}
        listed = http.post(
            "/tracking/v3r2/tracking", json=[{"trackingNumber": known}], headers=auth
        )
        mixed = http.post(
            "/tracking/v3r2/tracking",
            json=[{"trackingNumber": known, "expand": "SUMMARY"}, {"trackingNumber": unknown}],
            headers=auth,
        )
        summary = http.get(f"/tracking/v3/tracking/{known}?expand=SUMMARY", headers=auth)
        wrong = http.get("/tracking/v3r2/tracking", headers=auth)
    assert listed.status_code == 200 and listed.json()[0]["trackingNumber"] == known
    event = listed.json()[0]["trackingEvents"][0]
    assert {"GMTTimestamp", "GMTOffset", "actionCode", "reasonCode", "eventZIPCode"} <= set(event)
    assert "eventZIP" not in event and "authorizedAgent" not in event
    assert mixed.status_code == 207 and "error" in mixed.json()[1]
    assert summary.status_code == 200 and "trackingEvents" not in summary.json()
    assert wrong.status_code == 404


# -- rate-limit headers: what is left of each kind of quota window


@pytest.mark.parametrize("window", ["bucket", "sliding", "fixed", "calendar"])
def test_allowance_counts_down_and_says_when_it_resets(window: str) -> None:
    from mocks.behaviours.pipeline import build_pipeline
    from peakbench.config.behaviours import parse_behaviours

    specs = parse_behaviours([{"type": "quota", "limit": 3, "per": "1h", "window": window}])
    pipeline = build_pipeline(specs, "seed", START)
    assert pipeline.allowance("track", "k0", "ip", 0.0, START) == (
        3,
        3,
        3600.0 * (window == "calendar"),
    )
    left = []
    for i in range(3):
        assert pipeline.admit("track", "k0", "ip", float(i), START + i) is None
        limit, remaining, reset_in = pipeline.allowance(
            "track", "k0", "ip", float(i), START + i
        ) or (0, 0, 0.0)
        left.append(remaining)
        assert limit == 3 and 0 < reset_in <= 3600.0
    assert left == [2, 1, 0]
    assert pipeline.admit("track", "k0", "ip", 3.0, START + 3) is not None  # refused at 0 left
    assert pipeline.allowance("track", "k9", "ip", 3.0, START + 3)[1] == 3  # type: ignore[index]
    assert build_pipeline((), "seed").allowance("track", "k0", "ip", 0.0, START) is None
