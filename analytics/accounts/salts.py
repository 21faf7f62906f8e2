"""Daily salts in accounts.db: today's is created on demand, yesterday's kept, older ones destroyed.

Destroying means more than DELETE: the writer runs with secure_delete on, so
the row's bytes are overwritten in the page, and the WAL, which still holds
the page images written when the salt was created, is checkpointed and
truncated. After that no byte of an old salt is left in accounts.db or its
WAL (privacy.md, "Unlinkable after 48 hours").
"""

from __future__ import annotations

import aiosqlite

from analytics.accounts.db import Database
from analytics.enrich import identity


class Salts:
    """The salts table, with the current pair cached in memory."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._salts: dict[int, bytes] = {}

    async def for_day(self, day: int) -> dict[int, bytes]:
        """The salts for `day` and `day - 1` (when it exists), creating today's if needed."""
        if day not in self._salts:

            async def ensure(conn: aiosqlite.Connection) -> dict[int, bytes]:
                await conn.execute("INSERT OR IGNORE INTO salts (day, salt) VALUES (?, ?)", (day, identity.new_salt()))
                async with conn.execute("SELECT day, salt FROM salts WHERE day IN (?, ?)", (day, day - 1)) as cur:
                    return {d: bytes(s) for d, s in await cur.fetchall()}

            self._salts = await self.db.write(ensure)
            await self.rotate(day)
        return dict(self._salts)

    async def rotate(self, day: int) -> int:
        """Destroy salts older than yesterday: delete with secure_delete, then truncate the WAL."""

        async def delete(conn: aiosqlite.Connection) -> int:
            cur = await conn.execute("DELETE FROM salts WHERE day < ?", (day - 1,))
            return cur.rowcount

        deleted = await self.db.write(delete)
        if deleted:
            await self.db.checkpoint()
        return deleted

    async def days(self) -> list[int]:
        """The days that have a salt on disk, oldest first."""
        return [int(r[0]) for r in await self.db.fetchall("SELECT day FROM salts ORDER BY day")]
