"""Shared pieces of the config model: a strict frozen base and the duration type."""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from peakbench.durations import parse_duration

MAX_DURATION_S = 366 * 86400.0
"""Longest duration a config accepts, in store seconds: a year and a day. Nothing about a peak
lasts longer, and a bound keeps a typo (``99999999d``) from reaching timestamp arithmetic."""


class Spec(BaseModel):
    """Every config object: unknown keys are errors, nothing changes after loading, and no
    number is infinite or NaN (YAML's ``.inf`` / ``.nan`` are refused with the field's path)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        # pydantic reads `true` as 1 for a number: a boolean where a number belongs is a mistake
        if isinstance(data, dict):
            for key, value in data.items():
                if not isinstance(value, bool) or not isinstance(key, str):
                    continue
                field = cls.model_fields.get(key)
                if field is not None and _numbers_only(field.annotation):
                    raise ValueError(f"{key}: expected a number, got {str(value).lower()}")
        return data


def _numbers_only(annotation: Any) -> bool:
    """Whether a field takes numbers (int or float, possibly optional) and never a bool."""
    kinds: set[Any] = set()
    pending = [annotation]
    while pending:
        tp = pending.pop()
        args = get_args(tp)
        if get_origin(tp) is Annotated:
            pending.append(args[0])
        elif args and get_origin(tp) in (Union, UnionType):
            pending.extend(args)
        else:
            kinds.add(tp)
    return bool(kinds & {int, float}) and bool not in kinds


def _duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds != seconds or seconds > MAX_DURATION_S:  # NaN or past the bound (inf included)
        raise ValueError(f"expected a duration of at most 366d, got {value!r}")
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    PlainSerializer(lambda v: v, return_type=float),
    Field(ge=0, json_schema_extra={"examples": ["250ms", "10s", "5m", "1h", "2d"]}),
]
"""Seconds of store time, written in profiles as ``'250ms'``, ``'10s'``, ``'1h30m'``, ``'2d'``;
at most :data:`MAX_DURATION_S`."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
