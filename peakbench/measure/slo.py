"""The readiness gate: the profile's SLOs parsed into check objects and checked against a summary.

Like pytest-benchmark's ``--benchmark-compare-fail``, a threshold is data: an absolute bound
(``staleness_p95: 1h``), a bound relative to a baseline run (``staleness_p95: +10%``, or
``+5m`` in the figure's own unit), or both (``staleness_p95: {max: 1h, baseline: +10%}``). The
profile model keeps absolute bounds in their fields and collects the relative ones in
``slo.baseline`` (see :func:`peakbench.config.gauges.split_relative`); :func:`checks` turns
both into :class:`Check` objects, and a run passes the gate when every check passes. Run
validity is not an SLO here: an invalid run exits 3 whatever its figures (DESIGN.md);
``junit.xml`` reports it as a test case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peakbench.config.gauges import GAUGES, Gauge, Relative, parse_relative
from peakbench.config.profile import SloSpec
from peakbench.durations import format_duration


@dataclass(frozen=True, slots=True)
class Check:
    """One SLO check of a run: the figure, its bound, the verdict and a message saying why."""

    name: str
    label: str
    duration: bool
    value: float | None
    threshold: float | None
    passed: bool
    rule: str
    """The bound as configured: ``≤ 1h`` or ``≤ baseline 50m +10%``."""
    baseline: float | None = None
    note: str = ""
    """Why the check could not pass on this run's figure (see :func:`judge`)."""
    samples: int | None = None
    """How many samples the figure rests on (``None``: not known)."""

    def fmt(self, value: float | None) -> str:
        if value is None:
            return "–"
        return format_duration(value) if self.duration else f"{value:g}"

    @property
    def message(self) -> str:
        """``staleness p95 = 1h47m, limit 1h (≤ 1h)``, or why the check could not run."""
        if self.note:
            return f"{self.label}: {self.note}"
        verdict = "within" if self.passed else "exceeds"
        return (
            f"{self.label} = {self.fmt(self.value)}, {verdict} the limit "
            f"{self.fmt(self.threshold)} ({self.rule})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "threshold": self.threshold,
            "value": self.value,
            "passed": self.passed,
            "rule": self.rule,
            "baseline": self.baseline,
            "samples": self.samples,
            "message": self.message,
        }


def judge(gauge: Gauge, summary: dict[str, Any]) -> tuple[float | None, int | None, str]:
    """``(value, samples, note)`` of a gauge in a summary; a non-empty ``note`` says why the
    figure cannot pass any bound.

    The rule: a figure with no samples fails, never passes on nothing (a share of no views is
    not 0 %, the longest outage of a plugin that never called a carrier is not 0 s, complaints
    per 1,000 of no orders are not 0); so does a figure that is only a lower bound (refresh
    latency whose every sample is censored) or whose resolution is unknown or wider than the
    figure (refresh latency sampled by sparse views on a real store). Such a check fails and
    the run stays valid: the other figures may be sound, and a store that never showed an
    update is what its customers saw."""
    value = gauge.read(summary)
    samples, empty = gauge.samples(summary)
    if samples == 0:
        return value, samples, f"no samples in this run: {empty}"
    if value is None:
        return value, samples, "no samples in this run"
    doubt = gauge.doubt(summary, float(value))
    return value, samples, f"cannot be judged: {doubt}" if doubt else ""


def _absolute(gauge: Gauge, limit: float, summary: dict[str, Any]) -> Check:
    value, samples, note = judge(gauge, summary)
    rule = f"≤ {format_duration(limit) if gauge.duration else f'{limit:g}'}"
    return Check(
        name=gauge.check,
        label=gauge.label,
        duration=gauge.duration,
        value=value,
        threshold=limit,
        passed=not note and value is not None and value <= limit,
        rule=rule,
        note=note,
        samples=samples,
    )


def _relative(
    gauge: Gauge, rel: Relative, summary: dict[str, Any], baseline: dict[str, Any] | None
) -> Check:
    value, samples, own = judge(gauge, summary)
    base, _, base_note = judge(gauge, baseline) if baseline is not None else (None, None, "")
    bound = rel.bound(base) if base is not None and not base_note else None
    note = ""
    if baseline is None:
        note = f"needs a baseline run for '{rel.text}' (--baseline RUN or slo.baseline_run)"
    elif base is None or base_note:
        note = f"the baseline run has no usable value for it ({base_note or 'none'})"
    elif own:
        note = own
    return Check(
        name=f"baseline.{gauge.check}",
        label=f"{gauge.label} vs baseline",
        duration=gauge.duration,
        value=value,
        threshold=None if bound is None else round(bound, 6),
        passed=not note and value is not None and bound is not None and value <= bound + 1e-9,
        rule=f"≤ baseline {'–' if base is None else _fmt(gauge, base)} {rel.text}",
        baseline=base,
        note=note,
        samples=samples,
    )


def _fmt(gauge: Gauge, value: float) -> str:
    return format_duration(value) if gauge.duration else f"{value:g}"


def checks(
    slo: SloSpec, summary: dict[str, Any], baseline: dict[str, Any] | None = None
) -> list[Check]:
    """Every configured check, absolute ones first, in the order of :data:`GAUGES`."""
    out = []
    for key, gauge in GAUGES.items():
        limit = getattr(slo, key, None)
        if limit is not None:
            out.append(_absolute(gauge, float(limit), summary))
    relative = getattr(slo, "baseline", None) or {}
    for key, gauge in GAUGES.items():
        if key in relative:
            out.append(_relative(gauge, parse_relative(relative[key], gauge), summary, baseline))
    return out


def evaluate(
    slo: SloSpec,
    summary: dict[str, Any],
    baseline: dict[str, Any] | None = None,
    baseline_name: str | None = None,
) -> dict[str, Any]:
    """``summary["slo"]``: every check with its value; ``passed`` when all pass (validity is
    separate). ``baseline`` is the baseline run's summary, needed by relative thresholds."""
    found = checks(slo, summary, baseline)
    out: dict[str, Any] = {
        "passed": all(c.passed for c in found),
        "checks": [c.to_json() for c in found],
    }
    if baseline is not None:
        out["baseline"] = baseline_name or baseline.get("profile")
    return out


class BaselineError(ValueError):
    """The baseline run cannot be used: one line for the user, exit code 2."""


def load_baseline(root: Path) -> dict[str, Any]:
    """The summary of a baseline run folder."""
    path = root / "summary.json"
    if not path.exists():
        raise BaselineError(f"baseline {root}: not a finished peakbench run (no summary.json)")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BaselineError(f"baseline {root}: unreadable summary.json ({exc})") from None
    if not isinstance(data, dict):
        raise BaselineError(f"baseline {root}: summary.json is not an object")
    if not data.get("valid", False):
        raise BaselineError(f"baseline {root}: the run is invalid, it cannot be a baseline")
    return data


def needs_baseline(slo: SloSpec) -> bool:
    return bool(getattr(slo, "baseline", None))


def regate(slo: SloSpec, summary: dict[str, Any], baseline_root: Path | None) -> dict[str, Any]:
    """``summary`` with its ``slo`` section evaluated again, against ``baseline_root`` when given
    (the end of a run, or ``peakbench report --baseline``)."""
    baseline = load_baseline(baseline_root) if baseline_root is not None else None
    name = baseline_root.name if baseline_root is not None else None
    return {**summary, "slo": evaluate(slo, summary, baseline, name)}
