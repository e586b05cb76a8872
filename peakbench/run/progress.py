"""Replay progress: counts of scheduled, done, late and failed items, published as a JSON file.

The orchestrator polls the file for its live display and reads the final one to decide whether
the harness kept to the schedule; it is replaced atomically so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from peakbench.run.lateness import Lateness, LatenessDoc

KINDS = ("order", "ship", "view")


class ProgressDoc(TypedDict):
    """``RUN/progress.json``. Times are run seconds; ``max_lag`` is store seconds."""

    t: float
    scheduled: dict[str, int]
    done: dict[str, int]
    """Items executed successfully."""
    late: dict[str, int]
    """Items started more than ``late_after`` after their due time (done or failed)."""
    failed: dict[str, int]
    dropped: dict[str, int]
    """Items not executed because they could not start within ``drop_after`` (also failed)."""
    max_lag: float
    """The worst start − due seen so far."""
    finished: bool
    """Every scheduled item was executed and the replay ended by itself."""
    lateness_s: LatenessDoc
    """start − due of every executed or dropped item (HDR percentiles, store seconds)."""


def _zero() -> dict[str, int]:
    return dict.fromkeys(KINDS, 0)


def count_kinds(kinds: Iterable[str]) -> dict[str, int]:
    """Count items per kind (the scheduled totals)."""
    counts = _zero()
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


@dataclass(slots=True)
class Progress:
    """Mutable tallies of one replay (one thread: a gevent hub or an event loop, so no locking)."""

    scheduled: dict[str, int]
    done: dict[str, int] = field(default_factory=_zero)
    late: dict[str, int] = field(default_factory=_zero)
    failed: dict[str, int] = field(default_factory=_zero)
    dropped: dict[str, int] = field(default_factory=_zero)
    max_lag: float = 0.0
    finished: bool = False
    lateness: Lateness = field(default_factory=Lateness)

    def record(self, kind: str, ok: bool, lag: float, late: bool, dropped: bool = False) -> None:
        """Count one executed (or dropped) item; ``lag`` = start − due in store seconds."""
        tally = self.done if ok else self.failed
        tally[kind] = tally.get(kind, 0) + 1
        if late:
            self.late[kind] = self.late.get(kind, 0) + 1
        if dropped:
            self.dropped[kind] = self.dropped.get(kind, 0) + 1
        if lag > self.max_lag:
            self.max_lag = lag
        self.lateness.record(lag)

    @property
    def executed(self) -> int:
        return sum(self.done.values()) + sum(self.failed.values())

    def snapshot(self, t: float) -> ProgressDoc:
        return {
            "t": round(t, 3),
            "scheduled": dict(self.scheduled),
            "done": dict(self.done),
            "late": dict(self.late),
            "failed": dict(self.failed),
            "dropped": dict(self.dropped),
            "max_lag": round(self.max_lag, 3),
            "finished": self.finished,
            "lateness_s": self.lateness.summary(),
        }


def merge_snapshots(
    t: float,
    scheduled: dict[str, int],
    parts: Iterable[ProgressDoc],
    lateness: Lateness,
    finished: bool,
) -> ProgressDoc:
    """One process's view of a distributed replay: the partitions' tallies added up.

    ``lateness`` is the partitions' histograms already merged (exact, see :mod:`lateness`).
    """
    out = Progress(dict(scheduled), finished=finished, lateness=lateness)
    for part in parts:
        for name, tally in (
            ("done", out.done),
            ("late", out.late),
            ("failed", out.failed),
            ("dropped", out.dropped),
        ):
            counts: dict[str, int] = part.get(name) or {}  # type: ignore[assignment]
            for kind, n in counts.items():
                tally[kind] = tally.get(kind, 0) + int(n)
        out.max_lag = max(out.max_lag, float(part["max_lag"]))
    return out.snapshot(t)


def write_atomic(path: Path, doc: ProgressDoc) -> None:
    """Replace ``path`` with ``doc`` as JSON (write ``path.tmp``, then ``os.replace``)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)
