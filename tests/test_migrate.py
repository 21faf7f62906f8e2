"""The event store's numbered migrations (analytics/store/sqlite/migrate.py) on real files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from analytics.store.sqlite.files import statements as _statements
from analytics.store.sqlite.migrate import migrate, migrations


def test_migrations_are_numbered_from_one_each_number_once() -> None:
    found = migrations()
    numbers = [n for n, _, _ in found]
    assert numbers[0] == 1 and numbers == sorted(set(numbers))  # 0009 is reserved by a parallel branch
    assert found[0][1] == "0001_init.sql" and all(name.endswith(".sql") for _, name, _ in found)


def test_a_fresh_file_gets_every_migration_once(tmp_path: Path) -> None:
    db = tmp_path / "analytics.db"

    async def run() -> tuple[list[str], list[str]]:
        async with aiosqlite.connect(db, isolation_level=None) as conn:
            first = await migrate(conn)
            second = await migrate(conn)
        return first, second

    first, second = asyncio.run(run())
    assert first == [name for _, name, _ in migrations()] and second == []
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
    conn.close()


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    """0008 cannot create a table that is already there: 0001 to 0007 are rolled back with it."""
    db = tmp_path / "analytics.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE rollup_languages (x)")
    conn.close()

    async def run() -> None:
        async with aiosqlite.connect(db, isolation_level=None) as conn:
            with pytest.raises(sqlite3.OperationalError, match="table rollup_languages already exists"):
                await migrate(conn)

    asyncio.run(run())
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("rollup_languages",)]
    conn.close()


def test_statements_split_on_complete_statements() -> None:
    sql = "-- a comment\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\nEND;\n-- trailing\n"
    parts = _statements(sql)
    assert [p.strip().splitlines()[-1] for p in parts] == ["CREATE TABLE a (x TEXT DEFAULT ';');", "END;"]
    with pytest.raises(RuntimeError, match="incomplete statement"):
        _statements("CREATE TABLE a (x)")
