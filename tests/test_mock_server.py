"""The real ``python -m mocks serve`` process: ready file, HTTP on loopback, journals, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from peakbench.plan.clock import ClockSpec
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0
JOURNAL_FIELDS = ["t", "carrier", "route", "key", "ip", "numbers", "status", "outcome", "cause"]


def write_run(run: Path, scale: float = 60.0) -> None:
    fleet = {
        "seed": 2,
        "carriers": [
            {"name": "acme"},
            {
                "name": "slowpost",
                "behaviours": [
                    {"type": "quota", "limit": 2, "per": "1h", "window": "bucket"},
                    {"type": "latency", "delay": "3s"},
                ],
            },
        ],
    }
    (run / "fleet.json").write_text(json.dumps(fleet))
    clock = ClockSpec(start_epoch=START, scale=scale, wall_epoch=time.time())
    (run / "clock.json").write_text(json.dumps(clock.to_json()))


def serve_command(run: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mocks",
        "serve",
        "--config",
        str(run / "fleet.json"),
        "--clock",
        str(run / "clock.json"),
        "--journal-dir",
        str(run / "journals"),
        "--ready-file",
        str(run / "mocks.ready.json"),
    ]


def wait_for(path: Path, timeout_s: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear within {timeout_s} s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, Any], Path]]:
    write_run(tmp_path)
    env = {**os.environ, "PEAKBENCH_CARRIER_KEYS": json.dumps({"acme": ["key-a0", "key-a1"]})}
    proc = subprocess.Popen(serve_command(tmp_path), env=env, stderr=subprocess.PIPE)
    try:
        ready = wait_for(tmp_path / "mocks.ready.json")
        yield proc, ready, tmp_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_serve_answers_journals_and_exits_cleanly_on_sigterm(
    server: tuple[subprocess.Popen[bytes], dict[str, Any], Path],
) -> None:
    proc, ready, run = server
    assert ready["pid"] == proc.pid
    assert set(ready["carriers"]) == {"acme", "slowpost"}
    acme = ready["carriers"]["acme"]["base_url"]
    slow = ready["carriers"]["slowpost"]["base_url"]
    assert acme == f"http://127.0.0.1:{ready['carriers']['acme']['port']}"
    assert ready["carriers"]["acme"]["admin_url"] == f"{acme}/__admin/"
    assert ready["carriers"]["acme"]["hosts"] == ["acme.carrier.test"]
    assert ready["listen"] == {"mode": "per-carrier"}
    number = make_tracking_number(START - 2 * 86400, "domestic", 1)
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{acme}/__admin/health").json()["ok"] is True
        track = client.get(f"{acme}/v1/trackings/{number}", headers={"X-Api-Key": "key-a1"})
        assert track.status_code == 200
        assert track.json()["data"]["events"]
        batch = client.post(
            f"{acme}/v1/trackings/batch",
            json={"tracking_numbers": [number, "PBX"]},
            headers={"X-Api-Key": "key-a0"},
        )
        assert batch.status_code == 200 and len(batch.json()["errors"]) == 1
        assert client.get(f"{acme}/v1/trackings/{number}").status_code == 401
        began = time.monotonic()
        slow_statuses = [
            client.get(f"{slow}/v1/trackings/{number}", headers={"X-Api-Key": "anything"})
            for _ in range(3)
        ]
        took = time.monotonic() - began
        assert [r.status_code for r in slow_statuses] == [200, 200, 429]
        assert 0 < int(slow_statuses[2].headers["retry-after"]) <= 1800
        assert took >= 3 * 3 / 60 * 0.9  # 3 store seconds of latency each at scale 60
        counters = client.get(f"{slow}/__admin/counters").json()
        assert (counters["requests"], counters["ok"], counters["throttled"]) == (3, 2, 1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0

    acme_lines = [
        json.loads(line)
        for line in (run / "journals" / "carrier-acme.jsonl").read_text().splitlines()
    ]
    assert [list(line)[:9] for line in acme_lines] == [JOURNAL_FIELDS] * 3
    assert [
        (x["route"], x["key"], x["numbers"], x["status"], x["outcome"]) for x in acme_lines
    ] == [
        ("track", "k1", 1, 200, "ok"),
        ("batch", "k0", 2, 200, "ok"),
        ("track", "anon", 1, 401, "error"),
    ]
    assert all(x["ip"] == "127.0.0.1" and x["delay"] == 0 for x in acme_lines)
    times = [x["t"] for x in acme_lines]
    assert times == sorted(times) and times[0] > 0
    slow_lines = [
        json.loads(line)
        for line in (run / "journals" / "carrier-slowpost.jsonl").read_text().splitlines()
    ]
    assert [(x["key"], x["outcome"], x["cause"], x["delay"]) for x in slow_lines] == [
        ("k0", "ok", None, 3.0),
        ("k0", "ok", None, 3.0),
        ("k0", "throttled", "quota:1h", 3.0),
    ]


def test_journal_is_flushed_within_a_second_while_serving(
    server: tuple[subprocess.Popen[bytes], dict[str, Any], Path],
) -> None:
    _, ready, run = server
    acme = ready["carriers"]["acme"]["base_url"]
    httpx.get(f"{acme}/v1/trackings/X", headers={"X-Api-Key": "key-a0"}, timeout=10)
    journal = run / "journals" / "carrier-acme.jsonl"
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and not journal.read_text():
        time.sleep(0.1)
    assert json.loads(journal.read_text())["status"] == 404


def test_server_exits_when_its_parent_dies(tmp_path: Path) -> None:
    write_run(tmp_path)
    # a parent that starts the server, waits for it to listen, then dies without a word
    parent = (
        "import subprocess, sys, time, pathlib\n"
        f"p = subprocess.Popen({serve_command(tmp_path)!r})\n"
        "print(p.pid, flush=True)\n"
        f"ready = pathlib.Path({str(tmp_path / 'mocks.ready.json')!r})\n"
        "deadline = time.monotonic() + 15\n"
        "while not ready.exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "import os; os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", parent], capture_output=True, timeout=30)
    child = int(out.stdout.split()[0])
    assert (tmp_path / "mocks.ready.json").exists()
    died = time.monotonic()
    deadline = died + 5.0
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child), "the orphaned server kept running"
    assert time.monotonic() - died < 3.0


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write_run(tmp_path)
    (tmp_path / "fleet.json").write_text('{"carriers": []}')
    out = subprocess.run(serve_command(tmp_path), capture_output=True, timeout=30, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith("mocks serve:") and out.stderr.count("\n") == 1
    assert not (tmp_path / "mocks.ready.json").exists()


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has exited; its new parent has not reaped it


# -- standalone: peakbench mocks serve --fleet FILE ------------------------------------------------

FLEET_YAML = """\
seed: 3
clock: {scale: 60, start: "2026-11-27T00:00:00-05:00"}
listen: {mode: shared}
carriers:
  - name: acme
    hosts: [api.acme.test]
    behaviours:
      - {type: quota, limit: 1, per: 1h}
  - name: other
"""


def test_standalone_fleet_serves_prints_urls_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text(FLEET_YAML)
    ready_file = tmp_path / "ready.json"
    command = [
        sys.executable, "-m", "peakbench", "mocks", "serve", "--fleet",
        str(tmp_path / "fleet.yaml"), "--journal-dir", str(tmp_path / "j"),
        "--ready-file", str(ready_file),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PEAKBENCH_CARRIER_KEYS"}
    env["COLUMNS"] = "200"
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready = wait_for(ready_file)
        url = ready["listen"]["base_url"]
        number = make_tracking_number(START - 2 * 86400, "domestic", 1)
        with httpx.Client(base_url=url, timeout=10) as client:
            headers = {"X-Api-Key": "whatever", "Host": "api.acme.test"}
            first = client.get(f"/v1/trackings/{number}", headers=headers)
            second = client.get(f"/v1/trackings/{number}", headers=headers)
            clock = client.get("/__admin/clock").json()
        assert (first.status_code, second.status_code) == (200, 429)
        assert first.json()["data"]["carrier"] == "acme"
        # the store calendar starts at clock.start (Black Friday midnight Eastern = 05:00 Z)
        assert clock["start_epoch"] == 1_795_755_600.0 and clock["scale"] == 60
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, err
    text = out.decode()
    assert f"listening on {url}" in text
    assert f"{url}/__admin/carriers/acme/" in text and "api.acme.test" in text
    assert "accepts any key" in text and str(tmp_path / "j") in text
    lines = (tmp_path / "j" / "carrier-acme.jsonl").read_text().splitlines()
    assert [json.loads(x)["status"] for x in lines] == [200, 429]


def test_standalone_fleet_errors_are_one_line_each_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "carriers:\n  - name: acme\n    personalty: ups\n"
        "    behaviours:\n      - {type: quota, limit: 5, per: fast}\n"
    )
    command = [sys.executable, "-m", "peakbench", "mocks", "serve", "--fleet", str(bad)]
    out = subprocess.run(command, capture_output=True, timeout=30, text=True)
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert f"error: {bad}:3 carriers[0].personalty: unknown field; did you mean 'personality'?" in (
        lines
    )
    assert any(x.startswith(f"error: {bad}:5 carriers[0].behaviours[0].per: ") for x in lines)
    assert len(lines) == 2
    half_tls = [*command[:-1], str(tmp_path / "x.yaml"), "--tls-cert", str(bad)]
    assert subprocess.run(half_tls, capture_output=True, timeout=30).returncode == 2


def test_example_fleet_file_is_valid() -> None:
    from mocks.standalone import load_fleet_file

    root = Path(__file__).resolve().parent.parent
    spec = load_fleet_file(root / "profiles" / "fleets" / "fleet-example.yaml")
    assert spec.listen.mode == "shared"
    assert len({c.personality for c in spec.carriers}) >= 4
    hosts = [h for c in spec.carriers for h in c.host_names]
    assert "api.aftership.com" in hosts and len(hosts) == len(set(hosts))


# -- refusal forms and mangles on a real server ---------------------------------------------------


def test_faults_reach_a_real_client_as_the_vendor_would_fail(tmp_path: Path) -> None:
    from mocks.fleet import serving
    from peakbench.config.fleet import FleetSpec

    def carrier(name: str, **fault: object) -> dict[str, object]:
        return {"name": name, "behaviours": [{"type": "fault", **fault}]}

    fleet = FleetSpec.model_validate(
        {
            "carriers": [
                carrier("hang", kind="hang", hang="10m"),
                carrier("reset", kind="reset"),
                carrier("slow", kind="slow-body", body="30s"),
                carrier("cut", kind="truncated", honest=False),
                {"name": "fine"},
            ]
        }
    )
    clock = ClockSpec(start_epoch=START, scale=60.0, wall_epoch=time.time())
    number = make_tracking_number(START - 2 * 86400, "domestic", 1)
    path = f"/v1/trackings/{number}"
    key = {"X-Api-Key": "k"}
    with serving(fleet, clock, tmp_path) as ready:
        url = {name: c["base_url"] for name, c in ready["carriers"].items()}
        began = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):  # 10 store minutes = 10 s: the client gives up
            httpx.get(url["hang"] + path, headers=key, timeout=0.3)
        assert time.monotonic() - began < 2
        assert httpx.get(url["fine"] + path, headers=key, timeout=5).status_code == 200
        with pytest.raises(httpx.TransportError):
            httpx.get(url["reset"] + path, headers=key, timeout=5)
        began = time.monotonic()
        slow = httpx.get(url["slow"] + path, headers=key, timeout=5)
        assert 0.4 < time.monotonic() - began < 3  # 30 store seconds at ×60
        assert slow.json()["data"]["tracking_number"] == number
        with pytest.raises(httpx.RemoteProtocolError):  # promised more than it sent
            httpx.get(url["cut"] + path, headers=key, timeout=5)
        counters = httpx.get(url["hang"] + "/__admin/counters", timeout=5).json()
        assert (counters["requests"], counters["errors"]) == (1, 1)
    journal = tmp_path / "carrier-hang.jsonl"
    line = json.loads(journal.read_text())
    assert (line["status"], line["outcome"], line["cause"]) == (0, "error", "fault:hang")
    slow_line = json.loads((tmp_path / "carrier-slow.jsonl").read_text())
    assert (slow_line["status"], slow_line["cause"]) == (200, "fault:slow-body")


def test_pushing_carriers_push_from_the_fleet_and_reset_forgets_registrations(
    tmp_path: Path,
) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from mocks.fleet import serving
    from mocks.push.wiring import PushWiring
    from peakbench.config.fleet import FleetSpec

    received: list[bytes] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    fleet = FleetSpec.model_validate(
        {
            "carriers": [
                {
                    "name": "as",
                    "personality": "aftership",
                    "push": {"url": "/hooks/aftership", "cadence": {"min": "1h", "max": "2h"}},
                }
            ]
        }
    )
    # 2 store days per wall second: a parcel shipped now is delivered within seconds
    clock = ClockSpec(start_epoch=START, scale=172_800.0, wall_epoch=time.time())
    number = make_tracking_number(START, "domestic", 9)
    wiring = PushWiring(store_url=f"http://127.0.0.1:{hook.server_port}")
    try:
        with serving(fleet, clock, tmp_path, push=wiring) as ready:
            url = ready["carriers"]["as"]["base_url"]
            register = f"{url}/tracking/2026-07/trackings"
            headers = {"as-api-key": "k"}
            body = {"tracking_number": number}
            assert httpx.post(register, json=body, headers=headers).status_code == 201
            deadline = time.monotonic() + 10
            while not received and time.monotonic() < deadline:
                time.sleep(0.05)
            assert received, "no webhook arrived"
            assert httpx.post(register, json=body, headers=headers).status_code == 400  # exists
            assert httpx.post(f"{url}/__admin/reset").status_code == 200
            assert httpx.post(register, json=body, headers=headers).status_code == 201
    finally:
        hook.shutdown()
    assert number.encode() in received[0]
    assert (tmp_path / "push-as.jsonl").read_text().strip()
