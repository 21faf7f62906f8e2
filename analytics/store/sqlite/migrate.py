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
    await conn.execute("BEGIN IMMEDIATE")
    try:
        applied = await files.apply(conn, migrations())
        await conn.execute("COMMIT")
    except BaseException:
        await files.rollback(conn)
        raise
    return applied
