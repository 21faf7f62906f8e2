"""Daily salts in accounts.db: today's is created on demand, yesterday's kept, older (and future) ones destroyed.

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
        """The salts for `day` and `day - 1` (when it exists), creating today's if needed.

        The first call on a new day also destroys every salt older than yesterday,
        and every salt dated after `day`: one a clock running ahead created must not
        outlive the 48 hours once the clock is back (a cached pair holding a later
        day counts as a new day for this reason).
        """
        if day not in self._salts or max(self._salts) > day:

            async def ensure(conn: aiosqlite.Connection) -> tuple[dict[int, bytes], int]:
                await conn.execute("INSERT OR IGNORE INTO salts (day, salt) VALUES (?, ?)", (day, identity.new_salt()))
                deleted = await conn.execute("DELETE FROM salts WHERE day < ? OR day > ?", (day - 1, day))
                async with conn.execute("SELECT day, salt FROM salts WHERE day IN (?, ?)", (day, day - 1)) as cur:
                    return {d: bytes(s) for d, s in await cur.fetchall()}, deleted.rowcount

            self._salts, deleted = await self.db.write(ensure)
            if deleted:
                # secure_delete overwrote the rows in their pages; the WAL still holds the
                # page images from when they were written, until it is checkpointed and emptied.
                await self.db.checkpoint()
        return dict(self._salts)

    async def days(self) -> list[int]:
        """The days that have a salt on disk, oldest first."""
        return [int(r[0]) for r in await self.db.fetchall("SELECT day FROM salts ORDER BY day")]
