"""Upgrade in place: take the accounts over from a release 0.1 analytics.db.

Release 0.1 kept sites, users, keys, sign-in state, dashboard options and the
salts in analytics.db, beside the events. The first open of such a data dir
moves them here in two steps, then the event store's migration 0006 drops
them from analytics.db:

1. One IMMEDIATE transaction on accounts.db, analytics.db attached, copies every
   row and records the step in `upgrades`. The immediate transaction locks
   both files, so a second worker process starting at the same time waits and
   then finds the step done.
2. A second transaction marks analytics.db (`accounts_moved`). Migration 0006
   refuses to drop the tables while they hold rows and the mark is missing.

A crash before step 1 commits leaves everything as it was. A crash between
the steps leaves the copy, and the next open only sets the mark (the
transactions are separate on purpose: SQLite does not commit WAL-mode files
atomically together, and the mark must never be on disk without the copy).
Opening the event store alone on a 0.1 data dir therefore fails instead of
losing the accounts.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

from analytics.accounts.db import Database, Unusable

# Parents before children: foreign keys are on while rows are copied.
TABLES = ("sites", "users", "site_roles", "api_keys", "api_usage", "web_sessions", "web_secrets", "signin_failures",
          "site_dashboard", "salts")  # fmt: skip
STEP = "accounts from analytics.db"
MARK = "accounts_moved"  # read and dropped by analytics/store/sqlite/migrations/0006_accounts_apart.sql


async def take_over(db: Database, legacy: Path, now: int) -> bool:
    """Copy the legacy account tables of `legacy` into `db` if needed; True when rows were copied.

    Runs while the accounts database is being opened, before anything else uses it.
    """
    if not legacy.is_file() or legacy.stat().st_size == 0:
        return False
    conn = db.writer
    try:
        await conn.execute("ATTACH DATABASE ? AS legacy", (str(legacy),))
    except sqlite3.DatabaseError as exc:
        raise Unusable(legacy, str(exc)) from None
    try:
        if not await _legacy_tables(conn):
            return False  # the usual case: a read, no write lock on either file
        copied = await db.write(lambda c: _copy(c, now, legacy))
        await db.write(_mark)
    except Unusable:
        raise
    except sqlite3.DatabaseError as exc:
        raise Unusable(legacy, str(exc)) from None
    finally:
        await conn.execute("DETACH DATABASE legacy")
    return copied


async def _legacy_tables(conn: aiosqlite.Connection) -> list[str]:
    async with conn.execute("SELECT name FROM legacy.sqlite_master WHERE type = 'table'") as cur:
        present = {row[0] for row in await cur.fetchall()}
    return [t for t in TABLES if t in present] if {"sites", "users"} <= present else []


async def _count(conn: aiosqlite.Connection, schema: str) -> int:
    sql = f"SELECT (SELECT COUNT(*) FROM {schema}.sites) + (SELECT COUNT(*) FROM {schema}.users)"
    async with conn.execute(sql) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _copy(conn: aiosqlite.Connection, now: int, legacy: Path) -> bool:
    tables = await _legacy_tables(conn)  # checked inside the lock: another process may have dropped them
    if not tables:
        return False
    async with conn.execute("SELECT 1 FROM upgrades WHERE name = ?", (STEP,)) as cur:
        if await cur.fetchone():
            return False
    if await _count(conn, "legacy") and await _count(conn, "main"):
        raise Unusable(
            legacy,
            "it still holds the accounts of release 0.1, and accounts.db beside it holds others;"
            " keep one of the two",
        )
    for table in tables:
        async with conn.execute(f"PRAGMA main.table_info({table})") as cur:
            main = [row[1] for row in await cur.fetchall()]
        async with conn.execute(f"PRAGMA legacy.table_info({table})") as cur:
            old = {row[1] for row in await cur.fetchall()}
        # Columns added since release 0.1 (e.g. the read thresholds) keep their defaults.
        cols = ", ".join(c for c in main if c in old)
        await conn.execute(f"INSERT OR IGNORE INTO main.{table} ({cols}) SELECT {cols} FROM legacy.{table}")
    await conn.execute("INSERT INTO upgrades (name, done_at) VALUES (?, ?)", (STEP, now))
    return True


async def _mark(conn: aiosqlite.Connection) -> None:
    if not await _legacy_tables(conn):
        return  # already dropped, or nothing to move
    async with conn.execute("SELECT 1 FROM upgrades WHERE name = ?", (STEP,)) as cur:
        if not await cur.fetchone():
            return
    await conn.execute(f"CREATE TABLE IF NOT EXISTS legacy.{MARK} (done_at INTEGER NOT NULL)")
    await conn.execute(
        f"INSERT INTO legacy.{MARK} (done_at) SELECT done_at FROM main.upgrades WHERE name = ?"
        f" AND NOT EXISTS (SELECT 1 FROM legacy.{MARK})",
        (STEP,),
    )

