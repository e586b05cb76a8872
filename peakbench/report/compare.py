"""Candidate comparison: runs side by side, with bootstrap confidence intervals for differences.

The first run is the baseline; every other run is a candidate compared with it. Orders are the
sampled unit (a customer's views of one parcel are not independent), so the bootstrap resamples
orders: *paired* when both runs replayed the same orders (same seed and plan: the same resampled
orders are used for both runs, which cancels the order-to-order variation the runs share), else
each run is resampled on its own. A metric's verdict is "no significant difference" whenever its
confidence interval for candidate − baseline contains 0; every metric here is better lower.

Pure Python on purpose (no numpy in the core): each resample is a handful of C-level passes
(``accumulate``/``map``/``sum``), fast enough for thousands of orders × 2,000 resamples.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from peakbench.measure.samples import RunSamples, load_samples
from peakbench.report.bootstrap import _Arrays, _weights

BETTER = "better"
WORSE = "worse"
SAME = "no significant difference"
UNMEASURED = "not measured"


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    label: str
    unit: str
    """``s`` (store seconds), ``share`` (0..1) or ``count``."""


METRICS = (
    Metric("staleness_p50", "staleness p50", "s"),
    Metric("staleness_p95", "staleness p95", "s"),
    Metric("refresh_latency_p95", "refresh latency p95", "s"),
    Metric("stale_views_share", "stale views share", "share"),
    Metric("complaints_per_1000", "complaints /1k orders", "count"),
    Metric("outage_s_per_order", "outage time per order", "s"),
    Metric("outage_orders_share", "orders hit by outages", "share"),
)


@dataclass(frozen=True, slots=True)
class MetricDiff:
    """One metric of a candidate against the baseline: point values and the CI of the change."""

    metric: Metric
    baseline: float | None
    candidate: float | None
    diff: float | None
    low: float | None
    high: float | None
    verdict: str


@dataclass(frozen=True, slots=True)
class RunInfo:
    name: str
    path: str
    profile: str
    seed: int
    plan: str
    orders: int
    views: int
    longest_outage_s: float
    outage_s: float
    """Total carrier outage time (all carriers), store seconds: run-level, no interval."""
    valid: bool
    verdict: str = ""
    """The run's own gate: ``PASSED``, ``FAILED``, ``INVALID`` or ``CRASHED`` (no summary)."""
    reason: str = ""
    """Why an invalid or crashed run is, in one line."""
    folder: str = ""
    """The run folder's name (``name`` is the candidate's or profile's name when known)."""


@dataclass(frozen=True, slots=True)
class Pairing:
    baseline: RunInfo
    candidate: RunInfo
    paired: bool
    same_plan: bool
    metrics: tuple[MetricDiff, ...]

    def verdict(self, key: str) -> str:
        return next(m.verdict for m in self.metrics if m.metric.key == key)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The result of :func:`compare`: data for the console, HTML and CI renderers."""

    runs: tuple[RunInfo, ...]
    pairs: tuple[Pairing, ...]
    resamples: int
    confidence: float
    seed: int
    warnings: tuple[str, ...]

    @property
    def same_plan(self) -> bool:
        return all(p.same_plan for p in self.pairs)

    @property
    def any_worse(self) -> bool:
        return any(m.verdict == WORSE for p in self.pairs for m in p.metrics)

    @property
    def invalid(self) -> tuple[RunInfo, ...]:
        """Runs that crashed or are invalid: a comparison with them cannot vouch for anything."""
        return tuple(r for r in self.runs if not r.valid)


def _interval(diffs: list[float], confidence: float) -> tuple[float, float] | None:
    diffs = sorted(d for d in diffs if not math.isnan(d))
    if not diffs:
        return None
    tail = (1 - confidence) / 2
    lo = diffs[min(len(diffs) - 1, math.floor(tail * len(diffs)))]
    hi = diffs[max(0, math.ceil((1 - tail) * len(diffs)) - 1)]
    return lo, hi


def _verdict(ci: tuple[float, float] | None) -> str:
    if ci is None:
        return UNMEASURED
    lo, hi = ci
    if lo <= 0 <= hi:
        return SAME
    return BETTER if hi < 0 else WORSE


def _nan_none(x: float) -> float | None:
    return None if math.isnan(x) else x


def _verdict_of(run: RunSamples) -> tuple[str, str]:
    if not run.has_summary:
        return "CRASHED", "no summary.json: the run never finished"
    if not run.valid:
        return "INVALID", "; ".join(run.invalid_reasons) or "invalid"
    return ("PASSED" if run.slo_passed else "FAILED"), ""


def _info(run: RunSamples, name: str | None = None) -> RunInfo:
    verdict, reason = _verdict_of(run)
    return RunInfo(
        name=name or run.name,
        path=str(run.root),
        profile=run.profile,
        seed=run.seed,
        plan=run.plan,
        orders=sum(o.done for o in run.orders),
        views=sum(len(o.staleness) for o in run.orders),
        longest_outage_s=max((o.duration for o in run.outages), default=0.0),
        outage_s=sum(o.duration for o in run.outages),
        valid=run.valid,
        verdict=verdict,
        reason=reason,
        folder=run.name,
    )


def run_names(runs: Sequence[RunSamples]) -> list[str]:
    """How to call each run: its profile's name when those tell the runs apart, else its
    folder's name."""
    profiles = [r.profile for r in runs]
    return profiles if len(set(profiles)) == len(profiles) else [r.name for r in runs]


def _pair(
    base: RunSamples,
    cand: RunSamples,
    resamples: int,
    confidence: float,
    seed: int,
    infos: tuple[RunInfo, RunInfo],
) -> Pairing:
    same_plan = bool(base.plan) and base.plan == cand.plan and base.seed == cand.seed
    paired = same_plan and base.refs == cand.refs
    rng = random.Random(seed)
    if paired:
        index = {ref: i for i, ref in enumerate(sorted(base.refs))}
        a, b = _Arrays.build(base, index), _Arrays.build(cand, index)
        n = len(index)
        samples = []
        for _ in range(resamples):
            w = _weights(rng, n)
            samples.append((a.stats(w), b.stats(w)))
        ones = [1] * n
        point = (a.stats(ones), b.stats(ones))
    else:
        ia = {ref: i for i, ref in enumerate(sorted(base.refs))}
        ib = {ref: i for i, ref in enumerate(sorted(cand.refs))}
        a, b = _Arrays.build(base, ia), _Arrays.build(cand, ib)
        samples = [
            (a.stats(_weights(rng, len(ia))), b.stats(_weights(rng, len(ib))))
            for _ in range(resamples)
        ]
        point = (a.stats([1] * len(ia)), b.stats([1] * len(ib)))
    metrics = []
    # Bonferroni: "no significant difference on every metric" is one claim about all of them,
    # so each interval is widened until the family of intervals holds at ``confidence``.
    level = 1 - (1 - confidence) / len(METRICS)
    for k, metric in enumerate(METRICS):
        pa, pb = point[0][k], point[1][k]
        ci = _interval([sb[k] - sa[k] for sa, sb in samples], level)
        if math.isnan(pa) or math.isnan(pb):
            ci = None
        metrics.append(
            MetricDiff(
                metric=metric,
                baseline=_nan_none(pa),
                candidate=_nan_none(pb),
                diff=None if ci is None else pb - pa,
                low=None if ci is None else ci[0],
                high=None if ci is None else ci[1],
                verdict=_verdict(ci),
            )
        )
    return Pairing(infos[0], infos[1], paired, same_plan, tuple(metrics))


def compare(
    runs: Sequence[Path | RunSamples],
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    names: Sequence[str] | None = None,
) -> Comparison:
    """Compare every run after the first with the first (the baseline).

    ``runs`` are run folders (or already loaded samples); ``seed`` makes the bootstrap
    reproducible; ``names`` call the runs (candidates' names; default :func:`run_names`).
    Raises ``ValueError`` for fewer than two runs.
    """
    if len(runs) < 2:
        raise ValueError("compare needs at least two runs: a baseline and a candidate")
    loaded = [r if isinstance(r, RunSamples) else load_samples(Path(r)) for r in runs]
    labels = list(names) if names is not None else run_names(loaded)
    infos = tuple(_info(r, n) for r, n in zip(loaded, labels, strict=True))
    base = loaded[0]
    pairs = tuple(
        _pair(base, c, resamples, confidence, seed, (infos[0], info))
        for c, info in zip(loaded[1:], infos[1:], strict=True)
    )
    warnings = []
    for run, pair in zip(loaded[1:], pairs, strict=True):
        if not pair.same_plan:
            why = (
                f"seed {base.seed} vs {run.seed}"
                if base.seed != run.seed
                else "the same seed but different schedules"
            )
            warnings.append(
                f"{pair.candidate.name} did not replay the baseline's schedule ({why}): "
                "differences mix the change of plan with the change of candidate, and orders "
                "are not paired"
            )
    for info in infos:
        if not info.valid:
            warnings.append(f"{info.name} is not a valid run ({info.verdict}: {info.reason})")
    return Comparison(
        runs=infos,
        pairs=pairs,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
        warnings=tuple(warnings),
    )
