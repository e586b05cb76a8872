"""Throttle outages from a carrier's request journal.

An outage is a maximal interval in which the carrier refuses the plugin (a throttled or blocked
outcome) and no request to it succeeds. It starts at the first refusal after a success and ends at
the next success (or the end of the run, then it is ``open``). Other errors neither start nor end
one: a 5xx is not the carrier saying no.

Its ``cause`` is the one that explains its length (a ban when there was one, else the commonest
refusal); ``first_cause`` is the refusal that started it, and ``causes`` tells the whole story in
order: each cause with when it first refused and how many requests it refused (a daily quota runs
out at 16:10, the plugin keeps calling, a ban follows at 16:25).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from peakbench.measure.freshness import ViewFreshness
from peakbench.measure.journals import CarrierRecord

REFUSED = frozenset({"throttled", "blocked"})


@dataclass(frozen=True, slots=True)
class Outage:
    carrier: str
    start: float
    end: float
    cause: str
    refused: int
    open: bool
    first_cause: str = ""
    """The refusal that started the outage (``quota:1d`` when a ban followed a spent quota)."""
    causes: tuple[tuple[str, float, int], ...] = ()
    """``(cause, first refusal t, refused)`` per cause, in order of first appearance."""

    @property
    def duration(self) -> float:
        return self.end - self.start


def find_outages(records: Iterable[CarrierRecord], end: float) -> list[Outage]:
    """Outages per carrier, in start order. ``end`` closes those still running."""
    by_carrier: dict[str, list[CarrierRecord]] = {}
    for record in records:
        by_carrier.setdefault(record.carrier, []).append(record)
    out: list[Outage] = []
    for carrier, rows in sorted(by_carrier.items()):
        rows.sort(key=lambda r: r.t)
        start: float | None = None
        causes: Counter[str] = Counter()
        first: dict[str, float] = {}
        for row in rows:
            if row.outcome in REFUSED:
                if start is None:
                    start, causes, first = row.t, Counter(), {}
                cause = row.cause or row.outcome
                causes[cause] += 1
                first.setdefault(cause, row.t)
            elif row.outcome == "ok" and start is not None:
                out.append(_outage(carrier, start, row.t, causes, first, False))
                start = None
        if start is not None:
            out.append(_outage(carrier, start, max(end, start), causes, first, True))
    out.sort(key=lambda o: (o.start, o.carrier))
    return out


def _outage(
    carrier: str,
    start: float,
    end: float,
    causes: Counter[str],
    first: dict[str, float],
    still_open: bool,
) -> Outage:
    story = tuple((c, t, causes[c]) for c, t in first.items())
    return Outage(
        carrier,
        start,
        end,
        _cause(causes),
        causes.total(),
        still_open,
        first_cause=story[0][0],
        causes=story,
    )


def _cause(causes: Counter[str]) -> str:
    if "ban" in causes:
        return "ban"
    return causes.most_common(1)[0][0]


def hit_by(outage: Outage, carrier: str, view: ViewFreshness, stale_after: float) -> bool:
    """Whether ``outage`` pushed ``view`` (of a parcel of ``carrier``) past ``stale_after``: the
    view is stale past it, came after the outage began, and waits for an event that became
    visible before the outage ended (the definition behind a summary's ``views_affected``)."""
    return (
        carrier == outage.carrier
        and view.staleness > stale_after
        and view.t >= outage.start
        and view.oldest_missing_visible is not None
        and view.oldest_missing_visible < outage.end
    )
