"""Group commits of the store's database (the virtual-time world's write path)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mocks.store.db import StoreDB


def _count(path: Path) -> int:
    other = sqlite3.connect(path)
    try:
        return int(other.execute("SELECT COUNT(*) FROM orders").fetchone()[0])
    finally:
        other.close()


def test_grouped_transactions_stay_all_or_nothing_and_reach_the_file_on_commit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.sqlite"
    db = StoreDB(path)
    db.group_commits()
    with db.transaction():
        db.insert_order("wc_order_a", "processing", 1.0)
    with pytest.raises(RuntimeError), db.transaction():
        db.insert_order("wc_order_b", "processing", 2.0)
        raise RuntimeError("the request failed half-way")
    assert db.conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 1  # b rolled back
    assert _count(path) == 0  # nothing committed to the file yet
    db.commit_group()
    assert _count(path) == 1
    with db.transaction():
        db.insert_order("wc_order_c", "processing", 3.0)
    db.close()  # the group's last writes are committed at close
    assert _count(path) == 2


@pytest.mark.parametrize("grouped", [True, False])
def test_a_single_statement_write_is_all_or_nothing_on_its_own(
    tmp_path: Path, grouped: bool
) -> None:
    """``write_one`` skips the savepoint: SQLite undoes a failing statement by itself, and the
    rest of the group (or every earlier commit) stays."""
    path = tmp_path / "store.sqlite"
    db = StoreDB(path)
    if grouped:
        db.group_commits()
    db.conn.execute("CREATE TABLE one (n INTEGER UNIQUE)")
    db.write_one("INSERT INTO one VALUES (?)", (1,))
    # the second row is new, the third repeats the first: the statement fails as a whole
    with pytest.raises(sqlite3.IntegrityError):
        db.write_one("INSERT INTO one SELECT ? UNION ALL SELECT ?", (2, 1))
    assert [r[0] for r in db.conn.execute("SELECT n FROM one ORDER BY n")] == [1]
    with db.transaction():  # inside a transaction it joins it, and goes with its rollback
        db.write_one("INSERT INTO one VALUES (?)", (3,))
    with pytest.raises(RuntimeError), db.transaction():
        db.write_one("INSERT INTO one VALUES (?)", (4,))
        raise RuntimeError("the request failed half-way")
    db.close()
    other = sqlite3.connect(path)
    try:
        assert [r[0] for r in other.execute("SELECT n FROM one ORDER BY n")] == [1, 3]
    finally:
        other.close()
