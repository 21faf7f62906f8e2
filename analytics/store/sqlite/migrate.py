"""Numbered migrations: `migrations/NNNN_name.sql`, applied in order, tracked in user_version."""

from __future__ import annotations

import aiosqlite

from analytics.store.sqlite import files


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every migration of the event store."""
    return files.migrations("analytics.store.sqlite.migrations")


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
            for statement in files.statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {number}")
            applied.append(name)
        await conn.execute("COMMIT")
    except BaseException:
        await files.rollback(conn)
        raise
    return applied
