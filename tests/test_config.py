from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from peakbench.config.loader import ProfileError, load_profile, parse_profile
from peakbench.durations import format_duration, parse_duration

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("10s", 10), ("5m", 300), ("1h30m", 5400), ("2d", 172800), (3, 3.0)],
)
def test_durations_parse(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["fast", "10 parsecs", "", "1h-", "-5s", True, None, "5x"])
def test_durations_reject_with_a_hint(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a"):
        parse_duration(bad)


def test_format_duration_round_trips_common_values() -> None:
    for seconds in (0.25, 45, 300, 5400, 90000):
        assert abs(parse_duration(format_duration(seconds)) - seconds) <= 0.01 * seconds + 0.5


def test_shipped_profiles_are_valid() -> None:
    for path in sorted((ROOT / "profiles").glob("*.yaml")):
        profile = load_profile(path)
        assert profile.carriers


def test_every_error_at_once_with_file_line_and_path() -> None:
    text = (
        "name: bf\n"
        "clock:\n"
        "  scale: 600\n"
        "  duraton: 2h\n"
        "target:\n"
        "  plugin:\n"
        "    interval: fast\n"
        "carriers:\n"
        "  - name: generic\n"
        "    behaviours:\n"
        "      - type: quota\n"
        "        per: 10 parsecs\n"
        "        limit: 5\n"
    )
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "profiles/x.yaml")
    lines = [str(i) for i in info.value.issues]
    assert lines == [
        "profiles/x.yaml:4 clock.duraton: unknown field; did you mean 'duration'?",
        "profiles/x.yaml:7 target.plugin.interval: expected a duration like '10s', got 'fast'",
        "profiles/x.yaml:12 carriers[0].behaviours[0].per: "
        "expected a duration like '10s', got '10 parsecs'",
    ]


def test_missing_fields_point_at_their_mapping() -> None:
    text = "name: bf\ncarriers:\n  - name: g\n    behaviours:\n      - type: block\n"
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "p.yaml")
    assert "p.yaml:5 carriers[0].behaviours[0].violations: required field is missing" in str(
        info.value
    )


def test_invalid_yaml_is_one_line() -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile("name: [unclosed\n", "p.yaml")
    assert len(info.value.issues) == 1
    assert str(info.value).startswith("p.yaml:")


def test_overrides_apply_and_are_validated(make_profile: object) -> None:
    text = (ROOT / "profiles" / "black-friday.yaml").read_text()
    profile = parse_profile(text, "bf.yaml", [("target.plugin.interval", "1h")])
    assert profile.target.plugin.interval == 3600
    with pytest.raises(ProfileError, match=r"^--set target\.plugin\.interval=often: expected a"):
        parse_profile(text, "bf.yaml", [("target.plugin.interval", "often")])


def test_duplicate_carrier_names_are_refused(make_profile: object) -> None:
    text = "name: bf\ncarriers:\n  - name: a\n  - name: a\n"
    with pytest.raises(ProfileError, match="carrier names must be unique"):
        parse_profile(text, "p.yaml")


def test_cli_rejects_a_typo_fast_with_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (ROOT / "profiles" / "black-friday.yaml")
        .read_text()
        .replace("interval: 15m", "intervl: 15m")
    )
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(bad), "--results", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert err == [
        f"error: {bad}:18 target.plugin.intervl: unknown field; did you mean 'interval'?"
    ]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists(), "nothing may start for a bad profile"
    assert elapsed < 5.0  # interpreter start included; the validation itself is milliseconds


def test_cli_wrong_unit_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (ROOT / "profiles" / "black-friday.yaml").read_text().replace("per: 1d", "per: 1 day")
    )
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert (
        "carriers[0].behaviours[2].per: expected a duration like '10s', got '1 day'" in proc.stderr
    )
