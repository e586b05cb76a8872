"""Load a profile from YAML: every error at once, one line each with file, line and field path.

bf.yaml:14 carriers[0].behaviours[1].per: expected a duration like '10s', got 'fast'
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from peakbench.config import base, behaviours, fleet, profile, push, store, targets
from peakbench.config.profile import Profile

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ProfileIssue:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ProfileError(Exception):
    """A profile that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ProfileIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def _vocabulary() -> set[str]:
    names: set[str] = set()
    for module in (base, behaviours, fleet, profile, push, store, targets):
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BaseModel):
                names.update(obj.model_fields)
    return names


def _line_map(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    """Record the line of every mapping key and sequence item, keyed by its path."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            _line_map(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, i), out)


def _format_path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Drop the parts of a pydantic location that are not in the document (union tags)."""
    out: list[Any] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part in _vocabulary():
            out.append(part)  # a missing field: keep it; anything else is a union tag
            node = None
        elif not isinstance(node, dict | list):
            out.append(part)
    return tuple(out)


def _message(err: Any, key: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(key), sorted(_vocabulary()), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown field{hint}"
    if kind == "missing":
        return "required field is missing"
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if kind == "literal_error":
        return f"{msg}, got {err.get('input')!r}"
    return msg


def _apply_override(data: dict[str, Any], key: str, raw: str) -> str | None:
    """Set a dotted path (``carriers.0.behaviours.1.limit``) to a YAML value; an error or None."""
    parts = key.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return f"--set {key}: {'.'.join(parts[:i]) or 'profile'} has no item {part}"
            if last:
                node[int(part)] = yaml.safe_load(raw)
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = yaml.safe_load(raw)
            else:
                node = node.setdefault(part, {})
        else:
            return f"--set {key}: {'.'.join(parts[:i])} is not a mapping or list"
    return None


def parse_model(
    text: str,
    model: type[M],
    source: str,
    kind: str = "profile",
    overrides: Sequence[tuple[str, str]] = (),
) -> M:
    """Validate YAML ``text`` as ``model`` (a profile, a fleet file, ...) with ``--set``
    overrides; raise :class:`ProfileError` listing every issue with its line and field path."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        raise ProfileError([ProfileIssue(source, line, "", f"invalid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise ProfileError([ProfileIssue(source, 1, "", f"a {kind} must be a YAML mapping")])
    problems = [p for key, raw in overrides if (p := _apply_override(data, key, raw))]
    if problems:
        raise ProfileError([ProfileIssue(source, None, "", p) for p in problems])
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_map(node, (), lines)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues = []
        errors = exc.errors()
        for err in errors:
            loc = tuple(err["loc"])
            if err["type"] == "too_short" and any(
                tuple(o["loc"])[: len(loc)] == loc and len(o["loc"]) > len(loc) for o in errors
            ):
                continue  # pydantic's echo of an invalid item, not a second problem
            path = _data_path(tuple(err["loc"]), data)
            line = next(
                (lines[path[:cut]] for cut in range(len(path), -1, -1) if path[:cut] in lines), None
            )
            key = path[-1] if path else None
            issues.append(ProfileIssue(source, line, _format_path(path), _message(err, key)))
        raise ProfileError(issues) from None


def parse_profile(
    text: str, source: str = "<profile>", overrides: Sequence[tuple[str, str]] = ()
) -> Profile:
    """Validate profile text (with ``--set`` overrides); raise :class:`ProfileError` listing
    every issue."""
    return parse_model(text, Profile, source, "profile", overrides)


def load_profile(path: Path, overrides: Sequence[tuple[str, str]] = ()) -> Profile:
    """Read and validate a profile file (see :func:`parse_profile`)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ProfileError([ProfileIssue(str(path), None, "", exc.strerror or str(exc))]) from None
    return parse_profile(text, str(path), overrides)
