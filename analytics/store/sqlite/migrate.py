"""Numbered migrations: `migrations/NNNN_name.sql`, applied in order, tracked in user_version."""

from __future__ import annotations

import importlib.resources
import re

import aiosqlite

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every migration shipped in the package."""
    found = []
    for entry in importlib.resources.files("analytics.store.sqlite.migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    if [n for n, _, _ in found] != list(range(1, len(found) + 1)):
        raise RuntimeError("migrations must be numbered 0001, 0002, ... without gaps")
    return found


async def migrate(conn: aiosqlite.Connection) -> list[str]:
    """Apply pending migrations in one IMMEDIATE transaction; returns the names applied.

    Safe when several worker processes start at once: the second one waits for
    the write lock, then sees the new user_version and does nothing.
    """
    applied = []
    await conn.execute("BEGIN IMMEDIATE")
    try:
        async with conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = row[0] if row else 0
        for number, name, sql in migrations():
            if number <= version:
                continue
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {number}")
            applied.append(name)
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return applied


def _statements(sql: str) -> list[str]:
    # executescript() would COMMIT our transaction; split on complete statements instead.
    import sqlite3

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
