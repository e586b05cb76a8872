"""A restarted mock fleet recovers its quota and ban state from its journals, or says it cannot.

The journal already says what every admitted and refused request did, so recovery re-feeds the
journaled arrivals (``t``, key label, ip, route, outcome) through the carrier's freshly built
behaviours in order (:meth:`~mocks.behaviours.pipeline.Pipeline.recall`): quotas are charged by
admitted requests, blocks count throttled ones as violations and start the same bans at the
same run seconds. A caller banned before the restart is still banned after it; a daily quota
spent stays spent; store time passes while the server is down, as it did for the carrier.

Beside the journals, ``mocks.state.json`` (the *state manifest*, :mod:`mocks.manifest`,
written atomically at start and whenever a carrier's behaviours are reset or replaced through
the admin API) says what the journals are valid for::

    {"version": 1, "clock": {ClockSpec}, "carriers": {"ups": {"fingerprint": "3f0c…",
     "from": [segment, offset]}}}

``fingerprint``: a hash of the carrier's spec with its current behaviours, the fleet seed and
how many API keys it accepts (never the keys); ``from``: where the journal lines that count
start (after a reset, a config change or a fresh start, older lines no longer count).

It cannot recover, starts fresh and says so in one line, when: the journal is missing or
unreadable; there is a journal but no manifest, or the manifest is unreadable; the clock or the
carrier's config (fingerprint) changed; behaviours were changed live through the admin API
(not persisted: a restart serves the fleet file's); or retention deleted segments holding lines
the longest window still needs (:meth:`Pipeline.memory`). What is lost in any case: up to one
wall second of requests a killed server had not flushed, and probability draws (a behaviour
with ``probability`` below 1 is recalled as if it applied).

Registrations of aggregator personalities (what a store registered, per account) come back
from their own log, whatever else changed (:mod:`mocks.registrations`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mocks.behaviours.pipeline import build_pipeline
from mocks.journal import Journal, line_t
from mocks.manifest import MANIFEST, StateManifest, clock_ok, fingerprint, read_manifest
from mocks.registrations import keep_registrations
from peakbench.config.fleet import CarrierSpec, FleetSpec
from peakbench.durations import format_duration
from peakbench.measure.segments import DEFAULT_SEGMENT_BYTES, Position, end_position, segments
from peakbench.plan.clock import Clock, ClockSpec

if TYPE_CHECKING:
    from mocks.app import CarrierApp

RECOVERED, FRESH, UNRECOVERABLE = "recovered", "fresh", "unrecoverable"
"""``recovered``: state rebuilt from the journal; ``fresh``: nothing to recover (a first
start, no quota or block, or ``--fresh``); ``unrecoverable``: there was state and it could not
be rebuilt (the reason says why); the carrier starts fresh."""


def journal_path(journal_dir: Path, carrier: str) -> Path:
    """``<journal_dir>/carrier-<name>.jsonl`` (segment 0 of the carrier's request journal)."""
    return journal_dir / f"carrier-{carrier}.jsonl"


@dataclass(frozen=True, slots=True)
class Recovery:
    """What one carrier did with the journal it found at start."""

    carrier: str
    state: str
    """``recovered``, ``fresh`` or ``unrecoverable``."""
    detail: str
    """Why (unrecoverable, fresh) or from what (recovered), in words."""
    lines: int = 0
    """Journal lines re-fed through the behaviours."""
    banned: int = 0
    """Callers banned at start."""
    skipped: int = 0
    """Unreadable journal lines passed over (a torn line from a kill)."""
    registrations: int = 0
    """Registrations re-fed from the registration log."""

    def line(self) -> str:
        """The one line the log, the ready file and the admin counters carry."""
        if self.state == RECOVERED:
            text = f"{self.carrier}: recovered quota and ban state: {self.detail}"
        elif self.state == FRESH:
            text = f"{self.carrier}: fresh state: {self.detail}"
        else:
            text = (
                f"{self.carrier}: cannot recover quota and ban state: {self.detail}; starting fresh"
            )
        if self.registrations:
            text += f"; {self.registrations} registration(s) recovered"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "message": self.line(),
            "lines": self.lines,
            "banned": self.banned,
            "skipped": self.skipped,
            "registrations": self.registrations,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """Before the journals are opened: replay ``span`` of the carrier's journal, or not
    (``recovery`` then says why)."""

    carrier: str
    fingerprint: str
    span: tuple[Position, Position] | None = None
    recovery: Recovery | None = None


def resume(
    journal_dir: Path,
    fleet: FleetSpec,
    clock: Clock,
    keys: Mapping[str, Sequence[str]],
    build: Callable[[CarrierSpec, Journal], CarrierApp],
    *,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    keep: int | None = None,
    fresh: bool = False,
) -> tuple[list[CarrierApp], list[Recovery], StateManifest]:
    """Open every carrier of ``fleet`` on its journal in ``journal_dir`` (``build`` makes the
    app), recover what the journals allow, and record the state manifest. Each carrier's
    one-line outcome is in its journal's ``counters.recovery``."""
    plans = plan(journal_dir, fleet, clock, keys, fresh)
    apps = []
    for carrier in fleet.carriers:
        path = journal_path(journal_dir, carrier.name)
        apps.append(
            build(carrier, Journal(carrier.name, path, segment_bytes=segment_bytes, keep=keep))
        )
    now = clock.now()
    recoveries = [apply(p, app, journal_dir, now) for p, app in zip(plans, apps, strict=True)]
    recoveries = [
        dataclasses.replace(r, registrations=keep_registrations(app, journal_dir, fresh))
        for r, app in zip(recoveries, apps, strict=True)
    ]
    for app, recovery in zip(apps, recoveries, strict=True):
        app.journal.counters.recovery = recovery.line()
    manifest = StateManifest(journal_dir, clock.spec, fleet.seed)
    started = []
    for app, item, recovery in zip(apps, plans, recoveries, strict=True):
        # a recovered carrier keeps its journal's ``from``; the others count from its end
        recovered = recovery.state == RECOVERED and item.span is not None
        start = item.span[0] if recovered and item.span is not None else app.journal.position()
        started.append((app, item.fingerprint, start))
    manifest.start(started, keys)
    return apps, recoveries, manifest


def plan(
    journal_dir: Path,
    fleet: FleetSpec,
    clock: Clock,
    keys: Mapping[str, Sequence[str]],
    fresh: bool = False,
) -> list[Plan]:
    """Decide, per carrier, what to replay, before any journal is opened for writing."""
    manifest = read_manifest(journal_dir)
    out = []
    for carrier in fleet.carriers:
        specs = tuple(carrier.behaviours)
        fp = fingerprint(carrier, fleet.seed, len(keys.get(carrier.name, ())), specs)
        try:
            decision = _plan_one(journal_dir, carrier, fp, manifest, clock, fresh)
        except OSError as exc:
            decision = _fail(carrier.name, f"the journal is unreadable ({_short(exc)})")
        if isinstance(decision, Recovery):
            out.append(Plan(carrier.name, fp, recovery=decision))
        else:
            out.append(Plan(carrier.name, fp, span=decision))
    return out


def _plan_one(
    journal_dir: Path,
    carrier: CarrierSpec,
    fp: str,
    manifest: dict[str, Any] | str | None,
    clock: Clock,
    fresh: bool,
) -> tuple[Position, Position] | Recovery:
    name = carrier.name
    path = journal_path(journal_dir, name)
    found = segments(path)
    written = any(file.stat().st_size for _, file in found)
    if fresh:
        return Recovery(name, FRESH, "--fresh given (the journal is kept, its state ignored)")
    if not any(s.type in ("quota", "block") for s in carrier.behaviours):
        return Recovery(name, FRESH, "no quota or block behaviours, no state to recover")
    if manifest is None:
        if written:
            return _fail(name, f"a journal but no state manifest ({MANIFEST}) beside it")
        return Recovery(name, FRESH, "no journal yet")
    if isinstance(manifest, str):
        return _fail(name, manifest)
    stored = ClockSpec.from_json(manifest["clock"]) if clock_ok(manifest) else None
    if stored != clock.spec:
        return _fail(name, "the clock changed since the journal was written")
    entry = manifest["carriers"].get(name)
    if not isinstance(entry, dict):
        if written:
            return _fail(name, f"the carrier is not in the state manifest ({MANIFEST})")
        return Recovery(name, FRESH, "no journal yet")
    if not found:
        return _fail(name, f"the journal {path.name} is missing")
    if entry.get("live"):
        return _fail(name, "its behaviours were changed through the admin API before the stop")
    if entry.get("fingerprint") != fp:
        return _fail(
            name,
            "the fleet config changed since the journal was written "
            f"(fingerprint {entry.get('fingerprint')} → {fp})",
        )
    try:
        start: Position = (int(entry["from"][0]), int(entry["from"][1]))
    except (KeyError, TypeError, ValueError, IndexError):
        return _fail(name, f"the state manifest {MANIFEST} is malformed")
    first_index, first_file = found[0]
    if start[0] < first_index:
        memory = _memory(carrier)
        earliest = _first_t(first_file)
        needed = clock.now() - memory
        if earliest > needed:
            return _fail(
                name,
                f"segments before {first_file.name} were deleted (retention), the journal now "
                f"starts at t={earliest:.3f} but the longest window "
                f"({_duration(memory)}) needs lines since t={max(needed, 0.0):.3f}",
            )
        start = (first_index, 0)
    indexes = dict(found)
    if start[0] in indexes and indexes[start[0]].stat().st_size < start[1]:
        return _fail(name, "the journal is shorter than the state manifest says")
    return (start, end_position(path))


def apply(item: Plan, app: CarrierApp, journal_dir: Path, now: float) -> Recovery:
    """Re-feed the planned span of the journal through ``app``'s fresh behaviours."""
    if item.recovery is not None:
        return item.recovery
    assert item.span is not None
    (start, end) = item.span
    pipeline = app.pipeline
    horizon = now - pipeline.memory()
    start_epoch = app.clock.spec.start_epoch
    lines = skipped = 0
    first = last = math.nan
    try:
        for raw in _between(journal_path(journal_dir, item.carrier), start, end):
            t = line_t(raw)
            if t < horizon and t != -math.inf:  # older than any window (-inf: unreadable)
                continue
            row = _row(raw)
            if row is None:
                skipped += 1
                continue
            key, status = row["key"], row["status"]
            if key == "anon" or status == 413:  # never reached the behaviours
                continue
            t = row["t"]
            pipeline.recall(row["route"], key, row["ip"], t, start_epoch + t, row["outcome"])
            lines += 1
            first = t if math.isnan(first) else first
            last = t
    except OSError as exc:
        app.set_behaviours(app.specs)  # half-replayed state is worse than none
        return _fail(item.carrier, f"the journal is unreadable ({_short(exc)})")
    banned = pipeline.banned(now)
    span = f"t {first:.3f} to {last:.3f}" if lines else "none in the longest window"
    detail = f"{lines} journal lines ({span}), {banned} caller(s) banned"
    if skipped:
        detail += f", {skipped} unreadable line(s) skipped"
    return Recovery(item.carrier, RECOVERED, detail, lines, banned, skipped)


def _fail(carrier: str, why: str) -> Recovery:
    return Recovery(carrier, UNRECOVERABLE, why)


def _memory(carrier: CarrierSpec) -> float:
    return build_pipeline(carrier.behaviours, "memory").memory()


def _between(path: Path, start: Position, end: Position) -> Iterator[bytes]:
    """The lines of journal ``path`` from position ``start`` up to ``end`` (exclusive)."""
    for index, segment in segments(path):
        if index < start[0] or index > end[0]:
            continue
        with segment.open("rb") as fh:
            offset = start[1] if index == start[0] else 0
            fh.seek(offset)
            for raw in fh:
                offset += len(raw)
                if index == end[0] and offset > end[1]:
                    return
                yield raw


def _first_t(segment: Path) -> float:
    """``t`` of the first readable line of one segment file (inf: none)."""
    with segment.open("rb") as fh:
        for raw in fh:
            t = line_t(raw)
            if t != -math.inf:
                return t
    return math.inf


def _row(raw: bytes) -> dict[str, Any] | None:
    try:
        row = json.loads(raw)
        return {
            "t": float(row["t"]),
            "route": str(row["route"]),
            "key": str(row["key"]),
            "ip": str(row["ip"]),
            "status": int(row["status"]),
            "outcome": str(row["outcome"]),
        }
    except (ValueError, KeyError, TypeError):
        return None


def _duration(seconds: float) -> str:
    return "ever, permanent bans" if seconds == math.inf else format_duration(seconds)


def _short(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "strerror", None) or exc).split())
