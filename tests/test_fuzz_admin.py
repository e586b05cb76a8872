"""Schemathesis against the mock fleet's admin API, from the fleet's own ``/__admin/openapi.json``,
on a real fleet on 127.0.0.1: no input gives a 5xx, every answer matches the document (status,
content type, body), and bodies the document forbids are refused with a 4xx whose error message
is one line. Derandomized, bounded examples per operation (~10 s in all)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from _fuzz import CHECKS, fuzz_operations
from schemathesis import GenerationMode
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
)

from mocks.fleet import serving
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ClockSpec

START = 1_795_755_600.0


@pytest.fixture(scope="module")
def fleet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    fleet = FleetSpec.model_validate(
        {
            "seed": 5,
            "carriers": [
                {"name": "acme", "behaviours": [{"type": "quota", "limit": 5, "per": "1s"}]},
                {"name": "b"},
            ],
        }
    )
    clock = ClockSpec(start_epoch=START, scale=60.0, wall_epoch=time.time())
    journals = tmp_path_factory.mktemp("admin-fuzz")
    with serving(fleet, clock, journals, {"acme": ["key-0"]}) as ready:
        yield ready["carriers"]["acme"]["base_url"]


@pytest.fixture(scope="module")
def admin_schema(fleet_url: str) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{fleet_url}/__admin/openapi.json")
    # a single-carrier port answers its own name under /__admin/carriers/{carrier}/ and 404s
    # the rest (documented as 4XX); fix the name so the bodies, not the names, get fuzzed
    schema.config.base_url = fleet_url
    return schema


def test_admin_api_matches_its_document_and_never_fails(
    admin_schema: schemathesis.BaseSchema,
) -> None:
    ran = fuzz_operations(admin_schema, lambda case: case.call_and_validate(checks=CHECKS), 12)
    assert ran >= 18  # every route, on its own path and under /__admin/carriers/{carrier}/


def test_admin_api_refuses_what_its_document_forbids(admin_schema: schemathesis.BaseSchema) -> None:
    def check(case: schemathesis.Case) -> None:
        response = case.call()
        case.validate_response(response, checks=[not_a_server_error, negative_data_rejection])
        if response.status_code >= 400:
            message = response.json()["error"]["message"]
            assert "\n" not in message and len(message) < 600, message

    def with_body(op: schemathesis.APIOperation) -> bool:
        return op.method.upper() in ("PUT", "POST") and op.path.endswith("behaviours")

    # bodies are the only free input; the other routes take nothing worth negating
    assert fuzz_operations(admin_schema, check, 15, GenerationMode.NEGATIVE, with_body) == 4


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", ["not valid JSON"]),
        (b"[1, 2]", ["behaviours[0]"]),
        (b'[{"type": "quota", "limit": "many", "per": "1s"}]', ["behaviours[0].limit"]),
        (b'[{"type": "quota", "limit": 5, "per": "fast"}]', ["behaviours[0].per", "duration"]),
        (b'[{"type": "quotaa", "limit": 5}]', ["behaviours[0]"]),
        (b'[{"type": "block", "violations": 3, "within": "1m", "bna": "1h"}]', ["did you mean"]),
        (b"[" * 5000 + b"]" * 5000, ["not valid JSON"]),
        (b"\xff\xfe", ["not valid JSON"]),
        (b'[{"type": "latency", "distribution": "fixed", "delay": Infinity}]', ["delay"]),
    ],
)
def test_bad_behaviour_bodies_get_a_one_line_400(
    fleet_url: str, body: bytes, words: list[str]
) -> None:
    with httpx.Client(base_url=fleet_url, timeout=10) as client:
        before = client.get("/__admin/behaviours").json()
        resp = client.put("/__admin/behaviours", content=body)
        assert resp.status_code == 400, resp.text
        error = resp.json()["error"]
        assert error["code"] == "bad_request"
        assert "\n" not in error["message"], error["message"]
        assert all(w in error["message"] for w in words), error["message"]
        assert client.get("/__admin/behaviours").json() == before  # nothing half-applied


def test_an_oversized_admin_body_is_refused(fleet_url: str) -> None:
    with httpx.Client(base_url=fleet_url, timeout=10) as client:
        resp = client.put("/__admin/behaviours", content=b" " * (1 << 20 + 1))
        assert resp.status_code == 413 and resp.json()["error"]["message"] == "body too large"


def test_admin_routes_answer_unknown_paths_and_methods_in_shape(fleet_url: str) -> None:
    with httpx.Client(base_url=fleet_url, timeout=10) as client:
        for method, path, status in [
            ("GET", "/__admin/nope", 404),
            ("DELETE", "/__admin/behaviours", 405),
            ("GET", "/__admin/carriers/zzz/health", 404),
            ("GET", "/__admin/journal?since=soon", 400),
        ]:
            resp = client.request(method, path)
            assert resp.status_code == status, (method, path, resp.text)
            assert "\n" not in resp.json()["error"]["message"]


def test_document_is_served(fleet_url: str) -> None:
    doc = httpx.get(f"{fleet_url}/__admin/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.1") and "/__admin/behaviours" in doc["paths"]
