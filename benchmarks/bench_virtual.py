"""How fast a virtual-time run is, and that it gives the same answer every time.

Runs ``peakbench run PROFILE`` (virtual time) ``--reps`` times in a row and reports, per run,
the wall time of the whole command (plan, world, analysis, reports), the wall time of the world
alone (the ``world`` child's life, from its log's first and the summary's write), the
simulated requests (orders, shipments, views, carrier calls and pushes) per wall second of the
world, and whether every summary is the same apart from wall facts. Median of the reps.

    .venv/bin/python benchmarks/bench_virtual.py [--profile profiles/black-friday.yaml]
        [--reps 5] [--anchor REV]

With ``--anchor REV`` it runs the same command with the code of revision REV too (a ``git
worktree``, its modules compiled as ``make`` compiles this checkout's), alternately with this
checkout's, ``--reps`` times each, and adds the anchor's medians and the ratio: a machine's speed
moves from hour to hour, so a change is measured beside its anchor. The anchor runs on this venv.

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


ROOT = Path(__file__).resolve().parents[1]


def one_run(profile: Path, results: Path, code: Path = ROOT) -> dict[str, Any]:
    """One ``peakbench run`` in virtual time with the code in ``code``; timings and summary."""
    began = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "peakbench",
            "run",
            str(profile.resolve()),
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=code,  # python -m finds the package in its working folder first
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


def _median(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {
        k: statistics.median(r[k] for r in rows)
        for k in ("wall_s", "world_s", "requests_per_wall_s")
    }


def _identical(rows: list[dict[str, Any]]) -> bool:
    first = json.dumps(rows[0]["summary"], sort_keys=True)
    return all(json.dumps(r["summary"], sort_keys=True) == first for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, default=Path("profiles/black-friday.yaml"))
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--anchor", help="a revision to run beside this checkout")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {"this": []}
    with tempfile.TemporaryDirectory() as tmp:
        codes = {"this": ROOT}
        if args.anchor:
            anchor = Path(tmp) / "anchor"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(anchor), args.anchor],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", "peakbench", "mocks", "loadtests"],
                cwd=anchor,
                check=True,
            )
            codes = {"anchor": anchor, "this": ROOT}
            runs = {"anchor": [], "this": []}
        try:
            for rep in range(args.reps):
                for name, code in codes.items():
                    row = one_run(args.profile, Path(tmp) / f"{name}-{rep}", code)
                    runs[name].append(row)
                    print(
                        f"rep {rep + 1} {name}: {row['wall_s']} s ({row['world_s']} s world), "
                        f"{row['requests']:,} requests, {row['requests_per_wall_s']}/s",
                        flush=True,
                    )
        finally:
            if args.anchor:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(codes["anchor"])],
                    cwd=ROOT,
                    check=False,
                )
    rows = runs["this"]
    identical = _identical(rows)
    med = _median(rows)
    print()
    print("| code | profile | store time | reps | run wall (median) | world wall (median) "
          "| simulated requests | requests / wall s | summaries identical |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for name, group in runs.items():
        m = _median(group)
        label = args.anchor if name == "anchor" else "this checkout"
        print(
            f"| {label} | {args.profile} | {group[0]['store_s'] / 3600:g} h | {len(group)} | "
            f"{m['wall_s']:.1f} s | {m['world_s']:.1f} s | {group[0]['requests']:,} | "
            f"{m['requests_per_wall_s']:,.0f} | {'yes' if _identical(group) else 'NO'} |"
        )
    doc: dict[str, Any] = {
        "profile": str(args.profile),
        "reps": [{k: v for k, v in r.items() if k != "summary"} for r in rows],
        "median": med,
        "identical": identical,
    }
    if args.anchor:
        m = _median(runs["anchor"])
        doc["anchor"] = {
            "revision": args.anchor,
            "reps": [{k: v for k, v in r.items() if k != "summary"} for r in runs["anchor"]],
            "median": m,
            "same_summary": _identical([runs["anchor"][0], rows[0]]),
        }
        print(
            f"\nrun wall: ×{m['wall_s'] / med['wall_s']:.2f} faster than {args.anchor}; "
            f"same summary as the anchor: {'yes' if doc['anchor']['same_summary'] else 'no'}"
        )
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"virtual-{stamp}.json").write_text(json.dumps(doc, indent=2))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
