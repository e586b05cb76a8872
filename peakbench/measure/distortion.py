"""What wall time distorts: network round trips that cannot scale with the clock.

At ×1200 one wall millisecond is 1.2 store seconds, so a loopback round trip that costs a
couple of wall milliseconds adds seconds of store time to every request, next to the carrier
latency the profile models. A wall-time run measures that share and says so loudly when it is
large; a virtual-time run has none by construction (modelled latency is the only latency).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peakbench.measure.histogram import Distribution
from peakbench.measure.journals import read_jsonl
from peakbench.measure.segments import journals_in

WARN_SHARE = 0.10
"""Above this ratio of round trip to the median modelled carrier latency, the summary warns."""


def modelled_latency_p50(journal_dir: Path) -> float | None:
    """Median injected carrier latency (store seconds) over every journaled carrier request."""
    delays = Distribution(resolution_s=0.001)
    for path in journals_in(journal_dir, "carrier-*.jsonl"):
        for row in read_jsonl(path):
            delay = row.get("delay")
            if isinstance(delay, int | float):
                delays.record(float(delay))
    return delays.percentile(50) if delays.count else None


def distortion(virtual: bool, round_trip_p50_s: float, journal_dir: Path) -> dict[str, Any]:
    """``summary.json``'s ``distortion``: the round trip in store time, the modelled carrier
    latency it competes with, their ratio, and a warning when the ratio passes
    :data:`WARN_SHARE`."""
    if virtual:
        return {
            "view_round_trip_p50_s": round(round_trip_p50_s, 3),
            "note": "virtual time: modelled latency is the only latency",
        }
    modelled = modelled_latency_p50(journal_dir)
    out: dict[str, Any] = {
        "view_round_trip_p50_s": round(round_trip_p50_s, 3),
        "modelled_latency_p50_s": None if modelled is None else round(modelled, 3),
        "note": "network round trips cannot scale with the clock",
    }
    if modelled:
        share = round_trip_p50_s / modelled
        out["round_trip_share"] = round(share, 3)
        if share > WARN_SHARE:
            out["warning"] = (
                f"a loopback round trip is {round_trip_p50_s:.3g} s of store time, "
                f"{share:.0%} of the median modelled carrier latency ({modelled:.3g} s): "
                "timing-sensitive figures (per-second quotas, how many calls fit a time limit) "
                "depend on this machine; lower clock.scale or run in virtual time"
            )
    return out
