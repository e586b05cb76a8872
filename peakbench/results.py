"""Run folders: immutable, self-describing, written atomically.

``results/<UTC>-<profile>-<short id>/`` holds ``run.json`` (resolved profile, seed, versions,
clock), ``summary.json``, the journals it was computed from, Locust's CSVs and logs.
"""

from __future__ import annotations

import json
import os
import platform
import re
import secrets
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from peakbench.clock import ClockSpec
from peakbench.config.profile import Profile

SECRET_KEYS = re.compile(
    r"(secret|password|token|api[_-]?key|consumer[_-]?key|authorization)", re.IGNORECASE
)


def new_run_dir(results: Path, profile_name: str, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    path = results / f"{stamp}-{profile_name}-{secrets.token_hex(3)}"
    (path / "journals").mkdir(parents=True)
    (path / "logs").mkdir()
    return path


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def redact(data: Any) -> Any:
    """Replace the values of secret-looking keys anywhere in a JSON-like structure."""
    if isinstance(data, dict):
        return {
            k: "***" if SECRET_KEYS.search(str(k)) and v else redact(v) for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def run_record(profile: Profile, clock: ClockSpec, source: str, argv: list[str]) -> dict[str, Any]:
    """``run.json``: everything needed to understand and re-render the run."""
    return {
        "profile": redact(profile.model_dump(mode="json")),
        "profile_source": source,
        "seed": profile.seed,
        "clock": clock.to_json(),
        "argv": argv,
        "versions": {
            "peakbench": _version("peakbench"),
            "locust": _version("locust"),
            "python": platform.python_version(),
        },
        "git_commit": _git_commit(),
        "host": platform.node(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def load_run(root: Path) -> tuple[Profile, ClockSpec, dict[str, Any]]:
    record = json.loads((root / "run.json").read_text())
    profile = Profile.model_validate(record["profile"])
    return profile, ClockSpec.from_json(record["clock"]), record
