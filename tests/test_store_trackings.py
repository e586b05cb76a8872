"""What the store keeps of a carrier's answer (``StoreDB.apply_trackings``), at its boundaries:
a poll with nothing new, a status that moves without a new event, a new event, delivery, and
which open shipments a pass sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mocks.store.db import StoreDB


def _event(status: str, code: str) -> dict[str, Any]:
    return {"status": status, "code": code, "description": code, "occurred_at": "2026-11-27"}


@pytest.fixture
def db(tmp_path: Path) -> StoreDB:
    store = StoreDB(tmp_path / "store.sqlite")
    for i, carrier in enumerate(("generic", "generic", "trackship")):
        order = store.insert_order(f"wc_order_{i}", "processing", 0.0)
        store.add_shipment(order, carrier, f"NUM{i}", 10.0, f"t{i}", "2026-11-27")
    return store


def _row(db: StoreDB, number: str) -> tuple[Any, ...]:
    return tuple(
        db.conn.execute(
            "SELECT shown_count, status, delivered, c.last_checked_t, events FROM shipments s "
            "LEFT JOIN shipment_checks c ON c.id = s.id WHERE tracking_number = ?",
            (number,),
        ).fetchone()
    )


def _changes(db: StoreDB) -> list[tuple[Any, ...]]:
    rows = db.conn.execute("SELECT tracking_number, t, shown_count, status FROM tracking_changes")
    return [tuple(r) for r in rows]


def test_an_answer_with_nothing_new_only_moves_the_check_time(db: StoreDB) -> None:
    first = [_event("in_transit", "EMA")]
    assert db.apply_trackings([("NUM0", first, "in_transit")], 100.0) == 1
    assert db.apply_trackings([("NUM0", first, "in_transit")], 200.0) == 0
    shown, status, delivered, checked, _ = _row(db, "NUM0")
    assert (shown, status, delivered, checked) == (1, "in_transit", 0, 200.0)
    assert _changes(db) == [("NUM0", 100.0, 1, "in_transit")]


def test_a_status_that_moves_without_a_new_event_is_kept_but_not_logged(db: StoreDB) -> None:
    first = [_event("in_transit", "EMA")]
    db.apply_trackings([("NUM0", first, "in_transit")], 100.0)
    assert db.apply_trackings([("NUM0", first, "delivered")], 150.0) == 0
    shown, status, delivered, checked, _ = _row(db, "NUM0")
    assert (shown, status, delivered, checked) == (1, "delivered", 1, 150.0)
    assert db.open_shipments() == [("generic", "NUM1"), ("trackship", "NUM2")]
    assert len(_changes(db)) == 1


def test_a_new_event_is_stored_logged_and_delivery_closes_the_shipment(db: StoreDB) -> None:
    one = [_event("in_transit", "EMA")]
    two = [*one, _event("delivered", "DL")]
    assert db.apply_trackings([("NUM0", one, "in_transit"), ("NUM1", one, "in_transit")], 5.0) == 2
    assert db.apply_trackings([("NUM0", two, "delivered"), ("NUM1", one, "in_transit")], 9.0) == 1
    shown, status, delivered, checked, events = _row(db, "NUM0")
    assert (shown, status, delivered, checked) == (2, "delivered", 1, 9.0)
    assert '"DL"' in events
    assert _row(db, "NUM1")[:4] == (1, "in_transit", 0, 9.0)
    assert _changes(db)[-1] == ("NUM0", 9.0, 2, "delivered")
    assert db.open_shipments() == [("generic", "NUM1"), ("trackship", "NUM2")]


def test_a_number_twice_in_one_answer_is_judged_against_the_first(db: StoreDB) -> None:
    one = [_event("in_transit", "EMA")]
    assert db.apply_trackings([("NUM0", one, "in_transit"), ("NUM0", one, "in_transit")], 3.0) == 1
    assert _row(db, "NUM0")[:4] == (1, "in_transit", 0, 3.0)


def test_unknown_numbers_change_nothing(db: StoreDB) -> None:
    assert db.apply_trackings([("NOPE", [_event("in_transit", "EMA")], "in_transit")], 1.0) == 0
    assert _changes(db) == []


def test_check_times_per_order_none_until_checked_and_touch_sets_them(db: StoreDB) -> None:
    assert db.last_checked(1) == [("generic", "NUM0", None)]
    db.apply_trackings([("NUM0", [_event("in_transit", "EMA")], "in_transit")], 4.0)
    db.touch(["NUM1", "NOPE"], 6.5)
    assert db.last_checked(1) == [("generic", "NUM0", 4.0)]
    assert db.last_checked(2) == [("generic", "NUM1", 6.5)]
    db.apply_trackings([("NUM0", [_event("delivered", "DL")] * 2, "delivered")], 8.0)
    assert db.last_checked(1) == []  # delivered: no longer open


def test_open_shipments_oldest_first_and_only_of_the_carriers_asked(db: StoreDB) -> None:
    everyone = [("generic", "NUM0"), ("generic", "NUM1"), ("trackship", "NUM2")]
    assert db.open_shipments() == everyone
    assert db.open_shipments({"generic"}) == everyone[:2]
    assert db.open_shipments({"trackship", "generic"}) == everyone
    assert db.open_shipments(set()) == []


def test_a_shipment_deleted_and_added_again_is_judged_against_its_new_row(db: StoreDB) -> None:
    one = [_event("in_transit", "EMA")]
    db.apply_trackings([("NUM0", one, "in_transit")], 1.0)
    old = db.shipment("NUM0")
    assert old is not None
    db.delete_shipment(old.id)
    again = db.add_shipment(old.order_id, "generic", "NUM0", 2.0, "t0b", "2026-11-27")
    # the new row shows nothing yet, so the same answer is news again, on the new row
    assert db.apply_trackings([("NUM0", one, "in_transit")], 3.0) == 1
    assert _row(db, "NUM0")[:4] == (1, "in_transit", 0, 3.0)
    assert (
        db.conn.execute("SELECT count(*) FROM shipment_checks WHERE id = ?", (again,)).fetchone()[0]
        == 1
    )


def test_an_answer_stored_in_a_transaction_that_rolls_back_is_news_again(db: StoreDB) -> None:
    one = [_event("in_transit", "EMA")]
    with pytest.raises(RuntimeError), db.transaction():
        assert db.apply_trackings([("NUM0", one, "in_transit")], 1.0) == 1
        raise RuntimeError("the request failed after storing the answer")
    assert _row(db, "NUM0")[:3] == (0, "pending", 0)
    assert db.apply_trackings([("NUM0", one, "in_transit")], 2.0) == 1
    assert _changes(db) == [("NUM0", 2.0, 1, "in_transit")]


def test_a_delivered_parcel_polled_again_keeps_its_row(db: StoreDB) -> None:
    one = [_event("in_transit", "EMA")]
    two = [*one, _event("delivered", "DL")]
    db.apply_trackings([("NUM0", two, "delivered")], 1.0)
    assert db.apply_trackings([("NUM0", two, "delivered")], 2.0) == 0
    assert _row(db, "NUM0")[:4] == (2, "delivered", 1, 2.0)
    assert _changes(db) == [("NUM0", 1.0, 2, "delivered")]


def test_open_shipments_follow_inserts_deliveries_reopenings_deletes_and_rollbacks(
    db: StoreDB,
) -> None:
    one = [_event("in_transit", "EMA")]
    two = [*one, _event("delivered", "DL")]
    assert db.open_shipments() == [("generic", "NUM0"), ("generic", "NUM1"), ("trackship", "NUM2")]
    order = db.insert_order("wc_order_9", "processing", 0.0)
    db.add_shipment(order, "generic", "NUM3", 11.0, "t3", "2026-11-27")
    db.apply_trackings([("NUM1", two, "delivered")], 12.0)
    assert db.open_shipments({"generic"}) == [("generic", "NUM0"), ("generic", "NUM3")]
    # a carrier that takes a delivery back: the parcel is open again, in its place by id
    db.apply_trackings([("NUM1", two, "in_transit")], 13.0)
    assert db.open_shipments({"generic"}) == [
        ("generic", "NUM0"),
        ("generic", "NUM1"),
        ("generic", "NUM3"),
    ]
    with pytest.raises(RuntimeError), db.transaction():
        db.add_shipment(order, "generic", "NUM4", 14.0, "t4", "2026-11-27")
        assert db.open_shipments({"generic"})[-1] == ("generic", "NUM4")
        raise RuntimeError("the request failed after adding the shipment")
    assert db.open_shipments({"generic"})[-1] == ("generic", "NUM3")
    three = db.shipment("NUM3")
    assert three is not None
    db.delete_shipment(three.id)
    # SQLite gives the next shipment the largest id again: it still comes last
    db.add_shipment(order, "trackship", "NUM5", 15.0, "t5", "2026-11-27")
    assert db.open_shipments() == [
        ("generic", "NUM0"),
        ("generic", "NUM1"),
        ("trackship", "NUM2"),
        ("trackship", "NUM5"),
    ]
    fresh = StoreDB(db.path)  # what the table holds, read by a connection that kept nothing
    assert fresh.open_shipments() == db.open_shipments()
    fresh.close()
