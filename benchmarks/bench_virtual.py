"""How fast a virtual-time run is, and that it gives the same answer every time.

Runs ``peakbench run PROFILE`` (virtual time) ``--reps`` times in a row and reports, per run,
the wall time of the whole command (plan, world, analysis, reports), the wall time of the world
alone (the ``world`` child's life, from its log's first and the summary's write), the
simulated requests (orders, shipments, views, carrier calls and pushes) per wall second of the
world, and whether every summary is the same apart from wall facts. Median of the reps.

    .venv/bin/python benchmarks/bench_virtual.py [--profile profiles/black-friday.yaml]
        [--reps 5]

Prints a markdown table and writes ``benchmarks/out/virtual-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

WALL_FACTS = ("resources",)


def one_run(profile: Path, results: Path) -> dict[str, Any]:
    """One ``peakbench run`` in virtual time; its timings and summary."""
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(profile), "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    wall = time.perf_counter() - began
    runs = sorted(results.glob("*/summary.json"))
    if not runs:
        raise SystemExit(f"no summary: {proc.stderr[-2000:]}")
    root = runs[-1].parent
    summary = json.loads((root / "summary.json").read_text())
    world_s = _world_seconds(root)
    pushes = sum(
        1
        for path in (root / "journals").glob("push-*.jsonl")
        for _ in path.read_text().splitlines()
    )
    requests = (
        sum(summary[k]["done"] + summary[k]["failed"] for k in ("orders", "ships", "views"))
        + sum(c["requests"] for c in summary["carriers"].values())
        + pushes
    )
    return {
        "exit": proc.returncode,
        "wall_s": round(wall, 2),
        "world_s": round(world_s, 2),
        "requests": requests,
        "requests_per_wall_s": round(requests / world_s) if world_s else None,
        "store_s": summary["clock"]["end"],
        "summary": {k: v for k, v in summary.items() if k not in WALL_FACTS},
    }


def _world_seconds(root: Path) -> float:
    """The world's wall time: from the run's go (``world.json``, written last before it; the
    world's process started earlier and imported while the plan was made) to world.done.json's
    write."""
    go = root / "world.json"
    done = root / "world.done.json"
    if not (go.exists() and done.exists()):
        return 0.0
    return done.stat().st_mtime - go.stat().st_mtime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, default=Path("profiles/black-friday.yaml"))
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            row = one_run(args.profile, Path(tmp) / f"r{rep}")
            rows.append(row)
            print(
                f"rep {rep + 1}: {row['wall_s']} s ({row['world_s']} s world), "
                f"{row['requests']:,} requests, {row['requests_per_wall_s']}/s",
                flush=True,
            )
    first = json.dumps(rows[0]["summary"], sort_keys=True)
    identical = all(json.dumps(r["summary"], sort_keys=True) == first for r in rows)
    med = {
        k: statistics.median(r[k] for r in rows)
        for k in ("wall_s", "world_s", "requests_per_wall_s")
    }
    print()
    print("| profile | store time | reps | run wall (median) | world wall (median) "
          "| simulated requests | requests / wall s | summaries identical |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.profile} | {rows[0]['store_s'] / 3600:g} h | {len(rows)} | "
        f"{med['wall_s']:.1f} s | {med['world_s']:.1f} s | {rows[0]['requests']:,} | "
        f"{med['requests_per_wall_s']:,.0f} | {'yes' if identical else 'NO'} |"
    )
    out = Path("benchmarks/out")
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    doc = {
        "profile": str(args.profile),
        "reps": [{k: v for k, v in r.items() if k != "summary"} for r in rows],
        "median": med,
        "identical": identical,
    }
    (out / f"virtual-{stamp}.json").write_text(json.dumps(doc, indent=2))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
