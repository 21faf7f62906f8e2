"""SQLite files as this project opens them: connection pragmas and numbered migrations.

Both databases use it: the event store (`analytics.db`) and the accounts
(`accounts.db`), each with its own migrations package.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.resources
import re
import sqlite3
from pathlib import Path

import aiosqlite

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 15000


async def connect(path: Path, *, readonly: bool = False, cache_kib: int = 8000) -> aiosqlite.Connection:
    """A connection in WAL mode; writers sync fully, overwrite deleted rows and check foreign keys."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if readonly:
            await conn.execute("PRAGMA query_only = 1")
        else:
            await conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit is on disk before the answer goes out, even across power loss.
            await conn.execute("PRAGMA synchronous = FULL")
            # Deleted rows (old salts, pruned events, dropped tables) are overwritten, not left in free pages.
            await conn.execute("PRAGMA secure_delete = ON")
            await conn.execute("PRAGMA foreign_keys = ON")
        # A small page cache per connection: RSS stays low with several workers and readers.
        await conn.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
        await conn.execute("PRAGMA temp_store = MEMORY")
    except BaseException:
        await conn.close()  # its thread would keep the process alive (e.g. "file is not a database")
        raise
    return conn


def migrations(package: str) -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every `NNNN_name.sql` in `package`, in order, each number once.

    A number may be skipped: work on parallel branches reserves numbers (the
    reads migration is 0010 while 0009 is another branch's), and the merge
    fills the gap. A number used twice is an error.
    """
    found = []
    for entry in importlib.resources.files(package).iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers) or (numbers and numbers[0] != 1):
        raise RuntimeError(f"{package}: migrations must be numbered from 0001, each number once")
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


async def version(conn: aiosqlite.Connection) -> int:
    """The number of the last migration applied (`PRAGMA user_version`)."""
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def apply(conn: aiosqlite.Connection, pending: list[tuple[int, str, str]]) -> list[str]:
    """Inside the caller's transaction: run the migrations newer than the file's version, in order."""
    applied = []
    current = await version(conn)  # read under the write lock: another process may have migrated
    for number, name, sql in pending:
        if number <= current:
            continue
        for statement in statements(sql):
            await conn.execute(statement)
        await conn.execute(f"PRAGMA user_version = {number}")
        applied.append(name)
    return applied


async def rollback(conn: aiosqlite.Connection) -> None:
    """Roll back the open transaction, if any, without hiding the error that led here.

    A task cancelled while its COMMIT ran finds no transaction left; a failing
    ROLLBACK must not replace the CancelledError (or the original error) with
    an OperationalError that a caller's `except Exception` would swallow.
    """
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            await conn.execute("ROLLBACK")


# SQLite's answers when the storage, not the statement, is at fault: full, failing,
# read-only, gone or held by another process past the busy timeout.
_STORAGE_CODES = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_BUSY", "SQLITE_LOCKED")
_STORAGE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG)


def storage_failure(exc: BaseException) -> str | None:
    """The reason code when `exc` means the database cannot be written or read right now, else None.

    The app answers these with a 503 (retry later) on every route, never a 500.
    """
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        return name if name.startswith(_STORAGE_CODES) else None
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        return errno.errorcode.get(exc.errno, "OSError")
    return None
