"""One port impersonating several vendor hosts: routing by Host header, the misdirected error,
the fleet admin on a shared port, the fleet spec's host rules, and HTTPS on the shared port."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mocks.fleet import serving
from peakbench.config.fleet import VENDOR_HOSTS, FleetSpec
from peakbench.plan.clock import ClockSpec
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0
NUMBER = make_tracking_number(START - 2 * 86400, "domestic", 3)
KEY = {"X-Api-Key": "k"}


def shared_fleet(**listen: Any) -> FleetSpec:
    return FleetSpec.model_validate(
        {
            "seed": 4,
            "listen": {"mode": "shared", **listen},
            "carriers": [
                {"name": "acme", "hosts": ["api.acme.test", "sandbox.acme.test"]},
                {
                    "name": "zeta",
                    "behaviours": [{"type": "quota", "limit": 1, "per": "1h"}],
                },
            ],
        }
    )


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[tuple[dict[str, Any], httpx.Client]]:
    clock = ClockSpec(start_epoch=START, scale=60.0, wall_epoch=time.time())
    with serving(shared_fleet(), clock, tmp_path) as ready:
        url = ready["listen"]["base_url"]
        with httpx.Client(base_url=url, timeout=10) as client:
            yield ready, client


def test_ready_document_of_a_shared_port(shared: tuple[dict[str, Any], httpx.Client]) -> None:
    ready, _ = shared
    listen = ready["listen"]
    assert listen["mode"] == "shared" and listen["base_url"] == f"http://127.0.0.1:{listen['port']}"
    acme, zeta = ready["carriers"]["acme"], ready["carriers"]["zeta"]
    assert acme["port"] == zeta["port"] == listen["port"]
    assert acme["base_url"] == zeta["base_url"] == listen["base_url"]
    assert acme["hosts"] == ["api.acme.test", "sandbox.acme.test"]
    assert zeta["hosts"] == ["zeta.carrier.test"]
    assert acme["admin_url"] == f"{listen['base_url']}/__admin/carriers/acme/"


def test_host_header_picks_the_carrier(shared: tuple[dict[str, Any], httpx.Client]) -> None:
    _, client = shared
    path = f"/v1/trackings/{NUMBER}"
    for host in ("api.acme.test", "API.Acme.TEST:443", "sandbox.acme.test."):
        response = client.get(path, headers={**KEY, "Host": host})
        assert response.status_code == 200, host
        assert response.json()["data"]["carrier"] == "acme"
    zeta = [client.get(path, headers={**KEY, "Host": "zeta.carrier.test"}) for _ in range(2)]
    assert [r.status_code for r in zeta] == [200, 429]  # zeta's own quota, not acme's
    assert zeta[0].json()["data"]["carrier"] == "zeta"
    counters = client.get("/__admin/counters").json()["carriers"]
    assert counters["acme"]["requests"] == 3 and counters["zeta"]["requests"] == 2


def test_unknown_host_is_a_clear_421(shared: tuple[dict[str, Any], httpx.Client]) -> None:
    ready, client = shared
    response = client.get(f"/v1/trackings/{NUMBER}", headers={**KEY, "Host": "api.ups.com"})
    assert response.status_code == 421
    error = response.json()["error"]
    assert error["code"] == "misdirected"
    assert "'api.ups.com'" in error["message"] and "api.acme.test" in error["message"]
    # a request with no Host header at all (HTTP/1.0)
    port = ready["listen"]["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET /v1/trackings/{NUMBER} HTTP/1.0\r\nX-Api-Key: k\r\n\r\n".encode())
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 421 ")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(host=st.binary(max_size=300).filter(lambda h: b"\r" not in h and b"\n" not in h))
def test_any_host_header_gets_an_answer(
    shared: tuple[dict[str, Any], httpx.Client], host: bytes
) -> None:
    ready, client = shared
    with socket.create_connection(("127.0.0.1", ready["listen"]["port"]), timeout=5) as sock:
        sock.sendall(b"GET /v1/trackings/X HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        head = sock.recv(4096)
    assert head == b"" or head.split(b" ")[1] in (b"400", b"401", b"421")
    good = client.get(f"/v1/trackings/{NUMBER}", headers={**KEY, "Host": "api.acme.test"})
    assert good.status_code == 200


def test_fleet_admin_on_a_shared_port(shared: tuple[dict[str, Any], httpx.Client]) -> None:
    _, client = shared
    assert client.get("/__admin/health").json() == {"ok": True, "carriers": ["acme", "zeta"]}
    carriers = client.get("/__admin/carriers").json()
    assert carriers["acme"]["hosts"] == ["api.acme.test", "sandbox.acme.test"]
    assert carriers["zeta"]["admin"] == "/__admin/carriers/zeta/"
    by_name = client.get("/__admin/carriers/zeta/behaviours").json()
    assert by_name[0]["type"] == "quota"
    by_host = client.get("/__admin/behaviours", headers={"Host": "zeta.carrier.test"}).json()
    assert by_host == by_name
    put = client.put("/__admin/carriers/acme/behaviours", json=[{"type": "fault", "kind": "5xx"}])
    assert put.status_code == 200
    failed = client.get(f"/v1/trackings/{NUMBER}", headers={**KEY, "Host": "api.acme.test"})
    assert failed.status_code == 503
    assert client.get("/__admin/carriers/nobody/health").status_code == 404
    assert client.post("/__admin/reset").json()["carriers"] == ["acme", "zeta"]
    assert set(client.get("/__admin/clock").json()) == {"t", "epoch", "scale", "start_epoch"}
    assert "/__admin/carriers" in client.get("/__admin/openapi.json").json()["paths"]


def test_fleet_spec_host_rules() -> None:
    ups = FleetSpec.model_validate({"carriers": [{"name": "u", "personality": "ups"}]})
    assert ups.carriers[0].host_names == VENDOR_HOSTS["ups"]
    assert "onlinetools.ups.com" in VENDOR_HOSTS["ups"]
    assert ups.listen.mode == "per-carrier"
    two_ups = [{"name": "u1", "personality": "ups"}, {"name": "u2", "personality": "ups"}]
    FleetSpec.model_validate({"carriers": two_ups})  # separate ports: no clash
    with pytest.raises(ValidationError, match=r"onlinetools\.ups\.com.*'u1' and 'u2'"):
        FleetSpec.model_validate({"carriers": two_ups, "listen": {"mode": "shared"}})
    two_ups[1]["hosts"] = ["ups.staging.test"]
    FleetSpec.model_validate({"carriers": two_ups, "listen": {"mode": "shared"}})
    # the fleet round-trips through RUN/fleet.json
    fleet = shared_fleet(port=0)
    assert FleetSpec.model_validate(json.loads(json.dumps(fleet.model_dump(mode="json")))) == fleet


def test_https_on_the_shared_port(tmp_path: Path) -> None:
    tls = pytest.importorskip("mocks.tls")
    issued = tls.issue(tmp_path / "ca", ["api.acme.test"])
    clock = ClockSpec(start_epoch=START, scale=60.0, wall_epoch=time.time())
    with serving(shared_fleet(), clock, tmp_path, tls=(issued.cert, issued.key)) as ready:
        url = ready["listen"]["base_url"]
        assert url.startswith("https://127.0.0.1:")
        assert ready["carriers"]["acme"]["base_url"] == url
        port = ready["listen"]["port"]
        # resolve the vendor host to the mock, as a hosts entry would
        context = ssl.create_default_context(cafile=str(issued.ca_cert))
        transport = httpx.HTTPTransport(verify=context)
        with httpx.Client(transport=transport, timeout=10) as client:
            response = client.get(
                f"{url}/v1/trackings/{NUMBER}",
                headers={**KEY, "Host": f"api.acme.test:{port}"},
                extensions={"sni_hostname": "api.acme.test"},
            )
    assert response.status_code == 200
    assert response.json()["data"]["carrier"] == "acme"
