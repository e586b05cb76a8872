"""A restarted mock recovers its quota and ban state from its journal, or says it cannot.

In process with a ManualClock first (the start sequence the server runs, on real files), then a
real server process: driven into a ban and a spent daily quota, SIGKILLed, restarted on the same
journal folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from mocks.app import CarrierApp, create_carrier_app
from mocks.journal import Journal
from mocks.manifest import MANIFEST
from mocks.recovery import FRESH, RECOVERED, UNRECOVERABLE, plan, resume
from peakbench.config.fleet import CarrierSpec, FleetSpec
from peakbench.measure.segments import segment_files
from peakbench.plan.clock import ClockSpec, ManualClock
from peakbench.plan.timeline import make_tracking_number

START = 1_795_755_600.0
KEYS = ["key-a0", "key-a1"]
NUMBER = make_tracking_number(START - 2 * 86400, "domestic", 1)
DAILY = {"type": "quota", "limit": 5, "per": "1d", "window": "fixed"}
BAN = {"type": "block", "violations": 2, "within": "1h", "ban": "2h"}


def fleet_of(*behaviours: dict[str, Any], seed: int = 3) -> FleetSpec:
    carriers = [{"name": "acme", "behaviours": list(behaviours)}, {"name": "plain"}]
    return FleetSpec.model_validate({"seed": seed, "carriers": carriers})


def start(
    journals: Path,
    fleet: FleetSpec,
    clock: ManualClock,
    segment_bytes: int = 1 << 20,
    keep: int | None = None,
    *,
    with_manifest: bool = False,
) -> Any:
    """What the fleet server does at start: the carrier ``acme`` and its recovery (and the
    state manifest, ``with_manifest``)."""

    def build(carrier: CarrierSpec, journal: Journal) -> CarrierApp:
        return create_carrier_app(carrier, fleet, clock, KEYS, journal)

    keys = {"acme": KEYS, "plain": KEYS}
    apps, recoveries, manifest = resume(
        journals, fleet, clock, keys, build, segment_bytes=segment_bytes, keep=keep
    )
    for app in apps[1:]:
        app.journal.close()
    if with_manifest:
        return apps[0], recoveries[0], manifest
    return apps[0], recoveries[0]


def hit(app: CarrierApp, key: str, count: int = 1, step: float = 1.0) -> list[int]:
    """``count`` tracking requests with ``key``, ``step`` store seconds apart."""

    async def main() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        statuses = []
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            for _ in range(count):
                r = await client.get(f"/v1/trackings/{NUMBER}", headers={"X-Api-Key": key})
                statuses.append(r.status_code)
                app.clock.advance(step)  # type: ignore[attr-defined]
        return statuses

    return asyncio.run(main())


def spend(app: CarrierApp) -> None:
    """k0: the daily quota spent, then banned; k1: the daily quota spent, not banned."""
    assert hit(app, KEYS[0], 8) == [200] * 5 + [429, 429, 403]
    assert hit(app, KEYS[1], 6) == [200] * 5 + [429]


def test_first_start_is_fresh_and_a_restart_keeps_the_ban_and_the_spent_quota(
    tmp_path: Path,
) -> None:
    fleet = fleet_of(DAILY, BAN)
    app, first = start(tmp_path, fleet, ManualClock(0.0, START))
    assert (first.state, first.lines) == (FRESH, 0)
    assert "no journal yet" in first.line()
    spend(app)
    app.journal.close()

    app, again = start(tmp_path, fleet, ManualClock(600.0, START))
    assert again.state == RECOVERED, again.line()
    assert (again.lines, again.banned) == (14, 1)
    assert app.journal.counters.recovery == again.line()
    assert hit(app, KEYS[0]) == [403]  # still banned: 2 h from t≈7
    assert hit(app, KEYS[1]) == [429]  # the day's 5 are spent
    app.journal.close()

    # past the ban but inside the day: the ban is over, the quota still spent
    app, later = start(tmp_path, fleet, ManualClock(3 * 3600.0, START))
    assert (later.state, later.banned) == (RECOVERED, 0)
    assert hit(app, KEYS[0]) == [429]
    app.journal.close()

    # a day later the window has passed: served again
    app, next_day = start(tmp_path, fleet, ManualClock(86400.0 + 3600, START))
    assert next_day.state == RECOVERED
    assert hit(app, KEYS[0]) == [200]
    app.journal.close()


def test_the_ban_escalates_across_a_restart(tmp_path: Path) -> None:
    fleet = fleet_of(
        {"type": "quota", "limit": 1, "per": "1m", "window": "fixed"},
        {"type": "block", "violations": 2, "within": "1h", "escalate": ["10m", "3h"]},
    )
    app, _ = start(tmp_path, fleet, ManualClock(0.0, START))
    assert hit(app, KEYS[0], 4) == [200, 429, 429, 403]  # first ban: 10 min from t=2
    app.clock.advance(700)
    assert hit(app, KEYS[0], 3) == [200, 429, 429]  # second ban from t≈706, 3 h
    app.journal.close()
    app, recovered = start(tmp_path, fleet, ManualClock(2000.0, START))
    assert (recovered.state, recovered.banned) == (RECOVERED, 1)
    assert hit(app, KEYS[0]) == [403]  # fresh state would have served it (1 a minute)
    app.journal.close()


def test_a_changed_fleet_config_starts_fresh_and_says_why(tmp_path: Path) -> None:
    app, _ = start(tmp_path, fleet_of(DAILY, BAN), ManualClock(0.0, START))
    spend(app)
    app.journal.close()
    changed = fleet_of({**DAILY, "limit": 6}, BAN)
    app, recovery = start(tmp_path, changed, ManualClock(600.0, START))
    assert recovery.state == UNRECOVERABLE
    assert "fleet config changed" in recovery.line()
    assert recovery.line().endswith("starting fresh")
    assert hit(app, KEYS[0]) == [200]
    app.journal.close()
    # the new config is now what the journal is valid for, from where it stood
    app, again = start(tmp_path, changed, ManualClock(700.0, START))
    assert (again.state, again.lines) == (RECOVERED, 1)
    app.journal.close()


def test_missing_journal_missing_or_unreadable_manifest_and_clock_change(tmp_path: Path) -> None:
    fleet = fleet_of(DAILY, BAN)

    def prepared(folder: Path) -> Path:
        app, _ = start(folder, fleet, ManualClock(0.0, START))
        spend(app)
        app.journal.close()
        return folder

    cases = {
        "missing": ("carrier-acme.jsonl is missing", lambda d: (d / "carrier-acme.jsonl").unlink()),
        "no-manifest": ("no state manifest", lambda d: (d / MANIFEST).unlink()),
        "bad-manifest": ("unreadable", lambda d: (d / MANIFEST).write_text("{not json")),
    }
    for name, (why, spoil) in cases.items():
        folder = prepared(tmp_path / name)
        spoil(folder)
        app, recovery = start(folder, fleet, ManualClock(600.0, START))
        assert recovery.state == UNRECOVERABLE, name
        assert why in recovery.line(), recovery.line()
        assert hit(app, KEYS[0]) == [200], name
        app.journal.close()

    folder = prepared(tmp_path / "clock")
    app, recovery = start(folder, fleet, ManualClock(600.0, START + 3600))
    assert recovery.state == UNRECOVERABLE
    assert "clock changed" in recovery.line()
    app.journal.close()


def test_retention_that_deleted_needed_lines_cannot_recover_but_old_lines_do_not_matter(
    tmp_path: Path,
) -> None:
    fleet = fleet_of(DAILY, BAN)
    small: dict[str, Any] = {"segment_bytes": 400, "keep": 2}  # about two lines a segment
    app, _ = start(tmp_path / "day", fleet, ManualClock(0.0, START), **small)
    spend(app)
    app.journal.close()
    assert not (tmp_path / "day" / "carrier-acme.jsonl").exists()  # rotated away
    app, recovery = start(tmp_path / "day", fleet, ManualClock(600.0, START), **small)
    assert recovery.state == UNRECOVERABLE
    assert "deleted (retention)" in recovery.line() and "(1d3h)" in recovery.line()
    app.journal.close()

    # a one-minute quota needs one minute of lines: older segments may go
    minute = fleet_of({"type": "quota", "limit": 2, "per": "1m", "window": "sliding"})
    app, _ = start(tmp_path / "minute", minute, ManualClock(0.0, START), **small)
    assert hit(app, KEYS[0], 8, step=10.0) == [200, 200, 429, 429, 429, 429, 200, 200]
    app.journal.close()
    keys = {"acme": KEYS, "plain": KEYS}
    early = plan(tmp_path / "minute", minute, ManualClock(85.0, START), keys)[0].recovery
    assert early is not None and early.state == UNRECOVERABLE  # t=30 still counts at t=85
    app, recovery = start(tmp_path / "minute", minute, ManualClock(105.0, START), **small)
    assert recovery.state == RECOVERED, recovery.line()
    assert hit(app, KEYS[0]) == [429]  # 60 and 70 were admitted: full until t=120
    app.journal.close()


def admin(app: CarrierApp, method: str, path: str, body: object = None) -> int:
    async def main() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            r = await client.request(method, f"/__admin/{path}", json=body)
            return r.status_code

    return asyncio.run(main())


def test_admin_reset_counts_from_the_reset_and_live_behaviours_are_not_recovered(
    tmp_path: Path,
) -> None:
    fleet = fleet_of(DAILY, BAN)
    app, _, manifest = start(tmp_path, fleet, ManualClock(0.0, START), with_manifest=True)
    spend(app)
    assert admin(app, "POST", "reset") == 200
    manifest.watch([app])  # what the server's flush loop does every wall second
    assert hit(app, KEYS[1], 2) == [200, 200]
    app.journal.close()
    app, recovery = start(tmp_path, fleet, ManualClock(600.0, START))
    assert (recovery.state, recovery.lines, recovery.banned) == (RECOVERED, 2, 0)
    assert hit(app, KEYS[0]) == [200]  # the reset forgot the ban and the spent quota
    app.journal.close()

    app, _, manifest = start(tmp_path, fleet, ManualClock(700.0, START), with_manifest=True)
    assert admin(app, "PUT", "behaviours", [{"type": "quota", "limit": 1, "per": "1d"}]) == 200
    manifest.watch([app])
    assert hit(app, KEYS[0], 2) == [200, 429]
    app.journal.close()
    app, recovery = start(tmp_path, fleet, ManualClock(800.0, START))
    assert recovery.state == UNRECOVERABLE
    assert "changed through the admin API" in recovery.line()
    app.journal.close()


# -- a real server process ------------------------------------------------------------------------


def serve(run: Path, *extra: str) -> subprocess.Popen[bytes]:
    ready = run / "mocks.ready.json"
    ready.unlink(missing_ok=True)
    command = [sys.executable, "-m", "mocks", "serve", "--config", str(run / "fleet.json")]
    command += ["--clock", str(run / "clock.json"), "--journal-dir", str(run / "journals")]
    command += ["--ready-file", str(ready), *extra]
    env = {**os.environ, "PEAKBENCH_CARRIER_KEYS": json.dumps({"acme": KEYS})}
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE)


def wait_ready(
    run: Path, proc: subprocess.Popen[bytes], path: Path | None = None
) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    path = path or run / "mocks.ready.json"
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists():
            return dict(json.loads(path.read_text()))
        time.sleep(0.05)
    raise AssertionError(f"no ready file (exit {proc.poll()})")


def journal_lines(run: Path) -> int:
    path = run / "journals" / "carrier-acme.jsonl"
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def test_a_killed_server_restarted_on_its_journal_keeps_the_ban_and_the_spent_quota(
    tmp_path: Path,
) -> None:
    (tmp_path / "fleet.json").write_text(json.dumps(fleet_of(DAILY, BAN).model_dump(mode="json")))
    clock = ClockSpec(start_epoch=START, scale=1.0, wall_epoch=time.time())
    (tmp_path / "clock.json").write_text(json.dumps(clock.to_json()))
    proc = serve(tmp_path)
    try:
        ready = wait_ready(tmp_path, proc)
        assert ready["recovery"]["acme"]["state"] == FRESH
        url = ready["carriers"]["acme"]["base_url"]
        with httpx.Client(base_url=url, timeout=10) as client:

            def statuses(key: str, count: int) -> list[int]:
                headers = {"X-Api-Key": key}
                return [
                    client.get(f"/v1/trackings/{NUMBER}", headers=headers).status_code
                    for _ in range(count)
                ]

            assert statuses(KEYS[0], 8) == [200] * 5 + [429, 429, 403]
            assert statuses(KEYS[1], 6) == [200] * 5 + [429]
        deadline = time.monotonic() + 5
        while journal_lines(tmp_path) < 14 and time.monotonic() < deadline:
            time.sleep(0.1)  # flushed every wall second
        assert journal_lines(tmp_path) == 14
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        assert proc.returncode == -signal.SIGKILL

        proc = serve(tmp_path)
        ready = wait_ready(tmp_path, proc)
        recovery = ready["recovery"]["acme"]
        assert (recovery["state"], recovery["lines"], recovery["banned"]) == (RECOVERED, 14, 1)
        assert ready["recovery"]["plain"]["state"] == FRESH
        url = ready["carriers"]["acme"]["base_url"]
        with httpx.Client(base_url=url, timeout=10) as client:
            banned = client.get(f"/v1/trackings/{NUMBER}", headers={"X-Api-Key": KEYS[0]})
            assert banned.status_code == 403
            assert banned.json()["error"]["code"] == "blocked"
            spent = client.get(f"/v1/trackings/{NUMBER}", headers={"X-Api-Key": KEYS[1]})
            assert spent.status_code == 429
            assert 80000 < int(spent.headers["retry-after"]) <= 86400
            counters = client.get("/__admin/counters").json()
            assert counters["recovery"].startswith("acme: recovered quota and ban state: 14")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0
        log = [line for line in err.decode().splitlines() if line.startswith("mocks: acme")]
        assert len(log) == 1 and "recovered" in log[0], err.decode()

        # the config changes: the restart says it cannot, one line, and serves fresh
        changed = fleet_of({**DAILY, "limit": 50}, BAN)
        (tmp_path / "fleet.json").write_text(json.dumps(changed.model_dump(mode="json")))
        proc = serve(tmp_path)
        ready = wait_ready(tmp_path, proc)
        message = ready["recovery"]["acme"]["message"]
        assert ready["recovery"]["acme"]["state"] == UNRECOVERABLE
        assert "fleet config changed" in message and message.endswith("starting fresh")
        url = ready["carriers"]["acme"]["base_url"]
        with httpx.Client(base_url=url, timeout=10) as client:
            fresh = client.get(f"/v1/trackings/{NUMBER}", headers={"X-Api-Key": KEYS[0]})
            assert fresh.status_code == 200
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert f"mocks: {message}" in err.decode().splitlines()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_a_standalone_fleet_restarted_on_its_journal_dir_goes_on_with_its_clock_and_bans(
    tmp_path: Path,
) -> None:
    carriers = [{"name": "acme", "behaviours": [DAILY, BAN]}]
    fleet = {"seed": 1, "clock": {"scale": 60}, "carriers": carriers}
    (tmp_path / "fleet.yaml").write_text(json.dumps(fleet))
    ready_file = tmp_path / "ready.json"
    command = [sys.executable, "-m", "mocks", "serve", "--fleet", str(tmp_path / "fleet.yaml")]
    command += ["--journal-dir", str(tmp_path / "j"), "--ready-file", str(ready_file)]
    command += ["--journal-segment-bytes", "1KiB", "--journal-keep", "50"]
    env = {**os.environ, "PEAKBENCH_CARRIER_KEYS": json.dumps({"acme": KEYS})}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ready = wait_ready(tmp_path, proc, ready_file)
        url = ready["carriers"]["acme"]["base_url"]
        with httpx.Client(base_url=url, timeout=10) as client:
            got = [
                client.get(f"/v1/trackings/{NUMBER}", headers={"X-Api-Key": KEYS[0]}).status_code
                for _ in range(8)
            ]
            assert got == [200] * 5 + [429, 429, 403]
            before = client.get("/__admin/clock").json()["t"]
        time.sleep(1.3)  # one journal flush
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        assert len(segment_files(tmp_path / "j" / "carrier-acme.jsonl")) >= 2
        ready_file.unlink()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ready = wait_ready(tmp_path, proc, ready_file)
        assert ready["recovery"]["acme"]["state"] == RECOVERED
        with httpx.Client(base_url=ready["carriers"]["acme"]["base_url"], timeout=10) as client:
            assert client.get("/__admin/clock").json()["t"] > before + 60  # ×60, ≥ 1.3 s later
            banned = client.get(f"/v1/trackings/{NUMBER}", headers={"X-Api-Key": KEYS[0]})
            assert banned.status_code == 403
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
