"""Cross-validation: the virtual-time sandbox against the wall-time sandbox, and how the wall
mode drifts as its clock scale rises.

One short profile (a flat peak, a carrier with 300 ms latency, a per-second and a daily quota
and a ban, a plugin polling every 20 minutes) runs once in virtual time and once in wall time
at each ``--scales``. At a low scale a loopback round trip costs little store time, so the two
clocks should agree; as the scale rises the round trips become seconds of store time and the
wall mode's figures move. Each wall run is compared with the virtual one against the
tolerances below (docs/time.md says why they are what they are):

- orders, shipments, views: equal (the schedule is the same and every item ran);
- carrier requests before the run's last minute: within 5% (the wall plugin's runner fires on
  wall ticks; a poll due at the very end instant runs only in wall time);
- outage start and end: within one polling interval (a quota runs out on the poll that
  exhausts it; the store notices on its next pass);
- refresh latency and staleness p50 / p95: within one polling interval or 10%, whichever is
  larger (a poll that slips past a quota reset shifts a whole batch by one interval).

    .venv/bin/python benchmarks/crossval.py [--scales 60,300,1200,4800] [--duration 3h]

Prints a markdown table and writes ``benchmarks/out/crossval-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

INTERVAL_S = 1200.0


def profile(duration: str) -> dict[str, Any]:
    return {
        "name": "crossval",
        "seed": 7,
        "clock": {"start": "2026-11-27T20:00:00Z", "duration": duration},
        "target": {"plugin": {"interval": "20m", "batch_size": 35, "on_throttle": "ignore"}},
        "peak": {"curve": "flat", "peak_orders_per_hour": 90, "order_window": "2h"},
        "fulfilment": {"median": "10m", "p90": "20m"},
        "carriers": [
            {
                "name": "generic",
                "ingestion_lag": {"median": "5m", "p90": "15m"},
                "behaviours": [
                    {"type": "latency", "distribution": "fixed", "delay": "300ms"},
                    {"type": "quota", "limit": 5, "per": "1s"},
                    {"type": "quota", "limit": 20, "per": "1d"},
                    {"type": "block", "violations": 30, "within": "10m", "ban": "1h"},
                ],
            }
        ],
        "slo": {"staleness_p95": "1h", "longest_outage": "30m"},
        "replay": {"users": 24, "warmup_wall_s": 3},
    }


def run(tmp: Path, data: dict[str, Any], tag: str) -> dict[str, Any]:
    path = tmp / f"{tag}.yaml"
    path.write_text(yaml.safe_dump(data))
    results = tmp / f"results-{tag}"
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(path), "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    runs = sorted(results.glob("*/summary.json"))
    if not runs:
        raise SystemExit(f"{tag}: no summary: {proc.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(runs[-1].read_text())
    summary["_wall_s"] = round(time.perf_counter() - began, 1)
    summary["_requests_before_end"] = _requests_before(runs[-1].parent, summary["clock"]["end"])
    return summary


END_MARGIN_S = 60.0
"""Requests this close to the run's end are not compared: a poll due at the very end runs in
wall time (the wall clock's start is anchored a few store seconds off) and not in virtual time
(the world stops at the end instant)."""


def _requests_before(root: Path, end: float) -> int:
    count = 0
    for path in (root / "journals").glob("carrier-*.jsonl"):
        for line in path.read_text().splitlines():
            if json.loads(line)["t"] < end - END_MARGIN_S:
                count += 1
    return count


def compare(
    virtual: dict[str, Any], wall: dict[str, Any], interval_s: float = INTERVAL_S
) -> dict[str, Any]:
    """Each figure of ``wall`` against ``virtual``: (virtual, wall, within tolerance), where
    ``interval_s`` is the plugin's polling interval (the tolerances' unit)."""
    out: dict[str, Any] = {}
    for kind in ("orders", "ships", "views"):
        v, w = virtual[kind]["done"], wall[kind]["done"]
        out[f"{kind} done"] = (v, w, v == w)
    v, w = virtual["_requests_before_end"], wall["_requests_before_end"]
    out["carrier requests (before the last minute)"] = (v, w, abs(w - v) <= 0.05 * max(v, 1))
    vo, wo = virtual["outages"], wall["outages"]
    if vo or wo:
        same = len(vo) == len(wo) and all(
            abs(a["start"] - b["start"]) <= interval_s and abs(a["end"] - b["end"]) <= interval_s
            for a, b in zip(vo, wo, strict=False)
        )
        out["outages (start, end)"] = (
            [(round(o["start"]), round(o["end"])) for o in vo],
            [(round(o["start"]), round(o["end"])) for o in wo],
            same,
        )
    for dist in ("refresh_latency_s", "staleness_s"):
        for p in ("p50", "p95"):
            a, b = virtual[dist][p] or 0.0, wall[dist][p] or 0.0
            tolerance = max(interval_s, 0.10 * abs(a))
            out[f"{dist[:-2].replace('_', ' ')} {p}"] = (a, b, abs(a - b) <= tolerance)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="60,300,1200,4800")
    parser.add_argument("--duration", default="3h")
    parser.add_argument("--keep", type=Path, help="keep the run folders in this folder")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    data = profile(args.duration)
    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.keep) if args.keep else scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        virtual = run(Path(tmp), data, "virtual")
        print(f"virtual: {virtual['_wall_s']} s wall", flush=True)
        walls = {}
        for scale in scales:
            wall_data = json.loads(json.dumps(data))
            wall_data["clock"].update({"mode": "wall", "scale": scale})
            walls[scale] = run(Path(tmp), wall_data, f"wall-{scale:g}")
            print(f"wall ×{scale:g}: {walls[scale]['_wall_s']} s wall", flush=True)
    rows = {scale: compare(virtual, w) for scale, w in walls.items()}
    names = list(next(iter(rows.values())))
    print()
    print("| figure | virtual | " + " | ".join(f"wall ×{s:g}" for s in scales) + " |")
    print("|---|---|" + "---|" * len(scales))
    for name in names:
        first = rows[scales[0]][name][0]
        cells = [f"{_fmt(rows[s][name][1])} {'✓' if rows[s][name][2] else '✗'}" for s in scales]
        print(f"| {name} | {_fmt(first)} | " + " | ".join(cells) + " |")
    shares = [walls[s]["distortion"].get("round_trip_share") for s in scales]
    print("| round trip ÷ modelled latency | 0 | " + " | ".join(_fmt(x) for x in shares) + " |")
    out = Path("benchmarks/out")
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    doc = {"profile": data, "virtual": virtual, "wall": {str(k): v for k, v in walls.items()}}
    (out / f"crossval-{stamp}.json").write_text(json.dumps(doc, indent=2, default=str))
    return 0


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if value < 100 else f"{value:,.0f}"
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
