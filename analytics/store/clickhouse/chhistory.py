"""History in and out of ClickHouse: export reports summed per local day, imported rows stored.

Export reads a report's rollup over a month of 15-minute buckets at a time,
grouped by bucket and report key in ClickHouse; Python files each bucket under
the local day whose midnights it falls between (as the SQLite backend does),
sums per day and key, and hands each day over sorted by key.

Import has no multi-table transaction to lean on: the rows go in under a new
import id, and only when every part was read is the import recorded in
`site_imports` and the older imports' rows on the covered days deleted. A part
that raises deletes what this import wrote so far, then raises again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from analytics.catalog import ROLLUP_KEYS, SESSION_ATTRS
from analytics.model import BUCKET, Event, SessionAttrs, Site
from analytics.stats import dates
from analytics.store.base import DayRows, ImportPart, ImportRecord, RollupRead
from analytics.store.clickhouse.chclient import Connection
from analytics.store.clickhouse.ddl import IMPORTED
from analytics.visits.rollups import COUNTERS

CHUNK_DAYS = 31


def _check(read: RollupRead) -> None:
    if read.rollup not in ROLLUP_KEYS:
        raise ValueError(f"no rollup table {read.rollup}")
    unknown = [k for k in read.keys if k not in ROLLUP_KEYS[read.rollup]]
    unknown += [s for s in read.sums if s not in COUNTERS[read.rollup]]
    if unknown:
        raise ValueError(f"{read.rollup} has no key or counter {', '.join(unknown)}")


async def export_rows(
    conn: Connection, site: Site, read: RollupRead, first: date, last: date
) -> AsyncIterator[DayRows]:
    """See `Store.export_rows`."""
    _check(read)
    tz = dates.zone(site.timezone)
    nkeys = len(read.keys)
    select = ", ".join(["bucket", *read.keys, *(f"sum({s})" for s in read.sums)])
    group = ", ".join(["bucket", *read.keys])
    sql = (
        f"SELECT {select} FROM {read.rollup} WHERE site_id = {{site:UInt32}} AND bucket >= {{lo:Int64}}"
        f" AND bucket < {{hi:Int64}} GROUP BY {group} ORDER BY bucket"
    )
    day = first
    while day <= last:
        end = min(last, day + timedelta(days=CHUNK_DAYS - 1))
        starts = [int(dates.local_midnight(day + timedelta(days=i), tz).timestamp()) // BUCKET
                  for i in range((end - day).days + 2)]  # fmt: skip
        rows = await conn.rows(sql, {"site": site.id, "lo": starts[0], "hi": starts[-1]})
        by_day: dict[int, dict[tuple[Any, ...], list[int]]] = {}
        i = 0
        for row in rows:
            while row[0] >= starts[i + 1]:
                i += 1
            key = tuple(row[1 : 1 + nkeys])
            sums = by_day.setdefault(i, {}).get(key)
            if sums is None:
                by_day[i][key] = [int(v) for v in row[1 + nkeys :]]
            else:
                for n, v in enumerate(row[1 + nkeys :]):
                    sums[n] += int(v)
        for i in sorted(by_day):
            yield day + timedelta(days=i), [(*k, *v) for k, v in sorted(by_day[i].items())]
        day = end + timedelta(days=1)


async def data_range(conn: Connection, site: Site) -> tuple[date, date] | None:
    """See `Store.data_range`: the totals have a bucket wherever any rollup has one."""
    rows = await conn.rows(
        "SELECT count(), min(bucket), max(bucket) FROM rollup_totals WHERE site_id = {site:UInt32}", {"site": site.id}
    )
    if not rows or not rows[0][0]:
        return None
    tz = dates.zone(site.timezone)

    def local(bucket: int) -> date:
        return datetime.fromtimestamp(bucket * BUCKET, UTC).astimezone(tz).date()

    return local(int(rows[0][1])), local(int(rows[0][2]))


async def import_rows(conn: Connection, now: int, site: Site, source: str, parts: Iterable[ImportPart]) -> ImportRecord:
    """See `Store.import_rows`."""
    rows = await conn.rows("SELECT max(id) FROM site_imports")
    import_id = int(rows[0][0] or 0) + 1 if rows else 1
    first: date | None = None
    last: date | None = None
    total = 0
    spans: list[tuple[str, date, date]] = []
    try:
        for part in parts:
            table = f"imported_{part.report}"
            if table not in IMPORTED:
                raise ValueError(f"no table for imported {part.report}")
            texts, ints = IMPORTED[table]
            unknown = [c for c in part.columns if c not in texts and c not in ints]
            if unknown:
                raise ValueError(f"{table} has no column {', '.join(unknown)}")
            cols = ("site_id", "import_id", "date", *part.columns)
            span = list(part.span or ())
            for batch in part.batches:
                if not batch:
                    continue
                await conn.insert(table, cols, [(site.id, import_id, *r) for r in batch])
                days = [r[0] for r in batch]
                span += [min(days), max(days)]
                total += len(batch)
            if span:
                lo, hi = min(span), max(span)
                spans.append((table, lo, hi))
                first = lo if first is None else min(first, lo)
                last = hi if last is None else max(last, hi)
    except BaseException:
        await _delete_import(conn, site.id, import_id)
        raise
    # The newest import wins for the days its files cover.
    for table, lo, hi in spans:
        await conn.command(
            f"DELETE FROM {table} WHERE site_id = {{site:UInt32}} AND import_id != {{id:UInt64}}"
            " AND date BETWEEN {lo:Date32} AND {hi:Date32}",
            {"site": site.id, "id": import_id, "lo": lo, "hi": hi},
        )
    await conn.insert(
        "site_imports", ("id", "site_id", "created_at", "source", "first_day", "last_day", "rows"),
        [(import_id, site.id, now, source, first, last, total)],
    )  # fmt: skip
    # Forget earlier imports whose every row was replaced.
    counts = " UNION ALL ".join(
        f"SELECT import_id FROM {t} WHERE site_id = {{site:UInt32}} GROUP BY import_id" for t in IMPORTED
    )
    have = {int(r[0]) for r in await conn.rows(counts, {"site": site.id})}
    for (old,) in await conn.rows(
        "SELECT id FROM site_imports WHERE site_id = {site:UInt32} AND id != {id:UInt64}",
        {"site": site.id, "id": import_id},
    ):
        if int(old) not in have:
            await conn.command("DELETE FROM site_imports WHERE id = {id:UInt64}", {"id": int(old)})
    return ImportRecord(import_id, now, source, first, last, total)


async def _delete_import(conn: Connection, site_id: int, import_id: int) -> None:
    for table in IMPORTED:
        await conn.command(
            f"DELETE FROM {table} WHERE site_id = {{site:UInt32}} AND import_id = {{id:UInt64}}",
            {"site": site_id, "id": import_id},
        )


async def list_imports(conn: Connection, site_id: int) -> list[ImportRecord]:
    """See `Store.list_imports`."""
    rows = await conn.rows(
        "SELECT id, created_at, source, first_day, last_day, rows FROM site_imports WHERE site_id = {site:UInt32}"
        " ORDER BY id DESC",
        {"site": site_id},
    )
    return [ImportRecord(int(i), int(c), s, f, la, int(n)) for i, c, s, f, la, n in rows]


async def remove_imports(conn: Connection, site_id: int, import_id: int | None = None) -> int:
    """See `Store.remove_imports`."""
    records = [r for r in await list_imports(conn, site_id) if import_id is None or r.id == import_id]
    for r in records:
        await _delete_import(conn, site_id, r.id)
        await conn.command("DELETE FROM site_imports WHERE id = {id:UInt64}", {"id": r.id})
    return len(records)


async def sites_with_imports(conn: Connection, site_ids: set[int]) -> set[int]:
    """Which of the sites hold imported history: a query for the others reads no imported table."""
    if not site_ids:
        return set()
    rows = await conn.rows(
        "SELECT DISTINCT site_id FROM site_imports WHERE site_id IN {ids:Array(UInt32)}", {"ids": sorted(site_ids)}
    )
    return {int(r[0]) for r in rows}


async def imported_range(conn: Connection, site_id: int) -> tuple[date, date] | None:
    """See `Store.imported_range`."""
    rows = await conn.rows(
        "SELECT min(first_day), max(last_day) FROM site_imports"
        " WHERE site_id = {site:UInt32} AND first_day IS NOT NULL",
        {"site": site_id},
    )
    if not rows or rows[0][0] is None:
        return None
    return rows[0][0], rows[0][1]


async def replay(conn: Connection, site: Site, page: int = 5000) -> AsyncIterator[list[Event]]:
    """See `Store.replay`: events in (ts, visit) order, with their visit's attributes, in pages.

    A page ends after a whole (ts, visit) group (WITH TIES), so the next continues after it. Within one
    second of one visit ClickHouse keeps no arrival order: such events replay in the order read.
    Engagements carry their page's word count and the site's read thresholds of today, so the
    target decides reads again (visits.reading).
    """
    tz = dates.zone(site.timezone)
    attrs = ", ".join(f"s.{a}" for a in SESSION_ATTRS)
    sql = (
        "SELECT e.ts, e.session_id, e.visitor_id, e.name, e.hostname, e.page, e.props, e.scroll_depth, e.engaged_ms,"
        f" e.interactive, e.revenue, e.currency, e.words, {attrs} FROM events AS e INNER JOIN"
        " (SELECT * FROM sessions FINAL WHERE site_id = {site:UInt32}) AS s ON s.id = e.session_id"
        " WHERE e.site_id = {site:UInt32} AND (e.ts, e.session_id) > ({ts:Int64}, {sid:UInt64})"
        " ORDER BY e.ts, e.session_id LIMIT {n:UInt32} WITH TIES"
    )
    after = (-(2**62), 0)
    while True:
        rows = await conn.rows(sql, {"site": site.id, "ts": after[0], "sid": after[1], "n": page})
        if not rows:
            return
        yield [
            Event(
                site.id,
                r[0],
                datetime.fromtimestamp(r[0], UTC).astimezone(tz).date().toordinal(),
                r[2],
                None,
                r[3],
                r[4],
                r[5],
                SessionAttrs(**dict(zip(SESSION_ATTRS, r[13:], strict=True))),
                tuple(r[6].items()),
                bool(r[9]),
                r[7],
                r[8],
                (r[10], r[11]) if r[10] is not None else None,
                words=r[12],
                read_scroll=site.read_scroll,
                read_share=site.read_share,
            )  # fmt: skip
            for r in rows
        ]
        if len(rows) < page:
            return
        after = (rows[-1][0], rows[-1][1])
