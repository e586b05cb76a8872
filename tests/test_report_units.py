"""How reports write durations, instants, shares, money, SLO names and the plugin's knobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from peakbench.measure.labels import check_label, check_value, plugin_knobs, plugin_text
from peakbench.measure.units import at, duration, instant, money, share


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "–"),
        (0.0, "0 s"),
        (0.0004, "0 ms"),
        (0.25, "250 ms"),
        (1.0, "1 s"),
        (4.5, "4.5 s"),
        (12.0, "12 s"),
        (59.6, "1 min"),  # rounds up into the next unit, never "60 s"
        (280.0, "4 min 40 s"),
        (3599.7, "1 h"),
        (5400.0, "1 h 30 min"),
        (31080.0, "8 h 38 min"),
        (86399.0, "1 d"),
        (111960.0, "1 d 7 h"),
        (-90.0, "-1 min 30 s"),
    ],
)
def test_durations_are_written_one_way(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_instants_are_gmt_calendar_times_and_shares_are_percentages() -> None:
    bf = 1795755600.0  # 2026-11-27T05:00:00Z, Black Friday midnight US Eastern
    assert instant(bf) == "Fri 27 Nov 05:00 GMT"
    summary = {"clock": {"start_iso": "2026-11-27T05:00:00Z"}}
    assert at(summary, 11 * 3600 + 600) == "Fri 27 Nov 16:10 GMT"
    assert at({"clock": {}}, 5400) == "+1 h 30 min"  # no calendar: time into the run
    assert [share(v) for v in (0.41, 0.0913, 0.004, 0.0, 1.0, None)] == [
        "41%",
        "9.1%",
        "0.4%",
        "0%",
        "100%",
        "–",
    ]
    assert money(167.4) == "$167.40" and money(1674.2, "EUR") == "1,674 EUR"


def test_slo_names_are_peoples_words_with_stale_after_shown() -> None:
    summary = {"stale_after_s": 1800.0}
    assert check_label("refresh_latency_p95_s") == "refresh latency p95"
    assert check_label("longest_outage_s") == "longest throttle outage"
    assert check_label("stale_views_share", summary) == "views stale for over 30 min"
    assert check_label("stale_views_share") == "views stale for over 1 h"  # the default
    assert check_label("baseline.staleness_p95_s") == "staleness p95 vs baseline"
    assert check_label("some_new_figure") == "some new figure"
    assert check_value("staleness_p95_s", 6420.0) == "1 h 47 min"
    assert check_value("stale_views_share", 0.125) == "12%"
    assert check_value("complaints_per_1000_orders", 19.196) == "19.2"
    assert check_value("complaints_per_1000_orders", None) == "–"


def test_the_plugin_row_shows_only_the_knobs_that_were_set() -> None:
    from peakbench.config.store import PluginSpec

    default = PluginSpec.model_validate({"strategy": "direct-polling"}).model_dump(mode="json")
    assert plugin_text(default) == "direct-polling"
    bf = {**default, "interval": 900.0, "on_throttle": "backoff"}
    assert plugin_knobs(bf) == {"interval": 900.0, "on_throttle": "backoff"}
    assert plugin_text(bf) == "direct-polling, interval: 15 min, on_throttle: backoff"
    # a preset's own defaults are not "set"; a change of one of them is
    polite = PluginSpec.model_validate({"preset": "well-behaved"}).model_dump(mode="json")
    assert plugin_text(polite) == "well-behaved"
    assert plugin_text({**polite, "budget_per_day": 100.0}) == "well-behaved, budget_per_day: 100.0"
    assert plugin_text(None) == "the store's own (a real target)"


def test_a_candidate_run_is_named_by_its_candidate(tmp_path: Path) -> None:
    from peakbench.report.html import candidate_name

    parent = tmp_path / "20261202T132922Z-black-friday-candidates-a1b2c3"
    run = parent / "20261202T133000Z-black-friday-naive-d4e5f6"
    assert candidate_name({"profile": "black-friday-naive"}, run) == "naive"
    alone = tmp_path / "20261202T-black-friday-x"
    assert candidate_name({"profile": "black-friday"}, alone) is None
