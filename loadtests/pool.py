"""The users of one Locust process as a pool that shrinks without losing work.

A replay user holds the next item from the moment it takes it until the item is done, often
sleeping until it is due. Stopping a user the way Locust does (killing its greenlet) would lose
that item. So the pool shrinks by **retirement** instead: the shape says how many users a process
should keep (:meth:`Pool.resize`), and the surplus quit one by one as they come back free for
their next item (:meth:`PooledReplay.take` answers ``None``, the user ends like at the end of the
schedule). No item is ever dropped or delayed by a shrink; a busy pool shrinks only as fast as its
users finish what they hold.
"""

from __future__ import annotations

from functools import cached_property

from loadtests.replay import Replay
from peakbench.plan.schedule import Item


class Pool:
    """How many users to keep, and how many of those alive must still retire."""

    def __init__(self) -> None:
        self.keep: int | None = None
        """Users to keep (``None``: no limit yet)."""
        self.retired = 0
        """Users retired so far."""
        self._surplus = 0

    def resize(self, keep: int, live: int) -> None:
        """Keep ``keep`` users; ``live`` users are alive now (none of them retired yet)."""
        self.keep = keep
        self._surplus = max(0, live - keep)

    @property
    def surplus(self) -> int:
        """Users that will retire at their next :meth:`admit`."""
        return self._surplus

    def admit(self) -> bool:
        """A user is free for its next item: ``False`` when it should retire instead."""
        if self._surplus > 0:
            self._surplus -= 1
            self.retired += 1
            return False
        return True


class PooledReplay(Replay):
    """A :class:`Replay` whose free users retire when :attr:`pool` has a surplus."""

    @cached_property
    def pool(self) -> Pool:
        """The users to keep (one per replay, made at first use)."""
        return Pool()

    def take(self) -> Item | None:
        """The next item, or ``None``: the schedule is exhausted or this user retires.

        A retiring user holds nothing, so nothing is given back and the replay's end is not
        affected."""
        if not self.pool.admit():
            return None
        return super().take()
