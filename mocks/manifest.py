"""The state manifest, ``mocks.state.json`` beside the journals: what they are valid for.

Written atomically at start and whenever a carrier's behaviours are reset or replaced through
the admin API; read at the next start by :mod:`mocks.recovery` (the format is described there)
and by a standalone fleet that goes on with the clock its journals were written on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mocks._server import write_ready_file
from peakbench.config.behaviours import AnyBehaviourSpec, dump_behaviours
from peakbench.config.fleet import CarrierSpec
from peakbench.measure.segments import Position
from peakbench.plan.clock import ClockSpec

if TYPE_CHECKING:
    from mocks.app import CarrierApp

MANIFEST = "mocks.state.json"
VERSION = 1


def fingerprint(
    carrier: CarrierSpec, seed: int | str, keys: int, specs: Sequence[AnyBehaviourSpec]
) -> str:
    """What the carrier's journal is valid for: its spec with behaviours ``specs``, the fleet
    seed and the number of accepted keys (key labels are positions in that list)."""
    data = carrier.model_dump(mode="json", exclude={"behaviours"})
    data.update(behaviours=dump_behaviours(specs), seed=seed, keys=keys)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_manifest(journal_dir: Path) -> dict[str, Any] | str | None:
    """The state manifest, None when absent, or why it cannot be used (a string)."""
    path = journal_dir / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return f"the state manifest {MANIFEST} is unreadable ({_short(exc)})"
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return f"the state manifest {MANIFEST} is not version {VERSION}"
    if not isinstance(data.get("carriers"), dict) or not isinstance(data.get("clock"), dict):
        return f"the state manifest {MANIFEST} is malformed"
    return data


def resume_clock(journal_dir: Path, proposed: ClockSpec, explicit_start: bool) -> ClockSpec:
    """The standalone fleet's clock: the one its journals were written on, when the fleet
    file's clock is unchanged (same scale, same ``start`` or none), so run seconds go on
    counting through a restart; else ``proposed`` (recovery then reports the change)."""
    data = read_manifest(journal_dir)
    if not isinstance(data, dict):
        return proposed
    try:
        stored = ClockSpec.from_json(data["clock"])
    except (KeyError, TypeError, ValueError):
        return proposed
    if stored.scale != proposed.scale:
        return proposed
    if explicit_start and stored.start_epoch != proposed.start_epoch:
        return proposed
    if not explicit_start and stored.start_epoch != stored.wall_epoch:
        return proposed
    return stored


class StateManifest:
    """The manifest this process keeps: written at start, and again when an admin reset or
    behaviour change replaces a carrier's pipeline (seen at each journal flush)."""

    def __init__(self, journal_dir: Path, clock: ClockSpec, seed: int | str) -> None:
        self.path = journal_dir / MANIFEST
        self.clock = clock
        self.seed = seed
        self.carriers: dict[str, dict[str, Any]] = {}
        self._pipelines: dict[str, object] = {}

    def start(
        self,
        started: Sequence[tuple[CarrierApp, str, Position]],
        keys: Mapping[str, Sequence[str]],
    ) -> None:
        """Record every carrier after the start decisions: ``(app, fingerprint, from)`` each,
        ``from`` being where the journal lines that count start."""
        for app, fp, start in started:
            name = app.carrier.name
            self.carriers[name] = {
                "fingerprint": fp,
                "keys": len(keys.get(name, ())),
                "from": list(start),
            }
            self._pipelines[name] = app.pipeline
        self.save()

    def watch(self, apps: Sequence[CarrierApp]) -> None:
        """Note carriers whose behaviours were reset or replaced since the last look: lines
        before now no longer count, and changed behaviours are not what a restart serves."""
        changed = False
        for app in apps:
            name = app.carrier.name
            if self._pipelines.get(name) is app.pipeline:
                continue
            self._pipelines[name] = app.pipeline
            entry = self.carriers.setdefault(name, {"keys": 0})
            entry["from"] = list(app.journal.position())
            original = tuple(app.carrier.behaviours)
            entry["live"] = dump_behaviours(app.specs) != dump_behaviours(original)
            entry["fingerprint"] = fingerprint(app.carrier, self.seed, entry["keys"], app.specs)
            changed = True
        if changed:
            self.save()

    def save(self) -> None:
        """Write the manifest atomically; a failure is not fatal (the next restart then
        reports what it finds)."""
        doc = {"version": VERSION, "clock": self.clock.to_json(), "carriers": self.carriers}
        with contextlib.suppress(OSError):
            write_ready_file(self.path, doc)


def clock_ok(manifest: dict[str, Any]) -> bool:
    """Whether the manifest's clock is a readable :class:`ClockSpec`."""
    try:
        ClockSpec.from_json(manifest["clock"])
    except (KeyError, TypeError, ValueError):
        return False
    return True


def _short(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "strerror", None) or exc).split())
