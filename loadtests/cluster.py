"""A replay across Locust processes: the master deals the schedule out, workers send it back done.

Used by ``--processes N`` (Locust forks a master and N workers) and by ``--master`` with
``--worker --master-host H`` on other hosts. The master owns the run folder and the schedule; each
worker gets its share of the schedule over Locust's own master link (custom messages), executes it
exactly as a single process would, and sends back its journal lines and its tallies with an
encoded HDR histogram of lateness. The master writes ``journals/replay-<index>.jsonl`` per worker
and one merged ``progress.json``, so the results folder is the one a single process writes.

Messages (msgpack over Locust's ZeroMQ link, in order on one socket):

- worker → master ``peakbench_hello`` ``{}``, every tick until it has a share;
- master → worker ``peakbench_share`` ``{index, workers, clock, late_after, drop_after, seed,
  users, rows, credentials}`` (``index`` −1: nothing for this worker);
- worker → master ``peakbench_journal`` ``{index, lines}``: journal lines, at least once a second;
- worker → master ``peakbench_done`` ``{index, lines, progress, lateness}``: the share is done;
- every worker report (``report_to_master``) carries ``peakbench: {index, progress, lateness}``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtests.journal import RowBuffer
from loadtests.pool import PooledReplay
from loadtests.replay import ReplayConfig, parse_target, partition
from loadtests.sizing import Arrivals
from peakbench.measure.segments import SegmentWriter, segment_bytes_from_env
from peakbench.plan.clock import ClockSpec, WallClock
from peakbench.plan.schedule import Item, read_schedule
from peakbench.run.lateness import Lateness
from peakbench.run.progress import ProgressDoc, count_kinds, merge_snapshots, write_atomic

HELLO, SHARE, JOURNAL, DONE = (
    "peakbench_hello",
    "peakbench_share",
    "peakbench_journal",
    "peakbench_done",
)
Send = Callable[[str, dict[str, Any]], None]


def journal_path(config: ReplayConfig, index: int) -> Path:
    """``journals/replay-<index>.jsonl`` beside the single-process ``journals/replay.jsonl``."""
    return config.journal.with_name(f"{config.journal.stem}-{index}{config.journal.suffix}")


class MasterReplay:
    """The master's side: deals shares, writes the workers' journals, merges their tallies."""

    def __init__(
        self,
        config: ReplayConfig,
        workers: int,
        credentials: str,
        segment_bytes: int | None = None,
    ) -> None:
        """``segment_bytes``: the journals' segment size (default: from the environment, see
        :func:`~peakbench.measure.segments.segment_bytes_from_env`)."""
        if workers < 1:
            raise ValueError(f"a distributed replay needs at least one worker, got {workers}")
        items = list(read_schedule(config.schedule))
        self.config = config
        self.clock = WallClock(config.clock)
        self.workers = workers
        self.scheduled = count_kinds(item.kind for item in items)
        self._shares = [
            [
                [i.t, i.kind, i.ref, i.carrier, i.tracking_number]
                for i in partition(items, k, workers)
            ]
            for k in range(workers)
        ]
        self._credentials = credentials
        self._assigned: dict[str, int] = {}
        self._files: dict[int, SegmentWriter] = {}
        self._progress: dict[int, ProgressDoc] = {}
        self._lateness: dict[int, str] = {}
        self._done: set[int] = set()
        self.lines = 0
        config.journal.parent.mkdir(parents=True, exist_ok=True)
        if segment_bytes is None:
            segment_bytes = segment_bytes_from_env(os.environ)
        for index in range(workers):
            path = journal_path(config, index)
            self._files[index] = SegmentWriter(path, segment_bytes, mode="w")

    @property
    def finished(self) -> bool:
        return len(self._done) == self.workers

    @property
    def assigned(self) -> dict[str, int]:
        """Share index of each worker (Locust client id) that has one."""
        return dict(self._assigned)

    def arrivals(self) -> Arrivals:
        """Due times per share, for the load shape."""
        return Arrivals.from_rows(self._shares)

    def reported(self, index: int) -> tuple[float, int] | None:
        """Share ``index``'s last report: (run seconds, items executed), or ``None`` yet."""
        doc = self._progress.get(index)
        if doc is None:
            return None
        return float(doc["t"]), sum(doc["done"].values()) + sum(doc["failed"].values())

    def share_for(self, client_id: str) -> dict[str, Any]:
        """The share for a worker saying hello (the same one again when it asks twice)."""
        index = self._assigned.get(client_id)
        if index is None:
            index = len(self._assigned) if len(self._assigned) < self.workers else -1
            if index >= 0:
                self._assigned[client_id] = index
        c = self.config
        return {
            "index": index,
            "workers": self.workers,
            "clock": c.clock.to_json(),
            "late_after": c.late_after,
            "drop_after": c.drop_after,
            "seed": c.seed,
            "users": c.users,
            "rows": self._shares[index] if index >= 0 else [],
            "credentials": self._credentials,
            "target": c.target.model_dump(mode="json") if c.target is not None else None,
        }

    def journal(self, data: dict[str, Any]) -> None:
        """Append a worker's journal lines to its file."""
        fh = self._files.get(int(data["index"]))
        lines = data.get("lines") or []
        if fh is not None and not fh.closed and lines:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            self.lines += len(lines)

    def report(self, data: dict[str, Any]) -> None:
        """A worker's tallies (from its periodic report or its final message)."""
        index = int(data["index"])
        if 0 <= index < self.workers and index not in self._done:
            self._progress[index] = data["progress"]
            self._lateness[index] = str(data.get("lateness") or "")

    def done(self, data: dict[str, Any]) -> None:
        self.journal(data)
        self.report(data)
        self._done.add(int(data["index"]))

    def snapshot(self) -> ProgressDoc:
        lateness = Lateness()
        for text in self._lateness.values():
            lateness.add_encoded(text)
        return merge_snapshots(
            self.clock.now(), self.scheduled, self._progress.values(), lateness, self.finished
        )

    def publish(self) -> None:
        if self.config.progress is not None:
            write_atomic(self.config.progress, self.snapshot())

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self.publish()


class Forwarder(RowBuffer):
    """A worker's journal: lines buffered in memory and sent to the master at each flush."""

    def __init__(self, send: Send, index: int, max_buffered: int = 2000) -> None:
        super().__init__(max_buffered)
        self._send = send
        self._index = index

    def flush(self) -> None:
        if self._buffer:
            self._send(JOURNAL, {"index": self._index, "lines": self.take()})


def worker_replay(
    share: dict[str, Any], send: Send, on_finished: Callable[[], None]
) -> tuple[PooledReplay, Forwarder]:
    """Build a worker's :class:`Replay` of the share the master sent."""
    index = int(share["index"])
    drop_after = share.get("drop_after")
    config = ReplayConfig(
        clock=ClockSpec.from_json(share["clock"]),
        schedule=Path("<master>"),
        journal=Path(f"<master>/replay-{index}.jsonl"),
        progress=None,
        late_after=float(share["late_after"]),
        users=int(share["users"]),
        seed=int(share["seed"]),
        drop_after=None if drop_after is None else float(drop_after),
        target=parse_target(share.get("target")),
    )
    items = [
        Item(float(t), kind, int(ref), carrier, number)
        for t, kind, ref, carrier, number in share["rows"]
    ]
    forwarder = Forwarder(send, index)
    scheduled = count_kinds(i.kind for i in items)
    replay = PooledReplay(config, iter(items), scheduled, forwarder, on_finished)
    return replay, forwarder


def worker_report(replay: PooledReplay, index: int) -> dict[str, Any]:
    """What a worker tells the master about its share: tallies and the encoded lateness."""
    return {
        "index": index,
        "progress": replay.progress.snapshot(replay.clock.now()),
        "lateness": replay.progress.lateness.encode(),
    }
