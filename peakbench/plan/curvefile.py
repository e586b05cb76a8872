"""Custom curves from CSV files (``profiles/curves/*.csv``), validated with line numbers.

A curve file has a header and one row per step, oldest first::

    # my store's last Black Friday, orders per hour from the shop's analytics
    timestamp,rate
    2026-11-27T00:00,41
    2026-11-27T01:00,23

The first column is either ``timestamp`` (a local wall-clock time in the store's time zone, ISO
8601 without an offset; the curve then starts on that date) or ``offset`` (store time since local
midnight of the run's first day: ``90m``, ``1h30m`` or plain seconds). ``rate`` is a relative
order rate (any unit: the run scales the busiest hour to ``peak_orders_per_hour``); it holds
until the next row, and the last row lasts as long as the step before it. Lines starting with
``#`` and blank lines are ignored.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from peakbench.durations import parse_duration

_ROOT = Path(__file__).resolve().parents[2]
CURVES_DIR = _ROOT / "profiles" / "curves"
"""Where bare curve names (``csv: my-store``) are looked up."""
_MAX_SHOWN = 5


@dataclass(frozen=True, slots=True)
class CurveFile:
    """A parsed curve file: ``(offset seconds, rate)`` rows and the local date they start on
    (``None`` for offset files: the run's first day)."""

    points: tuple[tuple[float, float], ...]
    day: date | None


def resolve(name: str) -> Path:
    """The file a profile's ``csv:`` names: a path (relative to the working directory or the
    project), or a bare name in ``profiles/curves/``. Raises ValueError when none exists."""
    raw = Path(name)
    candidates = [raw, _ROOT / raw, CURVES_DIR / raw, CURVES_DIR / f"{name}.csv"]
    for path in candidates:
        if path.is_file():
            return path
    raise ValueError(f"curve file {name!r} not found (looked in . and {CURVES_DIR})")


def load(name: str) -> CurveFile:
    """Read and parse the curve file ``name`` (see :func:`resolve`)."""
    path = resolve(name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read ({exc})") from None
    return parse(text, str(path))


def parse(text: str, source: str) -> CurveFile:
    """Parse curve CSV ``text``; raise ValueError naming ``source:line`` of every bad row."""
    problems: list[str] = []
    rows: list[tuple[int, float, float]] = []
    first_day: date | None = None
    kind = ""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader(io.StringIO(line)))]
        if not kind:
            if len(cells) != 2 or cells[0] not in ("timestamp", "offset") or cells[1] != "rate":
                problems.append(
                    f"{source}:{lineno}: expected the header 'timestamp,rate' or 'offset,rate', "
                    f"got {line.strip()!r}"
                )
                break
            kind = cells[0]
            continue
        if len(cells) != 2:
            problems.append(f"{source}:{lineno}: expected 2 columns, got {len(cells)}")
            continue
        try:
            if kind == "timestamp":
                stamp = datetime.fromisoformat(cells[0])
                if stamp.tzinfo is not None:
                    raise ValueError("write local wall-clock time without an offset")
                first_day = first_day or stamp.date()
                at = (stamp - datetime.combine(first_day, datetime.min.time())).total_seconds()
            else:
                at = parse_duration(cells[0])
        except ValueError as exc:
            problems.append(f"{source}:{lineno}: {kind} {cells[0]!r}: {exc}")
            continue
        try:
            rate = float(cells[1])
            if not math.isfinite(rate) or rate < 0:
                raise ValueError
        except ValueError:
            problems.append(
                f"{source}:{lineno}: rate: expected a non-negative number, got {cells[1]!r}"
            )
            continue
        if rows and at <= rows[-1][1]:
            problems.append(
                f"{source}:{lineno}: {kind} {cells[0]!r} is not after the row on line {rows[-1][0]}"
            )
            continue
        rows.append((lineno, at, rate))
    if not problems and not kind:
        problems.append(f"{source}: empty curve file (expected a 'timestamp,rate' header)")
    elif not problems and len(rows) < 2:
        problems.append(f"{source}: a curve needs at least two rows, got {len(rows)}")
    elif not problems and not any(r[2] > 0 for r in rows):
        problems.append(f"{source}: every rate is 0")
    if problems:
        shown = problems[:_MAX_SHOWN]
        if len(problems) > _MAX_SHOWN:
            shown.append(f"and {len(problems) - _MAX_SHOWN} more")
        raise ValueError("; ".join(shown))
    return CurveFile(tuple((at, rate) for _, at, rate in rows), first_day)
