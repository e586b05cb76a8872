"""An advise recommendation re-run in wall time: does the sandbox's wall clock agree with it?

``peakbench advise`` answers in virtual store time. This re-runs its recommendation (given as
the ``--set`` overrides it prints, e.g. ``target.plugin.interval=1h`` for the default profile)
over a short window of the profile, once in virtual time and once in wall time against the
wall-time sandbox (``--wall``) at a low clock scale, where a loopback round trip costs little
store time, and compares the two with the cross-validation's tolerances
(``benchmarks/crossval.py``, docs/time.md): counts equal, carrier requests within 5%, outage
start and end and the refresh-latency and staleness p50/p95 within one polling interval (or
10%, whichever is larger).

    .venv/bin/python benchmarks/advise_wall.py [--profile profiles/black-friday.yaml]
        [--set target.plugin.interval=1h] [--duration 4h] [--scale 60]

Prints a markdown table; exit 0 when every figure agrees, 1 otherwise. Writes
``benchmarks/out/advise-wall-<UTC>.json``.
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

from crossval import _fmt, _requests_before, compare

from peakbench.durations import parse_duration


def run(profile: Path, sets: list[str], results: Path, wall: bool) -> dict[str, Any]:
    """``peakbench run PROFILE --set ...`` (virtual, or ``--wall``); its summary."""
    argv = [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(results)]
    for pair in sets:
        argv += ["--set", pair]
    if wall:
        argv.append("--wall")
    began = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    runs = sorted(results.glob("*/summary.json"))
    if not runs or proc.returncode not in (0, 1):
        raise SystemExit(f"run failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(runs[-1].read_text())
    summary["_wall_s"] = round(time.perf_counter() - began, 1)
    summary["_requests_before_end"] = _requests_before(runs[-1].parent, summary["clock"]["end"])
    summary["_run"] = str(runs[-1].parent)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, default=Path("profiles/black-friday.yaml"))
    parser.add_argument(
        "--set",
        action="append",
        dest="sets",
        default=None,
        help="the recommendation as profile overrides (default: target.plugin.interval=1h)",
    )
    parser.add_argument("--duration", default="4h", help="the short window of store time")
    parser.add_argument("--scale", type=float, default=60.0, help="the wall run's clock scale")
    parser.add_argument("--keep", type=Path, help="keep the run folders in this folder")
    args = parser.parse_args()
    recommendation = args.sets or ["target.plugin.interval=1h"]
    interval = next(
        (parse_duration(p.split("=", 1)[1]) for p in recommendation if "interval=" in p),
        None,
    )
    if interval is None:
        raise SystemExit("--set: name the recommendation's target.plugin.interval")
    short = [*recommendation, f"clock.duration={args.duration}"]
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        virtual = run(args.profile, short, tmp / "virtual", wall=False)
        print(f"virtual: {virtual['_wall_s']} s wall ({virtual['_run']})", flush=True)
        wall = run(args.profile, [*short, f"clock.scale={args.scale:g}"], tmp / "wall", wall=True)
        print(f"wall ×{args.scale:g}: {wall['_wall_s']} s wall ({wall['_run']})", flush=True)
    rows = compare(virtual, wall, interval)
    print()
    print(f"{args.profile} with {' '.join(recommendation)}, first {args.duration}:")
    print()
    print(f"| figure | virtual | wall ×{args.scale:g} | within tolerance |")
    print("|---|---|---|---|")
    for name, (v, w, ok) in rows.items():
        print(f"| {name} | {_fmt(v)} | {_fmt(w)} | {'yes' if ok else 'NO'} |")
    share = wall.get("distortion", {}).get("round_trip_share")
    print(f"| round trip ÷ modelled latency | 0 | {_fmt(share)} | |")
    verdicts = (_verdict(virtual), _verdict(wall))
    same = "yes" if verdicts[0] == verdicts[1] else "NO"
    print(f"| SLO verdict | {verdicts[0]} | {verdicts[1]} | {same} |")
    out = Path("benchmarks/out")
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    doc = {"profile": str(args.profile), "sets": short, "virtual": virtual, "wall": wall}
    (out / f"advise-wall-{stamp}.json").write_text(json.dumps(doc, indent=2, default=str))
    agree = all(ok for _, _, ok in rows.values()) and verdicts[0] == verdicts[1]
    return 0 if agree else 1


def _verdict(summary: dict[str, Any]) -> str:
    """PASSED or the failed checks (the SLOs of a short window may differ from the whole's)."""
    failed = [c["name"] for c in summary["slo"]["checks"] if not c["passed"]]
    return "PASSED" if not failed else "FAILED " + ", ".join(failed)


if __name__ == "__main__":
    sys.exit(main())
