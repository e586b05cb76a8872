"""The queue probe's journal: samples parsed from the must-use plugin's answer, failed reads kept
apart, and the summary a real store's run reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peakbench.measure.probe_queue import JOURNAL, parse_sample, queue_summary, queue_tuples

ANSWER = {
    "now": 1_796_220_520,
    "action_scheduler": {
        "available": True,
        "pending": 12,
        "past_due": 9,
        "running": 1,
        "failed": 2,
        "oldest_past_due_s": 754,
        "hooks": {
            "ts_status_change_trigger": {"pending": 9, "past_due": 9, "running": 0, "failed": 0},
            "woocommerce_cleanup_draft_orders": {"pending": 3, "past_due": 0},
        },
    },
    "wp_cron": {"disabled": True, "next_due": 1_796_220_500, "events": 14, "past_due": 2},
}


def test_a_sample_carries_the_counts_and_the_past_due_hooks() -> None:
    line = parse_sample(12.3456, ANSWER)
    assert line["t"] == 12.346 and (line["pending"], line["past_due"], line["running"]) == (
        12,
        9,
        1,
    )
    assert line["cron_disabled"] is True and line["cron_next_due_in_s"] == -20
    assert line["hooks"] == {"ts_status_change_trigger": 9}
    with pytest.raises(ValueError, match="queue probe"):
        parse_sample(1.0, {"code": "rest_no_route"})


def test_the_summary_leaves_failed_reads_out_of_the_figures(tmp_path: Path) -> None:
    assert queue_summary(tmp_path) is None  # not sampled: no queue figure at all
    rows = [parse_sample(t, ANSWER) for t in (0.0, 10.0)]
    rows.append({"t": 20.0, "error": "ConnectError: refused"})
    (tmp_path / JOURNAL).write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = queue_summary(tmp_path)
    assert summary is not None
    assert summary["samples"] == 2 and summary["errors"] == 1
    assert summary["max_due"] == 9 and summary["max_oldest_past_due_s"] == 754
    assert summary["cron_disabled_samples"] == 2
    assert queue_tuples(tmp_path) == [(0.0, 12, 9, 1), (10.0, 12, 9, 1)]
