"""advise runs once what cannot differ: settings the same but for on_throttle, where no carrier
refused the plugin (peakbench.advise.sharing), and answers exactly as if it had run them all.

The case is the hand-checked quota case of test_advise_quota: one carrier with a daily quota of
20 calls, a 12-hour run whose parcels are all open from the first poll. Polling every 30 minutes
needs 23 calls, so the carrier refuses the plugin and on_throttle decides what it does next;
every 90 minutes needs 7 and the current 45 minutes 15, so no call is refused and on_throttle is
never read.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from _profiles import QUOTA_CASE
from rich.console import Console

from peakbench.advise import sharing, space
from peakbench.cli.advise import advise, plan
from peakbench.config.loader import parse_profile

POLICIES = ["ignore", "backoff", "stop-run"]
CASE: dict[str, Any] = {
    **copy.deepcopy(QUOTA_CASE),
    "name": "sharing",
    "advise": {
        "knobs": {"interval": ["30m", "45m", "90m"], "on_throttle": POLICIES},
        "alternatives": {},
        "multipliers": [1],
        "seeds": 1,
    },
}


def _profile(advise: dict[str, Any] | None = None) -> Any:
    data = {**CASE, "advise": {**CASE["advise"], **(advise or {})}}
    return parse_profile(yaml.safe_dump(data), "sharing.yaml")


def _setting(task: Any) -> tuple[float, str, float, int]:
    plugin = task.profile.target.plugin
    return (
        plugin.interval,
        plugin.on_throttle,
        task.profile.peak.peak_orders_per_hour,
        task.seed_index,
    )


def test_only_runs_the_same_but_for_on_throttle_wait_for_one_another(tmp_path: Path) -> None:
    profile = _profile({"multipliers": [1, 2], "seeds": 2})
    _, tasks = plan(profile, tmp_path, "sharing.yaml")
    pairs = {_setting(t): t.measured_by for t in tasks}
    assert len(tasks) == 9 * 2 * 2  # the current 45m ignore and the 8 others of the 3 × 3 grid
    for t in tasks:
        interval, policy, orders, seed = _setting(t)
        if policy == "ignore":  # the first of each group in the order: it is measured
            assert t.measured_by is None
            continue
        measured = tasks[t.measured_by] if t.measured_by is not None else None
        assert measured is not None and t.measured_by < tasks.index(t)
        # the same interval, peak size and seed; only on_throttle differs
        assert _setting(measured) == (interval, "ignore", orders, seed)
    assert sum(m is None for m in pairs.values()) == 3 * 2 * 2
    # the current setting (45m ignore) is the one the 45m backoff and stop-run runs wait for
    pts = space.points(profile, space.resolve(profile))
    current = [t for t in tasks if t.point in {p.index for p in pts if p.setting.current}]
    waiting = [t for t in tasks if t.measured_by is not None and tasks[t.measured_by] in current]
    assert {_setting(t)[1] for t in waiting} == {"backoff", "stop-run"}
    # --run-every-point: none waits
    _, every = plan(profile, tmp_path, "sharing.yaml", share=False)
    assert all(t.measured_by is None for t in every)


def test_other_strategies_and_other_knobs_never_share() -> None:
    base = _profile()
    key = sharing.share_key(base)
    assert key is not None
    for field, value in [("interval", 1800.0), ("batch_size", 20), ("request_timeout", 5.0)]:
        plugin = base.target.plugin.model_copy(update={field: value})
        other = base.model_copy(
            update={"target": base.target.model_copy(update={"plugin": plugin})}
        )
        assert sharing.share_key(other) != key, field
    assert sharing.share_key(base.model_copy(update={"seed": 8})) != key
    assert sharing.share_key(base.model_copy(update={"name": "renamed"})) == key
    well = base.target.plugin.model_copy(update={"strategy": "well-behaved"})
    guarded = base.model_copy(update={"target": base.target.model_copy(update={"plugin": well})})
    assert sharing.share_key(guarded) is None


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The same advise three ways: sharing in a pool, sharing in this process, every point run."""
    out: dict[str, dict[str, Any]] = {}
    for name, workers, share in [("pool", 2, True), ("inline", 1, True), ("every", 2, False)]:
        tmp = tmp_path_factory.mktemp(name)
        console = Console(file=io.StringIO(), width=140)
        doc = advise(_profile(), "sharing.yaml", tmp, console, workers=workers, share=share)
        doc["root"] = next(tmp.glob("*-sharing-advise-*"))
        doc["text"] = console.file.getvalue()  # type: ignore[attr-defined]
        out[name] = doc
    return out


def _without_runs(point: dict[str, Any]) -> dict[str, Any]:
    """A point's figures, less which run folder measured them and how."""
    how = {"run", "same_as", "branched_from"}
    runs = [{k: v for k, v in r.items() if k not in how} for r in point["runs"]]
    return {**point, "runs": runs}


def test_sharing_gives_the_answer_of_running_every_point(both: dict[str, dict[str, Any]]) -> None:
    every = both["every"]
    assert every["runs_shared"] == 0 and every["runs_done"] == every["runs_total"] == 9
    assert every["runs_branched"] == 0
    for name in ("pool", "inline"):
        doc = both[name]
        assert doc["runs_done"] == 9 and not doc["partial"]
        assert [_without_runs(p) for p in doc["points"]] == [
            _without_runs(p) for p in every["points"]
        ], name
        for key in ("frontier", "recommendation", "breaking_point", "exit_code", "comparison"):
            assert doc[key] == every[key], (name, key)
        # 45m and 90m backoff and stop-run took the ignore runs' figures: 4 of 9 not run
        assert doc["runs_shared"] == 4
        assert len(list((doc["root"] / "runs").iterdir())) == 5
        assert "4 of 9 runs were not run" in " ".join(doc["text"].split())
        # 30m backoff and stop-run ran from the 30m ignore run's first refusal on
        assert doc["runs_branched"] == 2
        assert "2 of 9 runs were forked from another run's world" in " ".join(doc["text"].split())
        page = (doc["root"] / "advise.html").read_text(encoding="utf-8")
        assert "4 of them not run" in page and "(the run of point" in page
        assert "2 forked from another run's world" in page
        assert not (doc["root"] / "runs" / ".branches").exists()


def test_a_run_the_carrier_refused_is_never_shared(both: dict[str, dict[str, Any]]) -> None:
    doc = both["pool"]
    ids = {p["id"]: p for p in doc["points"]}
    at_30m = {
        p["knobs"]["on_throttle"]: p for p in doc["points"] if p["knobs"].get("interval") == "30m"
    }
    assert set(at_30m) == set(POLICIES)
    for p in at_30m.values():
        (run,) = p["runs"]
        assert run["same_as"] is None and run["plugin_refusals"] > 0
        forked = p["knobs"]["on_throttle"] != "ignore"  # forked at the ignore run's refusal
        assert run["branched_from"] == (at_30m["ignore"]["id"] if forked else None)
    # there on_throttle matters: backing off asks the exhausted quota less often than ignoring
    assert at_30m["backoff"]["requests"] < at_30m["ignore"]["requests"]
    for p in doc["points"]:
        (run,) = p["runs"]
        if run["same_as"] is not None:
            measured = ids[run["same_as"]]
            assert measured["runs"][0]["same_as"] is None
            assert measured["runs"][0]["plugin_refusals"] == 0
            assert run["run"] == measured["runs"][0]["run"]  # its link opens the measured run
            assert p["knobs"]["on_throttle"] != "ignore" and p["knobs"]["interval"] != "30m"


def test_the_recommended_profile_is_the_recommended_point_s_own(
    both: dict[str, dict[str, Any]],
) -> None:
    doc = both["pool"]
    point = next(p for p in doc["points"] if p["id"] == doc["recommendation"]["point"])
    written = yaml.safe_load((doc["root"] / "recommended.yaml").read_text())
    assert written["target"]["plugin"]["on_throttle"] == point["knobs"].get("on_throttle", "ignore")
    assert written["target"]["plugin"]["interval"] == 5400.0
