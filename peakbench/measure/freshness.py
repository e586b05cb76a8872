"""What customers saw against what the carrier knew: the definitions in DESIGN.md.

- refresh latency of an event: first time the store shows it (or a later event) − its visible_at;
- staleness of a view: view time − visible_at of the oldest carrier event the store does not show;
- apparent stall: view time − occurrence of the newest event shown (ship time if none);
- true stall: view time − visible_at of the newest event the carrier has (ship time if none).

All times here are run seconds.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from peakbench.measure.journals import Change
from peakbench.plan.timeline import ScanEvent


@dataclass(frozen=True, slots=True)
class ViewFreshness:
    t: float
    tracking_number: str
    shown: int
    visible: int
    staleness: float
    oldest_missing_visible: float | None
    apparent_stall: float
    true_stall: float

    @property
    def display_lag(self) -> bool:
        """The carrier had newer events than the store showed."""
        return self.visible > self.shown


def assess_view(
    events: Sequence[ScanEvent],
    start_epoch: float,
    t: float,
    shown: int,
    shipped_t: float,
    tracking_number: str = "",
) -> ViewFreshness:
    """Freshness of one view of a parcel's tracking page at run second ``t``."""
    visible_rel = [e.visible_at - start_epoch for e in events]
    visible = bisect.bisect_right(visible_rel, t)
    shown = max(0, min(shown, len(events)))
    if shown < visible:
        missing = visible_rel[shown]
        staleness = t - missing
    else:
        missing, staleness = None, 0.0
    newest_shown = events[shown - 1].occurred_at - start_epoch if shown else shipped_t
    newest_known = visible_rel[visible - 1] if visible else shipped_t
    return ViewFreshness(
        t=t,
        tracking_number=tracking_number,
        shown=shown,
        visible=visible,
        staleness=max(0.0, staleness),
        oldest_missing_visible=missing,
        apparent_stall=max(0.0, t - newest_shown),
        true_stall=max(0.0, t - newest_known),
    )


@dataclass(frozen=True, slots=True)
class Refresh:
    index: int
    visible: float
    latency: float
    censored: bool
    """Not shown by the end of the run: ``latency`` is a lower bound (end − visible)."""


def refresh_latencies(
    events: Sequence[ScanEvent], start_epoch: float, changes: Sequence[Change], end: float
) -> list[Refresh]:
    """Refresh latency of every event that became visible before ``end``.

    ``changes`` is the store's change log for the parcel in time order; an event counts as shown
    from the first change that shows it or a later event.
    """
    out: list[Refresh] = []
    j, shown_max, shown_at = 0, 0, 0.0
    for i, event in enumerate(events):
        visible = event.visible_at - start_epoch
        if visible > end:
            break
        while shown_max <= i and j < len(changes):
            if changes[j].shown_count > shown_max:
                shown_max, shown_at = changes[j].shown_count, changes[j].t
            j += 1
        if shown_max > i:
            out.append(Refresh(i, visible, max(0.0, shown_at - visible), False))
        else:
            out.append(Refresh(i, visible, max(0.0, end - visible), True))
    return out


@dataclass(frozen=True, slots=True)
class SampledRefresh:
    index: int
    visible: float
    latency: float
    censored: bool
    """Not shown by the last view of the parcel: ``latency`` is a lower bound (last − visible)."""
    gap: float | None
    """Resolution of ``latency``: time since the previous view of the parcel (or since it
    shipped), during which the event may have appeared unseen; ``None`` when censored."""


def sampled_refresh_latencies(
    events: Sequence[ScanEvent],
    start_epoch: float,
    views: Sequence[tuple[float, int]],
    shipped_t: float,
    end: float,
) -> list[SampledRefresh]:
    """Refresh latency of each event as the views sampled it, where no change log exists.

    ``views`` are ``(t, shown)`` of the parcel in time order (run seconds). An event counts as
    shown from the first view that shows it or a later event; only events visible before the
    parcel's last view (and ``end``) are observed at all.
    """
    out: list[SampledRefresh] = []
    if not views:
        return out
    last = views[-1][0]
    j, previous = 0, shipped_t
    for i, event in enumerate(events):
        visible = event.visible_at - start_epoch
        if visible > min(last, end):
            break
        while j < len(views) and views[j][1] <= i:
            previous = views[j][0]
            j += 1
        if j < len(views):
            t = views[j][0]
            out.append(SampledRefresh(i, visible, max(0.0, t - visible), False, t - previous))
        else:
            out.append(SampledRefresh(i, visible, max(0.0, last - visible), True, None))
    return out
