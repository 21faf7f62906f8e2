"""SQLite store: WAL, one writer fed by a bounded queue, separate readers.

The writer closes a batch after `batch_size` events or `batch_ms`, writes the
events, their sessions and the rollup deltas in one IMMEDIATE transaction, and
only then resolves the callers' futures: a 2xx means committed (group commit).
Sessions are read and written inside that transaction, so several worker
processes can share one database and count exactly the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite

from analytics.catalog import ROLLUP_KEYS as ROLLUP_KEYS  # re-exported: transfer reads it here
from analytics.clock import Clock
from analytics.errors import QueryTimeout, StorageError
from analytics.model import DAY, Event, Site
from analytics.store import queue
from analytics.store.sqlite import days, history, reads, recent, replay, splits, transfer
from analytics.store.sqlite.files import connect, rollback
from analytics.store.sqlite.migrate import migrate
from analytics.store.sqlite.reads import Budget, Groups
from analytics.store.sqlite.write import HORIZON, BatchWriter, BulkLoad, bulk_settings, forget_states

if TYPE_CHECKING:
    from datetime import date, datetime

    from analytics.stats.plan import Plan
    from analytics.store.base import DayRows, ImportPart, ImportRecord, Recent, RollupRead

log = logging.getLogger("analytics.store")

# Events around the trusted mark `?`, one index lookup per site (a skip-scan over (site_id, ts)):
# the newest at or before it, the first and last after it, and whether any event exists.
_EVENTS_AROUND = """
WITH RECURSIVE site(id) AS (
    SELECT MIN(site_id) FROM events
    UNION ALL
    SELECT (SELECT MIN(site_id) FROM events WHERE site_id > site.id) FROM site WHERE site.id IS NOT NULL
)
SELECT MAX((SELECT MAX(ts) FROM events WHERE site_id = site.id AND ts <= ?1)),
       MIN((SELECT MIN(ts) FROM events WHERE site_id = site.id AND ts > ?1)),
       MAX((SELECT MAX(ts) FROM events WHERE site_id = site.id))
FROM site WHERE site.id IS NOT NULL
"""
# A clock ahead of the trusted mark is believed once events stamped by it span this long.
CLOCK_GRACE = 7 * DAY
T = TypeVar("T")


# Days of per-segment rollups one housekeeping round replays at most: a store upgraded with
# years of events catches up a week a minute, and every other round's work stays prompt.
SEGMENT_DAYS_PER_ROUND = 7


class _Job:
    __slots__ = ("fn", "transaction")

    def __init__(self, fn: Callable[[aiosqlite.Connection], Awaitable[Any]], transaction: bool) -> None:
        self.fn = fn
        self.transaction = transaction


class SQLiteStore:
    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock | None = None,
        batch_size: int = 256,
        batch_ms: float = 2.0,
        queue_size: int = 20000,
        readers: int = 2,
        query_timeout: float | None = None,
        export_readers: int = 1,
        shared_sets: bool = True,
    ) -> None:
        """`query_timeout`: seconds a statement on a reader may run before it is stopped (None: no limit).

        `export_readers`: connections of their own for exports, so a long export never
        takes a reader the dashboard and the API are waiting for.

        `shared_sets=False`: raw plans with the same filter do not share one filtered set
        (store.sqlite.segments); the bench uses it to time the design before.
        """
        self.path = Path(path)
        self.clock = clock or Clock()
        self.batch_size = batch_size
        self.batch_ms = batch_ms
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._reader_count = readers
        self._exporters: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._exporter_count = export_readers
        self._task: asyncio.Task[None] | None = None
        self._batches = BatchWriter()
        self._reader_conns: list[aiosqlite.Connection] = []
        self.query_timeout = query_timeout
        self._budgets: dict[aiosqlite.Connection, Budget] = {}
        self.shared_sets = shared_sets

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        """Create or migrate the database; an unusable file raises StorageError naming it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = await connect(self.path)
            if await migrate(self._writer):
                # A migration may have deleted rows (0006 drops the salts of release 0.1): move
                # the overwritten pages into the file and empty the WAL before anything else runs.
                await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            for pool, count in ((self._readers, self._reader_count), (self._exporters, self._exporter_count)):
                for _ in range(count):
                    conn = await connect(self.path, readonly=True)
                    self._reader_conns.append(conn)
                    if query_timeout := self.query_timeout:
                        self._budgets[conn] = budget = Budget(query_timeout)
                        await budget.install(conn)
                    pool.put_nowait(conn)
        except sqlite3.DatabaseError as exc:
            await self._close_connections()  # their threads would keep the process alive
            raise StorageError(self.path, str(exc)) from None
        self._task = asyncio.create_task(self._write_loop(), name="analytics-writer")

    async def close(self) -> None:
        if self._task is not None:
            await self._queue.put(queue.STOP)  # after everything already accepted
            await self._task
            self._task = None
        await self._close_connections()

    async def _close_connections(self) -> None:
        for pool in (self._readers, self._exporters):
            while not pool.empty():
                pool.get_nowait()
        for conn in self._reader_conns:
            await conn.close()
        self._reader_conns.clear()
        self._budgets.clear()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    # -- writes ----------------------------------------------------------------

    async def submit(self, events: list[Event]) -> list[bool]:
        return await queue.enqueue(self._queue, events)

    @contextlib.asynccontextmanager
    async def bulk(self) -> AsyncIterator[BulkLoad]:
        """A bulk load: large batches of events in time order through the same write path.

        Each `write(events)` is one transaction on the writer, queued like any
        other. Meanwhile commits are not synced one by one (a bulk load that a
        crash interrupts is simply run again) and the writer's page cache is larger.
        """
        restore = await self.write(bulk_settings, transaction=False)
        try:
            yield BulkLoad(self.write)
        finally:
            await self.write(restore, transaction=False)

    async def write(self, job: Callable[[aiosqlite.Connection], Awaitable[T]], transaction: bool = True) -> T:
        """Run `job` on the writer connection between batches, in its own IMMEDIATE transaction."""
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put((_Job(job, transaction), fut))
        return await fut

    async def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = await queue.next_batch(self._queue, self.batch_size, self.batch_ms)
            # A request refused with QueueFull cancelled its futures; its queued events must not be written.
            events = [(e, f) for e, f in batch if isinstance(e, Event) and not f.cancelled()]
            jobs = [(j, f) for j, f in batch if not isinstance(j, Event)]
            if events:
                await self._commit_events(events)
            for job, fut in jobs:
                await self._run_job(job, fut)

    async def _run_job(self, job: _Job, fut: asyncio.Future[Any]) -> None:
        assert self._writer is not None
        try:
            result = await (self._transaction(job.fn) if job.transaction else job.fn(self._writer))
        except Exception as exc:  # handed to the caller, who decides how to report it
            if not fut.done():
                fut.set_exception(exc)
            return
        if not fut.done():
            fut.set_result(result)

    async def _commit_events(self, items: list[tuple[Event, asyncio.Future[bool]]]) -> None:
        try:
            stored = await self._transaction(lambda conn: self._batches.write(conn, [e for e, _ in items]))
        except Exception as exc:
            if len(items) > 1:
                # Isolate the event that failed: its batch-mates are committed one by one.
                for item in items:
                    await self._commit_events([item])
                return
            log.error("event not committed: %s", type(exc).__name__)
            if not items[0][1].done():
                items[0][1].set_exception(exc)
            return
        for (_, fut), ok in zip(items, stored, strict=True):
            if not fut.done():
                fut.set_result(ok)

    async def _transaction(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        conn = self._writer
        assert conn is not None
        await conn.execute("BEGIN IMMEDIATE")
        try:
            result = await fn(conn)
            await conn.execute("COMMIT")
        except BaseException:
            await rollback(conn)
            self._batches.forget()  # ids interned by the rolled-back transaction are void
            raise
        return result

    # -- housekeeping ----------------------------------------------------------

    async def checkpoint(self) -> bool:
        """TRUNCATE the WAL so deleted bytes leave the file; True when complete.

        Readers holding an old snapshot make it return busy; retry briefly.
        """

        async def run(conn: aiosqlite.Connection) -> bool:
            async with conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
                row = await cur.fetchone()
            return bool(row and row[0] == 0)

        for _ in range(40):
            if await self.write(run, transaction=False):
                return True
            await asyncio.sleep(0.05)
        return False

    async def housekeeping(self, now: float, sites: Sequence[Site], retention_months: int = 25) -> None:
        """Enforce retention, then sum settled days of `sites` (from accounts) into the daily tier."""
        await self.prune(now, retention_months)
        await self.roll_days(now, sites)
        await self.roll_segments(now, sites, limit=SEGMENT_DAYS_PER_ROUND)
        # An import a dead process left staging: invisible, but its rows take space.
        await transfer.drop_abandoned(self, int(now) - DAY)

    async def roll_days(self, now: float, sites: Sequence[Site], *, rebuild: bool = False) -> int:
        """Sum settled local days into the daily rollup tier (see days.py); sites give id and zone.

        `rebuild` first forgets the sites' tiers: after a bulk load wrote old days anew.
        """

        async def job(conn: aiosqlite.Connection) -> int:
            if rebuild:
                for site in sites:
                    await days.drop(conn, site.id)
                    await splits.drop(conn, site.id)
            return await days.roll(conn, now, sites)

        return await self.write(job)

    async def roll_segments(
        self,
        now: float,
        sites: Sequence[Site],
        progress: Callable[[int, int], None] | None = None,
        limit: int | None = None,
    ) -> int:
        """Replay settled local days per segment attribute (see splits.py); returns days added.

        `limit`: at most so many days this call (housekeeping's rounds take a week at a time).
        """
        return await splits.build(self, now, sites, progress, limit)

    async def delete_site(self, site_id: int, *, forever: bool = True) -> None:
        """Delete every event-side row of a site: events, visits, rollups, daily tier and imports.

        `forever`: the id is tombstoned in the same transaction, so any writer
        (this process or another worker) refuses later events for it, even ones
        accepted before the removal and still queued.
        """

        async def job(conn: aiosqlite.Connection) -> None:
            if forever:
                await conn.execute(
                    "INSERT OR IGNORE INTO removed_sites (site_id, removed_at) VALUES (?, ?)",
                    (site_id, int(self.clock.now())),
                )
            # The site's visit marks first, while its sessions still say which they are.
            await conn.execute(
                "DELETE FROM visit_state WHERE id IN (SELECT id FROM sessions WHERE site_id = ?)", (site_id,)
            )
            # Every rollup table comes from the catalog: a new dimension's table is removed too.
            for table in ("events", "sessions", *ROLLUP_KEYS):
                await conn.execute(f"DELETE FROM {table} WHERE site_id = ?", (site_id,))
            await days.drop(conn, site_id)
            await splits.drop(conn, site_id)
            # Imports cascaded from the sites row while it lived in this file; their rows cascade from here.
            await conn.execute("DELETE FROM site_imports WHERE site_id = ?", (site_id,))

        await self.write(job)

    async def prune(self, now: float, retention_months: int) -> int:
        """Delete raw events and sessions older than the retention period. Rollups stay.

        Retention counts from a trusted time, not from a clock that jumped ahead
        (a server started 800 days ahead once emptied its events). The trusted
        time is a high-water mark kept in the file: the clock while it is at most
        a day past the mark or past the newest event stamped before the jump;
        otherwise that event plus a day, with a warning. Events stamped by a
        clock ahead do not count as the newest (one beacon would be enough to
        believe the jump) until they span CLOCK_GRACE: a clock that has run
        ahead, with traffic, for a week is the right one (a long downtime).
        """

        async def delete(conn: aiosqlite.Connection) -> int:
            trusted = await _trusted_time(conn, now)
            cutoff = int(trusted - retention_months * 30.44 * DAY)
            cur = await conn.execute("DELETE FROM events WHERE ts < ?", (cutoff,))
            n = cur.rowcount
            await conn.execute("DELETE FROM sessions WHERE last < ?", (cutoff,))
            await forget_states(conn, int(trusted) - HORIZON - DAY)  # marks only open visits need
            return n

        return await self.write(delete)

    # -- reads -----------------------------------------------------------------

    def reader(self) -> contextlib.AbstractAsyncContextManager[aiosqlite.Connection]:
        """A reader for the block; a statement past the query budget raises QueryTimeout."""
        return self._lend(self._readers)

    def export_reader(self) -> contextlib.AbstractAsyncContextManager[aiosqlite.Connection]:
        """A reader of the exports' own pool (`export_readers`), for the block."""
        return self._lend(self._exporters)

    @contextlib.asynccontextmanager
    async def _lend(self, pool: asyncio.Queue[aiosqlite.Connection]) -> AsyncIterator[aiosqlite.Connection]:
        conn = await pool.get()
        budget = self._budgets.get(conn)
        if budget is not None:
            budget.arm()  # whole blocks that do not re-arm per statement get one budget
        try:
            yield conn
        except sqlite3.OperationalError:
            if budget is not None and budget.tripped:
                raise QueryTimeout(budget.seconds) from None
            raise
        finally:
            if budget is not None:
                budget.deadline = float("inf")  # idle, or in someone else's hands next
            pool.put_nowait(conn)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.reader() as conn:
            async with conn.execute(sql, params) as cur:
                return [tuple(r) for r in await cur.fetchall()]

    async def sums(self, plans: Sequence[Plan]) -> list[Groups]:
        """Sums for each plan, in one batch: on a second reader too, from when one is free."""
        async with self.reader() as conn:
            return await reads.sums(
                conn,
                plans,
                self._budgets.get(conn),
                share=self.shared_sets,
                spare=self._spare if self._reader_count > 1 else None,
            )

    @contextlib.asynccontextmanager
    async def _spare(self) -> AsyncIterator[tuple[aiosqlite.Connection, Budget | None]]:
        """Another reader and its budget, for one batch's statements beside its own reader (reads.sums)."""
        async with self._lend(self._readers) as conn:
            yield conn, self._budgets.get(conn)

    async def current_visitors(self, site: Site, since: datetime, until: datetime) -> int:
        async with self.reader() as conn:
            return await recent.current_visitors(conn, site.id, since, until)

    async def recent(self, site: Site, since: datetime, until: datetime, limit: int) -> Recent:
        async with self.reader() as conn:
            return await recent.recent(conn, site.id, since, until, limit)

    async def trace(self, callback: Callable[[str], None] | None) -> None:
        """Call `callback` with every SQL statement the reader connections run (debugging, tests)."""
        for conn in self._reader_conns:
            await conn.set_trace_callback(callback)  # type: ignore[arg-type]  # None turns tracing off

    # -- history in and out: see sqlite/transfer.py ------------------------------

    async def data_range(self, site: Site) -> tuple[date, date] | None:
        return await transfer.data_range(self, site)

    def export_rows(self, site: Site, read: RollupRead, first_day: date, last_day: date) -> AsyncIterator[DayRows]:
        return transfer.export_rows(self, site, read, first_day, last_day)

    async def import_rows(self, site: Site, source: str, parts: Iterable[ImportPart]) -> ImportRecord:
        return await transfer.import_rows(self, site, source, parts)

    async def imported_range(self, site_id: int) -> tuple[date, date] | None:
        return await history.imported_range(self, site_id)

    def replay(self, site: Site, page: int = 5000) -> AsyncIterator[list[Event]]:
        return replay.replay(self, site, page)

    async def list_imports(self, site_id: int) -> list[ImportRecord]:
        return await transfer.list_imports(self, site_id)

    async def remove_imports(self, site_id: int, import_id: int | None = None) -> int:
        return await transfer.remove_imports(self, site_id, import_id)


async def _trusted_time(conn: aiosqlite.Connection, now: float) -> float:
    """The time retention counts from (see `SQLiteStore.prune`); stores the raised mark."""
    async with conn.execute("SELECT trusted FROM clock_mark WHERE id = 1") as cur:
        row = await cur.fetchone()
    mark = float(row[0]) if row else None
    async with conn.execute(_EVENTS_AROUND, ((mark if mark is not None else now) + DAY,)) as cur:
        before, first_after, newest = (await cur.fetchone()) or (None, None, None)
    if mark is None:  # first round on this file: the newest event is the reference
        before, first_after = newest, None
    trusted = now
    if first_after is not None and newest - first_after >= CLOCK_GRACE:
        pass  # the clock has run ahead with traffic for a week: it is right
    elif before is not None and now > before + DAY and (mark is None or now > mark + DAY):
        trusted = max(before + DAY, mark or before)
        log.warning(
            "clock is %d days ahead of the newest stored event: raw events are pruned as of that event"
            " plus a day, not as of the clock",
            (now - before) // DAY,
        )
    await conn.execute(
        "INSERT INTO clock_mark (id, trusted) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET trusted = MAX(trusted, ?)",
        (int(trusted), int(trusted)),
    )
    return trusted
