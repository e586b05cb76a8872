"""Live figures while a run goes: read incrementally from the files the children write."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from peakbench.config.profile import Profile
from peakbench.measure.freshness import assess_view
from peakbench.measure.journals import replay_journals
from peakbench.measure.segments import split_segment
from peakbench.plan.schedule import read_schedule
from peakbench.plan.timeline import journey

WINDOW_S = 3600.0
"""Current staleness is the p95 over the views of the last store hour."""


class JsonlTail:
    """Yields the complete lines appended to a JSONL file since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._rest = b""

    def read(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except OSError:
            return []
        self._offset += len(chunk)
        data = self._rest + chunk
        lines = data.split(b"\n")
        self._rest = lines.pop()
        out = []
        for line in lines:
            try:
                row = orjson.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                out.append(row)
        return out


class SegmentTail:
    """Follows one segmented journal (``peakbench.measure.segments``): only its newest segment is
    open
    to reading; an older one is read to its end once and then forgotten (a segment is complete
    when the next one starts), so a long run's many segments cost nothing per poll."""

    def __init__(self) -> None:
        self.index = -1
        self._tail: JsonlTail | None = None

    def read(self, files: list[Path]) -> list[dict[str, Any]]:
        """New lines from ``files`` (this journal's segment files, any order)."""
        rows: list[dict[str, Any]] = []
        for index, path in sorted((split_segment(f)[1], f) for f in files):
            if index < self.index:
                continue
            if index > self.index or self._tail is None:
                if self._tail is not None:
                    rows += self._tail.read()  # the finished segment's last lines
                self.index, self._tail = index, JsonlTail(path)
            rows += self._tail.read()
        return rows


def _by_journal(files: list[Path]) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for path in files:
        out.setdefault(split_segment(path)[0].name, []).append(path)
    return out


@dataclass(slots=True)
class Snapshot:
    t: float = 0.0
    duration: float = 0.0
    scheduled: Counter[str] = field(default_factory=Counter)
    done: Counter[str] = field(default_factory=Counter)
    late: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    carriers: Counter[str] = field(default_factory=Counter)
    staleness_p95: float | None = None
    queue_pending: int | None = None


class LiveFigures:
    """Accumulates a :class:`Snapshot` from the run folder, a little at each :meth:`poll`."""

    def __init__(self, profile: Profile, root: Path, start_epoch: float) -> None:
        self._profile = profile
        self._root = root
        self._start_epoch = start_epoch
        fleet = profile.fleet
        self._models = {c.name: fleet.timeline_model(c) for c in fleet.carriers}
        self._ships: dict[str, tuple[str, float]] = {}
        self.snapshot = Snapshot(duration=profile.clock.duration)
        for item in read_schedule(root / "schedule.csv"):
            self.snapshot.scheduled[item.kind] += 1
            if item.kind == "ship":
                self._ships[item.tracking_number] = (item.carrier, item.t)
        self._replays: dict[str, SegmentTail] = {}
        self._carriers: dict[str, SegmentTail] = {}
        """One follower per journal (not per segment): bounded by carriers and workers."""
        self._recent: deque[tuple[float, float]] = deque()

    def _replay_rows(self) -> list[dict[str, Any]]:
        """New lines of ``replay.jsonl`` or, in a distributed run, of every ``replay-<i>.jsonl``."""
        rows: list[dict[str, Any]] = []
        files = replay_journals(self._root / "journals" / "replay.jsonl")
        for name, segments in _by_journal(files).items():
            rows += self._replays.setdefault(name, SegmentTail()).read(segments)
        return rows

    @property
    def followed(self) -> int:
        """Journals followed (each reads one segment file per poll)."""
        return len(self._replays) + len(self._carriers)

    def poll(self, t: float) -> Snapshot:
        snap = self.snapshot
        snap.t = t
        for row in self._replay_rows():
            kind = str(row.get("kind"))
            snap.late[kind] += bool(row.get("late"))
            if not row.get("ok"):
                snap.failed[kind] += 1
                continue
            snap.done[kind] += 1
            number = str(row.get("tracking_number") or "")
            if kind == "view" and number in self._ships and row.get("shown") is not None:
                carrier, shipped = self._ships[number]
                view = assess_view(
                    journey(self._models[carrier], number),
                    self._start_epoch,
                    float(row["start"]),
                    int(row["shown"]),
                    shipped,
                )
                self._recent.append((view.t, view.staleness))
        while self._recent and self._recent[0][0] < t - WINDOW_S:
            self._recent.popleft()
        if self._recent:
            values = sorted(s for _, s in self._recent)
            snap.staleness_p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        files = list((self._root / "journals").glob("carrier-*.jsonl"))
        for name, segments in _by_journal(files).items():
            for row in self._carriers.setdefault(name, SegmentTail()).read(segments):
                snap.carriers[str(row.get("outcome"))] += 1
                snap.carriers["requests"] += 1
        return snap
