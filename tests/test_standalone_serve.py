"""``peakbench mocks serve`` on a taken port says which port and how out, in one line, exit 2;
``peakbench store serve`` alone serves the sandbox store on a free port with nothing given."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another socket listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _peakbench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peakbench", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_mocks_serve_on_a_busy_port_names_it_and_suggests_port_0(
    tmp_path: Path, busy_port: int
) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        f"listen: {{mode: shared, port: {busy_port}}}\n"
        "carriers:\n  - name: acme\n    behaviours: [{type: quota, limit: 1, per: 1s}]\n"
    )
    done = _peakbench("mocks", "serve", "--fleet", str(fleet), "--journal-dir", str(tmp_path / "j"))
    assert done.returncode == 2
    assert done.stdout == ""  # no carrier table: nothing was served
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"port {busy_port} on 127.0.0.1 is busy" in done.stderr
    assert "port: 0" in done.stderr and "Traceback" not in done.stderr

    # a run's child: the same line, under the mocks' own prefix, and no ready file
    spec = {"listen": {"mode": "shared", "port": busy_port}, "carriers": [{"name": "acme"}]}
    (tmp_path / "fleet.json").write_text(json.dumps(spec))
    clock = {"start_epoch": 1_795_755_600.0, "scale": 60.0, "wall_epoch": time.time()}
    (tmp_path / "clock.json").write_text(json.dumps(clock))
    child = _peakbench(
        "mocks", "serve", "--config", str(tmp_path / "fleet.json"),
        "--clock", str(tmp_path / "clock.json"), "--journal-dir", str(tmp_path / "j2"),
        "--ready-file", str(tmp_path / "ready.json"),
    )  # fmt: skip
    assert child.returncode == 2
    last = child.stderr.strip().splitlines()[-1]
    assert last.startswith(f"mocks serve: port {busy_port} on 127.0.0.1 is busy"), child.stderr
    assert "port: 0" in last and not (tmp_path / "ready.json").exists()


def _lines(stream: object) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _until_ready(lines: queue.Queue[str], timeout_s: float = 30.0) -> str:
    out, deadline = "", time.monotonic() + timeout_s
    while "Ctrl-C to stop." not in out:
        out += lines.get(timeout=max(0.1, deadline - time.monotonic()))
    return out


def _store_alone(tmp_path: Path, env_credentials: str | None) -> tuple[str, str, str]:
    """Start ``peakbench store serve`` with no options, use it, Ctrl-C it: (stdout, stderr,
    the credentials as JSON), after checking it served and exited 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEAKBENCH_")}
    env["TMPDIR"] = str(tmp_path)
    if env_credentials is not None:
        env["PEAKBENCH_STORE_CREDENTIALS"] = env_credentials
    proc = subprocess.Popen(
        [sys.executable, "-m", "peakbench", "store", "serve"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        out = _until_ready(_lines(proc.stdout))
        url = re.search(r"sandbox store on (http://127\.0\.0\.1:\d+)", out)
        assert url is not None, out
        if env_credentials is None:
            found = re.search(r"credentials +generated into (\S+) \(0600\)", out)
            assert found is not None, out
            path = Path(found.group(1))
            assert path.parent.parent == tmp_path and stat.S_IMODE(path.stat().st_mode) == 0o600
            credentials = path.read_text()
        else:
            assert "credentials  from PEAKBENCH_STORE_CREDENTIALS" in out
            credentials = env_credentials
        pair = json.loads(credentials)
        auth = (pair["consumer_key"], pair["consumer_secret"])
        with httpx.Client(base_url=url.group(1), timeout=10) as client:
            assert client.get("/__admin/health").json()["ok"] is True
            body = {"status": "processing", "line_items": [{"product_id": 1, "quantity": 1}]}
            created = client.post("/wp-json/wc/v3/orders", json=body, auth=auth)
            assert created.status_code == 201, created.text
            order = created.json()
            assert client.get("/wp-json/wc/v3/orders", auth=("ck_x", "cs_x")).status_code == 401
            page = client.get(f"/order-tracking/{order['id']}", params={"key": order["order_key"]})
            assert page.status_code == 200
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, err
    return out + rest, err, credentials


def test_store_serve_alone_serves_on_a_free_port_with_generated_credentials(
    tmp_path: Path,
) -> None:
    out, err, credentials = _store_alone(tmp_path, None)
    secret = json.loads(credentials)["consumer_secret"]
    assert secret.startswith("cs_") and secret not in out + err
    assert "plugin       direct-polling" in out and "store.sqlite" in out


def test_store_serve_alone_takes_credentials_from_the_environment(tmp_path: Path) -> None:
    pair = json.dumps({"consumer_key": "ck_mine", "consumer_secret": "cs_mine_secret"})
    out, err, _ = _store_alone(tmp_path, pair)
    assert "cs_mine_secret" not in out + err
    assert not list(tmp_path.glob("*/store-credentials.json"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--config", "{tmp}/missing.json"], ["--config", "missing.json"]),
        (["--clock", "{tmp}/bad.json"], ["--clock", "bad.json"]),
        (["--db", "{tmp}/no/such/store.sqlite"], ["--db", "no folder"]),
    ],
)
def test_store_serve_says_what_it_needs_in_one_line(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    (tmp_path / "bad.json").write_text("{")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEAKBENCH_")}
    env["TMPDIR"] = str(tmp_path)
    done = _peakbench("store", "serve", *(a.replace("{tmp}", str(tmp_path)) for a in args), env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and all(w in done.stderr for w in words), done.stderr
    assert not list(tmp_path.glob("peakbench-store-*"))  # nothing made


def test_a_runs_store_child_still_needs_its_credentials(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEAKBENCH_")}
    done = _peakbench("store", "serve", "--ready-file", str(tmp_path / "ready.json"), env=env)
    assert done.returncode == 2
    assert "PEAKBENCH_STORE_CREDENTIALS is not set" in done.stderr
    assert not (tmp_path / "ready.json").exists()


def test_a_detached_fleet_outlives_the_command_that_started_it(tmp_path: Path) -> None:
    example = (Path(__file__).parent.parent / "profiles/fleets/fleet-example.yaml").read_text()
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(example.replace("port: 8443", "port: 0", 1))
    log, ready = tmp_path / "fleet.log", tmp_path / "ready.json"
    proc = _peakbench(
        "mocks", "serve", "--fleet", str(fleet), "--detach", "--log", str(log),
        "--ready-file", str(ready), "--journal-dir", str(tmp_path / "journals"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pid = int(re.search(r"as pid (\d+)", proc.stdout).group(1))  # type: ignore[union-attr]
    try:
        # the command returned; the fleet runs on in its own session, adopted by init
        stat_fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(stat_fields[3]) == pid  # its own session (setsid)
        url = json.loads(ready.read_text())["listen"]["base_url"]
        health = httpx.get(f"{url}/__admin/health", timeout=10, trust_env=False)
        assert health.status_code == 200 and health.json()["ok"]
        assert f"kill {pid}" in proc.stdout and str(log) in proc.stdout
    finally:
        os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(") ")[
            1
        ].startswith("Z"):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the detached fleet did not stop on SIGTERM")


def test_detach_is_for_a_standalone_fleet_only() -> None:
    proc = _peakbench("mocks", "serve", "--detach", "--config", "x.json")
    assert proc.returncode == 2 and "--detach goes with --fleet" in proc.stderr
