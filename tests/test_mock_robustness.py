"""A malformed or hostile request never crashes or wedges a mock carrier, and one bad client
cannot starve the others. Raw sockets against a real ``python -m mocks serve`` process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peakbench.plan.clock import ClockSpec
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0
NUMBER = make_tracking_number(START - 2 * 86400, "domestic", 1)
KEY = "key-r"
ANSWER_S = 3.0
"""Most wall seconds any exchange may take before the server counts as wedged."""

HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A fleet process serving ``acme`` (generic, 1 store second of latency at ×100); its
    stderr is kept to check afterwards that nothing was logged as a crash."""
    run = tmp_path_factory.mktemp("robust")
    fleet = {
        "seed": 1,
        "carriers": [
            {
                "name": "acme",
                "behaviours": [{"type": "latency", "distribution": "fixed", "delay": "1s"}],
            }
        ],
    }
    (run / "fleet.json").write_text(json.dumps(fleet))
    clock = ClockSpec(start_epoch=START, scale=100.0, wall_epoch=time.time())
    (run / "clock.json").write_text(json.dumps(clock.to_json()))
    command = [
        sys.executable, "-m", "mocks", "serve", "--config", str(run / "fleet.json"),
        "--clock", str(run / "clock.json"), "--journal-dir", str(run / "journals"),
        "--ready-file", str(run / "ready.json"),
    ]  # fmt: skip
    env = {**os.environ, "PEAKBENCH_CARRIER_KEYS": json.dumps({"acme": [KEY]})}
    stderr = (run / "stderr.txt").open("wb")
    proc = subprocess.Popen(command, env=env, stderr=stderr)
    try:
        deadline = time.monotonic() + 15
        while not (run / "ready.json").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.05)
        ready = json.loads((run / "ready.json").read_text())
        yield {"proc": proc, "port": ready["carriers"]["acme"]["port"], "run": run}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(10) == 0, "the server did not exit cleanly after the abuse"
        finally:
            if proc.poll() is None:
                proc.kill()
            stderr.close()
    log = (run / "stderr.txt").read_text(errors="replace")
    assert "Traceback" not in log and "unhandled error" not in log, log[-2000:]


def exchange(port: int, data: bytes, timeout: float = ANSWER_S, complete: bool = True) -> bytes:
    """Send raw bytes and read one response (or until the server closes).

    ``complete``: the request is whole, so an answer must come within ``timeout``; else (a
    request cut short on purpose) the server may wait for the rest, and we hang up instead.
    """
    began = time.monotonic()
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            head_only = data.startswith(b"HEAD ")
            while not _whole(received, head_only) and (chunk := sock.recv(65536)):
                received += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass  # refusing garbage by closing is fine
        except TimeoutError:
            if complete:
                pytest.fail(f"no answer within {timeout} s to {data[:80]!r}")
    assert time.monotonic() - began < timeout + 1
    return received


def _whole(response: bytes, head_only: bool) -> bool:
    head, sep, body = response.partition(b"\r\n\r\n")
    if not sep:
        return False
    if head_only:
        return True
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def assert_healthy(server: dict[str, Any]) -> None:
    """The process is alive and a good request is answered promptly."""
    assert server["proc"].poll() is None, "the server died"
    began = time.monotonic()
    response = httpx.get(
        f"http://127.0.0.1:{server['port']}/v1/trackings/{NUMBER}",
        headers={"X-Api-Key": KEY},
        timeout=ANSWER_S,
    )
    assert response.status_code == 200 and response.json()["data"]["tracking_number"] == NUMBER
    assert time.monotonic() - began < ANSWER_S


def status_of(response: bytes) -> int:
    head = response.split(b"\r\n", 1)[0].split()
    return int(head[1]) if len(head) > 1 and head[1].isdigit() else 0


def batch_request(body: bytes, length: int | None = None, extra: bytes = b"") -> bytes:
    size = len(body) if length is None else length
    return (
        b"POST /v1/trackings/batch HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n" % size + extra + b"\r\n" + body
    )


# -- property tests ------------------------------------------------------------------------------


@HYPOTHESIS
@given(garbage=st.binary(min_size=1, max_size=300))
def test_garbage_request_lines(server: dict[str, Any], garbage: bytes) -> None:
    # garbage may happen to be the start of a valid request: the server may wait for the rest
    response = exchange(server["port"], garbage + b"\r\n\r\n", timeout=0.5, complete=False)
    assert response == b"" or status_of(response) in (200, 400, 401, 404, 405, 413, 421, 505)
    assert_healthy(server)


@HYPOTHESIS
@given(
    method=st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"HEAD", b"BREW"]),
    path=st.binary(min_size=1, max_size=200).filter(lambda p: b" " not in p and b"\r" not in p),
    header=st.binary(max_size=200),
)
def test_hostile_paths_and_header_bytes(
    server: dict[str, Any], method: bytes, path: bytes, header: bytes
) -> None:
    safe = header.replace(b"\r", b"").replace(b"\n", b"")
    request = method + b" /" + path + b" HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + safe + b"\r\n\r\n"
    response = exchange(server["port"], request)
    assert status_of(response) != 500
    assert_healthy(server)


@HYPOTHESIS
@given(body=st.binary(max_size=2000), cut=st.floats(0.0, 1.0))
def test_bodies_bad_utf8_and_cut_midway(server: dict[str, Any], body: bytes, cut: float) -> None:
    port = server["port"]
    whole = exchange(port, batch_request(body))
    assert status_of(whole) in (200, 400)
    # the client promises the whole body and goes away after part of it
    cut_short = batch_request(body[: int(len(body) * cut)], length=len(body) + 1)
    exchange(port, cut_short, timeout=0.05, complete=False)
    assert_healthy(server)


@HYPOTHESIS
@given(
    length=st.sampled_from(
        [b"-1", b"abc", b"99999999999999999999999", b"1e3", b" 5", b"5, 6", b"0x10", b""]
    ),
    body=st.binary(max_size=64),
)
def test_bad_content_length(server: dict[str, Any], length: bytes, body: bytes) -> None:
    request = (
        b"POST /v1/trackings/batch HTTP/1.1\r\nHost: x\r\nX-Api-Key: "
        + KEY.encode()
        + b"\r\nContent-Length: "
        + length
        + b"\r\n\r\n"
        + body
    )
    response = exchange(server["port"], request, timeout=0.5, complete=False)
    assert status_of(response) != 500
    assert_healthy(server)


@HYPOTHESIS
@given(
    numbers=st.lists(
        st.one_of(st.text(max_size=30), st.integers(), st.none(), st.floats(allow_nan=True)),
        max_size=60,
    )
)
def test_batches_of_anything(server: dict[str, Any], numbers: list[Any]) -> None:
    body = json.dumps({"tracking_numbers": numbers}).encode()
    response = exchange(server["port"], batch_request(body))
    assert status_of(response) in (200, 400)
    assert_healthy(server)


# -- hostile sizes -------------------------------------------------------------------------------


def test_huge_and_many_headers(server: dict[str, Any]) -> None:
    port = server["port"]
    big = b"GET /v1/trackings/X HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * 4_000_000 + b"\r\n\r\n"
    assert status_of(exchange(port, big, timeout=10)) in (0, 400, 401, 431)
    many = b"GET /v1/trackings/X HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 20_000 + b"\r\n"
    assert status_of(exchange(port, many, timeout=10)) in (0, 400, 401, 431)
    assert_healthy(server)


def test_deep_json_and_big_batches_are_400(server: dict[str, Any]) -> None:
    port = server["port"]
    deep = b'{"tracking_numbers": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    assert status_of(exchange(port, batch_request(deep))) == 400
    tens = json.dumps({"tracking_numbers": [NUMBER] * 10_000}).encode()
    assert status_of(exchange(port, batch_request(tens))) == 400
    huge_int = b'{"tracking_numbers": [' + b"9" * 50_000 + b"]}"
    assert status_of(exchange(port, batch_request(huge_int))) == 400
    too_big = batch_request(b"[" + b" " * (2 << 20) + b"]")
    assert status_of(exchange(port, too_big, timeout=10)) in (0, 413)
    assert_healthy(server)


# -- one bad client cannot starve others ---------------------------------------------------------


def test_slowloris_and_hanging_uploads_do_not_starve_a_good_client(server: dict[str, Any]) -> None:
    port = server["port"]
    bad: list[socket.socket] = []
    try:
        for i in range(150):  # connections holding half a header block
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /v1/trackings/%d HTTP/1.1\r\nHost: x\r\nX-Slow: " % i)
            bad.append(sock)
        for _ in range(50):  # uploads that promise 1 MB and send a few bytes
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(batch_request(b'{"tracking_', length=1_000_000))
            bad.append(sock)
        took = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=ANSWER_S) as client:
            for round_ in range(20):
                for sock in bad[round_::20]:  # keep the slow clients dribbling
                    sock.sendall(b"a")
                began = time.monotonic()
                response = client.get(f"/v1/trackings/{NUMBER}", headers={"X-Api-Key": KEY})
                took.append(time.monotonic() - began)
                assert response.status_code == 200
        # 1 store second of injected latency at ×100 is 10 ms; allow a busy machine
        assert max(took) < 1.0, took
    finally:
        for sock in bad:
            sock.close()
    assert_healthy(server)


def test_a_client_that_never_reads_does_not_block_others(server: dict[str, Any]) -> None:
    port = server["port"]
    request = f"GET /v1/trackings/{NUMBER} HTTP/1.1\r\nHost: x\r\nX-Api-Key: {KEY}\r\n\r\n"
    greedy = socket.create_connection(("127.0.0.1", port), timeout=5)
    greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        greedy.setblocking(False)
        sent = 0
        for _ in range(2000):  # pipeline many requests, never read an answer
            try:
                sent += greedy.send(request.encode())
            except BlockingIOError:
                break
        assert sent > 0
        began = time.monotonic()
        for _ in range(10):
            assert_healthy(server)
        assert time.monotonic() - began < 5 * ANSWER_S
    finally:
        greedy.close()
    assert_healthy(server)
