"""The replay schedule: every order, shipment and customer view of a run, at its store time.

An open-model schedule, fixed before the run from the seed: load generators execute it, they do
not decide it. On disk it is a CSV sorted by time, so a worker can stream its share.

Columns: ``t,kind,ref,carrier,tracking_number,phase``. ``phase`` (added with the curve library)
is ``peak`` while orders arrive and ``wave`` after (the post-peak tracking wave); files written
before it, without the column, still read (``phase`` is then ``""``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, NamedTuple

Kind = Literal["order", "ship", "view", "probe"]
_FIELDS = ("t", "kind", "ref", "carrier", "tracking_number", "phase")
_OLD_FIELDS = _FIELDS[:5]


class Item(NamedTuple):
    """One scheduled action. ``t`` is run seconds (store time since the run's start).

    A named tuple rather than a frozen dataclass: the replay builds one per request, and a
    tuple is built in half the time."""

    t: float
    kind: Kind
    ref: int
    """The order's reference in the schedule (not the store's order id)."""
    carrier: str = ""
    tracking_number: str = ""
    phase: str = ""
    """``peak`` (orders arriving) or ``wave`` (the post-peak tracking wave); ``""`` if unknown."""


def write_schedule(path: Path, items: Iterable[Item]) -> int:
    """Write items (already sorted by ``t``) as CSV; returns how many were written."""
    n = 0
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(_FIELDS)
        for item in items:
            writer.writerow(
                (
                    f"{item.t:.3f}",
                    item.kind,
                    item.ref,
                    item.carrier,
                    item.tracking_number,
                    item.phase,
                )
            )
            n += 1
    return n


def read_schedule(path: Path) -> Iterator[Item]:
    """Stream the items of a schedule file in time order."""
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(header) not in (_FIELDS, _OLD_FIELDS):
            raise ValueError(f"{path}: not a peakbench schedule (header {header!r})")
        for row in reader:
            t, kind, ref, carrier, number = row[:5]
            phase = row[5] if len(row) > 5 else ""
            yield Item(float(t), kind, int(ref), carrier, number, phase)  # type: ignore[arg-type]
