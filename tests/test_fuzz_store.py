"""Schemathesis against the sandbox store, from its own ``/__admin/openapi.json``
(:mod:`mocks.store.openapi`), on a real server on 127.0.0.1: no input gives a 5xx, answers match
the document (status, content type, body), and bodies the document forbids are refused with a
WooCommerce-shaped 4xx. Derandomized, bounded examples per operation (~15 s in all)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from _fuzz import CHECKS, fuzz_operations
from _servers import serving_store
from schemathesis import GenerationMode
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
)

AUTH = {"Authorization": "Basic " + base64.b64encode(b"ck_fuzz:cs_fuzz").decode()}


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_store(tmp_path_factory.mktemp("store-fuzz"), "ck_fuzz", "cs_fuzz") as url:
        with httpx.Client(base_url=url, headers=AUTH, timeout=10) as client:
            for _ in range(3):  # a few real orders, one shipped, so ids 1..3 exist
                order = client.post("/wp-json/wc/v3/orders", json={"set_paid": True}).json()
            client.post(
                f"/wp-json/wc-shipment-tracking/v3/orders/{order['id']}/shipment-trackings",
                json={"tracking_provider": "acme", "tracking_number": "PBD00000000001X"},
            )
        yield url


@pytest.fixture(scope="module")
def store_schema(store_url: str) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{store_url}/__admin/openapi.json")
    schema.config.base_url = store_url
    return schema


def test_store_matches_its_document_and_never_fails(store_schema: schemathesis.BaseSchema) -> None:
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    assert fuzz_operations(store_schema, check, 20) >= 17


def test_store_refuses_bodies_its_document_forbids(store_schema: schemathesis.BaseSchema) -> None:
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers=AUTH)
        case.validate_response(response, checks=[not_a_server_error])
        if case.operation.path.endswith("tracking-webhook"):
            # every body the document forbids is refused (orders are lenient, like WooCommerce)
            case.validate_response(response, checks=[negative_data_rejection])
        if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            body = response.json()
            assert isinstance(body.get("code"), str) and "\n" not in body["message"], body

    def with_body(op: schemathesis.APIOperation) -> bool:
        return op.method.upper() in ("POST", "PUT") and not op.path.startswith("/__admin")

    assert fuzz_operations(store_schema, check, 20, GenerationMode.NEGATIVE, with_body) >= 6


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/wp-json/wc/v3/orders", {"page": str(10**30)}),
        ("/wp-json/wc/v3/orders", {"per_page": "-1"}),
        ("/wp-json/wc/v3/orders", {"after": "9999-99-99T99:99:99"}),
        ("/wp-json/wc/v3/orders/" + "9" * 40, {}),
        ("/order-tracking/" + "9" * 40, {"key": "x"}),
    ],
)
def test_out_of_range_numbers_are_4xx(store_url: str, path: str, params: dict[str, str]) -> None:
    resp = httpx.get(store_url + path, params=params, headers=AUTH, timeout=10)
    assert 400 <= resp.status_code < 500, resp.text


def test_the_document_lists_every_route_family(store_url: str) -> None:
    doc = httpx.get(f"{store_url}/__admin/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.1")
    for path in (
        "/wp-json/wc/v3/orders",
        "/wp-json/wc/v3/orders/batch",
        "/wp-json/wc-shipment-tracking/v3/orders/{id}/shipment-trackings",
        "/wp-json/wc/v1/tracking-webhook",
        "/order-tracking/{id}",
    ):
        assert path in doc["paths"], path
