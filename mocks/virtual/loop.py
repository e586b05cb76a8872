"""The virtual-time event loop: asyncio's own loop with its clock compacted by ``looptime``.

When no callback is ready, the loop's clock jumps straight to the next timer instead of waiting
for it, so ``asyncio.sleep``, ``asyncio.wait_for`` and every timeout complete in loop time. A
run of the world is then a deterministic function of its inputs: asyncio runs ready callbacks
in FIFO order and timers in (due time, insertion) order, the world's draws are seeded, and
nothing in it reads the wall clock to decide anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import looptime

T = TypeVar("T")

NOOP_CYCLES = 0
"""Idle loop passes before the clock jumps. The world does no outside I/O (its requests are
in-process), so nothing can become ready while it waits: no pass needs to be spent waiting."""


def new_loop(start: float = 0.0) -> asyncio.AbstractEventLoop:
    """A fresh event loop whose ``time()`` starts at ``start`` and moves only by jumps."""
    return looptime.new_event_loop(start=start, noop_cycles=NOOP_CYCLES)


def run(main: Coroutine[Any, Any, T], start: float = 0.0) -> T:
    """Run ``main`` to completion on a fresh virtual-time loop."""
    with asyncio.Runner(loop_factory=lambda: new_loop(start)) as runner:
        return runner.run(main)
