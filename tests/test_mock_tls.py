"""The local CA (``mocks/tls.py``, ``peakbench mocks ca``) and HTTPS serving (mocks/_server.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509

from mocks._server import base_url, listen, server_config
from mocks.tls import VENDOR_HOSTS, client_context, issue, subject_names
from peakbench.cli.main import main as cli_main

ROOT = Path(__file__).resolve().parent.parent


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers every request with the Host header it got and whether it came over TLS."""
    if scope["type"] == "lifespan":
        await receive()  # lifespan.startup
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})
        return
    headers = dict(scope["headers"])
    body = json.dumps(
        {"host": headers.get(b"host", b"").decode(), "scheme": scope["scheme"]}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """A real uvicorn server (the children's configuration) on 127.0.0.1 port 0, over TLS."""
    issued = issue(tmp_path / "ca")
    sock = listen("127.0.0.1")
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(echo_app, 0.2, tls=(issued.cert, issued.key)))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield base_url("127.0.0.1", port, tls=True), port, issued.ca_cert
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def test_ca_and_certificate_are_created_with_private_keys_and_reused(tmp_path: Path) -> None:
    first = issue(tmp_path)
    assert first.ca_created and first.cert_created
    for key in (first.ca_key, first.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(first.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = san.get_values_for_type(x509.DNSName)
    assert set(VENDOR_HOSTS) | {"localhost"} == set(dns)
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    ca = x509.load_pem_x509_certificate(first.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    ca_bytes, cert_bytes = first.ca_cert.read_bytes(), first.cert.read_bytes()
    again = issue(tmp_path)
    assert not again.ca_created and not again.cert_created
    assert first.ca_cert.read_bytes() == ca_bytes and first.cert.read_bytes() == cert_bytes

    other = issue(tmp_path, ["shop-carrier.test"])
    assert not other.ca_created and other.cert_created
    assert first.ca_cert.read_bytes() == ca_bytes
    assert other.names == ("shop-carrier.test", "localhost", "127.0.0.1", "::1")

    near_expiry = dt.datetime.now(dt.UTC) + dt.timedelta(days=390)
    assert issue(tmp_path, ["shop-carrier.test"], now=near_expiry).cert_created


def test_subject_names_normalise_and_refuse_non_hosts() -> None:
    assert subject_names(["API.AfterShip.com.", "api.aftership.com", "[::1]"]) == (
        "api.aftership.com",
        "localhost",
        "::1",
        "127.0.0.1",
    )
    with pytest.raises(ValueError, match="not a host"):
        subject_names(["https://api.ups.com/track"])


def test_https_server_is_trusted_through_the_ca_for_loopback_and_vendor_names(
    https_server: tuple[str, int, Path],
) -> None:
    url, port, ca = https_server
    assert url == f"https://127.0.0.1:{port}"
    with httpx.Client(verify=client_context(ca), timeout=5) as client:
        plain = client.get(f"{url}/v1/trackings/X")
        assert plain.status_code == 200
        assert plain.json() == {"host": f"127.0.0.1:{port}", "scheme": "https"}
        # what a store whose carrier host is rewritten to the mock sends: SNI and Host of the
        # vendor, TCP to loopback
        for host in ("api.aftership.com", "apis.fedex.com"):
            reply = client.get(
                f"{url}/v1/trackings/X",
                headers={"Host": host},
                extensions={"sni_hostname": host},
            )
            assert reply.status_code == 200
            assert reply.json()["host"] == host
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        client_context(ca).wrap_socket(raw, server_hostname="api.17track.net") as tls,
    ):
        peer = tls.getpeercert()
        names = {value for kind, value in peer["subjectAltName"] if kind == "DNS"}
        assert "api.17track.net" in names


def test_clients_that_do_not_trust_the_ca_or_ask_another_name_are_refused(
    https_server: tuple[str, int, Path], tmp_path: Path
) -> None:
    url, _, ca = https_server
    with httpx.Client(timeout=5) as public_roots, pytest.raises(httpx.ConnectError):
        public_roots.get(f"{url}/v1/trackings/X")
    stranger = issue(tmp_path / "another-ca")  # a different CA: same names, wrong signer
    with (
        httpx.Client(verify=client_context(stranger.ca_cert), timeout=5) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get(f"{url}/")
    with (
        httpx.Client(verify=client_context(ca), timeout=5) as client,
        pytest.raises(httpx.ConnectError, match=r"match|mismatch"),
    ):
        client.get(f"{url}/", extensions={"sni_hostname": "www.example.com"})


def test_plain_base_url_is_unchanged() -> None:
    assert base_url("127.0.0.1", 8080) == "http://127.0.0.1:8080"
    assert base_url("::1", 8443, tls=True) == "https://[::1]:8443"


def test_mocks_ca_command_writes_the_files_and_says_what_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "tls"
    assert cli_main(["mocks", "ca", "--dir", str(folder), "--host", "api.aftership.com"]) == 0
    out = capsys.readouterr().out
    assert "created" in out and "--tls-cert" in out and "ca.pem" in out
    assert {p.name for p in folder.iterdir()} == {
        "ca.pem",
        "ca-key.pem",
        "mocks.pem",
        "mocks-key.pem",
    }
    assert cli_main(["mocks", "ca", "--dir", str(folder), "--host", "api.aftership.com"]) == 0
    assert "reused" in capsys.readouterr().out
    assert cli_main(["mocks", "ca", "--dir", str(folder), "--host", "a b"]) == 2
    assert "not a host name" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("php") is None, reason="php is not installed")
def test_wordpress_must_use_plugin_lints_and_passes_its_harness() -> None:
    plugin = ROOT / "wordpress" / "peakbench-carrier-redirect.php"
    lint = subprocess.run(["php", "-l", str(plugin)], capture_output=True, text=True, timeout=20)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    harness = ROOT / "wordpress" / "tests" / "harness.php"
    run = subprocess.run(["php", str(harness)], capture_output=True, text=True, timeout=20)
    assert run.returncode == 0 and run.stdout.strip().endswith("0 failed"), run.stdout + run.stderr
