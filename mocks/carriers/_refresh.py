"""What a registration-based aggregator keeps, and how current its pull answers are: it answers
with what it fetched on its last poll of the carrier, not with what the carrier knows now.

Aggregators (AfterShip, 17TRACK, EasyPost, TrackingMore, TrackShip) re-poll each tracked number
every few hours (reference/carriers.md §1: TrackingMore 3–6 h, TrackShip 2–6 h, 17TRACK 6–12 h),
which adds staleness no plugin can remove. Poll times are a seeded function of the number, anchored
at its ship time, so answering needs no per-number state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from mocks.push.schedule import known_epoch
from peakbench.config.fleet import CarrierSpec
from peakbench.timeline import parse_tracking_number


@dataclass(frozen=True, slots=True)
class Refresh:
    """Poll every ``cadence`` (min, max store seconds, uniform and seeded per number and poll)."""

    seed: str
    cadence: tuple[float, float]

    def known(self, number: str, epoch: float) -> float:
        """The Unix time whose carrier state the aggregator shows for ``number`` at ``epoch``:
        its last poll at or before ``epoch``; before the first poll, the ship time (so nothing
        scanned is shown yet). Numbers it cannot decode are answered as of ``epoch``."""
        key = parse_tracking_number(number)
        if key is None:
            return epoch
        shipped = float(key.shipped_at)
        last = known_epoch(self.seed, number, shipped, epoch, self.cadence)
        return shipped if last == -math.inf else last


def refresh_of(carrier_name: str, seed: int, cadence: tuple[float, float] | None) -> Refresh | None:
    """The refresh model of a carrier (None: answers are always current)."""
    return None if cadence is None else Refresh(f"{seed}:{carrier_name}:refresh", cadence)


class Registrations:
    """What a registration-based aggregator (AfterShip, 17TRACK, EasyPost) keeps: only the set of
    registered numbers, bounded by ``capacity``, and how current its pull answers are."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._registered: dict[str, None] = {}  # an insertion-ordered set
        self.refresh: Refresh | None = None
        """The aggregator's refresh cadence on pulls (None: answers are current)."""

    def follow(self, carrier: CarrierSpec, seed: int) -> None:
        """Take ``carrier.refresh`` (its poll cadence) for pull answers."""
        if carrier.refresh is not None:
            cadence = (carrier.refresh.min, carrier.refresh.max)
            self.refresh = refresh_of(carrier.name, seed, cadence)

    def known(self, number: str, epoch: float) -> float:
        """The time whose carrier state a pull of ``number`` at ``epoch`` shows."""
        return epoch if self.refresh is None else self.refresh.known(number, epoch)

    def registered(self) -> Iterable[str]:
        """Numbers registered so far (a snapshot)."""
        return tuple(self._registered)

    def reset(self) -> None:
        """Forget every registration (admin reset)."""
        self._registered.clear()
