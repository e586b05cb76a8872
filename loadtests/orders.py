"""The order book: which store order each schedule reference became.

Ships and views name orders by the schedule's ``ref``; the store knows them by ``id`` and
``order_key``. When a ship or view comes due while another user is still creating its order, it
waits for that creation to end instead of failing a request the store would have served.
"""

from __future__ import annotations

from gevent.event import Event

from peakbench.adapters.woocommerce import OrderHandle


class OrderBook:
    """ref → :class:`OrderHandle`, with waiting on creations in flight (gevent world)."""

    def __init__(self) -> None:
        self._handles: dict[int, OrderHandle] = {}
        self._creating: dict[int, Event] = {}

    def begin(self, ref: int) -> None:
        """An order for ``ref`` is being created."""
        self._creating.setdefault(ref, Event())

    def end(self, ref: int, handle: OrderHandle | None) -> None:
        """The creation ended: with the store's handle, or ``None`` when it failed."""
        if handle is not None:
            self._handles[ref] = handle
        event = self._creating.pop(ref, None)
        if event is not None:
            event.set()

    def get(self, ref: int, wait_s: float) -> OrderHandle | None:
        """The handle for ``ref``; waits up to ``wait_s`` wall seconds for a creation in flight.

        ``None`` when the order was never created (not scheduled yet, failed, or timed out).
        """
        handle = self._handles.get(ref)
        if handle is not None:
            return handle
        event = self._creating.get(ref)
        if event is not None:
            event.wait(wait_s)
        return self._handles.get(ref)

    def __len__(self) -> int:
        return len(self._handles)
