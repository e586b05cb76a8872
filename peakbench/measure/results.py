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

from peakbench.config.profile import Profile
from peakbench.plan.clock import ClockSpec

SECRET_KEYS = re.compile(
    r"(secret|password|token|api[_-]?key|consumer[_-]?key|authorization)", re.IGNORECASE
)


def new_run_dir(results: Path, profile_name: str, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    # absolute: children run in other folders and read their files from paths given here
    path = results.absolute() / f"{stamp}-{profile_name}-{secrets.token_hex(3)}"
    (path / "journals").mkdir(parents=True)
    (path / "logs").mkdir()
    return path


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when it is missing, unreadable, not JSON or no object
    (a file another process may not have written yet, or was stopped while writing)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: a reader sees the old file or the new one, never half of one.

    The data reach the disk before the rename (a crash right after keeps the new file); when the
    write fails (a full disk) the half-written temporary file is removed and the error raised."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def redact(data: Any) -> Any:
    """Replace the values of secret-looking keys anywhere in a JSON-like structure. ``*_env``
    keys (``secret_env``, ``token_env``) name an environment variable, not a secret: kept, or
    run.json would no longer load as a profile (issue 7)."""
    if isinstance(data, dict):
        return {
            k: "***" if SECRET_KEYS.search(str(k)) and v and not str(k).endswith("_env")
            else redact(v)
            for k, v in data.items()
        }  # fmt: skip
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
