"""Behaviour specs as the admin API reads them: the pydantic adapters that validate a list or
one spec (the OpenAPI document takes its schemas from the same adapter, :mod:`mocks.admin.openapi`),
and the one-line message naming each bad field."""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from peakbench.config.behaviours import AnyBehaviourSpec, BehaviourSpec


@cache
def list_adapter() -> TypeAdapter[tuple[BehaviourSpec, ...]]:
    return TypeAdapter(tuple[BehaviourSpec, ...])


@cache
def spec_adapter() -> TypeAdapter[BehaviourSpec]:
    return TypeAdapter(BehaviourSpec)


def validation_message(exc: ValidationError, data: Any, root: str) -> str:
    """One line naming each bad field, e.g. ``behaviours[1].limit: Input should be > 0``."""
    parts = []
    for err in exc.errors()[:3]:
        path = root
        node = data
        for part in err["loc"]:
            if isinstance(node, dict) and part not in node and part == node.get("type"):
                continue  # the union's tag, not a field of the document
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
            node = _child(node, part)
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(err["loc"][-1]), _field_names(), n=1)
            message = "unknown field" + (f"; did you mean '{close[0]}'?" if close else "")
        if len(message) > 160:  # the message may echo the input: keep the line a line
            message = message[:150] + "…"
        parts.append(f"{path[:120]}: {message}")
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


@cache
def _field_names() -> list[str]:
    return sorted({name for model in get_args(AnyBehaviourSpec) for name in model.model_fields})


def _child(node: Any, part: int | str) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None
