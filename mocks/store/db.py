"""The sandbox store's SQLite database: orders, shipments, the change log, the queue, samples.

The tables and their rows are :mod:`mocks.store.tables` (a contract with the analyser). Every
``t`` is run seconds from the injected clock. One connection,
used only from the event-loop thread; each request is one short transaction (WAL,
``synchronous=NORMAL``: a commit is a write to the WAL, not an fsync).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from mocks.store.tables import SCHEMA, OrderRow, ShipmentRow, order_row, shipment_row

_IN_LIMIT = 500
"""Most parameters of one ``IN (...)`` (SQLite allows 999 in old builds)."""


CACHE_KIB = 131072
"""SQLite's page cache, in KiB (128 MiB; pages are only taken as the file grows). At the
default 2 MiB, a peak's store (tens of MB: order documents, event lists) was read back from
the file on most requests, which cost about a fifteenth of a virtual run's CPU."""


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    return conn


def _r3(t: float) -> float:
    return round(t, 3)


class StoreDB:
    """Typed access to the store's tables; the schema is created on open."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.conn = _connect(self.path)
        self.conn.executescript(SCHEMA)
        self._grouped = False
        self._open: dict[str, tuple[int, int, int, str, int]] = {}
        """What :meth:`apply_trackings` knows of undelivered shipments it has seen, by tracking
        number: ``(order_id, shown_count, id, status, delivered)``, as the table holds them.
        Every poll asks about parcels the previous poll asked about, and looking them up in
        SQL cost more than the rest of storing the answer. Only this class writes those
        columns; deleting a shipment or rolling a transaction back forgets it all."""
        self._open_ids: dict[int, tuple[str, str]] | None = None
        """``(carrier, tracking_number)`` of every undelivered shipment by id, in id order (what
        :meth:`open_shipments` reads on every pass of the plugin); None until read, and again
        after anything but an insert or a delivery changed which shipments are open."""

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested use joins the outer one. Never await inside it.

        Under :meth:`group_commits` it is a savepoint of the group's transaction: all or
        nothing as before, but it reaches the file with the group's next commit."""
        if self._grouped and self.conn.in_transaction:
            self.conn.execute("SAVEPOINT tx")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK TO tx")
                self.conn.execute("RELEASE tx")
                self._forget()
                raise
            self.conn.execute("RELEASE tx")
            return
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            self._forget()
            raise
        self.conn.execute("COMMIT")

    def write_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """One write statement as a transaction of its own, or joining the one that is open
        (as a nested :meth:`transaction` would). SQLite makes a single statement all or
        nothing by itself, so it needs no ``BEGIN`` or savepoint around it: on the queue's and
        the plugin's hot paths those cost more than the statement."""
        try:
            return self.conn.execute(sql, params)
        except BaseException:
            self._forget()
            raise

    def group_commits(self) -> None:
        """From now on, transactions are committed together by :meth:`commit_group` (the
        virtual-time world, where a commit per request would cost more than the request, and
        only the run's end reads the database). Writes outside a transaction join the group.
        Commits no longer wait for the disk (``synchronous=OFF``): what a commit wrote survives
        the process being killed, which is what an interrupted run must keep."""
        if not self._grouped:
            self._grouped = True
            self.conn.execute("PRAGMA synchronous=OFF")
            if not self.conn.in_transaction:
                self.conn.execute("BEGIN IMMEDIATE")

    def commit_group(self) -> None:
        """Write what the group holds to the file and go on grouping."""
        if self._grouped:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")
            self.conn.execute("BEGIN IMMEDIATE")

    def copy_to(self, path: str | Path) -> None:
        """Write a copy of the database, as committed now, to ``path`` (SQLite's online
        backup). A group's open transaction is committed first, and grouping goes on."""
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")
        target = sqlite3.connect(str(path))
        try:
            self.conn.backup(target)
        finally:
            target.close()
            if self._grouped:
                self.conn.execute("BEGIN IMMEDIATE")

    def reopen(self, path: str | Path) -> sqlite3.Connection:
        """Go on with the copy at ``path`` (made by :meth:`copy_to`) in a process forked from
        the one that made it; the connection it leaves, which is the parent's, is returned for
        the caller to keep and never use or close (closing it would checkpoint and remove the
        parent's write-ahead log). What this object remembers of the shipments holds for the
        copy, which is the same data."""
        inherited = self.conn
        self.path = str(path)
        self.conn = _connect(self.path)
        if self._grouped:
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("BEGIN IMMEDIATE")
        return inherited

    def _forget(self) -> None:
        """Drop what is kept of the shipments table in memory: it is read again when needed."""
        self._open.clear()
        self._open_ids = None

    def close(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")
        self._grouped = False
        self.conn.close()

    # -- orders -----------------------------------------------------------------------------------

    def insert_order(self, order_key: str, status: str, created_t: float) -> int:
        cur = self.conn.execute(
            "INSERT INTO orders(order_key, status, created_t, data) VALUES (?, ?, ?, '{}')",
            (order_key, status, _r3(created_t)),
        )
        return int(cur.lastrowid or 0)

    def save_order(self, order_id: int, status: str, data: dict[str, Any]) -> None:
        self.conn.execute(
            "UPDATE orders SET status = ?, data = ? WHERE id = ?",
            (status, orjson.dumps(data).decode(), order_id),
        )

    def get_order(self, order_id: int) -> OrderRow | None:
        row = self.conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return None if row is None else order_row(row)

    def order_key(self, order_id: int) -> str | None:
        """The order's key (what its customer's page checks), without reading its document."""
        row = self.conn.execute("SELECT order_key FROM orders WHERE id = ?", (order_id,)).fetchone()
        return None if row is None else str(row[0])

    def list_orders(
        self,
        statuses: Sequence[str],
        t_from: float | None,
        t_before: float | None,
        orderby: str,
        descending: bool,
        limit: int,
        offset: int,
    ) -> tuple[int, list[OrderRow]]:
        """``(total, page)`` of orders with a status in ``statuses`` (empty: all but trash),
        created at run second ≥ ``t_from`` and < ``t_before``, sorted by ``orderby`` (a key of
        :data:`ORDER_COLUMNS`), then id."""
        where: list[str] = []
        args: list[Any] = []
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        else:
            where.append("status != 'trash'")
        if t_from is not None:
            where.append("created_t >= ?")
            args.append(t_from)
        if t_before is not None:
            where.append("created_t < ?")
            args.append(t_before)
        cond = " AND ".join(where)
        total = self.conn.execute(f"SELECT count(*) FROM orders WHERE {cond}", args).fetchone()[0]
        way = "DESC" if descending else "ASC"
        rows = self.conn.execute(
            f"SELECT * FROM orders WHERE {cond} ORDER BY {ORDER_COLUMNS[orderby]} {way}, id {way} "
            "LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return int(total), [order_row(r) for r in rows]

    def delete_order(self, order_id: int) -> None:
        """Delete an order for good, with its tracking items and notes (the change log stays)."""
        self._forget()
        for table, column in (("shipments", "order_id"), ("order_notes", "order_id")):
            self.conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (order_id,))
        self.conn.execute("DELETE FROM orders WHERE id = ?", (order_id,))

    def add_note(self, order_id: int, t: float, author: str, note: str, customer_note: bool) -> int:
        cur = self.conn.execute(
            "INSERT INTO order_notes(order_id, t, author, note, customer_note) "
            "VALUES (?, ?, ?, ?, ?)",
            (order_id, _r3(t), author, note, int(customer_note)),
        )
        return int(cur.lastrowid or 0)

    def notes_of(self, order_id: int) -> list[tuple[int, float, str, str, bool]]:
        """``(id, t, author, note, customer_note)`` of an order's notes, newest first."""
        rows = self.conn.execute(
            "SELECT id, t, author, note, customer_note FROM order_notes WHERE order_id = ? "
            "ORDER BY t DESC, id DESC",
            (order_id,),
        ).fetchall()
        return [(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    # -- shipments --------------------------------------------------------------------------------

    def add_shipment(
        self,
        order_id: int,
        carrier: str,
        tracking_number: str,
        shipped_t: float,
        tracking_id: str,
        date_shipped: str,
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO shipments(order_id, carrier, tracking_number, shipped_t, events, "
            "shown_count, status, delivered, tracking_id, date_shipped) "
            "VALUES (?, ?, ?, ?, '[]', 0, 'pending', 0, ?, ?)",
            (order_id, carrier, tracking_number, _r3(shipped_t), tracking_id, date_shipped),
        )
        shipment_id = int(cur.lastrowid or 0)
        opened = self._open_ids
        if opened is not None:
            if not opened or shipment_id > next(reversed(opened)):
                opened[shipment_id] = (carrier, tracking_number)
            else:  # an id below the last one (SQLite reuses a deleted largest id): read again
                self._open_ids = None
        return shipment_id

    def shipment(self, tracking_number: str) -> ShipmentRow | None:
        row = self.conn.execute(
            "SELECT * FROM shipments WHERE tracking_number = ?", (tracking_number,)
        ).fetchone()
        return None if row is None else shipment_row(row)

    def shipments_of(self, order_id: int) -> list[ShipmentRow]:
        rows = self.conn.execute(
            "SELECT * FROM shipments WHERE order_id = ? ORDER BY id", (order_id,)
        ).fetchall()
        return [shipment_row(r) for r in rows]

    def delete_shipment(self, shipment_id: int) -> None:
        self._forget()
        self.conn.execute("DELETE FROM shipments WHERE id = ?", (shipment_id,))

    def open_shipments(self, carriers: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """``(carrier, tracking_number)`` of every shipment not delivered yet, oldest first;
        only those of ``carriers`` when given."""
        opened = self._open_ids
        if opened is None:
            cur = self.conn.cursor()
            cur.row_factory = None
            cur.execute(
                "SELECT id, carrier, tracking_number FROM shipments WHERE delivered = 0 ORDER BY id"
            )
            opened = self._open_ids = {r[0]: (r[1], r[2]) for r in cur}
        if carriers is None:
            return list(opened.values())
        names = set(carriers)
        return [row for row in opened.values() if row[0] in names]

    def apply_tracking(
        self, tracking_number: str, events: list[dict[str, Any]], status: str, t: float
    ) -> bool:
        """Store what the carrier returned; log a tracking change when the shown count moved.

        Returns True when a change was logged.
        """
        return self.apply_trackings([(tracking_number, events, status)], t) == 1

    def apply_trackings(
        self, trackings: Sequence[tuple[str, list[dict[str, Any]], str]], t: float
    ) -> int:
        """:meth:`apply_tracking` for a batch of ``(tracking_number, events, status)`` (one
        carrier answer), in a few statements; changes are logged in the batch's order.
        Returns how many changes were logged."""
        if not trackings:
            return 0
        known = self._open
        numbers = [n for n in dict.fromkeys(n for n, _, _ in trackings) if n not in known]
        if numbers:
            cur = self.conn.cursor()
            cur.row_factory = None
            for i in range(0, len(numbers), _IN_LIMIT):
                part = numbers[i : i + _IN_LIMIT]
                marks = ",".join("?" * len(part))
                for row in cur.execute(
                    "SELECT tracking_number, order_id, shown_count, id, status, delivered "
                    f"FROM shipments WHERE tracking_number IN ({marks})",
                    part,
                ):
                    known[row[0]] = (row[1], row[2], row[3], row[4], row[5])
        t3 = _r3(t)
        checks: list[tuple[Any, ...]] = []
        checked: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        logged: list[tuple[Any, ...]] = []
        delivered_now: list[str] = []
        moved: list[tuple[int, int]] = []  # (id, delivered): delivered, or (rarely) not again
        for number, events, status in trackings:
            row = known.get(number)
            if row is None:
                continue
            order_id, shown, rowid, was, was_delivered = row
            delivered = int(status == "delivered")
            if delivered:
                delivered_now.append(number)
            if delivered != was_delivered:
                moved.append((rowid, delivered))
            checks.append((rowid, t3))
            if shown == len(events):
                # the usual poll: nothing new, so the shipment's row is left as it is
                if status != was or delivered != was_delivered:
                    checked.append((status, delivered, rowid))
                known[number] = (order_id, shown, rowid, status, delivered)
                continue
            known[number] = (order_id, len(events), rowid, status, delivered)
            body = orjson.dumps(events).decode()
            changed.append((body, len(events), status, delivered, rowid))
            logged.append((order_id, number, t3, len(events), status))
        for number in delivered_now:  # polls leave delivered parcels: keep the open ones only
            known.pop(number, None)
        opened = self._open_ids
        for rowid, delivered in moved:
            if opened is None:
                break
            if delivered:
                opened.pop(rowid, None)
            else:  # open again: its place in id order is read from the table next time
                self._open_ids = opened = None
        try:
            self._checked(checks)
            if checked:
                self.conn.executemany(
                    "UPDATE shipments SET status = ?, delivered = ? WHERE id = ?", checked
                )
            if changed:
                self.conn.executemany(
                    "UPDATE shipments SET events = ?, shown_count = ?, status = ?, "
                    "delivered = ? WHERE id = ?",
                    changed,
                )
                self.conn.executemany(
                    "INSERT INTO tracking_changes(order_id, tracking_number, t, shown_count, "
                    "status) VALUES (?, ?, ?, ?, ?)",
                    logged,
                )
        except BaseException:  # the table may not hold what was noted: look it up again
            self._forget()
            raise
        return len(logged)

    def touch(self, tracking_numbers: Iterable[str], t: float) -> None:
        """Mark shipments as checked (the carrier answered, but not with a tracking)."""
        self.conn.executemany(
            "REPLACE INTO shipment_checks(id, last_checked_t) "
            "SELECT id, ? FROM shipments WHERE tracking_number = ?",
            [(_r3(t), n) for n in tracking_numbers],
        )

    def _checked(self, checks: Sequence[tuple[int, float]]) -> None:
        """``(shipment id, t)``: when each shipment was last checked. The time lives in a
        narrow table of its own: every poll writes it for every parcel asked, and rewriting a
        shipment's row (its events, a kilobyte or more) for it cost more than the poll."""
        if checks:
            self.conn.executemany(
                "REPLACE INTO shipment_checks(id, last_checked_t) VALUES (?, ?)", checks
            )

    def last_checked(self, order_id: int) -> list[tuple[str, str, float | None]]:
        """``(carrier, tracking_number, last_checked_t)`` of an order's open shipments; the
        time is None for a shipment never checked."""
        rows: list[tuple[str, str, float | None]] = [
            (r[0], r[1], r[2])
            for r in self.conn.execute(
                "SELECT s.carrier, s.tracking_number, c.last_checked_t FROM shipments s "
                "LEFT JOIN shipment_checks c ON c.id = s.id "
                "WHERE s.order_id = ? AND s.delivered = 0 ORDER BY s.id",
                (order_id,),
            )
        ]
        return rows

    # -- measurements -----------------------------------------------------------------------------

    def record_request(
        self,
        t: float,
        carrier: str,
        numbers: int,
        status: int,
        outcome: str,
        duration: float,
        wall_duration: float,
    ) -> None:
        """One carrier call as the plugin saw it; ``duration`` in store seconds, ``status`` 0
        when no HTTP answer came (timeout, connection error)."""
        self.write_one(
            "INSERT INTO plugin_requests VALUES (?, ?, ?, ?, ?, ?, ?)",
            (_r3(t), carrier, numbers, status, outcome, _r3(duration), round(wall_duration, 6)),
        )

    def record_sample(self, t: float, pending: int, due: int, running: int) -> None:
        self.write_one(
            "INSERT INTO queue_samples VALUES (?, ?, ?, ?)", (_r3(t), pending, due, running)
        )

    def counts(self) -> dict[str, int]:
        """Row counts for ``/__admin/stats``."""
        one = self.conn.execute
        return {
            "orders": one("SELECT count(*) FROM orders").fetchone()[0],
            "shipments": one("SELECT count(*) FROM shipments").fetchone()[0],
            "open_shipments": one("SELECT count(*) FROM shipments WHERE delivered = 0").fetchone()[
                0
            ],
            "changes": one("SELECT count(*) FROM tracking_changes").fetchone()[0],
        }


ORDER_COLUMNS = {
    "date": "created_t",
    "id": "id",
    "modified": "json_extract(data, '$.date_modified')",
}
"""``GET /orders`` ``orderby`` → SQL (a whitelist: never format user input into SQL)."""
