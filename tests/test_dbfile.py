"""Facts about a database file for outside tools (analytics/store/sqlite/dbfile.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from analytics.model import Event, SessionAttrs
from analytics.store.sqlite import dbfile
from analytics.store.sqlite.store import SQLiteStore


def test_facts_of_a_real_database(tmp_path: Path) -> None:
    db = tmp_path / "analytics.db"

    async def fill() -> None:
        store = SQLiteStore(db, batch_ms=0)
        await store.open()
        for i in range(3):
            e = Event(site_id=1, ts=1_772_000_000 + i, day=0, visitor_id=7, prev_visitor_id=None, name="pageview",
                      hostname="h", path=f"/{i}", attrs=SessionAttrs())  # fmt: skip
            await store.submit([e])
        await store.close()

    asyncio.run(fill())
    assert dbfile.event_count(db) == 3
    sizes = dbfile.table_bytes(db)
    if sizes:  # SQLite built with the dbstat table (Debian's is)
        assert sizes["events"] >= 4096 and list(sizes.values()) == sorted(sizes.values(), reverse=True)
        assert all(size > 0 for size in sizes.values())
    assert dbfile.sqlite_version() == sqlite3.sqlite_version and dbfile.sqlite_version().count(".") == 2


def test_an_empty_file_has_no_tables(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert dbfile.table_bytes(empty) == {}
