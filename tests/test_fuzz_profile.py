"""Property-based: the profile loader turns any mutation of a valid profile into either a valid
Profile or a ProfileError of one-line issues naming the file, never another exception.

Mutations of the shipped profiles' trees: drop a key, replace a value with another type, retype a
value (number ↔ string ↔ list ↔ mapping), add an unknown key, a huge or negative number; plus
arbitrary text and bytes fed to the YAML layer. Derandomized: CI sees the same examples.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peakbench.config.loader import ProfileError, parse_profile, read_text
from peakbench.config.profile import Profile

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {
    p.name: yaml.safe_load(p.read_text()) for p in sorted((ROOT / "profiles").glob("*.yaml"))
}
FUZZ = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["10s", "-5m", "1e400", "1h30m", "fast", "", "0", "9" * 40 + "d", "∞"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in the tree (mapping keys and list indexes)."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _mutate(tree: Any, path: tuple[Any, ...], kind: str, value: Any) -> Any:
    tree = copy.deepcopy(tree)
    parent = tree
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if kind == "drop":
        del parent[last]
    elif kind == "replace":
        parent[last] = value
    elif kind == "retype":
        old = parent[last]
        parent[last] = [old] if not isinstance(old, list) else {"x": old}
    elif kind == "stringify":
        parent[last] = str(parent[last])
    elif kind == "add" and isinstance(parent[last], dict):
        parent[last][f"unknown_{len(str(value))}"] = value
    elif (
        kind == "negate"
        and isinstance(parent[last], int | float)
        and not isinstance(parent[last], bool)
    ):
        parent[last] = -parent[last] * 10**12
    else:
        parent[last] = value
    return tree


@st.composite
def mutated(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(SHIPPED)))
    tree = SHIPPED[name]
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(tree)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["drop", "replace", "retype", "stringify", "add", "negate"]))
        tree = _mutate(tree, path, kind, draw(VALUES))
    if draw(st.booleans()):
        tree = dict(tree, **{draw(st.text(min_size=1, max_size=10)): draw(VALUES)})
    return yaml.safe_dump(tree, allow_unicode=True)


def _check(text: str) -> None:
    try:
        profile = parse_profile(text, "fuzz.yaml")
    except ProfileError as exc:
        assert exc.issues
        for issue in exc.issues:
            line = str(issue)
            assert line.startswith("fuzz.yaml"), line
            assert "\n" not in line, line
            assert "Traceback" not in line
        return
    assert isinstance(profile, Profile) and profile.carriers


@FUZZ
@given(mutated())
def test_mutated_profiles_load_or_fail_with_one_line_issues(text: str) -> None:
    _check(text)


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_loads_or_fails_with_one_line_issues(text: str) -> None:
    _check(text)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_in_a_file_fail_with_one_line_issues(
    tmp_path_factory: Any, raw: bytes
) -> None:
    path = tmp_path_factory.mktemp("bytes") / "p.yaml"
    path.write_bytes(raw)
    try:
        text = read_text(path)
    except ProfileError as exc:
        assert len(exc.issues) == 1 and str(exc).startswith(str(path))
        return
    _check(text)


def test_a_profile_that_fails_names_the_line_of_the_mutated_value() -> None:
    tree = copy.deepcopy(SHIPPED["black-friday.yaml"])
    tree["clock"]["duration"] = "forever"
    text = yaml.safe_dump(tree, sort_keys=False)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "forever" in t)
    try:
        parse_profile(text, "fuzz.yaml")
    except ProfileError as exc:
        assert [str(i) for i in exc.issues] == [
            f"fuzz.yaml:{line} clock.duration: expected a duration like '10s', got 'forever'"
        ]
    else:
        raise AssertionError("an invalid duration was accepted")
