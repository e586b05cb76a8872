"""A bounded table of per-caller state, shared by the stateful behaviours (quota, block).

Callers are API-key labels or client IPs: a handful in a real run, but a misbehaving client
(or a fuzzer) could invent many. The table therefore never grows past ``capacity``: when full,
it first drops entries that are *idle* (indistinguishable from a fresh caller, so dropping them
changes no decision), then, if still full, the oldest half.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")

DEFAULT_CAPACITY = 4096


class CallerTable(Generic[V]):
    """Caller name → mutable state, at most ``capacity`` entries."""

    __slots__ = ("capacity", "entries")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.entries: dict[str, V] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, caller: str) -> V | None:
        return self.entries.get(caller)

    def put(self, caller: str, value: V, idle: Callable[[V], bool]) -> None:
        """Add a caller's state, evicting idle (then the oldest) callers when full."""
        entries = self.entries
        if len(entries) >= self.capacity and caller not in entries:
            for name in [n for n, v in entries.items() if idle(v)]:
                del entries[name]
            if len(entries) >= self.capacity:
                # dicts keep insertion order: the first half are the longest-known callers
                for name in list(entries)[: max(1, len(entries) // 2)]:
                    del entries[name]
        entries[caller] = value
