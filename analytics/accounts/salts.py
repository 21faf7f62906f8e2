"""Daily salts in accounts.db: today's is created on demand, yesterday's kept, older (and future) ones destroyed.

Destroying means more than DELETE: the writer runs with secure_delete on, so
the row's bytes are overwritten in the page, and the WAL, which still holds
the page images written when the salt was created, is checkpointed and
truncated. After that no byte of an old salt is left in accounts.db or its
WAL (privacy.md, "Unlinkable after 48 hours").
"""

from __future__ import annotations

import asyncio
import contextlib

import aiosqlite

from analytics.accounts.db import Database
from analytics.enrich import identity

# Seconds between attempts to empty the WAL of a destroyed salt while a reader blocks it.
RETRY_SECONDS = 0.5


class Salts:
    """The salts table, with the current pair cached in memory."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._salts: dict[int, bytes] = {}
        self._emptying: asyncio.Task[None] | None = None
        self.unclean = False  # a destroyed salt may still be in the WAL

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
                # page images from when they were written, until it is checkpointed and
                # emptied. That happens off this path (the first beacon of a day comes here),
                # retried while a reader (a backup, say) holds an old snapshot.
                self.unclean = True
                self.empty_wal_later()
        return dict(self._salts)

    async def destroy_strays(self, day: int) -> None:
        """Destroy salts older than yesterday or dated after `day`, whoever created them.

        `for_day` only looks at the disk when its own cached pair is stale. A
        salt another process made while the clock was ahead (a worker that has
        since exited, a CLI command) is unknown to this cache, so housekeeping
        asks the file itself once a round: a cheap read, a write only when needed.
        """
        row = await self.db.fetchone("SELECT MIN(day), MAX(day) FROM salts")
        if row is not None and row[0] is not None and (row[0] < day - 1 or row[1] > day):
            self._salts = {}  # for_day re-reads and deletes the strays
        await self.for_day(day)

    def empty_wal_later(self) -> None:
        """Start emptying the WAL in the background, unless that already runs or is done."""
        if self.unclean and (self._emptying is None or self._emptying.done()):
            self._emptying = asyncio.create_task(self._empty_wal(), name="analytics-salt-wal")

    async def _empty_wal(self) -> None:
        while not await self.db.checkpoint():
            await asyncio.sleep(RETRY_SECONDS)
        self.unclean = False

    async def settled(self) -> None:
        """Wait until no destroyed salt is left in the WAL (tests, shutdown)."""
        if self._emptying is not None:
            await self._emptying

    async def close(self) -> None:
        """Stop retrying; the next start (or housekeeping round) finishes the job."""
        if self._emptying is not None and not self._emptying.done():
            self._emptying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._emptying

    async def days(self) -> list[int]:
        """The days that have a salt on disk, oldest first."""
        return [int(r[0]) for r in await self.db.fetchall("SELECT day FROM salts ORDER BY day")]
