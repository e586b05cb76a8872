"""Shared pieces of the config model: a strict frozen base and the duration type."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from peakbench.durations import parse_duration


class Spec(BaseModel):
    """Every config object: unknown keys are errors, and nothing changes after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda v: v, return_type=float),
    Field(ge=0, json_schema_extra={"examples": ["250ms", "10s", "5m", "1h", "2d"]}),
]
"""Seconds of store time, written in profiles as ``'250ms'``, ``'10s'``, ``'1h30m'``, ``'2d'``."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
