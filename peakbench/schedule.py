"""The replay schedule: every order, shipment and customer view of a run, at its store time.

An open-model schedule, fixed before the run from the seed: load generators execute it, they do
not decide it. On disk it is a CSV sorted by time, so a worker can stream its share.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["order", "ship", "view"]
_FIELDS = ("t", "kind", "ref", "carrier", "tracking_number")


@dataclass(frozen=True, slots=True)
class Item:
    """One scheduled action. ``t`` is run seconds (store time since the run's start)."""

    t: float
    kind: Kind
    ref: int
    """The order's reference in the schedule (not the store's order id)."""
    carrier: str = ""
    tracking_number: str = ""


def write_schedule(path: Path, items: Iterable[Item]) -> int:
    """Write items (already sorted by ``t``) as CSV; returns how many were written."""
    n = 0
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(_FIELDS)
        for item in items:
            writer.writerow(
                (f"{item.t:.3f}", item.kind, item.ref, item.carrier, item.tracking_number)
            )
            n += 1
    return n


def read_schedule(path: Path) -> Iterator[Item]:
    """Stream the items of a schedule file in time order."""
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(header) != _FIELDS:
            raise ValueError(f"{path}: not a peakbench schedule (header {header!r})")
        for t, kind, ref, carrier, number in reader:
            yield Item(float(t), kind, int(ref), carrier, number)  # type: ignore[arg-type]
