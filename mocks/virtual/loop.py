"""The virtual-time event loop: asyncio's own loop, whose clock jumps to the next timer.

When no callback is ready, the loop does not wait for its next timer: its clock jumps to the
timer's instant, so ``asyncio.sleep``, ``asyncio.timeout`` and every timer complete in loop
time. A run of the world is then a deterministic function of its inputs: asyncio runs ready
callbacks in FIFO order and timers in (due time, insertion) order, the world's draws are
seeded, and nothing in it reads the wall clock to decide anything.

The loop is asyncio's selector loop with one change, in its selector: ``select(timeout)``
returns at once, having moved the clock to the earliest timer when ``timeout`` > 0. The world
does no outside I/O (its requests are in-process), so the real selector is consulted only every
:data:`POLL_EVERY` passes, for what the outside can send: signals (SIGTERM, SIGINT) and wake-ups
from threads. With nothing scheduled at all, it waits on the real selector, as asyncio does.
(``looptime`` does the same with a real poll on every pass and integer time; measured in
``benchmarks/bench_virtual.py``, those passes cost a tenth of a run.)
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

POLL_EVERY = 256
"""Loop passes between polls of the real selector: how soon a signal is noticed."""


class _JumpSelector(selectors.BaseSelector):
    """A selector that never waits while a timer is pending: it moves the loop's clock."""

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self._loop: VirtualLoop | None = None
        self._passes = 0

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:  # nothing ready, nothing scheduled: only the outside can wake us
            return self._real.select(None)
        if timeout > 0 and self._loop is not None:
            self._loop.jump()
        self._passes += 1
        if self._passes >= POLL_EVERY:
            self._passes = 0
            return self._real.select(0)
        return []


class VirtualLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop on a clock that starts at ``start`` and moves only by jumps."""

    def __init__(self, start: float = 0.0) -> None:
        selector = _JumpSelector()
        super().__init__(selector)
        self._now = float(start)
        selector._loop = self

    def time(self) -> float:
        return self._now

    def renew_self_pipe(self) -> None:
        """In a process forked from this loop's (a branch of the world): give the loop a real
        selector and a wake-up pipe of its own, and point the signal handlers at them.

        The inherited ones are the parent's: the epoll instance is one kernel object for both
        processes, so unregistering the pipe from it here would unregister it for the parent
        too (which would then never notice a signal), and each process would read the other's
        wake-ups. So the inherited epoll and pipe are only closed here (this process's copies
        of their descriptors), never changed."""
        handlers = dict(self._signal_handlers)  # type: ignore[attr-defined]
        for sig in handlers:
            self.remove_signal_handler(sig)  # this process's signal dispositions only
        selector: _JumpSelector = self._selector  # type: ignore[attr-defined]
        inherited, selector._real = selector._real, selectors.DefaultSelector()
        inherited.close()
        self._close_self_pipe()  # type: ignore[attr-defined]  # not in the new selector
        self._make_self_pipe()  # type: ignore[attr-defined]
        for sig, handle in handlers.items():
            self.add_signal_handler(sig, handle._callback, *handle._args)

    def jump(self) -> None:
        """Move the clock to the earliest pending timer (never back)."""
        scheduled: list[asyncio.TimerHandle] = self._scheduled  # type: ignore[attr-defined]
        if scheduled:
            self._now = max(self._now, scheduled[0].when())


def new_loop(start: float = 0.0) -> asyncio.AbstractEventLoop:
    """A fresh event loop whose ``time()`` starts at ``start`` and moves only by jumps."""
    return VirtualLoop(start)


def run(main: Coroutine[Any, Any, T], start: float = 0.0) -> T:
    """Run ``main`` to completion on a fresh virtual-time loop."""
    with asyncio.Runner(loop_factory=lambda: new_loop(start)) as runner:
        return runner.run(main)
