"""Comparison across replications: N seeds per candidate, intervals from seed-to-seed variation.

With virtual time a run is cheap, so one seed is no longer the unit of evidence. A replication
set is N runs of one profile that differ only in their seed (``replications: N``). Each run
gives one value per metric (its point estimate over all its orders, as :mod:`compare`
computes it); the candidate is compared with the baseline on the mean of those values:

- *paired* when both sets ran the same seeds (the same schedules): the interval is Student's t
  on the N per-seed differences, which cancels what a seed does to both;
- else Welch's t on the two sets' means.

So an interval is as wide as the runs disagree with each other, not only as wide as the orders
within one run scatter (what the bootstrap of a single pair measures). Intervals are
Bonferroni-corrected over the metrics, like :func:`peakbench.report.compare.compare`, and a
set of one run per candidate falls back to that bootstrap.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path

from scipy import stats as scipy_stats

from peakbench.measure.samples import RunSamples, load_samples
from peakbench.report.bootstrap import _Arrays
from peakbench.report.compare import (
    METRICS,
    Comparison,
    MetricDiff,
    Pairing,
    RunInfo,
    _info,
    _verdict,
)

REPLICATIONS_FILE = "replications.json"
"""What a replication set's folder holds beside its run folders."""


def point(run: RunSamples) -> tuple[float, ...]:
    """Every metric of :data:`METRICS` over all of one run's orders (NaN: no samples)."""
    index = {ref: i for i, ref in enumerate(sorted(run.refs))}
    return _Arrays.build(run, index).stats([1] * len(index))


def t_interval(values: Sequence[float], confidence: float) -> tuple[float, float] | None:
    """Student's t interval for the mean of ``values`` (None with fewer than two)."""
    xs = [v for v in values if not math.isnan(v)]
    if len(xs) < 2:
        return None
    mean, sd = statistics.fmean(xs), statistics.stdev(xs)
    half = float(scipy_stats.t.ppf(1 - (1 - confidence) / 2, len(xs) - 1)) * sd / math.sqrt(len(xs))
    return mean - half, mean + half


def welch_interval(
    a: Sequence[float], b: Sequence[float], confidence: float
) -> tuple[float, float] | None:
    """Welch's t interval for mean(b) − mean(a) (None with fewer than two values a side)."""
    xa, xb = [v for v in a if not math.isnan(v)], [v for v in b if not math.isnan(v)]
    if len(xa) < 2 or len(xb) < 2:
        return None
    va, vb = statistics.variance(xa) / len(xa), statistics.variance(xb) / len(xb)
    diff = statistics.fmean(xb) - statistics.fmean(xa)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff
    df = (va + vb) ** 2 / (va**2 / (len(xa) - 1) + vb**2 / (len(xb) - 1))
    half = float(scipy_stats.t.ppf(1 - (1 - confidence) / 2, df)) * se
    return diff - half, diff + half


def _mean(values: Sequence[float]) -> float | None:
    xs = [v for v in values if not math.isnan(v)]
    return statistics.fmean(xs) if xs else None


def _pair_sets(base: list[RunSamples], cand: list[RunSamples], confidence: float) -> Pairing:
    seeds_a, seeds_b = [r.seed for r in base], [r.seed for r in cand]
    paired = sorted(seeds_a) == sorted(seeds_b) and len(set(seeds_a)) == len(seeds_a)
    same_plan = paired and all(
        a.plan == b.plan
        for a, b in zip(
            sorted(base, key=lambda r: r.seed), sorted(cand, key=lambda r: r.seed), strict=True
        )
    )
    pa = {r.seed: point(r) for r in base}
    pb = {r.seed: point(r) for r in cand}
    level = 1 - (1 - confidence) / len(METRICS)
    metrics = []
    for k, metric in enumerate(METRICS):
        a = [v[k] for _, v in sorted(pa.items())]
        b = [v[k] for _, v in sorted(pb.items())]
        if paired:
            ci = t_interval([pb[s][k] - pa[s][k] for s in sorted(pa)], level)
        else:
            ci = welch_interval(a, b, level)
        ma, mb = _mean(a), _mean(b)
        metrics.append(
            MetricDiff(
                metric=metric,
                baseline=ma,
                candidate=mb,
                diff=None if ci is None or ma is None or mb is None else mb - ma,
                low=None if ci is None else ci[0],
                high=None if ci is None else ci[1],
                verdict=_verdict(ci),
            )
        )
    return Pairing(_set_info(base), _set_info(cand), paired, same_plan, tuple(metrics))


def _set_info(runs: list[RunSamples]) -> RunInfo:
    first = _info(runs[0])
    infos = [_info(r) for r in runs]
    return RunInfo(
        name=f"{first.name} ×{len(runs)} seeds",
        path=str(Path(first.path).parent),
        profile=first.profile,
        seed=first.seed,
        plan=first.plan,
        orders=sum(i.orders for i in infos),
        views=sum(i.views for i in infos),
        longest_outage_s=max(i.longest_outage_s for i in infos),
        outage_s=sum(i.outage_s for i in infos) / len(infos),
        valid=all(i.valid for i in infos),
        verdict=max((i.verdict for i in infos), key=_severity, default=""),
        reason="; ".join(f"{i.folder}: {i.reason}" for i in infos if i.reason),
        folder=Path(first.path).parent.name,
    )


_SEVERITY = ["", "PASSED", "FAILED", "INVALID", "CRASHED"]
"""A set's verdict is its worst run's."""


def compare_sets(groups: Sequence[Sequence[Path]], confidence: float = 0.95) -> Comparison:
    """Compare every replication set after the first with the first (the baseline).

    Each group is the run folders of one candidate (one per seed). Raises ``ValueError`` for
    fewer than two groups or a group with fewer than two runs."""
    if len(groups) < 2:
        raise ValueError("compare needs at least two replication sets: a baseline and a candidate")
    loaded = [[load_samples(Path(p)) for p in group] for group in groups]
    for group, runs in zip(groups, loaded, strict=True):
        if len(runs) < 2:
            raise ValueError(
                f"a replication set needs at least two runs, got {len(runs)} in {group}"
            )
    pairs = tuple(_pair_sets(loaded[0], runs, confidence) for runs in loaded[1:])
    warnings = []
    for pair in pairs:
        if not pair.paired:
            warnings.append(
                f"{pair.candidate.name} did not run the baseline's seeds: the sets are compared "
                "unpaired (Welch), so seed-to-seed variation widens every interval"
            )
    for runs in loaded:
        for run in runs:
            if not run.valid:
                reasons = "; ".join(run.invalid_reasons) or "no valid summary"
                warnings.append(f"{run.name} is not a valid run ({reasons})")
    return Comparison(
        runs=tuple(_set_info(runs) for runs in loaded),
        pairs=pairs,
        resamples=0,
        confidence=confidence,
        seed=0,
        warnings=tuple(warnings),
    )


def _severity(verdict: str) -> int:
    return _SEVERITY.index(verdict) if verdict in _SEVERITY else 0
