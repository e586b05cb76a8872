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

import html
import math
import random
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import mul
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from peakbench.durations import format_duration
from peakbench.measure.samples import RunSamples, load_samples

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


@dataclass(frozen=True, slots=True)
class _Column:
    """A per-order figure kept as its most common value plus the orders that differ from it:
    most orders share a value (no stale view, no outage), so a weighted total costs a pass
    over the exceptions only."""

    base: float
    index: list[int]
    delta: list[float]

    @classmethod
    def build(cls, values: Sequence[float]) -> _Column:
        base = Counter(values).most_common(1)[0][0] if values else 0.0
        index = [i for i, v in enumerate(values) if v != base]
        return cls(base, index, [values[i] - base for i in index])

    def total(self, w: Sequence[int], drawn: int) -> float:
        """``sum(w[i] * value[i])`` where ``drawn == sum(w)``."""
        return self.base * drawn + sum(map(mul, map(w.__getitem__, self.index), self.delta))


@dataclass(frozen=True, slots=True)
class _Arrays:
    """A run's per-order figures over an order index (the bootstrap's view of a run)."""

    staleness: _Sorted
    refresh: _Sorted
    done: _Column
    shipped: _Column
    views: _Column
    stale: _Column
    complaints: _Column
    outage_s: _Column
    hit: _Column

    @classmethod
    def build(cls, run: RunSamples, index: dict[int, int]) -> _Arrays:
        n = len(index)
        done, shipped, views, stale, hit = ([0.0] * n for _ in range(5))
        complaints, outage_s = [0.0] * n, [0.0] * n
        stal: list[tuple[float, int]] = []
        refr: list[tuple[float, int]] = []
        for o in run.orders:
            i = index[o.ref]
            done[i], shipped[i], hit[i] = o.done, o.shipped, o.outage_hit
            views[i], stale[i] = len(o.staleness), o.stale_views
            complaints[i], outage_s[i] = o.complaints, o.outage_s
            stal.extend((v, i) for v in o.staleness)
            refr.extend((v, i) for v in o.refresh)
        col = _Column.build
        return cls(
            _Sorted.build(stal, n),
            _Sorted.build(refr, n),
            *(col(x) for x in (done, shipped, views, stale, complaints, outage_s, hit)),
        )

    def stats(self, w: Sequence[int]) -> tuple[float, ...]:
        """Every metric of :data:`METRICS` with order ``i`` counted ``w[i]`` times (NaN when a
        metric has no samples)."""
        drawn = sum(w)
        views = self.views.total(w, drawn)
        done = self.done.total(w, drawn)
        shipped = self.shipped.total(w, drawn)
        return (
            self.staleness.percentile(w, 50, drawn),
            self.staleness.percentile(w, 95, drawn),
            self.refresh.percentile(w, 95, drawn),
            self.stale.total(w, drawn) / views if views else math.nan,
            1000 * self.complaints.total(w, drawn) / done if done else math.nan,
            self.outage_s.total(w, drawn) / shipped if shipped else math.nan,
            self.hit.total(w, drawn) / shipped if shipped else math.nan,
        )


@dataclass(frozen=True, slots=True)
class _Sorted:
    """Sample values in ascending order, each owned by an order (its weight in a resample)."""

    values: list[float]
    owner: list[int]
    per_order: _Column
    """How many values each order owns."""

    @classmethod
    def build(cls, pairs: list[tuple[float, int]], n: int) -> _Sorted:
        pairs.sort()
        per_order = [0.0] * n
        for _, i in pairs:
            per_order[i] += 1
        return cls([v for v, _ in pairs], [i for _, i in pairs], _Column.build(per_order))

    def percentile(self, w: Sequence[int], p: float, drawn: int) -> float:
        """Nearest-rank percentile with value ``j`` counted ``w[owner[j]]`` times.

        High percentiles walk down from the top, usually through a small tail only: the rank
        from the top is known from the total weight, which costs one pass over the orders."""
        values = self.values
        total = round(self.per_order.total(w, drawn))
        if not total:
            return math.nan
        target = max(1, math.ceil(p * total / 100))
        if p > 50:
            room = total - target  # weight that may lie above the answer
            k = min(len(values), math.ceil(len(values) * (100 - p) / 50) + 64)
            top = [0, *accumulate(map(w.__getitem__, reversed(self.owner[-k:])))]
            j = bisect_right(top, room) - 1
            if j < k:
                return values[len(values) - 1 - j]
        cum = list(accumulate(map(w.__getitem__, self.owner)))
        return values[bisect_left(cum, target)]


def _weights(rng: random.Random, n: int) -> list[int]:
    """How often each of ``n`` orders is drawn in one resample of size ``n``."""
    # n random 32-bit words, reduced modulo n: all in C, and the bias is below n / 2**32
    words = array("I", rng.randbytes(4 * n))
    counts = Counter(map(n.__rmod__, words))
    return list(map(counts.get, range(n), repeat(0)))


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


def format_value(metric: Metric, value: float | None, signed: bool = False) -> str:
    """A metric value for people: durations as ``1h2m``, shares as percentages."""
    if value is None:
        return "–"
    sign = ("+" if value > 0 else "−" if value < 0 else "±") if signed else ""
    mag = abs(value) if signed else value
    if metric.unit == "s":
        return sign + format_duration(mag)
    if metric.unit == "share":
        return f"{sign}{100 * mag:.1f}%" if signed else f"{100 * mag:.1f}%"
    return f"{sign}{mag:.1f}"


def _ci_text(m: MetricDiff) -> str:
    if m.low is None:
        return "–"
    return f"[{format_value(m.metric, m.low, True)}, {format_value(m.metric, m.high, True)}]"


def _diff_text(m: MetricDiff) -> str:
    if m.diff is None:
        return "–"
    return f"{format_value(m.metric, m.diff, True)} {_ci_text(m)}"


_STYLE = {BETTER: "bold green", WORSE: "bold red", SAME: "dim", UNMEASURED: "yellow"}


def plan_note(comparison: Comparison) -> str:
    """One line saying whether the runs replayed the same seed and schedule."""
    base = comparison.runs[0]
    if comparison.same_plan:
        return f"same seed ({base.seed}) and schedule ({base.plan}) in every run: orders are paired"
    return "WARNING: the runs did not replay the same seed and schedule (see warnings)"


def comparison_table(pair: Pairing, confidence: float = 0.95) -> Table:
    """One candidate against the baseline: values, change with its CI, and the verdict."""
    table = Table(
        title=f"{pair.candidate.name} vs {pair.baseline.name} (baseline)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("metric", no_wrap=True)
    table.add_column("baseline", justify="right", no_wrap=True)
    table.add_column("candidate", justify="right", no_wrap=True)
    table.add_column("change", justify="right", no_wrap=True)
    table.add_column(f"{confidence:.0%} CI", justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for m in pair.metrics:
        table.add_row(
            m.metric.label,
            format_value(m.metric, m.baseline),
            format_value(m.metric, m.candidate),
            "–" if m.diff is None else format_value(m.metric, m.diff, True),
            _ci_text(m),
            Text(m.verdict, _STYLE[m.verdict]),
        )
    table.add_row(
        "longest outage (run)",
        format_duration(pair.baseline.longest_outage_s),
        format_duration(pair.candidate.longest_outage_s),
        "",
        "",
        Text("run-level, no CI", "dim"),
    )
    return table


def render_comparison(console: Console, comparison: Comparison) -> None:
    """Print the schedule check, warnings and one table per candidate."""
    style = "green" if comparison.same_plan else "bold yellow"
    console.print(Text(plan_note(comparison), style), soft_wrap=True)
    verdicts = Text("runs: ")
    for i, run in enumerate(comparison.runs):
        verdicts.append(" · " if i else "")
        verdicts.append(f"{run.name} ")
        verdicts.append(run.verdict, "bold green" if run.verdict == "PASSED" else "bold red")
    console.print(verdicts, soft_wrap=True)
    for warning in comparison.warnings:
        console.print(Text(f"warning: {warning}", "bold yellow"), soft_wrap=True)
    for pair in comparison.pairs:
        console.print(comparison_table(pair, comparison.confidence))
    console.print(
        Text(
            f"{method_note(comparison)}; {comparison.confidence:.0%} intervals hold jointly "
            f"for the {len(METRICS)} metrics (Bonferroni); lower is better for every metric",
            "dim",
        ),
        soft_wrap=True,
    )


def method_note(comparison: Comparison) -> str:
    """How the intervals were made: a bootstrap over orders, or t over seeds (replications)."""
    pairing = "paired" if all(p.paired for p in comparison.pairs) else "unpaired where plans differ"
    if comparison.resamples == 0:  # replication sets (peakbench.report.replicated)
        return f"t intervals over the runs' seeds ({pairing}: seed-to-seed variation)"
    return (
        f"bootstrap over orders ({pairing}), {comparison.resamples:,} resamples "
        f"(seed {comparison.seed})"
    )


def comparison_body(comparison: Comparison) -> str:
    """The comparison as an HTML fragment (tables and notes) for :func:`comparison_html`."""
    e = html.escape
    parts = ["<h1>peakbench comparison</h1>"]
    cls = "note" if comparison.same_plan else "note fail"
    parts.append(f'<p class="{cls}">{e(plan_note(comparison))}</p>')
    for warning in comparison.warnings:
        parts.append(f'<p class="note fail">warning: {e(warning)}</p>')
    parts.append("<h2>Runs</h2><table><tr><th>run</th><th>folder</th><th>profile</th>")
    parts.append("<th>seed</th><th>schedule</th><th>orders</th><th>views</th><th>verdict</th>")
    parts.append("</tr>")
    for r in comparison.runs:
        css = {"PASSED": "pass"}.get(r.verdict, "fail")
        why = f" ({e(r.reason)})" if r.reason else ""
        parts.append(
            f"<tr><td>{e(r.name)}</td><td><code>{e(r.folder)}</code></td><td>{e(r.profile)}</td>"
            f"<td>{r.seed}</td><td><code>{e(r.plan)}</code></td><td>{r.orders:,}</td>"
            f"<td>{r.views:,}</td>"
            f'<td class="{css}" data-run="{e(r.name)}">{e(r.verdict)}{why}</td></tr>'
        )
    parts.append("</table>")
    for pair in comparison.pairs:
        parts.append(f"<h2>{e(pair.candidate.name)} vs {e(pair.baseline.name)} (baseline)</h2>")
        parts.append(
            "<table><tr><th>metric</th><th>baseline</th><th>candidate</th>"
            f"<th>change [{comparison.confidence:.0%} CI]</th><th>verdict</th></tr>"
        )
        for m in pair.metrics:
            css = {BETTER: "pass", WORSE: "fail"}.get(m.verdict, "muted")
            parts.append(
                f"<tr><td>{e(m.metric.label)}</td><td>{e(format_value(m.metric, m.baseline))}"
                f"</td><td>{e(format_value(m.metric, m.candidate))}</td>"
                f"<td>{e(_diff_text(m))}</td>"
                f'<td class="{css}" data-metric="{m.metric.key}">{e(m.verdict)}</td></tr>'
            )
        parts.append(
            f"<tr><td>longest outage (run)</td>"
            f"<td>{e(format_duration(pair.baseline.longest_outage_s))}</td>"
            f"<td>{e(format_duration(pair.candidate.longest_outage_s))}</td><td></td>"
            '<td class="muted" data-metric="longest_outage">run-level, no CI</td></tr>'
        )
        parts.append("</table>")
    parts.append(
        f'<p class="muted">{e(method_note(comparison))}; '
        f"{comparison.confidence:.0%} intervals of candidate − baseline that hold "
        f"jointly for the {len(METRICS)} metrics (Bonferroni). "
        "“No significant difference” means the interval contains 0. Lower is better for "
        "every metric.</p>"
    )
    return "\n".join(parts)


def comparison_html(comparison: Comparison) -> str:
    """A self-contained HTML page of the comparison."""
    from peakbench.report.page import page

    names = " vs ".join(r.name for r in comparison.runs)
    return page(f"peakbench comparison: {names}", comparison_body(comparison), plotly=False)
