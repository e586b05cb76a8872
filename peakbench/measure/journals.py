"""Readers for what a run leaves behind: the replay journal, carrier journals, the store's log.

Readers are tolerant of a torn last line (a run interrupted mid-write) and count what they skip.
Every journal may be written in segments (``carrier-ups.jsonl``, ``carrier-ups.1.jsonl``…, see
:mod:`peakbench.measure.segments`): the readers here read all of a journal's segments, in order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from peakbench.measure.segments import journals_in, segment_files


@dataclass(slots=True)
class SkipCounter:
    lines: int = 0
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReplayRecord:
    kind: str
    ref: int
    due: float
    start: float
    end: float
    ok: bool
    status: int
    late: bool
    error: str | None
    tracking_number: str = ""
    shown: int | None = None
    dropped: bool = False
    """Not sent: the item could not start within the replay's ``drop_after`` (also not ok)."""


@dataclass(frozen=True, slots=True)
class CarrierRecord:
    t: float
    carrier: str
    route: str
    status: int
    outcome: str
    cause: str | None
    numbers: int


@dataclass(frozen=True, slots=True)
class Change:
    tracking_number: str
    t: float
    shown_count: int


@dataclass(frozen=True, slots=True)
class Shipment:
    order_id: int
    carrier: str
    tracking_number: str
    shipped_t: float
    shown_count: int


def read_jsonl(path: Path, skipped: SkipCounter | None = None) -> Iterator[dict[str, Any]]:
    """The JSON objects of journal ``path``, all its segments in order; unreadable lines are
    skipped and counted in ``skipped``."""
    for segment in segment_files(path):
        yield from _read_file(segment, skipped)


def replay_journals(path: Path) -> list[Path]:
    """The replay journal files of a run, every segment in order: ``path``'s
    (``journals/replay.jsonl``, one process), then those of its per-worker siblings
    ``replay-<index>.jsonl`` (a distributed run), index order."""
    siblings = journals_in(path.parent, f"{path.stem}-*{path.suffix}")
    numbered = [p for p in siblings if p.stem.rpartition("-")[2].isdigit()]
    journals = [path, *sorted(numbered, key=lambda p: int(p.stem.rpartition("-")[2]))]
    files = [segment for journal in journals for segment in segment_files(journal)]
    return files or [path]


def replay_records(path: Path, skipped: SkipCounter | None = None) -> Iterator[ReplayRecord]:
    """Every executed item of a run, from ``path`` and its per-worker siblings (see
    :func:`replay_journals`), so one reader serves single-process and distributed runs."""
    for segment in replay_journals(path):
        yield from _replay_file(segment, skipped)


def _replay_file(path: Path, skipped: SkipCounter | None) -> Iterator[ReplayRecord]:
    for row in _read_file(path, skipped):
        yield ReplayRecord(
            kind=str(row["kind"]),
            ref=int(row["ref"]),
            due=float(row["due"]),
            start=float(row["start"]),
            end=float(row.get("end", row["start"])),
            ok=bool(row["ok"]),
            status=int(row.get("status") or 0),
            late=bool(row.get("late")),
            error=row.get("error"),
            tracking_number=str(row.get("tracking_number") or ""),
            shown=None if row.get("shown") is None else int(row["shown"]),
            dropped=bool(row.get("dropped")),
        )


def carrier_records(
    journal_dir: Path, skipped: SkipCounter | None = None
) -> Iterator[CarrierRecord]:
    """Every carrier request journaled in ``journal_dir``, carrier by carrier (name order),
    each carrier's segments in order."""
    for path in journals_in(journal_dir, "carrier-*.jsonl"):
        for row in read_jsonl(path, skipped):
            yield CarrierRecord(
                t=float(row["t"]),
                carrier=str(row["carrier"]),
                route=str(row.get("route", "")),
                status=int(row.get("status") or 0),
                outcome=str(row["outcome"]),
                cause=row.get("cause"),
                numbers=int(row.get("numbers") or 0),
            )


@dataclass(frozen=True, slots=True)
class PushRecord:
    """One webhook delivery attempt of a pushing carrier (``journals/push-<carrier>.jsonl``,
    format in ``mocks/push/journal.py``)."""

    t: float
    carrier: str
    attempt: int
    status: int | None
    error: str | None
    next_t: float | None

    @property
    def delivered(self) -> bool:
        return self.error is None

    @property
    def given_up(self) -> bool:
        """The last try of the push failed: the store never got this update by push."""
        return self.error is not None and self.next_t is None


def push_records(journal_dir: Path, skipped: SkipCounter | None = None) -> Iterator[PushRecord]:
    """Every webhook push attempt journaled in ``journal_dir``, carrier by carrier."""
    for path in journals_in(journal_dir, "push-*.jsonl"):
        for row in read_jsonl(path, skipped):
            status = row.get("status")
            next_t = row.get("next_t")
            yield PushRecord(
                t=float(row.get("t") or 0.0),
                carrier=str(row.get("carrier") or path.stem.removeprefix("push-")),
                attempt=int(row.get("attempt") or 1),
                status=None if status is None else int(status),
                error=None if row.get("error") is None else str(row["error"]),
                next_t=None if next_t is None else float(next_t),
            )


def _read_file(path: Path, skipped: SkipCounter | None) -> Iterator[dict[str, Any]]:
    """The JSON objects of one segment file (see :func:`read_jsonl` for a whole journal)."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                row = orjson.loads(line)
            except ValueError:
                if skipped is not None:
                    skipped.lines += 1
                    skipped.files.append(path.name)
                continue
            if isinstance(row, dict):
                yield row


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def store_changes(db: Path) -> dict[str, list[Change]]:
    """The store's change log per tracking number, in time order."""
    out: dict[str, list[Change]] = {}
    if not db.exists():
        return out
    with _connect(db) as con:
        rows = con.execute(
            "SELECT tracking_number, t, shown_count FROM tracking_changes ORDER BY t, id"
        )
        for number, t, shown in rows:
            out.setdefault(number, []).append(Change(number, float(t), int(shown)))
    return out


def store_shipments(db: Path) -> list[Shipment]:
    if not db.exists():
        return []
    with _connect(db) as con:
        rows = con.execute(
            "SELECT order_id, carrier, tracking_number, shipped_t, shown_count FROM shipments"
        )
        return [Shipment(int(o), str(c), str(n), float(s), int(k or 0)) for o, c, n, s, k in rows]


def queue_samples(db: Path) -> list[tuple[float, int, int, int]]:
    """``(t, pending, due, running)`` of the store plugin's queue at each tick."""
    if not db.exists():
        return []
    with _connect(db) as con:
        return [
            (float(t), int(p), int(d), int(r))
            for t, p, d, r in con.execute(
                "SELECT t, pending, due, running FROM queue_samples ORDER BY t"
            )
        ]
