"""The ClickHouse store: the `Store` protocol on ClickHouse, embedded (chDB) or on a server.

One writer task drains a bounded queue in batches (`batch_size`, `batch_ms`) and
hands each batch to the `Appender`, whose inserts are synchronous: a caller's
future resolves only after ClickHouse acknowledged its event's batch (202 means
stored). Reads compile each plan (chsums.py) and run its parts in turn.

This process owns the sites' open visits (see appender.py): with chDB that holds
by construction (one process per data directory, and the CLI refuses
`--workers > 1`); on a server, docs/scaling.md says how several collectors
keep visits exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from analytics.clock import Clock
from analytics.model import DAY, Event, Site
from analytics.stats.plan import Plan
from analytics.store import queue
from analytics.store.base import DayRows, ImportPart, ImportRecord, Recent, RollupRead
from analytics.store.clickhouse import chdays, chhistory, chrecent, chshared, ddl
from analytics.store.clickhouse.appender import KEEP, Appender
from analytics.store.clickhouse.chclient import Connection, StoreURL

log = logging.getLogger("analytics.store")
Groups = dict[tuple[Any, ...], dict[str, float]]


class ClickHouseStore:
    def __init__(
        self,
        url: StoreURL,
        *,
        clock: Clock | None = None,
        batch_size: int = 256,
        batch_ms: float = 2.0,
        queue_size: int = 20000,
        query_timeout: float | None = None,
    ) -> None:
        self.url = url
        self.clock = clock or Clock()
        self.batch_size = batch_size
        self.batch_ms = batch_ms
        self.conn = Connection(url, query_timeout)
        self.appender = Appender(self.conn)
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self._writing = asyncio.Lock()  # the queue's writer or a bulk load, one at a time

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        """Connect, run pending migrations, take over the recent visits; StorageError when it cannot."""
        await self.conn.open()
        await migrate(self.conn)
        await self.appender.load()
        self._task = asyncio.create_task(self._write_loop(), name="analytics-clickhouse-writer")

    async def close(self) -> None:
        if self._task is not None:
            await self._queue.put(queue.STOP)  # after everything already accepted
            await self._task
            self._task = None
        await self.conn.close()

    # -- writes ----------------------------------------------------------------

    async def submit(self, events: list[Event]) -> list[bool]:
        return await queue.enqueue(self._queue, events)

    async def write(self, events: list[Event]) -> int:
        """Write a batch straight through the queue's writer (bulk loads: demo, copy); returns events stored."""
        return sum(await self.submit(events))

    @contextlib.asynccontextmanager
    async def bulk(self) -> AsyncIterator[BulkLoad]:
        """A large time-ordered load (the bench's seeding) through the same write path, pipelined.

        Each chunk's visits and rollups are computed while ClickHouse still writes the
        previous chunk's rows; the ingest queue waits meanwhile. On return every row is written.
        """
        async with self._writing:
            load = BulkLoad(self.appender)
            try:
                yield load
                await load.drain()
            except BaseException:
                self.appender.forget()
                await load.drain(cancel=True)
                raise

    async def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = await queue.next_batch(self._queue, self.batch_size, self.batch_ms)
            items = [(e, f) for e, f in batch if not f.cancelled()]
            if not items:
                continue
            try:
                async with self._writing:
                    stored = await self.appender.write([e for e, _ in items])
            except Exception as exc:
                log.error("batch not stored: %s", type(exc).__name__)
                for _, fut in items:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), ok in zip(items, stored, strict=True):
                if not fut.done():
                    fut.set_result(ok)

    # -- housekeeping ----------------------------------------------------------

    async def housekeeping(self, now: float, sites: Sequence[Site], retention_months: int = 25) -> None:
        """Enforce retention on raw events and visits, forget settled visits' marks, sum settled days."""
        await self.prune(now, retention_months)
        await self.forget_states(now)
        await self.roll_days(now, sites)

    async def forget_states(self, now: float) -> int:
        """Clear the marks (`state`) of visits no batch can continue any more; returns how many.

        The appender reads marks back only for visits started within KEEP of the newest
        one (appender.load), and a visit takes events for two days at most: older marks
        are dead weight, about half of what visits take on disk (SQLite deletes them
        the same way, store/sqlite/write.forget_states). A day's margin on top.
        """
        rows = await self.conn.rows("SELECT max(start) FROM sessions")
        newest = int(rows[0][0] or 0) if rows else 0
        cutoff = {"c": int(min(now, newest)) - KEEP - DAY}
        found = await self.conn.rows("SELECT count() FROM sessions WHERE start < {c:Int64} AND state != ''", cutoff)
        n = int(found[0][0]) if found else 0
        if n:  # a mutation rewrites the column's parts: only when there is something to clear
            await self.conn.command(
                "ALTER TABLE sessions UPDATE state = '' WHERE start < {c:Int64} AND state != ''"
                " SETTINGS mutations_sync = 1",
                cutoff,
            )
        return n

    async def roll_days(self, now: float, sites: Sequence[Site]) -> int:
        """Sum each site's settled local days into the daily tier (chdays.py); returns days added."""
        return await chdays.roll(self.conn, now, sites)

    async def prune(self, now: float, retention_months: int) -> int:
        """Delete raw events and visits older than the retention period, as the SQLite store counts it."""
        rows = await self.conn.rows("SELECT count(), max(ts) FROM events")
        newest = int(rows[0][1]) if rows and rows[0][0] else None
        trusted = now
        if newest is not None and now > newest + DAY:
            trusted = newest + DAY
            log.warning("clock is %d days ahead of the newest stored event: pruning as of that event plus a day",
                        (now - newest) // DAY)  # fmt: skip
        cutoff = int(trusted - retention_months * 30.44 * DAY)
        gone = await self.conn.rows("SELECT count() FROM events WHERE ts < {c:Int64}", {"c": cutoff})
        n = int(gone[0][0]) if gone else 0
        if n:
            for table in ("events", "goal_events"):
                await self.conn.command(f"DELETE FROM {table} WHERE ts < {{c:Int64}}", {"c": cutoff})
        old = await self.conn.rows("SELECT count() FROM sessions WHERE last < {c:Int64}", {"c": cutoff})
        if old and old[0][0]:  # a DELETE is a mutation even when nothing matches: only when needed
            await self.conn.command("DELETE FROM sessions WHERE last < {c:Int64}", {"c": cutoff})
        return n

    async def delete_site(self, site_id: int, *, forever: bool = True) -> None:
        """Delete every event-side row of a site: events, visits, rollups and imports.

        No tombstone here: the accounts' removal and the collector's site check
        keep a removed site's events out (see `Store.delete_site`).
        """
        tables = ("events", "goal_events", "sessions", "rollups", "rollups_day", "rollup_days", "site_imports")
        for table in (*tables, *ddl.IMPORTED):
            await self.conn.command(f"DELETE FROM {table} WHERE site_id = {{site:UInt32}}", {"site": site_id})
        self.appender.groups = {k: g for k, g in self.appender.groups.items() if k[0] != site_id}

    # -- reads -----------------------------------------------------------------

    async def sums(self, plans: Sequence[Plan]) -> list[Groups]:
        """Per plan: group key (dimension values as text) -> sums. The whole batch is one statement."""
        rolled = [p.query.site for p in plans if p.rollup]
        tiers = await chdays.tiers(self.conn, rolled) if rolled else {}
        imported = await chhistory.sites_with_imports(self.conn, {p.query.site.id for p in plans if p.imports})
        # Raw plans sharing a site, range and filter read one filtered set (chshared.py).
        batch = chshared.statement(plans, tiers, imported)
        out: list[Groups] = [{} for _ in plans]
        if not batch.tagged:
            return out
        for part, gset, values, counts in await self.conn.rows(batch.sql, batch.params):
            for i, keys, sums in batch.layout[(part, gset)]:
                bucket = out[i].setdefault(tuple(values[k] for k in keys), {})
                for name, k in sums:
                    bucket[name] = bucket.get(name, 0) + counts[k]
        # A plan without dimensions always has its one row of totals, zeros when nothing matched
        # (as a SELECT of sums without GROUP BY gives, alone or in a grouping set).
        for targets in batch.layout.values():
            for i, keys, sums in targets:
                if not keys:
                    bucket = out[i].setdefault((), {})
                    for name, _ in sums:
                        bucket.setdefault(name, 0)
        for i, tab, names in batch.derived:  # totals that are the sum of a pages tab's rows (chshared.py)
            bucket = out[i].setdefault((), {})
            for name in names:
                bucket[name] = sum(row.get(name, 0) for row in out[tab].values())
        return out

    # -- realtime: see clickhouse/chrecent.py ----------------------------------------

    async def current_visitors(self, site: Site, since: datetime, until: datetime) -> int:
        return await chrecent.current_visitors(self.conn, site.id, since, until)

    async def recent(self, site: Site, since: datetime, until: datetime, limit: int) -> Recent:
        return await chrecent.recent(self.conn, site.id, since, until, limit)

    # -- figures (the bench) ------------------------------------------------------

    async def event_count(self) -> int:
        """Events stored, all sites."""
        rows = await self.conn.rows("SELECT count() FROM events")
        return int(rows[0][0])

    async def table_bytes(self) -> dict[str, int]:
        """Bytes on disk per table after merging every part (OPTIMIZE ... FINAL): what the data really takes."""
        for table in ("events", "goal_events", "sessions", "rollups", "rollups_day"):
            await self.conn.command(f"OPTIMIZE TABLE {table} FINAL")
        rows = await self.conn.rows(
            "SELECT table, sum(bytes_on_disk) FROM system.parts WHERE active AND database = currentDatabase()"
            " GROUP BY table"
        )
        return {str(t): int(n) for t, n in rows}

    # -- history -----------------------------------------------------------------

    async def data_range(self, site: Site) -> tuple[date, date] | None:
        return await chhistory.data_range(self.conn, site)

    def export_rows(self, site: Site, read: RollupRead, first_day: date, last_day: date) -> AsyncIterator[DayRows]:
        return chhistory.export_rows(self.conn, site, read, first_day, last_day)

    async def import_rows(self, site: Site, source: str, parts: Iterable[ImportPart]) -> ImportRecord:
        return await chhistory.import_rows(self.conn, int(self.clock.now()), site, source, parts)

    async def imported_range(self, site_id: int) -> tuple[date, date] | None:
        return await chhistory.imported_range(self.conn, site_id)

    async def list_imports(self, site_id: int) -> list[ImportRecord]:
        return await chhistory.list_imports(self.conn, site_id)

    async def remove_imports(self, site_id: int, import_id: int | None = None) -> int:
        return await chhistory.remove_imports(self.conn, site_id, import_id)

    def replay(self, site: Site, page: int = 5000) -> AsyncIterator[list[Event]]:
        return chhistory.replay(self.conn, site, page)


class BulkLoad:
    """`ClickHouseStore.bulk`'s handle: `write` a chunk, at most one chunk's inserts in flight."""

    def __init__(self, appender: Appender) -> None:
        self.appender = appender
        self.events = 0
        self._flushing: asyncio.Task[None] | None = None

    async def write(self, events: list[Event]) -> int:
        """Apply a chunk and start its inserts after the previous chunk's; returns events stored."""
        stored, inserts = await self.appender.prepare(events)
        await self.drain()
        self._flushing = asyncio.create_task(self.appender.flush(inserts))
        n = sum(stored)
        self.events += n
        return n

    async def drain(self, cancel: bool = False) -> None:
        task, self._flushing = self._flushing, None
        if task is None:
            return
        if cancel:
            await asyncio.gather(task, return_exceptions=True)
        else:
            await task


async def migrate(conn: Connection, layout: ddl.Layout | None = None) -> list[int]:
    """Apply the migrations not yet recorded in `schema_migrations`; returns their versions."""
    layout = layout or ddl.Layout()
    for sql in ddl.migrations_table(layout):
        await conn.command(sql)
    done = {int(r[0]) for r in await conn.rows("SELECT version FROM schema_migrations")}
    applied = []
    for version, _ in ddl.MIGRATIONS:
        if version in done:
            continue
        for sql in ddl.statements(version, layout):
            await conn.command(sql)
        await conn.insert("schema_migrations", ("version",), [(version,)])
        applied.append(version)
    return applied
