"""The byte-search page read gives the full parse's answer on the store's pages, or declines."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtests.tracking_page import read
from mocks.store.page import render_tracking_page
from mocks.store.tables import OrderRow, ShipmentRow
from peakbench.adapters.woocommerce import parse_tracking_page

ORDER = OrderRow(7, "wc_order_abc", "completed", 0.0, {})


def _event(occurred: str | None, status: str = "in_transit", **extra: Any) -> dict[str, Any]:
    return {
        "code": "IT",
        "status": status,
        "description": "Departed facility",
        "location": {"city": "Memphis", "state": "TN", "country": "US"},
        "occurred_at": occurred,
        **extra,
    }


def _shipment(
    events: list[dict[str, Any]], sid: int = 1, status: str = "in_transit"
) -> ShipmentRow:
    return ShipmentRow(
        sid, 7, "generic", f"PBD{sid:013d}", f"t{sid}", "2026-11-27", float(sid), events,
        len(events), status, False,
    )  # fmt: skip


def _page(*shipments: ShipmentRow) -> bytes:
    return render_tracking_page(ORDER.id, list(shipments)).encode()


def _both(body: bytes) -> tuple[Any, Any]:
    return read(body), parse_tracking_page(body.decode())


CANONICAL = [
    _page(),  # not shipped yet: status only
    _page(_shipment([], status="pending")),
    _page(_shipment([_event("2026-11-27T10:15:00-05:00")])),
    _page(
        _shipment(
            [
                _event("2026-11-26T08:00:00-05:00", "info_received"),
                _event("2026-11-27T10:15:00-05:00"),
                _event("2026-11-28T07:01:30-05:00", "out_for_delivery"),
            ]
        )
    ),
    # two shipments, newest first on the page; times with fractions, UTC
    _page(
        _shipment([_event("2026-11-27T10:15:00.250Z"), _event("2026-11-27T11:15:00.500Z")], 1),
        _shipment([_event("2026-11-29T10:00:00.000Z", "delivered")], 2, "delivered"),
    ),
    # an event without a time, escaped statuses and text that needs escaping
    _page(_shipment([_event(None), _event("2026-11-27T10:15:00+01:00", 'a"b&c<d>', code="<x>")])),
]


@pytest.mark.parametrize("body", CANONICAL)
def test_canonical_store_pages_read_fast_and_the_same(body: bytes) -> None:
    fast, full = _both(body)
    assert fast is not None, "the store's own page must take the fast path"
    assert fast == full


def test_a_cross_border_page_compares_times_across_offsets() -> None:
    # Local offsets differ per scan: the latest instant is not the greatest string.
    body = _page(
        _shipment(
            [
                _event("2026-11-27T23:00:00-08:00"),  # 07:00Z next day
                _event("2026-11-28T06:30:00+00:00"),  # 06:30Z: earlier, but a greater string
            ]
        )
    )
    fast, full = _both(body)
    assert fast == full and fast is not None
    assert fast.newest_occurred == "2026-11-27T23:00:00-08:00"


def test_odd_times_follow_the_full_parse_exactly() -> None:
    bodies = [
        _page(_shipment([_event("not a time"), _event("2026-11-27T10:15:00-05:00")])),
        _page(
            _shipment([_event("2026-11-27 10:15:00-05:00"), _event("2026-11-27T09:15:00-05:00")])
        ),
        _page(
            _shipment([_event("2026-13-45T10:15:00-05:00"), _event("2026-11-27T09:15:00-05:00")])
        ),
        _page(
            _shipment([_event("  2026-11-27T10:15:00-05:00 "), _event("&#50;026-11-27T11:00:00Z")])
        ),
    ]
    for body in bodies:
        fast, full = _both(body)
        assert fast is None or fast == full, body


@pytest.mark.parametrize(
    "mutate",
    [
        # a tag the full parse counts but is not canonical: must decline
        lambda b: b.replace(
            b"</ol>", b'<li data-occurred="2030-01-01T00:00:00Z" class="tracking-event">x</li></ol>'
        ),
        lambda b: b.replace(b"</ol>", b'<LI class="tracking-event">x</LI></ol>'),
        lambda b: b.replace(b"Departed facility", b"tracking-event noted", 1),
        lambda b: b.replace(b"<h1>", b'<p class="tracking-status" data-status="x">y</p><h1>'),
        lambda b: b.replace(b'<p class="tracking-status"', b'<p title="<" class="tracking-status"'),
        lambda b: b.replace(b"<section ", b'<li title="a" data-tracking-number="z" ><section ', 1),
        lambda b: b.replace(b"<h1>", b'<span title="<li class=&quot;x&quot;"><h1>'),
        lambda b: b.replace(b"Memphis", "Münich".encode(), 1),
        lambda b: b.replace(b'data-status="in_transit"', b'data-status="in>transit"', 1),
        lambda b: b.replace(b'" data-occurred="', b'" data-x="1" data-occurred="', 1),
        lambda b: b.replace(
            b'class="tracking-status" data-status="in_transit"', b'class="tracking-status"'
        ),
    ],
)
def test_a_non_canonical_page_is_read_the_same_or_declined(mutate: Any) -> None:
    base = CANONICAL[3]
    body = mutate(base)
    assert body != base
    try:
        full = parse_tracking_page(body.decode())
    except ValueError:
        full = None
    fast = read(body)
    assert fast is None or fast == full


def test_pages_without_exactly_one_status_are_declined() -> None:
    page = CANONICAL[2]
    assert read(page.replace(b'<p class="tracking-status"', b'<p class="status"')) is None
    doubled = page.replace(b"<h1>", b'<p class="tracking-status" data-status="x"></p><h1>')
    assert read(doubled) is None
    with pytest.raises(ValueError):
        parse_tracking_page(doubled.decode())


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["tracking-event", '"', "&amp;", "<li>", ">", " ", "in_transit"]
)
_TIME = st.one_of(
    st.none(),
    _TEXT,
    st.builds(
        "2026-11-{:02d}T{:02d}:{:02d}:00{}".format,
        st.integers(1, 30),
        st.integers(0, 23),
        st.integers(0, 59),
        st.sampled_from(["-05:00", "+01:00", "Z", "+00:00", ".5Z"]),
    ),
)
_EVENTS = st.lists(st.builds(_event, _TIME, _TEXT), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_EVENTS, _TEXT), max_size=3), _TEXT)
def test_any_store_page_reads_the_same_as_the_full_parse(
    shipments: list[tuple[list[dict[str, Any]], str]], carrier: str
) -> None:
    rows = [
        ShipmentRow(
            i,
            7,
            carrier,
            f"PBD{i:013d}",
            f"t{i}",
            "2026-11-27",
            float(i),
            events,
            len(events),
            status,
            False,
        )
        for i, (events, status) in enumerate(shipments)
    ]
    body = render_tracking_page(ORDER.id, rows).encode()
    fast = read(body)
    full = parse_tracking_page(body.decode())  # the store always writes one status
    assert fast is None or fast == full
    texts = [carrier] + [status for _, status in shipments]
    texts += [
        str(e[k] or "")
        for events, _ in shipments
        for e in events
        for k in ("status", "occurred_at")
    ]
    if all(t.isascii() and "tracking-" not in t for t in texts):
        assert fast is not None, "a plain store page must take the fast path"
