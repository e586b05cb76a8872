"""The four plugin presets on one small shared peak: the differences one expects, by direction.

Four real runs start at once in a module fixture (~40 s wall): the same seed, peak and fleet
(a generic carrier ``usps`` whose batch route has a small daily quota and bans callers that keep
pushing, and a TrackShip-style aggregator), one preset each.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mocks.store.policy import Reply
from mocks.store.presets import Guard, backoff_delay, webhook_tracking
from peakbench.config.loader import load_profile
from peakbench.config.profile import Profile
from peakbench.measure.freshness import assess_view
from peakbench.measure.journals import replay_records
from peakbench.plan.timeline import journey
from peakbench.run.candidates import candidate_profiles, write_comparison

HOUR = 3600.0
TTL = 1800.0
CADENCE = (2 * HOUR, 6 * HOUR)
PEAK: dict[str, Any] = {
    "name": "presets",
    "seed": 11,
    "clock": {"start": "2026-11-27T00:00:00Z", "scale": 2400, "duration": "12h"},
    "peak": {"curve": "flat", "peak_orders_per_hour": 60, "order_window": "8h"},
    "fulfilment": {"median": "30m", "p90": "1h"},
    "carriers": [
        {
            "name": "usps",
            "ingestion_lag": {"median": "5m", "p90": "15m"},
            "behaviours": [
                {"type": "latency", "distribution": "fixed", "delay": "100ms"},
                {"type": "quota", "limit": 60, "per": "1d", "routes": ["batch"]},
                {"type": "block", "violations": 5, "within": "10m", "ban": "3h"},
            ],
        },
        {
            "name": "trackship",
            "personality": "trackship",
            "share": 1e-9,
            "ingestion_lag": {"median": "5m", "p90": "15m"},
            "push": {
                "url": "/wp-json/wc/v1/tracking-webhook",
                "cadence": {"min": "2h", "max": "6h"},
            },
        },
    ],
    "slo": {"staleness_p95": "1h", "longest_outage": "30m"},
    "replay": {"users": 24, "warmup_wall_s": 4},
}
CANDIDATES: dict[str, dict[str, Any]] = {
    "naive": {"preset": "direct-polling", "interval": "1h"},
    "polite": {"preset": "well-behaved", "interval": "1h", "budget_per_day": 50, "burst": 3},
    "live": {"preset": "live-refresh", "ttl": "30m", "interval": "6h"},
    "push": {"preset": "saas-push"},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("presets")
    results = tmp / "results"
    procs = {}
    for name, plugin in CANDIDATES.items():
        data = {**json.loads(json.dumps(PEAK)), "name": name, "target": {"plugin": plugin}}
        profile = tmp / f"{name}.yaml"
        profile.write_text(yaml.safe_dump(data))
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(results)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    out = {}
    for name, proc in procs.items():
        log, _ = proc.communicate(timeout=180)
        found = sorted(results.glob(f"*-{name}-*"))
        assert found and (found[-1] / "summary.json").exists(), log
        out[name] = found[-1]
    return out


def summary(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "summary.json").read_text())
    return data


def requests(root: Path, outcome: str) -> int:
    path = root / "journals" / "carrier-usps.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return sum(1 for r in lines if r["outcome"] == outcome)


def test_every_preset_run_is_valid(runs: dict[str, Path]) -> None:
    for name, root in runs.items():
        s = summary(root)
        assert s["valid"], (name, s["invalid_reasons"])
        assert s["plugin"]["strategy"] == CANDIDATES[name]["preset"]
        assert s["refresh_latency_s"]["count"] > 50, name


def test_naive_poller_is_throttled_and_banned_and_staleness_grows(runs: dict[str, Path]) -> None:
    root = runs["naive"]
    assert requests(root, "throttled") > 0 and requests(root, "blocked") > 0
    bans = [o for o in summary(root)["outages"] if o["carrier"] == "usps" and o["cause"] == "ban"]
    assert bans, summary(root)["outages"]
    # the outage pushes views past the SLO: staleness grows while the carrier refuses
    assert sum(o["views_affected"] for o in bans) > 0


def test_well_behaved_poller_avoids_the_ban(runs: dict[str, Path]) -> None:
    root = runs["polite"]
    assert requests(root, "ok") > 10
    assert requests(root, "blocked") == 0
    outages = summary(root)["outages"]
    assert not [o for o in outages if o["cause"] == "ban"], outages
    assert requests(runs["naive"], "ok") + requests(runs["naive"], "throttled") > requests(
        root, "ok"
    )  # it stayed under its budget where the naive one kept calling


def test_push_is_bounded_by_the_aggregator_cadence(runs: dict[str, Path]) -> None:
    push = summary(runs["push"])
    assert requests(runs["push"], "ok") == 0  # nothing polls the carrier
    latency = push["refresh_latency_s"]
    lo, hi = CADENCE
    assert lo / 2 <= latency["p50"] <= hi + HOUR, latency
    assert latency["p95"] <= hi + 2 * HOUR, latency
    # ≈ the aggregator's cadence, not the plugin's polling interval


def test_live_refresh_staleness_at_view_is_bounded_by_the_ttl(runs: dict[str, Path]) -> None:
    root = runs["live"]
    profile = Profile.model_validate(json.loads((root / "run.json").read_text())["profile"])
    model = profile.fleet.timeline_model(profile.carriers[0])
    start = profile.start_epoch
    with sqlite3.connect(root / "store.sqlite") as db:
        shipped = dict(db.execute("SELECT tracking_number, shipped_t FROM shipments"))
    records = replay_records(root / "journals" / "replay.jsonl")
    views = [v for v in records if v.kind == "view" and v.ok and v.shown is not None]
    assert len(views) > 100
    stale = []
    for v in views:
        number = v.tracking_number
        shown = v.shown or 0
        f = assess_view(journey(model, number), start, v.start, shown, shipped[number], number)
        stale.append(f.staleness)
    # a view refreshes whatever is older than the TTL, so nothing it shows is staler than that
    # (a small margin for the carrier round trip racing the page)
    assert max(stale) <= TTL + 300.0, sorted(stale)[-5:]
    assert summary(root)["staleness_s"]["p95"] <= TTL + 300.0


def test_candidates_profile_splits_and_compares(runs: dict[str, Path], tmp_path: Path) -> None:
    profile = load_profile(Path("profiles/candidates.yaml"), [])
    split = candidate_profiles(profile)
    assert [n for n, _ in split] == ["naive", "polite", "live", "push"]
    assert {p.target.plugin.strategy for _, p in split} == {
        "direct-polling",
        "well-behaved",
        "live-refresh",
        "saas-push",
    }
    assert all(p.seed == profile.seed and p.peak == profile.peak for _, p in split)
    result = write_comparison(tmp_path, list(runs.items()), [0, 0, 0, 0])
    assert len(result.pairs) == 3
    doc = json.loads((tmp_path / "candidates.json").read_text())
    assert doc["baseline"] == "naive" and set(doc["verdicts"]) == {"polite", "live", "push"}
    assert "peakbench comparison" in (tmp_path / "comparison.html").read_text()


def test_guard_spreads_calls_and_breaks_the_circuit() -> None:
    guard = Guard(rate=1 / 60, burst=2, threshold=3, cooldown=600.0)
    assert [guard.wait(0.0), guard.wait(0.0)] == [0.0, 0.0]  # the burst
    assert guard.wait(0.0) == pytest.approx(60.0)  # then one call a minute
    assert guard.wait(60.0) == 0.0
    refused = Reply(429, "throttled", retry_after=30.0)
    for t in (100.0, 200.0, 300.0):
        guard.record(refused, t)
    assert guard.is_open and guard.wait(400.0) == pytest.approx(500.0)  # open for the cooldown
    assert guard.wait(900.0) == 0.0  # half-open: one trial call ...
    assert guard.wait(900.0) > 0  # ... and nobody else
    guard.record(refused, 900.0)  # the trial is refused: open again, twice as long
    assert guard.wait(901.0) == pytest.approx(1199.0)
    assert guard.wait(2200.0) == 0.0
    guard.record(Reply(200, "ok"), 2200.0)
    assert not guard.is_open


def test_backoff_honours_retry_after_and_doubles_with_jitter() -> None:
    rng = random.Random(1)
    assert backoff_delay(Reply(429, "throttled", 120.0), 5, 60, 3600, 0.5, rng) == 120.0
    bare = Reply(503, "error")
    delays = [backoff_delay(bare, a, 60, 3600, 0.5, rng) for a in (1, 2, 3, 10)]
    assert 30 <= delays[0] <= 60 and 60 <= delays[1] <= 120 and 120 <= delays[2] <= 240
    assert 1800 <= delays[3] <= 3600  # capped


def test_trackship_push_becomes_the_shown_events() -> None:
    from mocks.carriers.trackship import push_document
    from peakbench.plan.timeline import TimelineModel, make_tracking_number, visible_count

    model = TimelineModel(seed=3)
    number = make_tracking_number(1_795_755_600.0, "cross-border", 7)
    events = journey(model, number)
    shown = events[: visible_count(events, events[-1].visible_at)]
    doc = push_document(number, 12, "", events, shown, events[-1].visible_at)
    pushed = webhook_tracking(json.loads(json.dumps(doc)))
    assert pushed is not None and pushed.tracking_number == number
    assert len(pushed.events) == len(shown)  # origin and destination events, none lost
    assert [e["status"] for e in pushed.events] == [e.status for e in shown]
    assert pushed.status == "delivered"
    assert webhook_tracking({"tracking_number": number, "events": "nope"}) is None
