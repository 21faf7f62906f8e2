"""The accounts database, `accounts.db`: its connections, migrations and short write transactions.

Accounts live in their own SQLite file beside the event database, so a
sign-in, a settings change or an API key check never queues behind an ingest
batch. There is one write connection, taken under an asyncio lock for one
short `BEGIN IMMEDIATE` transaction at a time (SQLite's own lock serialises
worker processes sharing the file), and one read-only connection for lookups.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import re
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from analytics.errors import StorageError

T = TypeVar("T")
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class Unusable(StorageError, sqlite3.DatabaseError):
    """A database file that cannot be opened or read; `path` names it, for the message."""


async def connect(path: Path, *, readonly: bool = False) -> aiosqlite.Connection:
    """A connection with the pragmas every accounts connection needs."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute("PRAGMA busy_timeout = 15000")
        if readonly:
            await conn.execute("PRAGMA query_only = 1")
        else:
            await conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a new user, key or salt is on disk before the answer goes out.
            await conn.execute("PRAGMA synchronous = FULL")
            # Deleted rows (old salts above all) are overwritten, not left in free pages.
            await conn.execute("PRAGMA secure_delete = ON")
            await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA cache_size = -2000")
    except BaseException:
        await conn.close()  # its thread would keep the process alive
        raise
    return conn


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every accounts migration shipped in the package."""
    found = []
    for entry in importlib.resources.files("analytics.accounts.migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    if [n for n, _, _ in found] != list(range(1, len(found) + 1)):
        raise RuntimeError("accounts migrations must be numbered 0001, 0002, ... without gaps")
    return found


def statements(sql: str) -> list[str]:
    """A migration split into complete statements (executescript() would COMMIT our transaction)."""
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf)
            buf = ""
    if buf.strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()):
        raise RuntimeError("migration ends with an incomplete statement")
    return out


async def _version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


class Database:
    """accounts.db: one locked write connection and one read-only connection."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> list[str]:
        """Create or migrate the file; returns the migrations applied."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = await connect(self.path)
            applied = await self._migrate()
            self._reader = await connect(self.path, readonly=True)
        except sqlite3.DatabaseError as exc:
            await self.close()
            raise Unusable(self.path, str(exc)) from None
        return applied

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    @property
    def writer(self) -> aiosqlite.Connection:
        assert self._writer is not None, "accounts database is not open"
        return self._writer

    async def _migrate(self) -> list[str]:
        """Apply pending migrations in one IMMEDIATE transaction (worker processes may start together).

        An up-to-date file is only read: opening it (a CLI command next to a
        running server) takes no write lock.
        """
        applied: list[str] = []
        pending = migrations()
        if await _version(self.writer) >= len(pending):
            return applied

        async def job(conn: aiosqlite.Connection) -> None:
            version = await _version(conn)  # again, under the lock: another process may have migrated
            for number, name, sql in pending:
                if number <= version:
                    continue
                for statement in statements(sql):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {number}")
                applied.append(name)

        await self.write(job)
        return applied

    async def write(self, job: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run `job` in its own short IMMEDIATE transaction; rolled back if it raises."""
        async with self._lock:
            conn = self.writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                result = await job(conn)
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            return result

    async def fetchall(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read, on the read-only connection (never behind a write)."""
        assert self._reader is not None, "accounts database is not open"
        async with self._reader.execute(sql, params) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    async def fetchone(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> tuple[Any, ...] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def checkpoint(self) -> bool:
        """TRUNCATE the WAL so deleted bytes leave it; True when complete.

        A read holding an old snapshot makes it return busy; retry briefly.
        """
        for _ in range(40):
            async with self._lock:
                async with self.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
                    row = await cur.fetchone()
            if row and row[0] == 0:
                return True
            await asyncio.sleep(0.05)
        return False
