"""Store time: the clock every process of a run shares.

All durations and rates in a profile are in *store time*. ``scale`` is store seconds per wall
second. Times inside peakbench are *run seconds*: store seconds since the run's ``start``
(``t = 0`` at the first scheduled instant). ``start_epoch`` anchors run seconds to a calendar, so
carriers can stamp events and reset daily quotas at 00:00 GMT of store time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ClockSpec:
    """What every child process needs to agree on the time: handed over as JSON at start."""

    start_epoch: float
    """Unix time (store calendar) of run second 0."""
    scale: float
    """Store seconds per wall second."""
    wall_epoch: float
    """Wall ``time.time()`` at run second 0."""

    def to_json(self) -> dict[str, float]:
        return {"start_epoch": self.start_epoch, "scale": self.scale, "wall_epoch": self.wall_epoch}

    @classmethod
    def from_json(cls, data: dict[str, float]) -> ClockSpec:
        return cls(float(data["start_epoch"]), float(data["scale"]), float(data["wall_epoch"]))


class Clock(Protocol):
    """The seam for time: real processes use :class:`WallClock`, the virtual-time world
    :class:`LoopClock`, tests :class:`ManualClock`."""

    virtual: bool
    """Store time does not follow the wall clock: a sleep costs no wall time, and nothing in
    the world may pace itself, time out or poll by wall seconds."""

    @property
    def spec(self) -> ClockSpec: ...

    def now(self) -> float:
        """Run seconds (store time since the run's start)."""
        ...

    async def sleep(self, store_seconds: float) -> None:
        """Sleep for a store-time duration."""
        ...


class WallClock:
    """Store time derived from the wall clock through a :class:`ClockSpec`."""

    virtual = False

    def __init__(self, spec: ClockSpec, time_fn: Callable[[], float] = time.time) -> None:
        self._spec = spec
        self._time = time_fn

    @property
    def spec(self) -> ClockSpec:
        return self._spec

    def now(self) -> float:
        return (self._time() - self._spec.wall_epoch) * self._spec.scale

    def wall_at(self, t: float) -> float:
        """Wall time at which run second ``t`` happens."""
        return self._spec.wall_epoch + t / self._spec.scale

    async def sleep(self, store_seconds: float) -> None:
        await asyncio.sleep(max(0.0, store_seconds) / self._spec.scale)


class ManualClock:
    """A clock that moves only when told to; ``sleep`` advances it (for tests)."""

    virtual = False

    def __init__(self, t: float = 0.0, start_epoch: float = 1_795_755_600.0, scale: float = 1.0):
        self.t = t
        self._spec = ClockSpec(start_epoch=start_epoch, scale=scale, wall_epoch=0.0)

    @property
    def spec(self) -> ClockSpec:
        return self._spec

    def now(self) -> float:
        return self.t

    def advance(self, store_seconds: float) -> None:
        self.t += store_seconds

    async def sleep(self, store_seconds: float) -> None:
        self.t += max(0.0, store_seconds)
        await asyncio.sleep(0)


class LoopClock:
    """Store time read from the running event loop's clock (DESIGN.md "Time").

    Under a virtual-time loop (:mod:`mocks.virtual.loop`) the loop's clock jumps to the next
    timer when nothing is ready, so a sleep or a timeout of the world completes in store time,
    whatever the machine does: one store second is one loop second (``spec.scale`` is 1)."""

    virtual = True

    def __init__(
        self, start_epoch: float, loop: asyncio.AbstractEventLoop, at: float = 0.0
    ) -> None:
        """``at``: the run second :meth:`now` reads first (negative: a lead before run second
        0, e.g. a Shopify replay pre-creating its orders)."""
        self._loop = loop
        self._t0 = loop.time() - at
        self._spec = ClockSpec(start_epoch=start_epoch, scale=1.0, wall_epoch=0.0)

    @property
    def spec(self) -> ClockSpec:
        return self._spec

    def now(self) -> float:
        return self._loop.time() - self._t0

    async def sleep(self, store_seconds: float) -> None:
        await asyncio.sleep(max(0.0, store_seconds))


def epoch_of(spec: ClockSpec, t: float) -> float:
    """Unix time (store calendar) of run second ``t``."""
    return spec.start_epoch + t


def run_seconds(spec: ClockSpec, epoch: float) -> float:
    """Run second of a Unix time on the store calendar."""
    return epoch - spec.start_epoch


def iso(epoch: float) -> str:
    """ISO-8601 UTC with a ``Z``, second precision, as most carrier APIs print."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_utc_midnight(epoch: float) -> float:
    """Unix time of the next 00:00 GMT strictly after ``epoch`` (daily quota resets)."""
    return (int(epoch) // 86400 + 1) * 86400.0
