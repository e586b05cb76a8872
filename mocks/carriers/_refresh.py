"""What a registration-based aggregator keeps, and how current its pull answers are: it answers
with what it fetched on its last poll of the carrier, not with what the carrier knows now.

Aggregators (AfterShip, 17TRACK, EasyPost, TrackingMore, TrackShip) re-poll each tracked number
every few hours (reference/carriers.md §1: TrackingMore 3–6 h, TrackShip 2–6 h, 17TRACK 6–12 h),
which adds staleness no plugin can remove. Poll times are a seeded function of the number, anchored
at its ship time, so answering needs no per-number state.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mocks.push.schedule import known_epoch
from peakbench.config.fleet import CarrierSpec
from peakbench.plan.timeline import parse_tracking_number


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


MISSING: Any = object()
"""What :meth:`Registrations.find` answers for a number the caller has not registered."""


def account_of(key: str) -> str:
    """The account a caller's API key stands for: a 96-bit hash of the key. The key itself is
    never kept beyond the request, nor written (registration logs hold this hash)."""
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


class Registrations:
    """What a registration-based aggregator (AfterShip, 17TRACK, EasyPost, TrackShip) keeps:
    per account (API key), the registered numbers and one small JSON-able value each (the
    requested carrier, order fields...), at most ``capacity`` in all; and how current its pull
    answers are.

    Accounts are separate, as at the vendors: a number registered with one key is unknown to
    another (404, "not registered"), and both may register it. The personality's ``credential``
    calls :meth:`caller`; its ``respond`` then reads and writes that caller's registrations (the
    app makes these calls for one request with no ``await`` in between).

    ``log``: when set (by :mod:`mocks.recovery`), every change goes there as one JSON line, so
    a restarted mock can :meth:`restore` them.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._accounts: dict[str, dict[str, Any]] = {}
        """Account → its registrations (number → value), each an insertion-ordered dict."""
        self._count = 0
        self.account = ""
        """The account of the request being answered."""
        self.refresh: Refresh | None = None
        """The aggregator's refresh cadence on pulls (None: answers are current)."""
        self.log: Callable[[str], object] | None = None

    def follow(self, carrier: CarrierSpec, seed: int) -> None:
        """Take ``carrier.refresh`` (its poll cadence) for pull answers."""
        if carrier.refresh is not None:
            cadence = (carrier.refresh.min, carrier.refresh.max)
            self.refresh = refresh_of(carrier.name, seed, cadence)

    def known(self, number: str, epoch: float) -> float:
        """The time whose carrier state a pull of ``number`` at ``epoch`` shows."""
        return epoch if self.refresh is None else self.refresh.known(number, epoch)

    # -- the caller's registrations -------------------------------------------------------------

    def caller(self, key: str | None) -> str | None:
        """Note the account of ``key`` (the request's credential) and hand ``key`` back."""
        self.account = account_of(key) if key else ""
        return key

    def mine(self) -> dict[str, Any]:
        """The caller's registrations (number → value), oldest first; do not modify."""
        return self._accounts.get(self.account) or {}

    def find(self, number: str) -> Any:
        """The value the caller registered ``number`` with, or :data:`MISSING`."""
        return self.mine().get(number, MISSING)

    @property
    def full(self) -> bool:
        """Whether the capacity is used up (across accounts)."""
        return self._count >= self.capacity

    def add(self, number: str, value: Any = None) -> bool:
        """Register ``number`` for the caller (or replace its value); False when full."""
        book = self._accounts.get(self.account)
        if book is None or number not in book:
            if self._count >= self.capacity:
                return False
            self._count += 1
        if book is None:
            book = self._accounts[self.account] = {}
        book[number] = value
        self._note({"op": "add", "account": self.account, "number": number, "value": value})
        return True

    def drop(self, number: str) -> bool:
        """Forget the caller's ``number``; False if it was not registered."""
        book = self._accounts.get(self.account)
        if book is None or number not in book:
            return False
        del book[number]
        self._count -= 1
        if not book:
            del self._accounts[self.account]
        self._note({"op": "drop", "account": self.account, "number": number})
        return True

    def __len__(self) -> int:
        return self._count

    # -- all accounts ----------------------------------------------------------------------------

    def registered(self) -> Iterable[str]:
        """Numbers registered so far by any account, once each (a snapshot)."""
        books = list(self._accounts.values())
        if len(books) == 1:
            return tuple(books[0])
        return tuple(dict.fromkeys(n for book in books for n in book))

    def registration(self, number: str) -> Any:
        """The value of ``number`` in the first account that registered it, or MISSING."""
        for book in self._accounts.values():
            if number in book:
                return book[number]
        return MISSING

    def reset(self) -> None:
        """Forget every registration (admin reset)."""
        self._accounts.clear()
        self._count = 0
        self._note({"op": "reset"})

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every registration as a log line's fields (for compaction)."""
        for account, book in self._accounts.items():
            for number, value in book.items():
                yield {"op": "add", "account": account, "number": number, "value": value}

    def restore(self, line: dict[str, Any]) -> None:
        """Apply one logged change (a restart re-feeding the log); bad lines are ignored."""
        op = line.get("op")
        if op == "reset":
            self._accounts.clear()
            self._count = 0
            return
        account, number = line.get("account"), line.get("number")
        if not isinstance(account, str) or not isinstance(number, str):
            return
        log, self.log = self.log, None
        mine, self.account = self.account, account
        try:
            if op == "add":
                value = line.get("value")
                self.add(number, tuple(value) if isinstance(value, list) else value)
            elif op == "drop":
                self.drop(number)
        finally:
            self.log, self.account = log, mine

    def _note(self, change: dict[str, Any]) -> None:
        if self.log is not None:
            self.log(json.dumps(change, separators=(",", ":")) + "\n")
