"""UPS conformance: every response the UPS mock sends, success and error, validates against
UPS's own OpenAPI files (tests/specs/ups, MIT) with openapi-core.

The specs are loaded as published and closed in memory: every object schema with properties
gets ``additionalProperties: false``, so a misspelt or invented field fails (UPS's files leave
objects open). One blank ``default`` in Tracking.yaml holds tab characters, which YAML forbids
there: they are read as spaces. Tracking.yaml also fails the OpenAPI *specification* validator
on a few parameter defaults (a blank one, a number where a string is declared): the file's own
flaws, not the mock's, so that check is off; the RESPONSE validation, the point here, is on.

Statuses the Tracking spec does not document (401 for a bad token; 429, sent with the
``10429`` body of public reports, UPS-API/api-documentation #123) are validated as the spec's
own error document (``#/components/schemas/Response``), the schema of every error status it
does document.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from _servers import serving
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from mocks.app import create_carrier_app
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import make_tracking_number

SPECS = Path(__file__).parent / "specs" / "ups"
START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
CLIENT = ("ups-client", "ups-secret")
TRACK = "/api/track/v1/details/{inquiryNumber}"
UNDOCUMENTED = ("401", "429")
"""Track statuses UPS sends but its Tracking spec does not list (validated as its errors)."""


def closed(node: Any) -> Any:
    """A copy of a spec with every object schema that lists properties closed to others."""
    if isinstance(node, dict):
        out = {key: closed(value) for key, value in node.items()}
        if isinstance(out.get("properties"), dict) and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [closed(item) for item in node]
    return node


@cache
def tracking_spec() -> OpenAPI:
    text = (SPECS / "Tracking.yaml").read_text().replace("\t", " ")
    spec = closed(yaml.safe_load(text))
    responses = spec["paths"]["/track/v1/details/{inquiryNumber}"]["get"]["responses"]
    for status in UNDOCUMENTED:
        responses[status] = copy.deepcopy(responses["404"])
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@cache
def token_spec() -> OpenAPI:
    text = (SPECS / "OAuthClientCredentials.yaml").read_text()
    return OpenAPI.from_dict(closed(yaml.safe_load(text)))  # this file passes the check


def check_track(number: str, reply: httpx.Response) -> None:
    request = MockRequest(
        "https://wwwcie.ups.com",
        "get",
        f"/api/track/v1/details/{number}",
        headers={"transId": "t1", "transactionSrc": "peakbench"},
    )
    response = MockResponse(reply.content, reply.status_code, dict(reply.headers))
    tracking_spec().validate_response(request, response)


def check_token(reply: httpx.Response) -> None:
    request = MockRequest(
        "https://wwwcie.ups.com",
        "post",
        "/security/v1/oauth/token",
        data=b"grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
    )
    response = MockResponse(reply.content, reply.status_code, dict(reply.headers))
    token_spec().validate_response(request, response)


def served_replies(tmp_path: Path) -> tuple[list[httpx.Response], list[tuple[str, httpx.Response]]]:
    """Token and track replies of every kind the UPS mock sends, from a real server."""
    behaviours = [
        {"type": "quota", "limit": 2, "per": "1h", "keys": ["k1"], "routes": ["track"]},
        {"type": "quota", "limit": 1, "per": "1h", "keys": ["k2"], "routes": ["track"]},
        {"type": "block", "violations": 1, "within": "1h", "ban": "2h", "keys": ["k2"]},
        {"type": "quota", "limit": 1, "per": "1h", "keys": ["k3"], "routes": ["token"]},
        {"type": "fault", "kind": "5xx", "status": 503, "keys": ["k4"], "routes": ["track"]},
    ]
    carrier = {"name": "ups", "personality": "ups", "behaviours": behaviours}
    fleet = FleetSpec.model_validate({"seed": 4, "carriers": [carrier]})
    keys = [f"{CLIENT[0]}{i}:{CLIENT[1]}" for i in range(5)]
    journal = Journal("ups", tmp_path / "carrier-ups.jsonl")
    app = create_carrier_app(fleet.carriers[0], fleet, ManualClock(0.0, START), keys, journal)
    numbers = [
        make_tracking_number(START - 9 * DAY, "domestic", 1),  # delivered
        make_tracking_number(START - 1 * DAY, "domestic", 2),  # on its way
        make_tracking_number(START - 12 * DAY, "cross-border", 3),  # customs, zones
        make_tracking_number(START + 2 * DAY, "domestic", 4),  # nothing scanned yet: 404
        "1Z999AA10123456784",  # unknown
    ]
    tokens: list[httpx.Response] = []
    tracks: list[tuple[str, httpx.Response]] = []
    grant = {"grant_type": "client_credentials"}
    with serving(app) as base, httpx.Client(base_url=base) as http:

        def token(index: int, data: dict[str, str] = grant, secret: str = CLIENT[1]) -> str:
            reply = http.post(
                "/security/v1/oauth/token", data=data, auth=(f"{CLIENT[0]}{index}", secret)
            )
            tokens.append(reply)
            return str(reply.json().get("access_token", ""))

        def track(bearer: str, number: str) -> None:
            headers = {"authorization": f"Bearer {bearer}", "transId": "t1"}
            tracks.append((number, http.get(f"/api/track/v1/details/{number}", headers=headers)))

        good = token(0)
        for number in numbers:
            track(good, number)
        track("not-a-token", numbers[0])  # 401
        slow = token(1)
        for _ in range(3):
            track(slow, numbers[0])  # 200, 200, 429
        banned = token(2)
        for _ in range(3):
            track(banned, numbers[0])  # 200, 429, 403
        token(3)
        token(3)  # 429 on the token route
        token(0, secret="wrong")  # 401
        token(0, data={"grant_type": "password"})  # 400
        track(token(4), numbers[0])  # 503
    return tokens, tracks


def test_every_ups_mock_response_validates_against_ups_openapi(tmp_path: Path) -> None:
    tokens, tracks = served_replies(tmp_path)
    assert sorted({r.status_code for r in tokens}) == [200, 400, 401, 429]
    assert sorted({r.status_code for _, r in tracks}) == [200, 401, 403, 404, 429, 503]
    for reply in tokens:
        check_token(reply)
    for number, reply in tracks:
        check_track(number, reply)
    shown = [r.json() for _, r in tracks if r.status_code == 200]
    activity = shown[0]["trackResponse"]["shipment"][0]["package"][0]["activity"]
    assert activity and {"date", "time", "gmtDate", "gmtTime", "gmtOffset"} <= set(activity[0])


def test_a_misspelt_field_fails_the_ups_spec(tmp_path: Path) -> None:
    from openapi_core.validation.response.exceptions import InvalidData

    number = make_tracking_number(START - 9 * DAY, "domestic", 1)
    _, tracks = served_replies(tmp_path)
    good = next(r for n, r in tracks if n == number and r.status_code == 200)
    error = next(r for _, r in tracks if r.status_code == 404)
    check_track(number, good)
    bodies = {
        "activty": good.content.replace(b'"activity"', b'"activty"', 1),
        "gmtOfset": good.content.replace(b'"gmtOffset"', b'"gmtOfset"', 1),
        "trackingNumbr": good.content.replace(b'"trackingNumber"', b'"trackingNumbr"', 1),
        "packageCount as text": good.content.replace(b'"packageCount":1', b'"packageCount":"1"'),
        "errros": error.content.replace(b'"errors"', b'"errros"'),
    }
    for name, body in bodies.items():
        assert body != (error.content if name == "errros" else good.content), name
        spoilt = httpx.Response(
            error.status_code if name == "errros" else 200,
            content=body,
            headers={"content-type": "application/json"},
        )
        with pytest.raises(InvalidData):
            check_track(number, spoilt)
    json.loads(good.content)  # the originals stay valid JSON
