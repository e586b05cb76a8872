"""The wall-time distortion: loopback round trips against the modelled carrier latency."""

from __future__ import annotations

import json
from pathlib import Path

from peakbench.measure.distortion import WARN_SHARE, distortion, modelled_latency_p50


def _journal(tmp_path: Path, delays: list[float]) -> Path:
    rows = [
        {"t": i, "carrier": "acme", "route": "batch", "status": 200, "outcome": "ok", "delay": d}
        for i, d in enumerate(delays)
    ]
    (tmp_path / "carrier-acme.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def test_the_modelled_latency_is_the_median_journaled_delay(tmp_path: Path) -> None:
    assert modelled_latency_p50(_journal(tmp_path, [0.3, 0.3, 0.3, 2.0, 0.1])) == 0.3
    assert modelled_latency_p50(tmp_path / "empty") is None


def test_a_round_trip_over_a_tenth_of_the_modelled_latency_is_said_loudly(tmp_path: Path) -> None:
    journals = _journal(tmp_path, [0.3] * 9)
    at_1200 = distortion(False, 2.4, journals)  # 2 ms of loopback at ×1200
    assert at_1200["round_trip_share"] == 8.0
    assert "800%" in at_1200["warning"] and "0.3 s" in at_1200["warning"]
    # just under the bound: quantified, not warned
    quiet = distortion(False, 0.3 * WARN_SHARE * 0.99, journals)
    assert "warning" not in quiet and quiet["round_trip_share"] < WARN_SHARE
    # just over it: warned
    assert "warning" in distortion(False, 0.3 * WARN_SHARE * 1.01, journals)


def test_virtual_time_has_no_distortion(tmp_path: Path) -> None:
    out = distortion(True, 0.0, _journal(tmp_path, [0.3]))
    assert "warning" not in out and "round_trip_share" not in out
    assert "virtual" in out["note"]
