"""How long ``peakbench advise`` takes: N settings × S seeds of the default profile.

With ``--grid knobs`` the settings are the full grid of three of the plugin's knobs, 100 of them:
interval (10 values from 10 minutes to 4 hours) × batch size (20, 35, 50, 75, 100) × on-throttle
(ignore, backoff), the profile's own 15 minutes, 35 and ignore among them. With ``--grid
intervals`` (the default, for a quicker look) they are N direct-polling intervals spread between
10 minutes and 4 hours, 15 minutes first. Either way at the forecast peak only, each run once
per seed; the whole advise runs as the command does (a pool of ``--workers`` processes, each run
an ordinary virtual run with its own world). Reports the wall time, the CPU time of every process
it started, runs per wall minute and the extrapolation to 100 settings × 3 seeds at the same
throughput, and at the runs' CPU time on otherwise idle cores. The machine's load average is
recorded, because on a shared machine it decides the wall figure, and so is a calibration: the
CPU milliseconds of a fixed pure-Python workload before and after (:func:`calibrate`), which
rise when the machine is slow.

The advise runs as the command does, so a point whose run could not differ from another's (the
same setting but for on_throttle, where no carrier refused the plugin: docs/advise.md, "Runs
that cannot differ") takes that run's figures instead of running; ``--run-every-point`` runs
them all. A point whose run differs from another's only from the first refusal on runs from
there, forked from that run's world ("forked" counts them; they count as runs run). CPU per run
is per run that ran; "runs" counts every run answered.

    .venv/bin/python benchmarks/bench_advise.py [--settings 4] [--seeds 3] [--workers 2]
        [--profile profiles/black-friday.yaml] [--run-every-point]
    .venv/bin/python benchmarks/bench_advise.py --grid knobs --seeds 3   # 100 × 3: the target

Prints one markdown table row and writes ``benchmarks/out/advise-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

HERE = Path(__file__).resolve().parent


def intervals(n: int) -> list[str]:
    """N interval values in minutes, 15 first (the profile's), then spread over 10 m – 4 h."""
    grid = [15, 60, 30, 120, 10, 240, 45, 90, 20, 180, 25, 150]
    extra = [10 + 5 * i for i in range(2, 200) if 10 + 5 * i not in grid]
    return [f"{m}m" for m in [*grid, *extra][:n]]


def calibrate(reps: int = 5) -> float:
    """Milliseconds of CPU one fixed pure-Python workload takes now (the median of ``reps``):
    how fast this machine runs Python at the moment. On shared cores it moves by half and more
    from one quarter of an hour to the next, and every figure here moves with it."""
    times = []
    for _ in range(reps):
        started = time.process_time()
        rows = [{"t": i * 0.5, "kind": "view", "ok": i % 3 == 0} for i in range(60_000)]
        json.loads(json.dumps(rows))
        sorted(range(200_000), key=lambda i: (i * 7919) % 10007)
        times.append(time.process_time() - started)
    return round(sorted(times)[len(times) // 2] * 1000, 1)


KNOBS = {
    "interval": ["10m", "15m", "20m", "30m", "45m", "1h", "90m", "2h", "3h", "4h"],
    "batch_size": [20, 35, 50, 75, 100],
    "on_throttle": ["ignore", "backoff"],
}
"""The ``--grid knobs`` settings: their product is 100 direct-polling settings."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=("intervals", "knobs"), default="intervals")
    parser.add_argument("--settings", type=int, default=4, help="with --grid intervals")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", default=str(HERE.parent / "profiles" / "black-friday.yaml"))
    parser.add_argument(
        "--run-every-point",
        action="store_true",
        help="as the command's flag: run the points whose run could not differ from another's",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    from peakbench.cli.advise import advise
    from peakbench.config.loader import load_profile

    if args.grid == "knobs":
        knobs = [(f"advise.knobs.{name}", json.dumps(values)) for name, values in KNOBS.items()]
        args.settings = (
            len(KNOBS["interval"]) * len(KNOBS["batch_size"]) * len(KNOBS["on_throttle"])
        )
    else:  # the profile's own interval is always a point: the grid adds the others
        knobs = [("advise.knobs.interval", json.dumps(intervals(args.settings)[1:]))]
    overrides = [
        *knobs,
        ("advise.alternatives", "{}"),
        ("advise.multipliers", "[1]"),
        ("advise.seeds", str(args.seeds)),
    ]
    profile = load_profile(Path(args.profile), overrides)
    load_before = os.getloadavg()
    speed_before = calibrate()
    with tempfile.TemporaryDirectory(prefix="bench-advise-") as tmp:
        started = time.monotonic()
        doc = advise(
            profile,
            args.profile,
            Path(tmp),
            Console(file=io.StringIO()),
            args.workers,
            share=not args.run_every_point,
        )
        wall = time.monotonic() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    cpu = children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime
    speed_after = calibrate()
    runs = doc["runs_done"]
    shared = doc["runs_shared"]
    run = runs - shared  # the runs that ran (the others took an identical run's figures)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": args.profile,
        "grid": args.grid,
        "settings": args.settings,
        "seeds": args.seeds,
        "workers": args.workers,
        "runs": runs,
        "runs_shared": shared,
        "runs_branched": doc.get("runs_branched", 0),
        "run_every_point": args.run_every_point,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "cpu_s_per_run": round(cpu / run, 2),
        "runs_per_wall_minute": round(runs / wall * 60, 2),
        "extrapolated_100x3_wall_s": round(wall / runs * 300, 0),
        # on cores nobody else uses, the runs' CPU time is the wall time, split over the workers
        "idle_estimate_100x3_wall_s": round(
            cpu / runs * 300 / min(args.workers, os.cpu_count() or 1)
        ),
        "calibration_ms": [speed_before, speed_after],
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "recommendation": doc["recommendation"].get("setting"),
    }
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"advise-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        "| settings × seeds | runs answered | runs run (forked) | wall | CPU per run run "
        "| runs/min | 100 × 3 at this rate | load | calibration |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.settings} × {args.seeds} | {runs} | {run} ({doc.get('runs_branched', 0)}) "
        f"| {wall:.0f} s | {cpu / run:.1f} s "
        f"| {runs / wall * 60:.1f} | {wall / runs * 300 / 60:.1f} min "
        f"| {load_before[0]:.1f} → {os.getloadavg()[0]:.1f} "
        f"| {speed_before:.0f} → {speed_after:.0f} ms |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
