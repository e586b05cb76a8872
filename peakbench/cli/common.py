"""What every command shares: exit codes, the one-line usage error, profile and folder arguments."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peakbench.config.profile import SloSpec


EXIT_USAGE = 2
EXIT_INVALID = 3
DEFAULT_PROFILE = "profiles/black-friday.yaml"


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


def _default_profile() -> Path:
    here = Path(DEFAULT_PROFILE)
    if here.exists():
        return here
    packaged = Path(__file__).resolve().parents[2] / DEFAULT_PROFILE
    return packaged if packaged.exists() else here


def _overrides(pairs: list[str]) -> list[tuple[str, str]]:
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(
                f"--set expects KEY=VALUE like target.plugin.interval=10m, got {pair!r}"
            )
        out.append((key.strip(), value))
    return out


def _port(value: int, flag: str) -> int:
    if not 1 <= value <= 65535:
        raise UsageError(f"{flag} must be a TCP port between 1 and 65535, got {value}")
    return value


def _results_folder(arg: str) -> Path:
    """``--results``, checked without creating anything: a folder, or one that can be made."""
    path = Path(arg)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--results {arg}: exists and is not a folder")
    parent = path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--results {arg}: cannot create run folders there ({parent} is not a "
                         "writable folder)")  # fmt: skip
    return path


def _baseline(arg: str | None, slo: SloSpec, validating: bool = False) -> Path | None:
    """The baseline run folder for relative SLOs, checked before anything starts (``validate``
    refuses the same: a profile that ``run`` would refuse is not valid)."""
    from peakbench.measure.slo import BaselineError, load_baseline, needs_baseline

    chosen = arg or slo.baseline_run
    if chosen is None:
        if needs_baseline(slo):
            keys = ", ".join(slo.baseline)
            also = " (run refuses this profile without one; pass it here too)" if validating else ""
            raise UsageError(
                f"relative SLOs ({keys}) need a baseline run: pass --baseline RUN{also}"
            )
        return None
    if not needs_baseline(slo):
        raise UsageError(
            "--baseline needs relative SLOs in the profile, e.g. --set slo.staleness_p95=+10%"
        )
    try:
        load_baseline(Path(chosen))
    except BaselineError as exc:
        raise UsageError(str(exc)) from None
    return Path(chosen)
