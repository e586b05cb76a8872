"""Throttle outages from a carrier's request journal.

An outage is a maximal interval in which the carrier refuses the plugin (a throttled or blocked
outcome) and no request to it succeeds. It starts at the first refusal after a success and ends at
the next success (or the end of the run, then it is ``open``). Other errors neither start nor end
one: a 5xx is not the carrier saying no.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from peakbench.freshness import ViewFreshness
from peakbench.journals import CarrierRecord

REFUSED = frozenset({"throttled", "blocked"})


@dataclass(frozen=True, slots=True)
class Outage:
    carrier: str
    start: float
    end: float
    cause: str
    refused: int
    open: bool

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
        for row in rows:
            if row.outcome in REFUSED:
                if start is None:
                    start, causes = row.t, Counter()
                causes[row.cause or row.outcome] += 1
            elif row.outcome == "ok" and start is not None:
                out.append(Outage(carrier, start, row.t, _cause(causes), causes.total(), False))
                start = None
        if start is not None:
            out.append(
                Outage(carrier, start, max(end, start), _cause(causes), causes.total(), True)
            )
    out.sort(key=lambda o: (o.start, o.carrier))
    return out


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
