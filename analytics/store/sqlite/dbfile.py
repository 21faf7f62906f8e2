"""Facts about a SQLite database file, for tools that look at one from outside the store (`analytics bench`).

Plain `sqlite3`, synchronous; they only read. The bench calls them between runs,
with no server or store open on the file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def sqlite_version() -> str:
    """The SQLite library's version, e.g. "3.40.1"."""
    return sqlite3.sqlite_version


def event_count(db: Path) -> int:
    """How many raw events the file holds."""
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def table_bytes(db: Path) -> dict[str, int]:
    """Bytes per table and index, largest first; empty when SQLite was built without the dbstat table."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()
    return {name: int(size) for name, size in rows if size}
