"""When an aggregator learns of scans, and when a push to the store is due.

An aggregator (TrackShip, AfterShip, 17TRACK, ...) does not see a carrier scan when the carrier
does: it learns of it on its next poll of the carrier. For each registered number the polls
happen at ``registered + first_poll``, then every ``U[min, max]`` store seconds (a seeded draw
per number and poll, so a run replays exactly). At each poll the number of events the carrier
shows (:func:`peakbench.plan.timeline.visible_count`) is compared with the count of the last push;
when it grew, a push is due. A number whose whole journey is known is polled no more.

Scale: one small :class:`Track` per registered number and one heap entry per number still
polled; thousands of numbers cost a heap, never a task each. All times are run seconds.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass

from peakbench.plan.timeline import TimelineModel, journey, visible_count

_UNIT = 2.0**-64


def unit_draw(seed: str, number: str, k: int) -> float:
    """A uniform draw in [0, 1) fixed by ``(seed, number, k)``: the k-th poll's jitter."""
    digest = hashlib.blake2b(f"{seed}:{number}:{k}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") * _UNIT


def known_epoch(
    seed: str, number: str, first_poll: float, epoch: float, cadence: tuple[float, float]
) -> float:
    """Unix time of the aggregator's last poll of ``number`` at or before ``epoch`` (-inf when
    none yet): polls at ``first_poll`` (Unix time) and then the same seeded intervals as
    :class:`PollSchedule`. For a pull API that answers with what the aggregator last fetched
    (``events[:visible_count(events, known_epoch(...))]``) without keeping per-number state,
    anchored e.g. at the parcel's ship time."""
    if epoch < first_poll:
        return -math.inf
    lo, hi = cadence
    poll, k = first_poll, 1
    while True:
        following = poll + lo + (hi - lo) * unit_draw(seed, number, k)
        if following > epoch:
            return poll
        poll, k = following, k + 1


@dataclass(slots=True)
class Track:
    """What the aggregator knows of one registered number."""

    registered_t: float
    """Run second the engine first saw the number registered."""
    total: int
    """Events in the whole journey (0 for a number the truth model does not know)."""
    next_t: float = math.inf
    """Run second of the next poll (inf: no more polls)."""
    polls: int = 0
    seen: int = 0
    """Visible events at the last poll."""
    seen_epoch: float = 0.0
    """Unix time (store calendar) of the last poll: the state a push body describes."""
    next_visible: float = math.inf
    """Unix time the next unseen event becomes visible: a poll before it learns nothing, and
    costs no journey computation."""
    pushed: int = 0
    """Event count of the last finished push (delivered or given up)."""
    delivered: int = 0
    """Event count of the last delivered push."""
    busy: bool = False
    """A push of this number is in flight or waiting for a retry."""


class PollSchedule:
    """The poll heap of one aggregator over the numbers registered with it.

    ``cadence``: ``(min, max)`` store seconds between polls of a number; ``first_poll``: store
    seconds from registration to the first poll; ``seed`` fixes the jitter.
    """

    def __init__(
        self,
        model: TimelineModel,
        start_epoch: float,
        cadence: tuple[float, float],
        seed: str,
        first_poll: float = 0.0,
    ) -> None:
        self.model = model
        self.start_epoch = start_epoch
        self.cadence = cadence
        self.seed = seed
        self.first_poll = first_poll
        self.tracks: dict[str, Track] = {}
        self._heap: list[tuple[float, str]] = []

    # -- registrations ------------------------------------------------------------------------

    def sync(self, registered: Iterable[str], t: float) -> int:
        """Start tracking numbers newly in ``registered`` (at run second ``t``) and forget the
        ones no longer in it; returns how many were added."""
        tracks = self.tracks
        snapshot = list(registered)  # personalities hand out a live view or a copy
        added = present = 0
        fresh: list[str] = []
        for number in snapshot:
            if number in tracks:
                present += 1
            else:
                fresh.append(number)
        if present < len(tracks):  # some were deregistered: the rare, costlier path
            keep = set(snapshot)
            for number in [n for n in tracks if n not in keep]:
                del tracks[number]  # its heap entry is skipped when popped
        for number in fresh:
            if number in tracks:  # listed twice
                continue
            try:
                events = journey(self.model, number)
            except ValueError:
                events = ()
            total = len(events)
            track = tracks[number] = Track(registered_t=t, total=total)
            track.next_visible = events[0].visible_at if events else math.inf
            if total:
                track.next_t = t + self.first_poll
                heapq.heappush(self._heap, (track.next_t, number))
            added += 1
        return added

    # -- polls --------------------------------------------------------------------------------

    def due(self, t: float) -> list[str]:
        """Run every poll up to run second ``t``; the numbers whose push became due, which are
        marked busy until :meth:`finished` is called for them."""
        heap, tracks = self._heap, self.tracks
        lo, hi = self.cadence
        out: list[str] = []
        while heap and heap[0][0] <= t:
            poll_t, number = heapq.heappop(heap)
            track = tracks.get(number)
            if track is None or track.next_t != poll_t:  # deregistered, or re-registered later
                continue
            epoch = self.start_epoch + poll_t
            track.polls += 1
            track.seen_epoch = epoch
            if epoch >= track.next_visible:
                events = journey(self.model, number)
                track.seen = max(track.seen, visible_count(events, epoch))
                track.next_visible = (
                    events[track.seen].visible_at if track.seen < track.total else math.inf
                )
            if track.seen >= track.total:
                track.next_t = math.inf  # the journey is complete: nothing left to learn
            else:
                track.next_t = poll_t + lo + (hi - lo) * unit_draw(self.seed, number, track.polls)
                heapq.heappush(heap, (track.next_t, number))
            if track.seen > track.pushed and not track.busy:
                track.busy = True
                out.append(number)
        return out

    def next_t(self) -> float:
        """Run second of the earliest pending poll (inf when none)."""
        heap, tracks = self._heap, self.tracks
        while heap:  # drop stale entries so the answer is a real poll
            poll_t, number = heap[0]
            track = tracks.get(number)
            if track is not None and track.next_t == poll_t:
                return poll_t
            heapq.heappop(heap)
        return math.inf

    # -- pushes -------------------------------------------------------------------------------

    def state(self, number: str) -> tuple[float, int] | None:
        """``(epoch, count)`` of the newest state the aggregator knows of ``number``: what a
        push (or a retry) sends now; None if the number is no longer registered."""
        track = self.tracks.get(number)
        if track is None or track.seen == 0:
            return None
        return track.seen_epoch, track.seen

    def finished(self, number: str, count: int, delivered: bool) -> bool:
        """A push of ``count`` events ended (``delivered`` or given up); True when a newer state
        arrived meanwhile, so another push is due at once (the number stays busy)."""
        track = self.tracks.get(number)
        if track is None:
            return False
        track.pushed = max(track.pushed, count)
        if delivered:
            track.delivered = max(track.delivered, count)
        if track.seen > track.pushed:
            return True
        track.busy = False
        return False

    def abandon(self, number: str) -> None:
        """Close a push that had nothing to send: its state counts as pushed, so only a newer
        state starts another."""
        track = self.tracks.get(number)
        if track is not None:
            track.pushed = max(track.pushed, track.seen)
            track.busy = False

    def __len__(self) -> int:
        return len(self.tracks)
