"""History in and out of SQLite: export reports read from the rollups, imported rows written.

Export (`export_rows`). One report is read over the whole range: the daily tier
(`<rollup>_day`) for the local days it holds, the 15-minute buckets for the rest,
as the query compiler does. Rows are read in the table's key order, so SQLite
neither sorts nor groups, in pages of `PAGE` rows continued by key (each page is
one short read on a pooled reader, so no connection is held while the caller
writes a day out). Python then sums a day's rows per report key (a report may
group by fewer columns than the table's key: sources without channel, devices
without screen), sorts them by key and hands the day over. Memory holds one
day of one report plus one page.

A bucket's day is the local day between whose midnights it falls. That is the
site-local day of the daily tier too, except on the rare days a zone changes its
offset at midnight, where the tier's per-bucket offset may file the repeated hour
under the other day; days are never split between the two sources.

Import (`import_rows`). Never one long transaction on the single writer, which
would stall ingest for every site: the rows are staged in chunks of `CHUNK`
rows, each its own short write transaction, under an import that readers skip
(`rows = STAGED`). One short transaction then swaps it in: the older imports'
rows of the same report on the days a part covers are deleted, older imports
left without rows are forgotten, and the import gets its span and row count,
which makes it visible. To a reader it is all or nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiosqlite

from analytics.model import BUCKET, Site
from analytics.stats import dates
from analytics.store.base import DayRows, ImportPart, ImportRecord, RollupRead
from analytics.store.sqlite.days import EPOCH, day_number
from analytics.store.sqlite.pool import Connections
from analytics.store.sqlite.write import removed_sites

PAGE = 1000  # rows per read


@dataclass(frozen=True, slots=True)
class _Table:
    """A rollup table as SQLite declares it."""

    name: str
    keys: tuple[str, ...]  # primary-key columns after site_id and the time column, in key order
    text: frozenset[str]  # TEXT columns; other key columns hold interned string ids
    counters: frozenset[str]


async def _table(store: Connections, name: str) -> _Table | None:
    rows = await store.fetchall("SELECT name, type, pk FROM pragma_table_info(?)", (name,))
    if not rows:
        return None
    pk = [n for n, _, p in sorted(rows, key=lambda r: r[2]) if p]
    keys = tuple(pk[2:])  # (site_id, bucket or day, *keys)
    text = frozenset(n for n, t, _ in rows if t.upper() == "TEXT")
    return _Table(name, keys, text, frozenset(n for n, _, _ in rows if n not in pk))


def _check(table: _Table | None, read: RollupRead) -> _Table:
    if table is None:
        raise ValueError(f"no rollup table {read.rollup}")
    unknown = [k for k in read.keys if k not in table.keys] + [s for s in read.sums if s not in table.counters]
    if unknown:
        raise ValueError(f"{table.name} has no key or counter {', '.join(unknown)}")
    return table


def _statement(table: _Table, read: RollupRead, pos: str, resume: bool) -> str:
    """Rows of `table` from `pos` (bucket or day) lo, or after a key when `resume`, up to hi, in key order.

    Each row is (pos, *key values, *sums, *the table's key columns): the last ones tell where the next page starts.
    """
    joins, keys = [], []
    for i, k in enumerate(read.keys):
        if k in table.text:
            keys.append(f"r.{k}")
        else:
            joins.append(f" LEFT JOIN strings s{i} ON s{i}.id = r.{k}")
            keys.append(f"COALESCE(s{i}.value, '')")
    order = [f"r.{pos}", *(f"r.{k}" for k in table.keys)]
    # Continuing, the key alone bounds the start: with `pos >= ?` beside it, SQLite would seek
    # by pos only and step over the day's rows before the key on every page.
    start = f"({', '.join(order)}) > ({', '.join('?' * len(order))})" if resume else f"r.{pos} >= ?"
    where = f"r.site_id = ? AND {start} AND r.{pos} < ?"
    select = ", ".join([f"r.{pos}", *keys, *(f"r.{s}" for s in read.sums), *order[1:]])
    return f"SELECT {select} FROM {table.name} r{''.join(joins)} WHERE {where} ORDER BY {', '.join(order)} LIMIT ?"


async def _scan(
    store: Connections, table: _Table, read: RollupRead, pos: str, site_id: int, lo: int, hi: int
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Pages of rows for [lo, hi), each read on its own (the reader goes back to the pool in between)."""
    first, more = _statement(table, read, pos, False), _statement(table, read, pos, True)
    npk = len(table.keys)

    async def page(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async with store.export_reader() as conn:
            return [tuple(row) for row in await conn.execute_fetchall(sql, params)]

    rows = await page(first, (site_id, lo, hi, PAGE))
    while rows:
        yield rows
        if len(rows) < PAGE:
            return
        last = rows[-1]
        after = (last[0], *last[len(last) - npk :]) if npk else (last[0],)
        rows = await page(more, (site_id, *after, hi, PAGE))


def _day_rows(groups: dict[tuple[Any, ...], list[tuple[Any, ...]]], nkeys: int, nsums: int) -> list[tuple[Any, ...]]:
    """One row per key: the key, then its rows' sums (most keys have one row, from the daily tier)."""
    lo, hi = 1 + nkeys, 1 + nkeys + nsums
    out = []
    for key, rows in sorted(groups.items()):
        if len(rows) == 1:
            out.append((*key, *rows[0][lo:hi]))
        else:
            out.append((*key, *(sum(column) for column in zip(*(r[lo:hi] for r in rows), strict=True))))
    return out


async def _by_day(
    pages: AsyncIterator[list[tuple[Any, ...]]], day_of: Callable[[int], date], nkeys: int, nsums: int
) -> AsyncIterator[DayRows]:
    """Sum rows per day (`day_of(pos)`, non-decreasing along the rows) and report key."""
    current: date | None = None
    pos_seen = None
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for_key = 1 + nkeys
    async for page in pages:
        for row in page:
            if row[0] != pos_seen:
                pos_seen = row[0]
                day = day_of(pos_seen)
                if day != current:
                    if current is not None and groups:
                        yield current, _day_rows(groups, nkeys, nsums)
                    current, groups = day, {}
            key = row[1:for_key]
            same = groups.get(key)
            if same is None:
                groups[key] = [row]
            else:
                same.append(row)
    if groups and current is not None:
        yield current, _day_rows(groups, nkeys, nsums)


async def _through_day(store: Connections, site: Site) -> int | None:
    rows = await store.fetchall(
        "SELECT through_day FROM rollup_days WHERE site_id = ? AND timezone = ?", (site.id, site.timezone)
    )
    return int(rows[0][0]) if rows else None


async def export_rows(
    store: Connections, site: Site, read: RollupRead, first: date, last: date
) -> AsyncIterator[DayRows]:
    """See `Store.export_rows`."""
    table = _check(await _table(store, read.rollup), read)
    nkeys, nsums = len(read.keys), len(read.sums)
    rest = first  # the first day the buckets answer
    through = await _through_day(store, site)
    tier = await _table(store, f"{read.rollup}_day") if through is not None else None
    if through is not None and tier is not None and first <= last:
        lo, hi = day_number(first), min(day_number(last), through)
        if lo <= hi:
            pages = _scan(store, _check(tier, read), read, "day", site.id, lo, hi + 1)
            async for item in _by_day(pages, lambda n: EPOCH + timedelta(days=n), nkeys, nsums):
                yield item
            rest = EPOCH + timedelta(days=hi + 1)
    if rest > last:
        return
    tz = dates.zone(site.timezone)
    # starts[i]: the first bucket of local day rest + i; the last entry ends the range.
    starts = [
        int(dates.local_midnight(rest + timedelta(days=i), tz).timestamp()) // BUCKET
        for i in range((last - rest).days + 2)
    ]
    index = [0]

    def day_of(bucket: int) -> date:
        i = index[0]
        while bucket >= starts[i + 1]:  # buckets come in order: walk forward
            i += 1
        index[0] = i
        return rest + timedelta(days=i)

    pages = _scan(store, table, read, "bucket", site.id, starts[0], starts[-1])
    async for item in _by_day(pages, day_of, nkeys, nsums):
        yield item


async def data_range(store: Connections, site: Site) -> tuple[date, date] | None:
    """See `Store.data_range`: the 15-minute totals have a row wherever any rollup has one."""
    rows = await store.fetchall("SELECT MIN(bucket), MAX(bucket) FROM rollup_totals WHERE site_id = ?", (site.id,))
    if not rows or rows[0][0] is None:
        return None
    tz = dates.zone(site.timezone)

    def local(bucket: int) -> date:
        return datetime.fromtimestamp(bucket * BUCKET, UTC).astimezone(tz).date()

    return local(rows[0][0]), local(rows[0][1])


# -- imports ---------------------------------------------------------------------


async def _imported_tables(conn: aiosqlite.Connection) -> dict[str, frozenset[str]]:
    """Every `imported_<report>` table and its columns."""
    async with conn.execute(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p"
        " WHERE m.type = 'table' AND m.name LIKE 'imported\\_%' ESCAPE '\\'"
    ) as cur:
        out: dict[str, set[str]] = {}
        for table, column in await cur.fetchall():
            out.setdefault(table, set()).add(column)
    return {t: frozenset(c) for t, c in out.items()}


# A staged import's `rows` is STAGED: readers (history.py, the lists below) skip it until the swap.
STAGED = -1
CHUNK = 2000  # imported rows per write transaction: the writer is free for ingest between chunks


async def import_rows(store: Connections, site: Site, source: str, parts: Iterable[ImportPart]) -> ImportRecord:
    """See `Store.import_rows`.

    Rows are staged in chunks of about `CHUNK` rows, one short write transaction
    each, under an import whose `rows` is `STAGED`, which every reader skips. The
    files are read and parsed between chunks, outside any transaction. One last
    short transaction swaps the import in: older imports' rows on the days it
    covers go, and its span and row count are set, which makes it visible. A
    failure (a bad cell, a full disk) deletes the staged rows, chunk by chunk, and
    raises again: readers never see part of an import.
    """
    created = int(store.clock.now())

    async def begin(conn: aiosqlite.Connection) -> tuple[int, dict[str, frozenset[str]]]:
        cur = await conn.execute(
            "INSERT INTO site_imports (site_id, created_at, source, rows) VALUES (?, ?, ?, ?)",
            (site.id, created, source, STAGED),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid, await _imported_tables(conn)

    import_id, tables = await store.write(begin)
    spans: dict[str, tuple[date, date]] = {}
    total = 0
    try:
        for part in parts:
            table = f"imported_{part.report}"
            if table not in tables:
                raise ValueError(f"no table for imported {part.report}")
            unknown = [c for c in part.columns if c not in tables[table] or c in ("site_id", "import_id", "date")]
            if unknown:
                raise ValueError(f"{table} has no column {', '.join(unknown)}")
            cols = ("site_id", "import_id", "date", *part.columns)
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})"
            span = list(part.span or ())
            pending: list[tuple[Any, ...]] = []
            batches = iter(part.batches)
            # Reading and parsing a batch is CPU work: in a worker thread, so the event loop
            # (answering beacons) gets the interpreter back every switch interval, not per batch.
            while (batch := await asyncio.to_thread(next, batches, None)) is not None:
                if not batch:
                    continue
                pending += [(site.id, import_id, r[0].isoformat(), *r[1:]) for r in batch]
                days = [r[0] for r in batch]
                span += [min(days), max(days)]
                total += len(batch)
                if len(pending) >= CHUNK:
                    await _stage(store, sql, pending)
                    pending = []
            if pending:
                await _stage(store, sql, pending)
            if span:
                lo, hi = min(span), max(span)
                old = spans.get(table)
                spans[table] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)
    except BaseException:
        await _drop_staged(store, import_id, sorted(tables))
        raise

    first = min((lo for lo, _ in spans.values()), default=None)
    last = max((hi for _, hi in spans.values()), default=None)

    async def swap(conn: aiosqlite.Connection) -> None:
        # A site removed while its import staged (or before) takes no history: its id is dead.
        if await removed_sites(conn, {site.id}):
            raise ValueError(f"{site.domain} was removed; its import is dropped")
        async with conn.execute(
            "SELECT id FROM site_imports WHERE site_id = ? AND id <> ? AND rows >= 0", (site.id, import_id)
        ) as cur:
            older = [row[0] for row in await cur.fetchall()]
        if older:
            marks = ",".join("?" * len(older))
            for table, (lo, hi) in spans.items():
                # The newest import wins for the days its file covers. By import id: the cost is
                # the older imports' rows, never a walk over the million rows just staged.
                await conn.execute(
                    f"DELETE FROM {table} WHERE import_id IN ({marks}) AND date BETWEEN ? AND ?",
                    (*older, lo.isoformat(), hi.isoformat()),
                )
        await conn.execute(
            "UPDATE site_imports SET first_day = ?, last_day = ?, rows = ? WHERE id = ?",
            (first.isoformat() if first else None, last.isoformat() if last else None, total, import_id),
        )
        # Forget earlier imports whose every row was replaced (never another import still staging).
        unused = " AND ".join(f"NOT EXISTS (SELECT 1 FROM {t} WHERE import_id = i.id)" for t in sorted(tables))
        await conn.execute(
            "DELETE FROM site_imports WHERE id IN (SELECT id FROM site_imports i WHERE i.site_id = ? AND i.id <> ?"
            f" AND i.rows >= 0{' AND ' + unused if unused else ''})",
            (site.id, import_id),
        )

    try:
        await store.write(swap)
    except BaseException:
        await _drop_staged(store, import_id, sorted(tables))
        raise
    return ImportRecord(import_id, created, source, first, last, total)


async def _stage(store: Connections, sql: str, rows: list[tuple[Any, ...]]) -> None:
    async def job(conn: aiosqlite.Connection) -> None:
        await conn.executemany(sql, rows)

    await store.write(job)


async def _drop_staged(store: Connections, import_id: int, tables: list[str]) -> None:
    """Delete a staged import's rows in chunks (each a short transaction), then the import itself."""

    async def chunk(conn: aiosqlite.Connection) -> int:
        deleted = 0
        for table in tables:
            cur = await conn.execute(
                f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE import_id = ? LIMIT ?)",
                (import_id, CHUNK - deleted),
            )
            deleted += cur.rowcount
            if deleted >= CHUNK:
                break
        if deleted < CHUNK:
            await conn.execute("DELETE FROM site_imports WHERE id = ?", (import_id,))
        return deleted

    while await store.write(chunk) >= CHUNK:
        pass


async def drop_abandoned(store: Connections, older_than: int) -> int:
    """Delete imports still staged since before `older_than` (a process died mid-import); returns how many."""
    rows = await store.fetchall("SELECT id FROM site_imports WHERE rows < 0 AND created_at < ?", (older_than,))
    if rows:
        tables = sorted(await store.write(_imported_tables, transaction=False))
        for (import_id,) in rows:
            await _drop_staged(store, import_id, tables)
    return len(rows)


def _record(row: tuple[Any, ...]) -> ImportRecord:
    id_, created, source, first, last, rows = row
    return ImportRecord(
        id_, created, source, date.fromisoformat(first) if first else None, date.fromisoformat(last) if last else None,
        rows,
    )  # fmt: skip


async def list_imports(store: Connections, site_id: int) -> list[ImportRecord]:
    """See `Store.list_imports`."""
    rows = await store.fetchall(
        "SELECT id, created_at, source, first_day, last_day, rows FROM site_imports WHERE site_id = ? AND rows >= 0"
        " ORDER BY id DESC",
        (site_id,),
    )
    return [_record(r) for r in rows]


async def remove_imports(store: Connections, site_id: int, import_id: int | None = None) -> int:
    """See `Store.remove_imports`. The imported rows go with their import (foreign keys cascade)."""

    async def job(conn: aiosqlite.Connection) -> int:
        # An import still staging is its importer's to finish or drop.
        sql, params = "DELETE FROM site_imports WHERE site_id = ? AND rows >= 0", [site_id]
        if import_id is not None:
            sql, params = sql + " AND id = ?", [site_id, import_id]
        cur = await conn.execute(sql, params)
        return cur.rowcount

    return await store.write(job)
