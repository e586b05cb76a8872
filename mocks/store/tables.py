"""The sandbox store's tables and their rows: the schema is a contract with the analyser.

The analyser reads these tables after the run, so table and column names are a contract (columns
may be added, never renamed). Every ``t`` is run seconds from the injected clock. Rows come back
as frozen records (:class:`OrderRow`, :class:`ShipmentRow`); :mod:`mocks.store.db` reads and
writes them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, order_key TEXT, status TEXT, created_t REAL, data TEXT
);
CREATE TABLE IF NOT EXISTS shipments (
    id INTEGER PRIMARY KEY, order_id INTEGER, carrier TEXT, tracking_number TEXT UNIQUE,
    shipped_t REAL, events TEXT, shown_count INTEGER, status TEXT, last_checked_t REAL,
    delivered INTEGER, tracking_id TEXT, date_shipped TEXT
);
CREATE INDEX IF NOT EXISTS shipments_order ON shipments(order_id);
CREATE TABLE IF NOT EXISTS shipment_checks (id INTEGER PRIMARY KEY, last_checked_t REAL);
CREATE INDEX IF NOT EXISTS shipments_open ON shipments(delivered, id);
CREATE TABLE IF NOT EXISTS tracking_changes (
    id INTEGER PRIMARY KEY, order_id INTEGER, tracking_number TEXT, t REAL, shown_count INTEGER,
    status TEXT
);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY, hook TEXT, args TEXT, scheduled_t REAL, status TEXT,
    attempts INTEGER, claimed_t REAL, finished_t REAL, last_error TEXT
);
CREATE INDEX IF NOT EXISTS actions_due ON actions(status, scheduled_t);
CREATE INDEX IF NOT EXISTS orders_created ON orders(created_t);
CREATE TABLE IF NOT EXISTS order_notes (
    id INTEGER PRIMARY KEY, order_id INTEGER, t REAL, author TEXT, note TEXT,
    customer_note INTEGER
);
CREATE INDEX IF NOT EXISTS order_notes_order ON order_notes(order_id);
CREATE TABLE IF NOT EXISTS queue_samples (t REAL, pending INTEGER, due INTEGER, running INTEGER);
CREATE TABLE IF NOT EXISTS registrations (
    tracking_number TEXT PRIMARY KEY, t REAL, status INTEGER, status_msg TEXT
);
CREATE TABLE IF NOT EXISTS plugin_requests (
    t REAL, carrier TEXT, numbers INTEGER, status INTEGER, outcome TEXT, duration REAL,
    wall_duration REAL
);
"""


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: int
    order_key: str
    status: str
    created_t: float
    data: dict[str, Any]
    """The WooCommerce order JSON as last written."""


@dataclass(frozen=True, slots=True)
class ShipmentRow:
    id: int
    order_id: int
    carrier: str
    tracking_number: str
    tracking_id: str
    date_shipped: str
    shipped_t: float
    events: list[dict[str, Any]]
    """Events the store shows, as received from the carrier, oldest first."""
    shown_count: int
    status: str
    delivered: bool


def order_row(row: sqlite3.Row) -> OrderRow:
    """An ``orders`` row as a record."""
    return OrderRow(
        row["id"],
        row["order_key"],
        row["status"],
        row["created_t"],
        orjson.loads(row["data"] or "{}"),
    )


def shipment_row(row: sqlite3.Row) -> ShipmentRow:
    """A ``shipments`` row as a record."""
    return ShipmentRow(
        id=row["id"],
        order_id=row["order_id"],
        carrier=row["carrier"],
        tracking_number=row["tracking_number"],
        tracking_id=row["tracking_id"] or "",
        date_shipped=row["date_shipped"] or "",
        shipped_t=row["shipped_t"],
        events=orjson.loads(row["events"] or "[]"),
        shown_count=row["shown_count"] or 0,
        status=row["status"] or "pending",
        delivered=bool(row["delivered"]),
    )
