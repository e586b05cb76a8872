"""The client matrix, JavaScript side: the official AfterShip (``@aftership/tracking-sdk``) and
EasyPost (``@easypost/api``) SDKs, installed from ``tests/clients/js`` (package.json and its
lock file; ``npm ci`` runs here when ``node_modules`` is missing), against real mock servers.

Skipped, with one line saying so, only where node is absent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from _servers import serving

from mocks.app import create_carrier_app
from mocks.journal import Journal
from peakbench.config.fleet import FleetSpec
from peakbench.plan.clock import ManualClock
from peakbench.plan.timeline import journey, make_tracking_number

CLIENTS = Path(__file__).parent / "clients" / "js"
START = 1_795_755_600.0  # 2026-11-27T05:00:00Z
DAY = 86400.0
ROUTES = ["track", "batch", "register"]
BEHAVIOURS: list[dict[str, Any]] = [
    {"type": "quota", "limit": 1, "per": "1h", "keys": ["k1"], "routes": ROUTES},
    {"type": "quota", "limit": 1, "per": "1h", "keys": ["k2"], "routes": ROUTES},
    {"type": "block", "violations": 1, "within": "1h", "ban": "2h", "keys": ["k2"]},
]
KEYS = {
    "aftership": ["as-good-0001", "as-slow-0002", "as-banned-0003", "as-other-0004"],
    "easypost": ["EZTKgood0001", "EZAKslow0002", "EZAKbanned0003", "EZAKother0004"],
}
NUMBER = make_tracking_number(START - 2 * DAY - 3777, "domestic", 44)

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node and npm are not installed: the JavaScript client matrix cannot run",
)


def node_modules() -> Path:
    """``tests/clients/js/node_modules``, installed from the lock file when missing (needs
    the npm registry once; CI may run ``npm ci`` there beforehand)."""
    installed = CLIENTS / "node_modules"
    if not (installed / "@aftership" / "tracking-sdk").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=CLIENTS,
            check=True,
            capture_output=True,
            timeout=600,
        )
    return installed


@contextmanager
def fleet_served(tmp_path: Path) -> Iterator[tuple[dict[str, str], Any]]:
    carriers = [
        {"name": name, "personality": name, "behaviours": BEHAVIOURS} for name in sorted(KEYS)
    ]
    fleet = FleetSpec.model_validate({"seed": 9, "carriers": carriers})
    clock = ManualClock(t=0.0, start_epoch=START)
    bases: dict[str, str] = {}
    with ExitStack() as stack:
        for spec in fleet.carriers:
            journal = Journal(spec.name, tmp_path / f"carrier-{spec.name}.jsonl")
            app = create_carrier_app(spec, fleet, clock, KEYS[spec.name], journal)
            bases[spec.name] = stack.enter_context(serving(app))
        yield bases, fleet.timeline_model(fleet.carriers[0])


def test_official_js_sdks_fetch_parse_and_report_429_ban_and_bad_key(tmp_path: Path) -> None:
    node_modules()
    with fleet_served(tmp_path) as (bases, model):
        plan = {name: {"base": bases[name], "keys": KEYS[name], "number": NUMBER} for name in KEYS}
        ran = subprocess.run(
            ["node", "matrix.js"],
            cwd=CLIENTS,
            input=json.dumps(plan),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert ran.returncode == 0, ran.stderr[-2000:]
    report = json.loads(ran.stdout)
    shown = [e.message for e in journey(model, NUMBER) if e.visible_at <= START]

    aftership = report["aftership"]
    assert aftership["slug"] == "ups" and aftership["checkpoints"] == shown
    assert aftership["tag"] in ("InTransit", "OutForDelivery", "Delivered")
    assert len(aftership["first_checkpoint_time"]) == 19  # carrier-local, no offset
    assert aftership["remaining"] == "10"  # rate-limit headers on a success too
    limited = aftership["limited"]
    assert (limited["ok"], limited["status"], limited["meta_code"]) == (False, 429, 429)
    assert limited["headers"]["x-ratelimit-remaining"] == "0"
    assert aftership["violation"]["status"] == 429
    assert (aftership["ban"]["status"], aftership["ban"]["meta_code"]) == (403, 403)
    assert aftership["bad"]["status"] == 401
    assert aftership["other_key"]["meta_code"] == 4004  # another account's tracking

    easypost = report["easypost"]
    assert (easypost["carrier"], easypost["mode"]) == ("USPS", "test")  # an EZTK key
    assert easypost["details"] == shown
    assert easypost["listed"] == easypost["batch"] == [NUMBER]
    assert easypost["limited"]["status"] == 429
    assert easypost["limited"]["code"] == "RATE_LIMITED"
    assert easypost["violation"]["status"] == 429 and easypost["ban"]["status"] == 403
    assert easypost["bad"]["status"] == 401
    assert easypost["other_key"]["status"] == 404  # another account's tracker
    assert easypost["deleted"] is True and easypost["gone"]["status"] == 404
