"""store/sqlite/files.py: the pragmas every connection gets, and numbered migrations."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from analytics.store.sqlite import files


async def pragma(conn: object, name: str) -> object:
    async with conn.execute(f"PRAGMA {name}") as cur:  # type: ignore[attr-defined]
        row = await cur.fetchone()
    return row[0]


async def test_a_writer_is_durable_and_overwrites_deleted_rows(tmp_path: Path) -> None:
    conn = await files.connect(tmp_path / "x.db", cache_kib=1234)
    try:
        assert await pragma(conn, "journal_mode") == "wal"
        assert await pragma(conn, "synchronous") == 2  # FULL
        assert await pragma(conn, "secure_delete") == 1
        assert await pragma(conn, "foreign_keys") == 1
        assert await pragma(conn, "cache_size") == -1234
    finally:
        await conn.close()


async def test_a_reader_cannot_write(tmp_path: Path) -> None:
    writer = await files.connect(tmp_path / "x.db")
    await writer.execute("CREATE TABLE t (x)")
    reader = await files.connect(tmp_path / "x.db", readonly=True)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reader.execute("INSERT INTO t VALUES (1)")
    finally:
        await reader.close()
        await writer.close()


async def test_a_file_that_is_no_database_raises_and_leaves_no_thread(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all, just text " * 8)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        await files.connect(bad)


def test_migrations_of_both_databases_are_numbered_from_one_each_number_once() -> None:
    # Gaps are numbers reserved by parallel branches (accounts 0003-0004, store 0009).
    for package in ("analytics.store.sqlite.migrations", "analytics.accounts.migrations"):
        found = files.migrations(package)
        numbers = [n for n, _, _ in found]
        assert numbers[0] == 1 and numbers == sorted(set(numbers))
        assert all(name.endswith(".sql") and sql.strip() for _, name, sql in found)


def test_statements_split_on_complete_statements_only() -> None:
    sql = "-- a comment\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nINSERT INTO a VALUES ('x;y');\n-- trailing\n"
    assert [s.strip() for s in files.statements(sql)] == [
        "-- a comment\nCREATE TABLE a (x TEXT DEFAULT ';');",
        "INSERT INTO a VALUES ('x;y');",
    ]
    with pytest.raises(RuntimeError, match="incomplete statement"):
        files.statements("CREATE TABLE b (x")


async def test_rollback_after_a_commit_keeps_the_original_error(tmp_path: Path) -> None:
    """A task cancelled while its COMMIT ran must still end cancelled (it once left housekeeping looping)."""
    from analytics.accounts.db import Database

    db = Database(tmp_path / "accounts.db")
    await db.open()
    try:

        async def committed_then_cancelled(conn: object) -> None:
            await conn.execute("COMMIT")  # type: ignore[attr-defined]
            raise asyncio.CancelledError

        with pytest.raises(asyncio.CancelledError):
            await db.write(committed_then_cancelled)
        # The lock is free and the connection usable afterwards.
        assert await db.write(lambda conn: _one(conn)) == 1
    finally:
        await db.close()


async def test_rollback_with_no_transaction_is_a_no_op(tmp_path: Path) -> None:
    conn = await files.connect(tmp_path / "x.db")
    try:
        await files.rollback(conn)  # nothing open: no error
        await conn.execute("BEGIN")
        await conn.execute("CREATE TABLE t (x)")
        await files.rollback(conn)
        async with conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 't'") as cur:
            assert (await cur.fetchone())[0] == 0  # type: ignore[index]
    finally:
        await conn.close()


async def _one(conn: object) -> int:
    async with conn.execute("SELECT 1") as cur:  # type: ignore[attr-defined]
        row = await cur.fetchone()
    return int(row[0])
