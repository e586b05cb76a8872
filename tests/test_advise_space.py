"""The advise search space and its validation: pure, nothing runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from peakbench.advise import space, verdict
from peakbench.config.loader import ProfileError, parse_profile

PROFILE: dict[str, Any] = {
    "name": "space",
    "seed": 5,
    "target": {"plugin": {"interval": "15m", "batch_size": 35, "on_throttle": "ignore"}},
    "peak": {"curve": "flat", "peak_orders_per_hour": 100, "order_window": "8h"},
    "carriers": [{"name": "generic", "behaviours": [{"type": "quota", "limit": 50, "per": "1d"}]}],
}


def _profile(advise: dict[str, Any] | None = None) -> Any:
    data = dict(PROFILE)
    if advise is not None:
        data["advise"] = advise
    return parse_profile(yaml.safe_dump(data), "space.yaml")


def test_the_default_space_tunes_the_current_strategy_and_tries_the_others() -> None:
    profile = _profile()
    chosen = space.settings(profile, space.resolve(profile))
    assert chosen[0].current and chosen[0].strategy == "direct-polling"
    mine = [s for s in chosen if s.strategy == "direct-polling" and not s.current]
    # interval × batch_size × on_throttle, less the combination the profile already runs
    assert len(mine) == 6 * 2 * 2 - 1
    # the fleet has no pushing carrier: saas-push cannot run, so it is not offered
    assert {s.strategy for s in chosen} == {"direct-polling", "well-behaved", "live-refresh"}
    pts = space.points(profile, space.resolve(profile))
    assert [p.multiplier for p in pts[:2]] == [1.0, 1.0] and pts[-1].multiplier == 2.0


def test_a_point_is_an_ordinary_profile_with_its_knobs_peak_and_seed() -> None:
    profile = _profile(
        {
            "knobs": {"interval": ["15m", "1h"]},
            "alternatives": {"live-refresh": {"ttl": ["2h"]}},
            "multipliers": [1, 1.5],
            "seeds": 2,
        }
    )
    spec = space.resolve(profile)
    chosen = space.settings(profile, spec)
    # 15m is the current interval: the grid does not run it twice
    assert [s.key for s in chosen] == [
        "direct-polling (current)",
        "direct-polling interval=1h",
        "live-refresh ttl=2h",
    ]
    pts = space.points(profile, spec)
    hourly = next(p for p in pts if p.multiplier == 1.5 and "interval=1h" in p.setting.key)
    one = space.point_profile(profile, hourly, 1)
    assert one.target.plugin.interval == 3600 and one.target.plugin.batch_size == 35
    assert one.peak.peak_orders_per_hour == 150 and one.seed == 6 and one.advise is None
    live = space.point_profile(
        profile, next(p for p in pts if p.setting.strategy == "live-refresh"), 0
    )
    # an alternative takes its preset (live-refresh polls every 6 h) and the given TTL
    assert live.target.plugin.strategy == "live-refresh"
    assert (live.target.plugin.ttl, live.target.plugin.interval) == (7200, 6 * 3600)


def test_bad_advise_sections_are_every_error_at_once_with_lines() -> None:
    text = yaml.safe_dump(
        {
            **PROFILE,
            "advise": {
                "knobs": {"interval": ["fast"], "batchsize": [3]},
                "multipliers": [0],
                "seeds": 0,
            },
        },
        sort_keys=False,
    )
    with pytest.raises(ProfileError) as err:
        parse_profile(text, "bad.yaml")
    lines = [str(i) for i in err.value.issues]
    assert any("advise.knobs.interval[0]" in x and "duration" in x for x in lines), lines
    assert any("advise.knobs.batchsize" in x and "did you mean 'batch_size'" in x for x in lines)
    assert any("advise.multipliers[0]" in x for x in lines)
    assert any("advise.seeds" in x for x in lines)
    assert all(x.startswith("bad.yaml:") for x in lines)


def test_too_large_a_space_is_refused_before_anything_runs() -> None:
    profile = _profile(
        {"knobs": {"interval": [f"{i}m" for i in range(1, 51)], "batch_size": list(range(1, 51))}}
    )
    with pytest.raises(ValueError, match="at most 5,000"):
        space.points(profile, space.resolve(profile))


def test_the_frontier_keeps_only_undominated_points() -> None:
    def point(pid: int, stale: float, calls: float) -> dict[str, Any]:
        return {
            "id": pid,
            "staleness_p95_s": stale,
            "stale_views_share": 0.0,
            "complaints_per_1000_orders": 1.0,
            "requests": calls,
            "quota_share": calls / 100,
            "p_outage": 0.0,
        }

    points = [point(0, 600, 50), point(1, 900, 20), point(2, 900, 60), point(3, 300, 90)]
    assert verdict.frontier(points) == [0, 1, 3]  # 2 is slower and dearer than 0


def test_advise_refuses_bad_input_with_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**PROFILE, "advise": {"knobs": {"on_throttle": ["sometimes"]}}}))
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "advise", str(bad), "--results", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "advise.knobs.on_throttle[0]" in proc.stderr
    assert not (tmp_path / "r").exists()


def _fig(
    pid: int, strategy: str, m: float, passed: bool, room: float, calls: float, **kw: Any
) -> dict[str, Any]:
    return {
        "id": pid, "strategy": strategy, "setting": kw.get("setting", f"{strategy} #{pid}"),
        "current": kw.get("current", False), "multiplier": m, "passed": passed,
        "headroom": room, "requests": calls, "failed_checks": kw.get("failed", []),
    }  # fmt: skip


def test_when_no_tuning_passes_advise_names_the_strategy_that_does() -> None:
    figures = [
        _fig(0, "direct-polling", 1, False, -0.5, 900, current=True, failed=["longest_outage_s"]),
        _fig(1, "direct-polling", 1, False, -0.1, 300, failed=["staleness_p95_s"]),
        _fig(2, "well-behaved", 1, True, 0.30, 250),
        _fig(3, "live-refresh", 1, True, 0.32, 700),
    ]
    rec = verdict.recommend(figures, "direct-polling")
    assert rec["status"] == "replace" and rec["point"] == 2  # within 5 points: fewer calls wins
    assert rec["text"].startswith("no tuning of direct-polling passes; well-behaved #2 passes")
    figures.append(_fig(4, "direct-polling", 1, True, 0.10, 400))
    rec = verdict.recommend(figures, "direct-polling")
    assert (rec["status"], rec["point"], rec["alternative"]) == ("tune", 4, "well-behaved #2")


def test_the_breaking_point_is_the_smallest_multiplier_failing_each_slo() -> None:
    figures = [
        _fig(0, "direct-polling", 1, True, 0.2, 10, setting="s"),
        _fig(1, "direct-polling", 2, False, -0.1, 20, setting="s", failed=["staleness_p95_s"]),
        _fig(2, "direct-polling", 1.5, False, -0.1, 15, setting="s", failed=["longest_outage_s"]),
    ]
    checks = ["staleness_p95_s", "longest_outage_s", "stale_views_share"]
    assert verdict.breaking_point(figures, "s", checks) == {
        "staleness_p95_s": 2,
        "longest_outage_s": 1.5,
        "stale_views_share": None,
        "any": 1.5,
    }
