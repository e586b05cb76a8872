"""The SLO vocabulary: the figures of ``summary.json`` a profile's ``slo:`` section may bound
(:data:`GAUGES`, each with what its samples are, :mod:`peakbench.config.evidence`) and thresholds
relative to a baseline run (``staleness_p95: +10%``), checked while the profile loads.

The profile model (:class:`peakbench.config.profile.SloSpec`) and the gate that judges a run
(:mod:`peakbench.measure.slo`) both read this module; it imports neither.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peakbench.config import evidence
from peakbench.durations import parse_duration


def _dist(key: str, p: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda s: (s.get(key) or {}).get(p)


@dataclass(frozen=True, slots=True)
class Gauge:
    """A figure of ``summary.json`` that an SLO can bound (lower is always better)."""

    key: str
    """Its name in the profile's ``slo`` section."""
    check: str
    """Its check name in ``summary.json`` and ``junit.xml`` (``_s`` suffix: store seconds)."""
    label: str
    duration: bool
    read: Callable[[dict[str, Any]], float | None]
    samples: Callable[[dict[str, Any]], tuple[int | None, str]]
    """How many samples the figure rests on (``None``: the summary does not say) and what no
    samples means; a check on no samples fails (:func:`judge`)."""
    doubt: Callable[[dict[str, Any], float], str] = evidence.no_doubt
    """Why the figure cannot be judged even with samples ("" when it can)."""


GAUGES: dict[str, Gauge] = {
    g.key: g
    for g in (
        *(
            Gauge(
                f"refresh_latency_p{p}",
                f"refresh_latency_p{p}_s",
                f"refresh latency p{p}",
                True,
                _dist("refresh_latency_s", f"p{p}"),
                evidence.refresh_events,
                evidence.refresh_doubt,
            )
            for p in (50, 95, 99)
        ),
        *(
            Gauge(
                f"staleness_p{p}",
                f"staleness_p{p}_s",
                f"staleness p{p}",
                True,
                _dist("staleness_s", f"p{p}"),
                evidence.views,
            )
            for p in (50, 95, 99)
        ),
        Gauge(
            "longest_outage",
            "longest_outage_s",
            "longest throttle outage",
            True,
            lambda s: s.get("longest_outage_s"),
            evidence.carrier_requests,
        ),
        Gauge(
            "stale_views_share",
            "stale_views_share",
            "share of views stale beyond slo.stale_after",
            False,
            lambda s: s.get("stale_views_share"),
            evidence.views,
        ),
        Gauge(
            "complaints_per_1000_orders",
            "complaints_per_1000_orders",
            "expected complaints per 1,000 orders",
            False,
            lambda s: (s.get("complaints") or {}).get("expected_per_1000_orders"),
            evidence.complaint_samples,
        ),
    )
}

_PERCENT = re.compile(r"^([+-])\s*(\d+(?:\.\d+)?)\s*%$")


@dataclass(frozen=True, slots=True)
class Relative:
    """A bound relative to the baseline run's figure: ``+10%`` (``ratio`` 0.10) or ``+5m``
    (``delta`` 300, in the figure's unit). A negative one demands an improvement."""

    text: str
    ratio: float | None = None
    delta: float | None = None

    def bound(self, baseline: float) -> float:
        if self.ratio is not None:
            return baseline * (1 + self.ratio)
        return baseline + (self.delta or 0.0)


def parse_relative(text: object, gauge: Gauge) -> Relative:
    """``'+10%'``, ``'-5%'``, ``'+5m'`` (durations) or ``'+0.02'`` (shares, counts).

    Raises ValueError with a message fit for a one-line profile error."""
    raw = str(text).strip()
    example = "'+10%' or '+5m'" if gauge.duration else "'+10%' or '+0.5'"
    m = _PERCENT.match(raw)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return Relative(raw, ratio=sign * float(m.group(2)) / 100)
    if raw[:1] in "+-" and len(raw) > 1:
        sign = -1 if raw[0] == "-" else 1
        try:
            amount = parse_duration(raw[1:]) if gauge.duration else float(raw[1:])
        except ValueError:
            amount = -1.0
        if amount >= 0:
            return Relative(raw, delta=sign * amount)
    raise ValueError(
        f"{gauge.key}: expected a change from the baseline like {example}, got {text!r}"
    )


def _unknown(key: str) -> str:
    near = difflib.get_close_matches(key, GAUGES, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return f"unknown SLO {key!r}{hint} (known: {', '.join(GAUGES)})"


def split_relative(data: Any) -> Any:
    """Profile loading, before validation: move relative thresholds out of the SLO fields.

    ``staleness_p95: +10%`` and ``staleness_p95: {max: 1h, baseline: +10%}`` become
    ``staleness_p95: 1h`` (or nothing) plus ``baseline: {staleness_p95: '+10%'}``.
    """
    if not isinstance(data, dict):
        return data
    out = dict(data)
    relative = dict(out.get("baseline") or {}) if isinstance(out.get("baseline"), dict) else None
    for key in GAUGES:
        value = out.get(key)
        moved: object = None
        if isinstance(value, str) and value.strip()[:1] in "+-":
            moved, out[key] = value, None
        elif isinstance(value, dict):
            extra = set(value) - {"max", "baseline"}
            if extra:
                raise ValueError(
                    f"{key}: expected 'max' and/or 'baseline', got {', '.join(sorted(extra))}"
                )
            moved, out[key] = value.get("baseline"), value.get("max")
        if moved is not None:
            relative = relative if relative is not None else {}
            relative[key] = str(moved)
    if relative is not None:
        out["baseline"] = relative
    return out


def check_relative(relative: dict[str, str]) -> dict[str, str]:
    """Validate ``slo.baseline``: known figures, parseable changes."""
    for key, text in relative.items():
        if key not in GAUGES:
            raise ValueError(_unknown(key))
        parse_relative(text, GAUGES[key])
    return relative
