"""Run folders written by hand for analysis-level tests: the schedule from the real planner,
journals in the formats the replay, the mocks and the push loop write."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from peakbench.config.profile import Profile
from peakbench.measure.results import run_record, write_json
from peakbench.plan.clock import ClockSpec
from peakbench.plan.planner import build_plan
from peakbench.plan.schedule import write_schedule


def _line(**row: Any) -> str:
    return json.dumps(row) + "\n"


def run_folder(
    root: Path,
    profile: Profile,
    *,
    views: bool = True,
    carrier_requests: int = 20,
    push: list[dict[str, Any]] | None = None,
) -> tuple[Path, ClockSpec]:
    """A finished run folder: every scheduled item done on time; views show nothing yet (or
    are left out); ``carrier_requests`` successful batch requests; ``push`` journal lines."""
    (root / "journals").mkdir(parents=True)
    plan = build_plan(profile)
    write_schedule(root / "schedule.csv", plan.items)
    clock = ClockSpec(profile.start_epoch, profile.clock.scale, time.time())
    write_json(root / "run.json", run_record(profile, clock, "small.yaml", []))
    lines = []
    for item in plan.items:
        if item.kind == "view" and not views:
            continue
        row: dict[str, Any] = {
            "kind": item.kind, "ref": item.ref, "due": item.t, "start": item.t,
            "end": item.t + 1.0, "ok": True, "status": 200, "late": False, "error": None,
        }  # fmt: skip
        if item.kind == "view":
            row.update(tracking_number=item.tracking_number, shown=0)
        lines.append(json.dumps(row) + "\n")
    (root / "journals" / "replay.jsonl").write_text("".join(lines))
    step = profile.clock.duration / (carrier_requests + 1)
    (root / "journals" / "carrier-generic.jsonl").write_text(
        "".join(
            _line(
                t=step * (i + 1),
                carrier="generic",
                route="batch",
                numbers=5,
                status=200,
                outcome="ok",
                cause=None,
            )
            for i in range(carrier_requests)
        )
    )
    if push is not None:
        (root / "journals" / "push-trackship.jsonl").write_text("".join(_line(**r) for r in push))
    return root, clock
