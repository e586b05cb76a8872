"""The readiness gate: the profile's SLOs checked against a summary."""

from __future__ import annotations

from typing import Any

from peakbench.config.profile import SloSpec


def _check(name: str, value: float | None, threshold: float) -> dict[str, Any]:
    return {
        "name": name,
        "threshold": threshold,
        "value": value,
        "passed": value is not None and value <= threshold,
    }


def evaluate(slo: SloSpec, summary: dict[str, Any]) -> dict[str, Any]:
    """Every configured check with its value; ``passed`` when all pass (validity is separate)."""
    checks = []
    if slo.refresh_latency_p95 is not None:
        checks.append(
            _check(
                "refresh_latency_p95_s",
                summary["refresh_latency_s"]["p95"],
                slo.refresh_latency_p95,
            )
        )
    if slo.staleness_p95 is not None:
        checks.append(_check("staleness_p95_s", summary["staleness_s"]["p95"], slo.staleness_p95))
    if slo.stale_views_share is not None:
        checks.append(
            _check("stale_views_share", summary["stale_views_share"], slo.stale_views_share)
        )
    if slo.longest_outage is not None:
        checks.append(_check("longest_outage_s", summary["longest_outage_s"], slo.longest_outage))
    if slo.complaints_per_1000_orders is not None:
        checks.append(
            _check(
                "complaints_per_1000_orders",
                summary["complaints"]["expected_per_1000_orders"],
                slo.complaints_per_1000_orders,
            )
        )
    passed = all(c["passed"] for c in checks)
    return {"passed": passed, "checks": checks}
