"""Schemathesis driven through its Python API (its pytest plugin does not run under our pytest):
derandomized, bounded cases of every operation of an OpenAPI document, no shrinking."""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
"""What every answer must satisfy: no 5xx, and status, content type and body as documented."""


def fuzz_operations(
    schema: schemathesis.BaseSchema,
    check: Callable[[schemathesis.Case], object],
    examples: int,
    mode: GenerationMode = GenerationMode.POSITIVE,
    only: Callable[[schemathesis.APIOperation], bool] = lambda op: True,
) -> int:
    """Run ``check`` on ``examples`` derandomized cases of every operation ``only`` keeps;
    how many operations ran."""
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # Err: the document is invalid
        if not only(operation):
            continue

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure stays fast
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            check(case)

        try:
            run()
        except Exception as exc:
            raise AssertionError(f"{operation.label}: {exc}") from exc
        ran += 1
    return ran
