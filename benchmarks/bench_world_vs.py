"""The virtual world of one run folder, this checkout's code against an anchor revision's.

A machine's speed moves from hour to hour (2 shared cores here), so a world's wall time is only
comparable with another measured beside it. This plans the default profile once (the anchor's
``peakbench run``), then runs that run folder's world (``python -m mocks.virtual``) alternately
with the anchor's code (a ``git worktree`` of ``--anchor``) and with this checkout's, ``--reps``
times each, and reports the medians of wall and user-CPU seconds and their ratios. Both worlds read
the same inputs, so they must also write the same change log (the same changes, at instants
within a millisecond: loop clocks may round differently); the script checks that.

    .venv/bin/python benchmarks/bench_world_vs.py --anchor cb8df96 [--reps 3]
        [--profile profiles/black-friday.yaml]

The anchor runs on this venv: install what it needs that this checkout no longer does (the
anchor cb8df96 needs ``looptime==0.9``; uninstall it afterwards, its pytest plugin would load).
Prints a markdown table and writes ``benchmarks/out/world-vs-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ("clock.json", "fleet.json", "store.json", "world.json", "schedule.csv")


def plan(profile: Path, scratch: Path, anchor: Path) -> Path:
    """A run folder of ``profile`` whose inputs both worlds replay, planned by the anchor's code
    (this checkout reads older inputs; the anchor may not know newer settings)."""
    results = scratch / "planned"
    subprocess.run(
        [
            sys.executable, "-m", "peakbench", "run", str((ROOT / profile).resolve()),
            "--results", str(results),
        ],
        cwd=anchor,
        env={**os.environ, "PYTHONPATH": str(anchor)},
        capture_output=True,
        timeout=900,
    )  # fmt: skip
    runs = sorted(results.glob("*/schedule.csv"))
    if not runs:
        raise SystemExit("planning failed: no schedule.csv")
    return runs[-1].parent


def world(code: Path, inputs: Path, dest: Path) -> dict[str, Any]:
    """One world of ``inputs`` with the code in ``code``: wall and user-CPU seconds."""
    dest.mkdir(parents=True)
    for name in INPUTS:
        (dest / name).write_bytes((inputs / name).read_bytes())
    fleet = json.loads((inputs / "fleet.json").read_text())
    env = {
        **os.environ,
        "PYTHONPATH": str(code),
        "PEAKBENCH_CARRIER_KEYS": json.dumps({c["name"]: ["pk_bench"] for c in fleet["carriers"]}),
        "PEAKBENCH_STORE_CREDENTIALS": json.dumps(
            {"consumer_key": "ck_bench", "consumer_secret": "cs_bench"}
        ),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mocks.virtual", "--run", str(dest)],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    wall = time.perf_counter() - began
    user = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before
    if proc.returncode != 0:
        raise SystemExit(f"{code}: world exited {proc.returncode}: {proc.stderr[-2000:]}")
    with sqlite3.connect(dest / "store.sqlite") as db:
        changes = db.execute("SELECT count(*), sum(t) FROM tracking_changes").fetchone()
    return {"wall_s": round(wall, 2), "user_s": round(user, 2), "changes": list(changes)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor", required=True, help="the revision to measure against")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=Path("profiles/black-friday.yaml"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        anchor = scratch / "anchor"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(anchor), args.anchor],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            inputs = plan(args.profile, scratch, anchor)
            runs: dict[str, list[dict[str, Any]]] = {"anchor": [], "this": []}
            for rep in range(args.reps):
                for name, code in (("anchor", anchor), ("this", ROOT)):
                    runs[name].append(world(code, inputs, scratch / f"{name}-{rep}"))
                    print(f"rep {rep + 1} {name}: {runs[name][-1]}", flush=True)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(anchor)], cwd=ROOT, check=False
            )
    med = {
        name: {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "user_s")}
        for name, rs in runs.items()
    }
    first = runs["anchor"][0]["changes"]
    same = all(
        r["changes"][0] == first[0] and abs(r["changes"][1] - first[1]) <= 0.001 * first[0]
        for rs in runs.values()
        for r in rs
    )
    print()
    print("| code | reps | world wall (median) | world user CPU (median) |")
    print("|---|---|---|---|")
    for name, label in (("anchor", args.anchor), ("this", "this checkout")):
        print(
            f"| {label} | {args.reps} | {med[name]['wall_s']:.1f} s | {med[name]['user_s']:.1f} s |"
        )
    ratio_wall = med["anchor"]["wall_s"] / med["this"]["wall_s"]
    ratio_cpu = med["anchor"]["user_s"] / med["this"]["user_s"]
    print(f"| speed-up | | ×{ratio_wall:.2f} | ×{ratio_cpu:.2f} |")
    print(f"\nsame change log from both (count, instants within 1 ms): {'yes' if same else 'NO'}")
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    doc = {"anchor": args.anchor, "profile": str(args.profile), "runs": runs, "median": med}
    (out / f"world-vs-{stamp}.json").write_text(json.dumps(doc, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
