"""Load a profile from YAML: every error at once, one line each with file, line and field path.

bf.yaml:14 carriers[0].behaviours[1].per: expected a duration like '10s', got 'fast'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from peakbench.config import base, behaviours, fleet, profile, push, store, targets
from peakbench.config.gauges import GAUGES
from peakbench.config.profile import Profile

M = TypeVar("M", bound=BaseModel)

MAX_BYTES = 4 << 20
"""Largest profile or fleet file read, in bytes (a profile is a few kilobytes)."""
MAX_NODES = 200_000
"""Most YAML nodes a document may expand to, aliases followed (a few hundred is usual): more is
an alias bomb or a generated file gone wrong, refused before it costs minutes of validation."""
MAX_DEPTH = 60
"""Deepest nesting of mappings and lists (a profile nests about six levels)."""
MAX_ORDERS = 5_000_000
"""Most orders a profile may schedule, bounded by ``peak_orders_per_hour`` × the order window."""
MAX_VIEWS_PER_ORDER = 1_000
"""Largest bucket of ``views.per_order`` (customers look a few times, not millions)."""


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
            if not isinstance(key, yaml.ScalarNode):
                continue  # a complex key: the constructor refuses it (unhashable)
            out[(*path, key.value)] = key.start_mark.line + 1
            _line_map(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, i), out)


def _shape_issue(root: yaml.Node) -> tuple[int, str] | None:
    """The first structural problem of a composed document, as ``(line, message)``: a key
    written twice in one mapping (YAML forbids it; PyYAML silently keeps the last), nesting
    deeper than :data:`MAX_DEPTH`, or more than :data:`MAX_NODES` nodes with aliases followed
    (an alias bomb, or an alias that contains itself)."""
    count = 0
    stack: list[tuple[yaml.Node, int, tuple[int, ...]]] = [(root, 0, ())]
    while stack:
        node, depth, ancestors = stack.pop()
        count += 1
        line = node.start_mark.line + 1
        if count > MAX_NODES:
            return line, f"the document expands to more than {MAX_NODES:,} values (alias bomb?)"
        if depth > MAX_DEPTH:
            return line, f"nested deeper than {MAX_DEPTH} levels"
        if id(node) in ancestors:
            return line, "an alias refers to a node that contains it (a cycle)"
        inner = (*ancestors, id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        return key.start_mark.line + 1, (
                            f"key {key.value!r} appears twice in one mapping (first at line "
                            f"{seen[key.value]})"
                        )
                    seen[key.value] = key.start_mark.line + 1
                stack.append((value, depth + 1, inner))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1, inner) for item in node.value)
    return None


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


def _relative(value: Any) -> bool:
    return isinstance(value, str) and value.strip()[:1] in "+-"


def _slo_value(parts: list[str], old: Any, new: Any) -> Any:
    """An SLO set by ``--set`` next to the profile's: a relative bound (``+10%``) joins an
    absolute one already there (``{max: 1h, baseline: +10%}``) and an absolute one keeps a
    relative one, instead of silently replacing it (``slo.<figure>`` only)."""
    if len(parts) != 2 or parts[0] != "slo" or parts[1] not in GAUGES or old is None:
        return new
    if isinstance(old, dict) and set(old) <= {"max", "baseline"}:
        old_max, old_rel = old.get("max"), old.get("baseline")
    else:
        old_max, old_rel = (None, old) if _relative(old) else (old, None)
    if _relative(new) and old_max is not None:
        return {"max": old_max, "baseline": new}
    if not _relative(new) and not isinstance(new, dict) and old_rel is not None:
        return {"max": new, "baseline": old_rel}
    return new


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
                node[part] = _slo_value(parts, node.get(part), yaml.safe_load(raw))
            else:
                node = node.setdefault(part, {})
        else:
            return f"--set {key}: {'.'.join(parts[:i])} is not a mapping or list"
    return None


def _override_problem(data: dict[str, Any], key: str, raw: str) -> str | None:
    """:func:`_apply_override`, with a value that is not YAML reported instead of raised."""
    try:
        return _apply_override(data, key, raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not valid YAML"
        return f"--set {key}: the value {raw!r} is not valid YAML ({problem})"
    except RecursionError:
        return f"--set {key}: the value is nested too deeply"


def _blame(issue: ProfileIssue, overrides: Sequence[tuple[str, str]]) -> ProfileIssue:
    """An issue in a value that ``--set`` gave names that flag, not a line of the file:
    ``--set target.plugin.interval=fast: expected a duration like '10s', got 'fast'``."""
    where = tuple(re.findall(r"[^.\[\]]+", issue.path))
    for key, raw in reversed(overrides):  # the last --set of a field is the one that counts
        parts = tuple(key.strip().split("."))
        if parts and where[: len(parts)] == parts:
            inner = issue.path if len(where) > len(parts) else ""
            return ProfileIssue(f"--set {key}={raw}", None, inner, issue.message)
    return issue


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
        shape = _shape_issue(node) if node is not None else None
        if shape is not None:
            raise ProfileError([ProfileIssue(source, shape[0], "", f"invalid YAML: {shape[1]}")])
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        line = mark.line + 1 if mark is not None else None
        raise ProfileError([ProfileIssue(source, line, "", f"invalid YAML: {problem}")]) from None
    except RecursionError:  # the composer recurses once per nesting level
        issue = ProfileIssue(
            source, None, "", f"invalid YAML: nested deeper than {MAX_DEPTH} levels"
        )
        raise ProfileError([issue]) from None
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise ProfileError(
            [ProfileIssue(source, 1, "", f"a {kind} must be a YAML mapping (this one is {what})")]
        )
    problems = [p for key, raw in overrides if (p := _override_problem(data, key, raw))]
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
            issue = ProfileIssue(source, line, _format_path(path), _message(err, key))
            issues.append(_blame(issue, overrides))
        raise ProfileError(issues) from None


def _size_issues(profile: Profile, source: str, text: str) -> list[ProfileIssue]:
    """Values each valid alone whose product no run could schedule (a typo'd order rate)."""
    issues = []
    window = profile.peak.order_window or profile.clock.duration
    window = min(window, profile.clock.duration)
    orders = profile.peak.peak_orders_per_hour * window / 3600
    if orders > MAX_ORDERS:
        issues.append(
            ProfileIssue(
                source, _line_of(text, "peak_orders_per_hour"), "peak.peak_orders_per_hour",
                f"up to {orders:,.0f} orders in the order window; at most {MAX_ORDERS:,} "
                "can be scheduled",
            )
        )  # fmt: skip
    for bucket in profile.views.per_order:
        if int(bucket.rpartition("-")[2]) > MAX_VIEWS_PER_ORDER:
            issues.append(
                ProfileIssue(
                    source, _line_of(text, "per_order"), f"views.per_order.{bucket}",
                    f"at most {MAX_VIEWS_PER_ORDER:,} views per order",
                )
            )  # fmt: skip
    return issues


def _line_of(text: str, key: str) -> int | None:
    """The line where ``key:`` is first written, for issues found after validation."""
    pattern = re.compile(rf"(^|[\s{{,-]){re.escape(key)}\s*:")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.search(line):
            return number
    return None


def parse_profile(
    text: str, source: str = "<profile>", overrides: Sequence[tuple[str, str]] = ()
) -> Profile:
    """Validate profile text (with ``--set`` overrides); raise :class:`ProfileError` listing
    every issue."""
    profile = parse_model(text, Profile, source, "profile", overrides)
    issues = [_blame(i, overrides) for i in _size_issues(profile, source, text)]
    if issues:
        raise ProfileError(issues)
    return profile


def read_text(path: Path, kind: str = "profile") -> str:
    """A config file's text; :class:`ProfileError` (one line naming the file) when it is
    missing, a folder, unreadable, too large, or not UTF-8 text."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ProfileError([ProfileIssue(str(path), None, "", exc.strerror or str(exc))]) from None
    if len(raw) > MAX_BYTES:
        message = f"too large for a {kind} (more than {MAX_BYTES >> 20} MB)"
        raise ProfileError([ProfileIssue(str(path), None, "", message)])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"not a text file: byte 0x{raw[exc.start]:02x} is not UTF-8"
        raise ProfileError([ProfileIssue(str(path), line, "", message)]) from None


def load_profile(path: Path, overrides: Sequence[tuple[str, str]] = ()) -> Profile:
    """Read and validate a profile file (see :func:`parse_profile`)."""
    return parse_profile(read_text(path), str(path), overrides)
