"""The accounts database, `accounts.db`: its connections, migrations and short write transactions.

Accounts live in their own SQLite file beside the event database, so a
sign-in, a settings change or an API key check never queues behind an ingest
batch. There is one write connection, taken under an asyncio lock for one
short `BEGIN IMMEDIATE` transaction at a time (SQLite's own lock serialises
worker processes sharing the file), and one read-only connection for lookups.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from analytics.errors import StorageError
from analytics.store.sqlite import files

T = TypeVar("T")


class Unusable(StorageError, sqlite3.DatabaseError):
    """A database file that cannot be opened or read; `path` names it, for the message."""


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every accounts migration shipped in the package."""
    return files.migrations("analytics.accounts.migrations")


async def connect(path: Path, *, readonly: bool = False) -> aiosqlite.Connection:
    """A connection with the pragmas every accounts connection needs: a small cache, the rest as the store's."""
    return await files.connect(path, readonly=readonly, cache_kib=2000)


class Database:
    """accounts.db: one locked write connection and one read-only connection."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._probe: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> list[str]:
        """Create or migrate the file; returns the migrations applied."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = await connect(self.path)
            applied = await self._migrate()
            self._reader = await connect(self.path, readonly=True)
            # For data_version(): opened after the migrations, so the file exists and is in WAL mode.
            self._probe = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=0, isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.DatabaseError as exc:
            await self.close()
            raise Unusable(self.path, str(exc)) from None
        return applied

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None
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
        pending = migrations()
        if await files.version(self.writer) >= len(pending):
            return []
        return await self.write(lambda conn: files.apply(conn, pending))

    async def write(self, job: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run `job` in its own short IMMEDIATE transaction; rolled back if it raises."""
        async with self._lock:
            conn = self.writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                result = await job(conn)
                await conn.execute("COMMIT")
            except BaseException:
                await files.rollback(conn)
                raise
            return result

    def data_version(self) -> int | None:
        """A number that changes whenever any connection, in any process, commits to the file; None if busy.

        SQLite's `PRAGMA data_version` reads the WAL index in shared memory: a
        few microseconds, so it runs in the event loop and caches can check it
        on every use. Writes through this object's own writer change it too,
        since the probe is a connection of its own.
        """
        if self._probe is None:
            return None
        try:
            row = self._probe.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:  # busy (a recovery, say): the caller reads afresh
            return None
        return int(row[0])

    async def fetchall(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read, on the read-only connection (never behind a write).

        The statement runs and is read to its end in one step on the reader's
        thread. As two steps (execute, then fetchall), another task's read could
        start in between, inside this statement's snapshot, and miss a commit
        that finished before it began (a site added a moment ago, say).
        """
        assert self._reader is not None, "accounts database is not open"
        return [tuple(r) for r in await self._reader.execute_fetchall(sql, params)]

    async def fetchone(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> tuple[Any, ...] | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def checkpoint(self) -> bool:
        """One TRUNCATE checkpoint attempt that never waits; True when the WAL is empty.

        A reader holding an old snapshot (a backup, say) makes it fail at once
        instead of after the busy timeout, so neither the caller nor the writes
        queued behind the lock wait; `Salts` retries until it succeeds.
        """
        async with self._lock:
            await self.writer.execute("PRAGMA busy_timeout = 0")
            try:
                async with self.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
                    row = await cur.fetchone()
            finally:
                await self.writer.execute(f"PRAGMA busy_timeout = {files.BUSY_TIMEOUT_MS}")
        return bool(row and row[0] == 0)
