"""Registrations of aggregator personalities survive a restart in their own log.

AfterShip, EasyPost, 17TRACK and TrackShip keep what a store registered, per account; each
change (``add``, ``drop``, ``reset``; the account a hash of its key, never the key) goes to
``registrations-<name>.jsonl`` beside the journal as it happens. A restart re-feeds the log into
the fresh personality (only ``--fresh`` starts without), then rewrites it compacted to the
registrations that remain, so it stays bounded by the personality's capacity.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from mocks.carriers._refresh import Registrations

if TYPE_CHECKING:
    from mocks.app import CarrierApp


def registrations_path(journal_dir: Path, carrier: str) -> Path:
    """``<journal_dir>/registrations-<name>.jsonl``: the carrier's registration log."""
    return journal_dir / f"registrations-{carrier}.jsonl"


def keep_registrations(app: CarrierApp, journal_dir: Path, fresh: bool = False) -> int:
    """Re-feed the carrier's registration log into its personality (unless ``fresh``), rewrite
    the log compacted, and log every later change there; the number of registrations
    recovered (0 for personalities that keep none)."""
    personality = app.personality
    if not isinstance(personality, Registrations):
        return 0
    path = registrations_path(journal_dir, app.carrier.name)
    if not fresh:
        with contextlib.suppress(OSError), path.open("rb") as fh:
            for raw in fh:
                try:
                    change = json.loads(raw)
                except ValueError:  # a torn last line from a kill
                    continue
                if isinstance(change, dict):
                    personality.restore(change)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        compact = path.with_name(path.name + ".tmp")
        with compact.open("w", encoding="utf-8") as out:
            for entry in personality.entries():
                out.write(json.dumps(entry, separators=(",", ":")) + "\n")
        os.replace(compact, path)
        log = path.open("a", encoding="utf-8", buffering=1)  # a line reaches the file at once
    except OSError:
        return len(personality)
    personality.log = log.write
    return len(personality)
