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
import json
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite

from analytics.clock import Clock
from analytics.model import DAY, Event, QueueFull, Site
from analytics.store.sqlite import reads
from analytics.store.sqlite.migrate import migrate
from analytics.store.sqlite.reads import Groups
from analytics.visits.sessions import SESSION_ATTRS, Deltas, Interned, Session, apply

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import date

    from analytics.stats.plan import Plan
    from analytics.store.base import DayRows, ImportPart, ImportRecord, RollupRead

log = logging.getLogger("analytics.store")
T = TypeVar("T")

_STOP = object()


class _Job:
    __slots__ = ("fn", "transaction")

    def __init__(self, fn: Callable[[aiosqlite.Connection], Awaitable[Any]], transaction: bool) -> None:
        self.fn = fn
        self.transaction = transaction

_SESSION_COLS = (
    "id", "site_id", "visitor_id", "day", "start", "last", "last_action", "entry_page", "exit_page", "pageviews",
    "events", "interactive", *SESSION_ATTRS, "state",
)  # fmt: skip
ROLLUP_KEYS: dict[str, tuple[str, ...]] = {
    "rollup_totals": (),
    "rollup_sources": ("channel", "source", "referrer", "utm_source", "utm_medium", "utm_campaign",
                       "utm_content", "utm_term"),
    "rollup_locations": ("country",),
    "rollup_devices": ("device", "screen"),
    "rollup_browsers": ("browser", "browser_version"),
    "rollup_os": ("os", "os_version"),
    "rollup_entry_pages": ("entry_page",),
    "rollup_exit_pages": ("exit_page",),
    "rollup_pages": ("hostname", "page"),
    "rollup_events": ("name", "link_url", "path"),
}  # fmt: skip
_LINK_EVENTS = ("Outbound Link: Click", "File Download")


async def connect(path: Path, *, readonly: bool = False) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute("PRAGMA busy_timeout = 15000")
        if readonly:
            await conn.execute("PRAGMA query_only = 1")
        else:
            await conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit is on disk before the 202 goes out, even across power loss.
            await conn.execute("PRAGMA synchronous = FULL")
            # Deleted rows (pruned events, dropped tables) are overwritten, not left in free pages.
            await conn.execute("PRAGMA secure_delete = ON")
            await conn.execute("PRAGMA foreign_keys = ON")
        # 8 MB of page cache per connection: RSS stays low with several workers and readers.
        await conn.execute("PRAGMA cache_size = -8000")
        await conn.execute("PRAGMA temp_store = MEMORY")
    except BaseException:
        await conn.close()  # its thread would keep the process alive (e.g. "file is not a database")
        raise
    return conn


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
    ) -> None:
        self.path = Path(path)
        self.clock = clock or Clock()
        self.batch_size = batch_size
        self.batch_ms = batch_ms
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._reader_count = readers
        self._task: asyncio.Task[None] | None = None
        self._strings: dict[str, int] = {"": 0}
        self._names: dict[str, int] = {}  # ids of the built-in event names, for the query compiler
        self._reader_conns: list[aiosqlite.Connection] = []

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await connect(self.path)
        if await migrate(self._writer):
            # A migration may have deleted rows (0006 drops the salts of release 0.1): move
            # the overwritten pages into the file and empty the WAL before anything else runs.
            await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for _ in range(self._reader_count):
            conn = await connect(self.path, readonly=True)
            self._reader_conns.append(conn)
            self._readers.put_nowait(conn)
        self._task = asyncio.create_task(self._write_loop(), name="analytics-writer")

    async def close(self) -> None:
        if self._task is not None:
            await self._queue.put(_STOP)  # after everything already accepted
            await self._task
            self._task = None
        while not self._readers.empty():
            await self._readers.get_nowait().close()
        self._reader_conns.clear()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    # -- writes ----------------------------------------------------------------

    async def submit(self, events: list[Event]) -> list[bool]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[bool]] = []
        for event in events:
            fut: asyncio.Future[bool] = loop.create_future()
            try:
                self._queue.put_nowait((event, fut))
            except asyncio.QueueFull:
                for f in futures:
                    f.cancel()  # never half-accept a multi-site event
                raise QueueFull() from None
            futures.append(fut)
        return list(await asyncio.gather(*futures))

    async def write(self, job: Callable[[aiosqlite.Connection], Awaitable[T]], transaction: bool = True) -> T:
        """Run `job` on the writer connection between batches, in its own IMMEDIATE transaction."""
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put((_Job(job, transaction), fut))
        return await fut

    async def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            item = await self._queue.get()
            if item is _STOP:
                break
            batch = [item]
            waited = False
            while len(batch) < self.batch_size:
                try:
                    nxt = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    if waited or self.batch_ms <= 0:
                        break
                    waited = True
                    await asyncio.sleep(self.batch_ms / 1000)
                    continue
                if nxt is _STOP:
                    stopping = True
                    break
                batch.append(nxt)
            events = [(e, f) for e, f in batch if isinstance(e, Event)]
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
            stored = await self._transaction(lambda conn: self._write_batch(conn, [e for e, _ in items]))
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
            await conn.execute("ROLLBACK")
            self._strings = {"": 0}  # ids interned by the rolled-back transaction are void
            raise
        return result

    async def _intern(self, conn: aiosqlite.Connection, values: Iterable[str]) -> None:
        missing = sorted({v for v in values if v not in self._strings})
        for i in range(0, len(missing), 500):
            chunk = missing[i : i + 500]
            await conn.executemany("INSERT OR IGNORE INTO strings (value) VALUES (?)", [(v,) for v in chunk])
            marks = ",".join("?" * len(chunk))
            async with conn.execute(f"SELECT value, id FROM strings WHERE value IN ({marks})", chunk) as cur:
                for value, id_ in await cur.fetchall():
                    self._strings[value] = id_
        if len(self._strings) > 200_000:  # bound memory; ids are stable, so just forget
            self._strings = {"": 0}

    async def _write_batch(self, conn: aiosqlite.Connection, events: list[Event]) -> list[bool]:
        strings: set[str] = set()
        for e in events:
            strings.update((e.name, e.hostname, e.path, _link_url(e)))
            strings.update(v for n, v in zip(SESSION_ATTRS, _attr_values(e), strict=True) if n != "country")
        await self._intern(conn, strings)
        s = self._strings

        visitor_ids = {e.visitor_id for e in events} | {e.prev_visitor_id for e in events if e.prev_visitor_id}
        by_visitor: dict[tuple[int, int], list[Session]] = {}
        horizon = min(e.ts for e in events) - 2 * DAY
        ids = list(visitor_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {', '.join(_SESSION_COLS)} FROM sessions WHERE visitor_id IN ({marks}) AND start >= ?"
            async with conn.execute(sql, (*chunk, horizon)) as cur:
                for row in await cur.fetchall():
                    sess = _session_from_row(tuple(row))
                    by_visitor.setdefault((sess.site_id, sess.visitor_id), []).append(sess)
        async with conn.execute("SELECT COALESCE(MAX(id), 0) FROM sessions") as cur:
            max_row = await cur.fetchone()
        next_id = [max_row[0] if max_row else 0]

        def new_id() -> int:
            next_id[0] += 1
            return next_id[0]

        def sessions_of(site_id: int, visitor_id: int) -> list[Session]:
            return by_visitor.setdefault((site_id, visitor_id), [])

        deltas = Deltas()
        touched: dict[int, Session] = {}
        event_rows = []
        stored = []
        for e in events:
            attrs: tuple[Hashable, ...] = tuple(
                v if n == "country" else s[v] for n, v in zip(SESSION_ATTRS, _attr_values(e), strict=True)
            )
            interned = Interned(
                name=s[e.name], hostname=s[e.hostname], page=s[e.path], attrs=attrs,
                link_url=s[_link_url(e)], goal_path=0,
            )  # fmt: skip
            session = apply(e, interned, sessions_of, new_id, deltas)
            stored.append(session is not None)
            if session is None:
                continue
            touched[session.id] = session
            event_rows.append((
                e.site_id, e.ts, session.id, interned.name, interned.hostname, interned.page,
                json.dumps(dict(e.props), ensure_ascii=False) if e.props else None,
                e.scroll_depth, e.engaged_ms, int(e.interactive),
                e.revenue[0] if e.revenue else None, e.revenue[1] if e.revenue else None,
            ))  # fmt: skip

        if touched:
            marks = ",".join("?" * len(_SESSION_COLS))
            await conn.executemany(
                f"INSERT OR REPLACE INTO sessions ({', '.join(_SESSION_COLS)}) VALUES ({marks})",
                [_session_row(x) for x in touched.values()],
            )
        if event_rows:
            await conn.executemany(
                "INSERT INTO events (site_id, ts, session_id, name, hostname, page, props, scroll_depth,"
                " engaged_ms, interactive, revenue, currency) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                event_rows,
            )
        await write_deltas(conn, deltas)
        return stored

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

    async def roll_days(self, now: float, sites: Sequence[Site]) -> int:
        """Sum settled local days into the daily rollup tier (see sqlite_days); sites give id and zone."""
        from analytics.store.sqlite.days import roll

        return await self.write(lambda conn: roll(conn, now, sites))

    async def delete_site(self, site_id: int) -> None:
        """Delete every event-side row of a site: events, visits, rollups, daily tier and imports."""
        from analytics.store.sqlite import days as sqlite_days

        async def job(conn: aiosqlite.Connection) -> None:
            for table in (
                "events", "sessions", "rollup_totals", "rollup_sources", "rollup_locations", "rollup_devices",
                "rollup_browsers", "rollup_os", "rollup_entry_pages", "rollup_exit_pages", "rollup_pages",
                "rollup_events",
            ):  # fmt: skip
                await conn.execute(f"DELETE FROM {table} WHERE site_id = ?", (site_id,))
            await sqlite_days.drop(conn, site_id)
            # Imports cascaded from the sites row while it lived in this file; their rows cascade from here.
            await conn.execute("DELETE FROM site_imports WHERE site_id = ?", (site_id,))

        await self.write(job)

    async def prune(self, now: float, retention_months: int) -> int:
        """Delete raw events and sessions older than the retention period. Rollups stay."""
        cutoff = int(now - retention_months * 30.44 * DAY)

        async def delete(conn: aiosqlite.Connection) -> int:
            cur = await conn.execute("DELETE FROM events WHERE ts < ?", (cutoff,))
            n = cur.rowcount
            await conn.execute("DELETE FROM sessions WHERE last < ?", (cutoff,))
            return n

        return await self.write(delete)

    # -- reads -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def reader(self) -> Any:
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    async def fetchall(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.reader() as conn:
            async with conn.execute(sql, params) as cur:
                return [tuple(r) for r in await cur.fetchall()]

    async def sums(self, plans: Sequence[Plan]) -> list[Groups]:
        """Sums for each plan, in one batch on one reader connection."""
        async with self.reader() as conn:
            if len(self._names) < len(reads.NAMES):  # ids are stable once committed: look up until all exist
                self._names = await reads.name_ids(conn)
            return await reads.sums(conn, plans, self._names)

    async def trace(self, callback: Callable[[str], None] | None) -> None:
        """Call `callback` with every SQL statement the reader connections run (debugging, tests)."""
        for conn in self._reader_conns:
            await conn.set_trace_callback(callback)  # type: ignore[arg-type]  # None turns tracing off

    # -- history in and out: see sqlite/transfer.py ------------------------------

    async def data_range(self, site: Site) -> tuple[date, date] | None:
        from analytics.store.sqlite import transfer

        return await transfer.data_range(self, site)

    def export_rows(self, site: Site, read: RollupRead, first_day: date, last_day: date) -> AsyncIterator[DayRows]:
        from analytics.store.sqlite import transfer

        return transfer.export_rows(self, site, read, first_day, last_day)

    async def import_rows(self, site: Site, source: str, parts: Iterable[ImportPart]) -> ImportRecord:
        from analytics.store.sqlite import transfer

        return await transfer.import_rows(self, site, source, parts)

    async def imported_range(self, site_id: int) -> tuple[date, date] | None:
        from analytics.store.sqlite.imported import imported_range

        return await imported_range(self, site_id)

    async def list_imports(self, site_id: int) -> list[ImportRecord]:
        from analytics.store.sqlite import transfer

        return await transfer.list_imports(self, site_id)

    async def remove_imports(self, site_id: int, import_id: int | None = None) -> int:
        from analytics.store.sqlite import transfer

        return await transfer.remove_imports(self, site_id, import_id)



def _attr_values(e: Event) -> tuple[str, ...]:
    return tuple(getattr(e.attrs, n) for n in SESSION_ATTRS)


def _link_url(e: Event) -> str:
    if e.name in _LINK_EVENTS:
        return dict(e.props).get("url", "")
    return ""


def _session_from_row(row: tuple[Any, ...]) -> Session:
    n = len(SESSION_ATTRS)
    id_, site_id, visitor_id, day, start, last, last_action, entry, exit_, pageviews, events, interactive = row[:12]
    sess = Session(
        id=id_, site_id=site_id, visitor_id=visitor_id, day=day, start=start, last=last, last_action=last_action,
        entry_page=entry, exit_page=exit_, pageviews=pageviews, events=events, interactive=interactive,
        attrs=tuple(row[12 : 12 + n]),
    )  # fmt: skip
    sess.load_state(row[12 + n])
    return sess


def _session_row(s: Session) -> tuple[Any, ...]:
    return (
        s.id, s.site_id, s.visitor_id, s.day, s.start, s.last, s.last_action, s.entry_page, s.exit_page, s.pageviews,
        s.events, s.interactive, *s.attrs, s.state_json(),
    )  # fmt: skip


async def write_deltas(conn: aiosqlite.Connection, deltas: Deltas) -> None:
    """Upsert summed counter increments into each rollup table."""
    for table, rows in deltas.rows.items():
        keys = ROLLUP_KEYS[table]
        used = sorted({c for counters in rows.values() for c in counters})
        if not used:
            continue
        cols = ("site_id", "bucket", *keys, *used)
        sql = (
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))}) "
            f"ON CONFLICT DO UPDATE SET {', '.join(f'{c} = {c} + excluded.{c}' for c in used)}"
        )
        await conn.executemany(sql, [(*k, *(c.get(u, 0) for u in used)) for k, c in rows.items()])
