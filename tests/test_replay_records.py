"""The replay's gevent-free parts: journal buffering, progress tallies, replay.json loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from loadtests.journal import Journal, JournalLine, line_text
from loadtests.replay import Outcome, Replay, load_config
from peakbench.adapters.woocommerce import Observation
from peakbench.plan.clock import ClockSpec
from peakbench.plan.schedule import Item, write_schedule
from peakbench.run.lateness import Lateness
from peakbench.run.progress import Progress, count_kinds, write_atomic


def _line(ref: int) -> JournalLine:
    return {
        "kind": "order",
        "ref": ref,
        "due": 1.0,
        "start": 1.5,
        "end": 2.0,
        "ok": True,
        "status": 201,
        "late": False,
        "error": None,
    }


def test_journal_buffers_until_a_second_has_passed(tmp_path: Path) -> None:
    now = [0.0]
    journal = Journal(tmp_path / "j" / "replay.jsonl", time_fn=lambda: now[0])
    journal.write(_line(1))
    journal.write(_line(2))
    assert journal.path.read_text() == ""
    now[0] = 1.0
    journal.write(_line(3))
    assert [json.loads(x)["ref"] for x in journal.path.read_text().splitlines()] == [1, 2, 3]
    journal.write(_line(4))
    journal.close()
    assert len(journal.path.read_text().splitlines()) == 4 == journal.lines


def test_journal_flushes_a_full_buffer(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "replay.jsonl", max_buffered=3, time_fn=lambda: 0.0)
    for ref in range(7):
        journal.write(_line(ref))
    assert len(journal.path.read_text().splitlines()) == 6


def test_progress_counts_done_failed_late_and_worst_lag(tmp_path: Path) -> None:
    progress = Progress(count_kinds(["order", "order", "ship", "view"]))
    progress.record("order", ok=True, lag=2.0, late=False)
    progress.record("order", ok=False, lag=90.0, late=True)
    progress.record("view", ok=True, lag=-0.001, late=False)
    doc = progress.snapshot(12.34567)
    lateness = doc.pop("lateness_s")  # type: ignore[misc]
    assert lateness["count"] == 3 and lateness["p50"] == pytest.approx(2.0, rel=1e-3)
    assert lateness["p99"] == lateness["max"] == pytest.approx(90.0, rel=1e-3)  # HDR: 3 digits
    assert doc == {
        "t": 12.346,
        "scheduled": {"order": 2, "ship": 1, "view": 1},
        "done": {"order": 1, "ship": 0, "view": 1},
        "late": {"order": 1, "ship": 0, "view": 0},
        "failed": {"order": 1, "ship": 0, "view": 0},
        "dropped": {"order": 0, "ship": 0, "view": 0},
        "max_lag": 90.0,
        "finished": False,
    }
    doc["lateness_s"] = lateness
    write_atomic(tmp_path / "progress.json", doc)
    assert json.loads((tmp_path / "progress.json").read_text()) == doc
    assert not (tmp_path / "progress.json.tmp").exists()


def _config_file(tmp_path: Path, **changes: object) -> Path:
    data: dict[str, object] = {
        "clock": ClockSpec(1_795_755_600.0, 600.0, 1000.0).to_json(),
        "schedule": "schedule.csv",
        "journal": "journals/replay.jsonl",
        "progress": str(tmp_path / "progress.json"),
        "late_after": 30,
        "users": 4,
    }
    data.update(changes)
    path = tmp_path / "replay.json"
    path.write_text(json.dumps(data))
    return path


def test_load_config_resolves_paths_next_to_the_file(tmp_path: Path) -> None:
    config = load_config(_config_file(tmp_path))
    assert config.schedule == tmp_path / "schedule.csv"
    assert config.journal == tmp_path / "journals" / "replay.jsonl"
    assert config.progress == tmp_path / "progress.json"
    assert (config.late_after, config.users, config.seed) == (30.0, 4, 0)
    assert config.clock.scale == 600.0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"late_after": "soon"}, "late_after"),
        ({"users": None}, "users"),
        ({"clock": {"scale": 1}}, "missing field 'clock.start_epoch'"),
        ({"users": 0, "journal": None}, "journal"),
        ({"schedule": ""}, "schedule"),
    ],
)
def test_load_config_names_the_bad_field(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_config(_config_file(tmp_path, **changes))


def test_replay_hands_out_items_in_order_and_finishes_once(tmp_path: Path) -> None:
    items = [Item(0.0, "order", 1), Item(5.0, "view", 1, "acme", "PBD0000000000001")]
    write_schedule(tmp_path / "schedule.csv", items)
    finished: list[bool] = []
    replay = Replay.open(load_config(_config_file(tmp_path)), lambda: finished.append(True))
    assert replay.progress.scheduled == {"order": 1, "ship": 0, "view": 1}
    first, second = replay.take(), replay.take()
    assert (first, second) == tuple(items)
    assert replay.take() is None and not finished  # two items still in flight
    assert first is not None and second is not None
    replay.record(first, 40.0, 41.0, Outcome(True, 201))
    replay.release()
    seen = Observation(2, "2026-11-27T10:00:00-05:00", "in_transit")
    replay.record(second, 5.5, 6.0, Outcome(True, 200, None, seen))
    replay.release()
    assert finished == [True] and replay.finished
    assert replay.take() is None and finished == [True]
    replay.close()
    lines = [json.loads(x) for x in replay.config.journal.read_text().splitlines()]
    assert lines[0]["late"] is True and "shown" not in lines[0]
    assert lines[1]["late"] is False
    assert (lines[1]["shown"], lines[1]["newest"], lines[1]["page_status"]) == (
        2,
        "2026-11-27T10:00:00-05:00",
        "in_transit",
    )
    assert replay.config.progress is not None
    progress = json.loads(replay.config.progress.read_text())
    assert progress["finished"] is True and progress["max_lag"] == 40.0


def _dumps(line: dict[str, object]) -> str:
    return json.dumps(line, separators=(",", ":"))


@pytest.mark.parametrize(
    "error", [None, "HTTP 404", 'quote " and \\ back', "tab\tnew\nline", "café ☕", "\x7f", ""]
)
@pytest.mark.parametrize("dropped", [False, True])
def test_journal_line_text_is_byte_for_byte_json_dumps(error: str | None, dropped: bool) -> None:
    times = (1795755600.123456, 0.0005, -0.0004, 12.0, 3e-7, 86400.9999)
    status = 201 if error is None else 0
    for due, start, end in zip(times, times[1:], times[2:], strict=False):
        line: dict[str, object] = {
            "kind": "order", "ref": 12345, "due": round(due, 3), "start": round(start, 3),
            "end": round(end, 3), "ok": error is None, "status": status,
            "late": dropped, "error": error,
        }  # fmt: skip
        ok = error is None
        text = line_text("order", 12345, due, start, end, ok, status, dropped, error, None, dropped)
        if dropped:
            line["dropped"] = True
        assert text == _dumps(line)
    for view in [
        ("PBD0000000000001", 3, "2026-11-27T10:15:00-05:00", "in_transit"),
        ("PBD0000000000001", None, None, None),
        ('odd"number', 0, error, error),
    ]:
        number, shown, newest, page_status = view
        line = {
            "kind": "view", "ref": 7, "due": 5.0, "start": 5.5, "end": 6.25, "ok": True,
            "status": 200, "late": False, "error": error, "tracking_number": number,
            "shown": shown, "newest": newest, "page_status": page_status,
        }  # fmt: skip
        if dropped:
            line["dropped"] = True
        text = line_text("view", 7, 5.0, 5.5, 6.25, True, 200, False, error, view, dropped)
        assert text == _dumps(line)


def test_lateness_recorded_in_batches_equals_one_record_at_a_time() -> None:
    lags = [(-0.002 + (i % 97) * 0.0137) * (1 + i % 5) for i in range(5000)] + [1e12, -5.0]
    direct = HdrHistogram(1, 10**11, 3)
    for lag in lags:
        direct.record_value(min(10**11, max(0, round(lag * 1000.0))))
    batched = Lateness()
    for i, lag in enumerate(lags):
        batched.record(lag)
        if i == 1234:  # a read in the middle folds what is pending, later records still count
            assert batched.count == 1235
    assert batched.count == direct.get_total_count() == len(lags)
    summary = batched.summary()
    for p in (50, 90, 99):
        assert summary[f"p{p}"] == direct.get_value_at_percentile(p) / 1000.0  # type: ignore[literal-required]
    assert summary["max"] == direct.get_max_value() / 1000.0
    other = Lateness()
    other.add_encoded(batched.encode())
    other.record(0.5)
    assert other.count == len(lags) + 1
    assert batched.merged(other).count == 2 * len(lags) + 1
