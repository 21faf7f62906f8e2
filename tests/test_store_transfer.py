"""The store's history operations (analytics/store/sqlite/transfer.py) on real SQLite files:
`export_rows` from the daily tier and the buckets, paged, without holding a reader;
`import_rows` all or nothing with per-report replacement; the import list; and the
generic report a catalog dimension gets.

Fixture, blog.example.org in Europe/Berlin, whose clocks go forward on Sunday
March 29, 2026 at 01:00 UTC (02:00 CET -> 03:00 CEST). Times are UTC.
  A  Mar 27 10:00  /a from LinkedIn -> 10:02 /b -> Signup
  B  Mar 27 22:30  /a  (23:30 CET: Mar 27)
  C  Mar 28 22:30  /b  (23:30 CET: Mar 28, the evening before the change)
  D  Mar 28 23:30  /c  (00:30 CET: Mar 29)
  E  Mar 29 21:30  /a  (23:30 CEST: Mar 29)
  F  Mar 29 22:30  /  from Google (00:30 CEST: Mar 30)
  G  Apr  4 09:00  /a  (not settled when the tier is summed on Apr 6)
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from conftest import Instance

from analytics import catalog
from analytics.store.base import ImportPart, ImportRecord, RollupRead
from analytics.store.sqlite import transfer
from analytics.store.sqlite.store import SQLiteStore
from analytics.transfer import layout
from analytics.transfer.imports import columns

HOST = "https://blog.example.org"
UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
]  # fmt: skip
FIRST, LAST = date(2026, 3, 26), date(2026, 4, 5)


def utc(month: int, day: int, hh: int, mm: int) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=UTC)


async def hit(inst: Instance, when: datetime, who: int, name: str, path: str, ref: str | None = None) -> None:
    inst.clock.set(when)
    body = {"n": name, "u": HOST + path, "d": "blog.example.org", "r": ref}
    r = await inst.send(body, ip=f"198.51.100.{who}", ua=UAS[who % 2])
    assert r.status_code == 202 and "x-analytics-dropped" not in r.headers, r.text


@pytest.fixture
async def berlin(instance: Instance) -> Any:
    site = await instance.accounts.sites.add("blog.example.org", "Europe/Berlin")
    await hit(instance, utc(3, 27, 10, 0), 1, "pageview", "/a", "https://www.linkedin.com/")
    await hit(instance, utc(3, 27, 10, 2), 1, "pageview", "/b")
    await hit(instance, utc(3, 27, 10, 3), 1, "Signup", "/b")
    await hit(instance, utc(3, 27, 22, 30), 2, "pageview", "/a")
    await hit(instance, utc(3, 28, 22, 30), 3, "pageview", "/b")
    await hit(instance, utc(3, 28, 23, 30), 4, "pageview", "/c")
    await hit(instance, utc(3, 29, 21, 30), 5, "pageview", "/a")
    await hit(instance, utc(3, 29, 22, 30), 6, "pageview", "/", "https://www.google.com/")
    await hit(instance, utc(4, 4, 9, 0), 7, "pageview", "/a")
    instance.clock.set(utc(4, 6, 12, 0))
    return site


async def everything(store: Any, site: Any) -> list[tuple[str, date, list[tuple[Any, ...]]]]:
    return [
        (report.name, day, rows)
        for report in layout.REPORTS
        async for day, rows in store.export_rows(site, report.read, FIRST, LAST)
    ]


async def test_rows_per_local_day(instance: Instance, berlin: Any) -> None:
    read = layout.REPORTS_BY_NAME["pages"].read
    got = [(d, rows) async for d, rows in instance.store.export_rows(berlin, read, FIRST, LAST)]
    # Keys are text, sorted; sums in `read.sums` order: visits, visitors, pageviews, scroll, time (ms), time visits.
    assert got == [
        (date(2026, 3, 27), [("blog.example.org", "/a", 2, 2, 2, 0, 0, 0, 0), ("blog.example.org", "/b", 1, 1, 1, 0, 0, 0, 0)]),
        (date(2026, 3, 28), [("blog.example.org", "/b", 1, 1, 1, 0, 0, 0, 0)]),
        (date(2026, 3, 29), [("blog.example.org", "/a", 1, 1, 1, 0, 0, 0, 0), ("blog.example.org", "/c", 1, 1, 1, 0, 0, 0, 0)]),
        (date(2026, 3, 30), [("blog.example.org", "/", 1, 1, 1, 0, 0, 0, 0)]),
        (date(2026, 4, 4), [("blog.example.org", "/a", 1, 1, 1, 0, 0, 0, 0)]),
    ]  # fmt: skip
    # Sources drop the channel from the table's key and carry the per-source visitor credit.
    read = RollupRead("rollup_sources", ("source",), ("v_source", "visits"))
    got = [(d, rows) async for d, rows in instance.store.export_rows(berlin, read, FIRST, date(2026, 3, 30))]
    assert got == [
        (date(2026, 3, 27), [("Direct / None", 1, 1), ("LinkedIn", 1, 1)]),
        (date(2026, 3, 28), [("Direct / None", 1, 1)]),
        (date(2026, 3, 29), [("Direct / None", 2, 2)]),
        (date(2026, 3, 30), [("Google", 1, 1)]),
    ]


async def test_daily_tier_gives_the_same_rows_across_a_clock_change(instance: Instance, berlin: Any) -> None:
    before = await everything(instance.store, berlin)
    assert len(before) > 20
    await instance.store.roll_days(instance.clock.now(), await instance.accounts.sites.all())
    through = await instance.store.fetchall("SELECT through_day FROM rollup_days WHERE site_id = ?", (berlin.id,))
    assert date.fromordinal(date(1970, 1, 1).toordinal() + through[0][0]) == date(2026, 4, 3)
    assert await everything(instance.store, berlin) == before

    # The settled days now come from the tier alone: without their buckets, nothing changes.
    async def drop_buckets(conn: Any) -> None:
        end = int(datetime(2026, 4, 2, 22, 0, tzinfo=UTC).timestamp()) // 900  # Apr 4 00:00 CEST
        for rollup in catalog.ROLLUPS:
            await conn.execute(f"DELETE FROM {rollup.table} WHERE site_id = ? AND bucket < ?", (berlin.id, end))

    await instance.store.write(drop_buckets)
    assert await everything(instance.store, berlin) == before


async def test_pages_continue_after_the_last_key(
    instance: Instance, berlin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = await everything(instance.store, berlin)
    monkeypatch.setattr(transfer, "PAGE", 1)
    assert await everything(instance.store, berlin) == whole
    await instance.store.roll_days(instance.clock.now(), await instance.accounts.sites.all())
    monkeypatch.setattr(transfer, "PAGE", 2)
    assert await everything(instance.store, berlin) == whole


async def test_no_reader_is_held_between_days(instance: Instance, berlin: Any) -> None:
    store = SQLiteStore(instance.store.path, readers=1)
    await store.open()
    try:
        rows = store.export_rows(berlin, layout.REPORTS_BY_NAME["pages"].read, FIRST, LAST)
        day, _ = await anext(rows)
        assert day == date(2026, 3, 27)
        # The only reader is free while the caller works on a day.
        assert await asyncio.wait_for(store.data_range(berlin), 5) == (date(2026, 3, 27), date(2026, 4, 4))
        assert len([d async for d, _ in rows]) == 4
    finally:
        await store.close()


async def test_empty_ranges_and_unknown_columns(instance: Instance, berlin: Any) -> None:
    empty = await instance.accounts.sites.add("empty.example.org", "UTC")
    for report in layout.REPORTS:  # every report reads columns the schema has
        assert [x async for x in instance.store.export_rows(empty, report.read, FIRST, LAST)] == []
    read = layout.REPORTS_BY_NAME["visitors"].read
    assert [x async for x in instance.store.export_rows(berlin, read, LAST, FIRST)] == []
    for bad in (RollupRead("rollup_nope", (), ("visitors",)), RollupRead("rollup_pages", ("page; --",), ())):
        with pytest.raises(ValueError):
            [x async for x in instance.store.export_rows(berlin, bad, FIRST, LAST)]


# -- imports ------------------------------------------------------------------------


def part(report: str, rows: list[tuple[Any, ...]], span: tuple[date, date] | None = None) -> ImportPart:
    """One report's rows, in batches of two."""
    batches = [rows[i : i + 2] for i in range(0, len(rows), 2)]
    return ImportPart(report, columns(layout.REPORTS_BY_NAME[report]), batches, span)


def visitors(day: int, n: int) -> tuple[Any, ...]:
    return (date(2026, 1, day), n, 2 * n, 0, n, 10 * n)  # visitors, pageviews, bounces, visits, visit_duration


async def imported(store: Any, table: str) -> list[tuple[Any, ...]]:
    return await store.fetchall(f"SELECT import_id, date, visitors FROM {table} ORDER BY date, import_id")


async def test_import_replaces_the_days_each_part_covers(instance: Instance, site: Any) -> None:
    store = instance.store
    instance.clock.set(utc(3, 1, 12, 0))
    first = await store.import_rows(site, "a.zip", [
        part("visitors", [visitors(10, 5), visitors(11, 6), visitors(20, 7)], (date(2026, 1, 1), date(2026, 1, 31))),
        part("devices", [(date(2026, 1, 10), "Desktop", 5, 5, 0, 0, 10)]),
    ])  # fmt: skip
    created = int(utc(3, 1, 12, 0).timestamp())
    assert first == ImportRecord(first.id, created, "a.zip", date(2026, 1, 1), date(2026, 1, 31), 4)
    assert await store.imported_range(site.id) == (date(2026, 1, 1), date(2026, 1, 31))

    # The second import covers Jan 11-12 of visitors only: Jan 11 is replaced, devices stay.
    second = await store.import_rows(site, "b.zip", [part("visitors", [visitors(12, 8), visitors(11, 9)])])
    assert (second.first_day, second.last_day, second.rows) == (date(2026, 1, 11), date(2026, 1, 12), 2)
    assert await imported(store, "imported_visitors") == [
        (first.id, "2026-01-10", 5), (second.id, "2026-01-11", 9), (second.id, "2026-01-12", 8),
        (first.id, "2026-01-20", 7),
    ]  # fmt: skip
    assert await imported(store, "imported_devices") == [(first.id, "2026-01-10", 5)]
    assert [r.source for r in await store.list_imports(site.id)] == ["b.zip", "a.zip"]

    # A third import covering all of January replaces the first one's visitors; devices keep it alive.
    third = await store.import_rows(site, "c.zip", [part("visitors", [], (date(2026, 1, 1), date(2026, 1, 31)))])
    assert third.rows == 0 and await imported(store, "imported_visitors") == []
    assert [r.source for r in await store.list_imports(site.id)] == ["c.zip", "a.zip"]  # b.zip has no rows left

    assert await store.remove_imports(site.id, first.id) == 1
    assert await imported(store, "imported_devices") == []
    assert await store.remove_imports(site.id) == 1
    assert await store.list_imports(site.id) == [] and await store.imported_range(site.id) is None


async def test_import_is_all_or_nothing(instance: Instance, site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store = instance.store
    monkeypatch.setattr(transfer, "CHUNK", 1)  # every row is staged (committed, unseen) before the failure

    def failing() -> Any:
        yield [visitors(10, 5)]
        raise RuntimeError("line 3 is bad")

    parts = [part("devices", [(date(2026, 1, 10), "Desktop", 5, 5, 0, 0, 10)]), part("visitors", [])]
    parts[1] = ImportPart("visitors", parts[1].columns, failing())
    with pytest.raises(RuntimeError, match="line 3 is bad"):
        await store.import_rows(site, "bad.zip", parts)
    assert await imported(store, "imported_devices") == []
    assert await imported(store, "imported_visitors") == [] and await store.list_imports(site.id) == []
    for bad in (ImportPart("nope", ("x",), []), ImportPart("visitors", ("visitors", "site_id"), [])):
        with pytest.raises(ValueError):
            await store.import_rows(site, "bad.zip", [bad])
    assert await store.list_imports(site.id) == []


async def test_an_import_for_a_removed_site_lands_nowhere(instance: Instance, site: Any) -> None:
    store = instance.store
    await store.delete_site(site.id)  # as `sites remove` while an upload is still staging
    with pytest.raises(ValueError, match="blog.example.org was removed; its import is dropped"):
        await store.import_rows(site, "late.zip", [part("visitors", [visitors(10, 5), visitors(11, 6)])])
    assert await imported(store, "imported_visitors") == [] and await store.list_imports(site.id) == []
    assert await store.fetchall("SELECT COUNT(*) FROM site_imports") == [(0,)]


# -- the layout and the catalog -------------------------------------------------------


def test_catalog_exports_match_the_layout() -> None:
    for d in catalog.DIMENSIONS:
        if d.export is not None:
            report = layout.REPORTS_BY_NAME[d.export[0]]
            column = next(c for c in report.columns if c.name == d.export[1])
            assert (column.kind, report.rollup, column.source) == ("key", d.rollup, d.column), d.name


LANGUAGE = catalog.BY_NAME["visit:language"]


def test_generic_report() -> None:
    report = layout.generic_report(LANGUAGE, ("language",))
    assert (report.file, report.rollup) == ("imported_languages.csv", "rollup_languages")
    assert report.header == ("date", "language", "visitors", "visits", "visit_duration", "bounces", "pageviews")
    assert report.read == RollupRead(
        "rollup_languages", ("language",), ("visitors", "visits", "duration", "bounces", "pageviews")
    )
    assert columns(report) == ("language", "visitors", "visits", "visit_duration", "bounces", "pageviews")
    with pytest.raises(ValueError, match="keyed by its column alone"):
        layout.generic_report(LANGUAGE, ("language", "region"))


async def test_generic_report_through_the_store(instance: Instance, site: Any) -> None:
    """visit:language's tables (migration 0008) are all the store needs: no code per report."""
    report = layout.generic_report(LANGUAGE, ("language",))

    async def migrate(conn: Any) -> None:
        # Mar 2 at 09:00 and 09:15 Zurich time, and Mar 3 at 09:00.
        bucket = int(utc(3, 2, 8, 0).timestamp()) // 900
        await conn.executemany(
            "INSERT INTO rollup_languages (site_id, bucket, language, visitors, visits, pageviews, bounces, duration)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(site.id, bucket, "de", 2, 2, 5, 1, 60), (site.id, bucket + 1, "de", 1, 1, 1, 1, 0),
             (site.id, bucket, "en", 1, 1, 2, 0, 30), (site.id, bucket + 96, "fr", 1, 1, 1, 1, 0)],
        )  # fmt: skip

    await instance.store.write(migrate)
    days = [x async for x in instance.store.export_rows(site, report.read, date(2026, 3, 1), date(2026, 3, 4))]
    assert days == [
        (date(2026, 3, 2), [("de", 3, 3, 60, 2, 6), ("en", 1, 1, 30, 0, 2)]),
        (date(2026, 3, 3), [("fr", 1, 1, 0, 1, 1)]),
    ]
    assert report.cells(days[0][1]) == [("de", 3, 3, 60, 2, 6), ("en", 1, 1, 30, 0, 2)]
    rows = [(date(2026, 1, 5), "de", 3, 3, 60, 2, 6)]
    record = await instance.store.import_rows(site, "x.zip", [ImportPart("languages", columns(report), [rows])])
    assert record.rows == 1
    assert await instance.store.fetchall("SELECT date, language, visitors FROM imported_languages") == [
        ("2026-01-05", "de", 3)
    ]


# -- an import never stalls ingest ------------------------------------------------------

DAYS = 3000  # imported days, one visitors row each: 30 chunks of 100 rows


async def test_ingest_is_answered_between_import_chunks(
    instance: Instance, site: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beacons for another site are committed and answered while an import stages its
    chunks, and no reader sees any of the import until it is swapped in whole."""
    from datetime import timedelta

    from analytics.stats.parse import parse
    from analytics.stats.run import run

    monkeypatch.setattr(transfer, "CHUNK", 100)
    store = instance.store
    await instance.accounts.sites.add("other.example.org", "UTC")
    start = date(2010, 1, 1)
    rows = [(start + timedelta(days=i), 1, 2, 0, 1, 10) for i in range(DAYS)]
    batches = [rows[i : i + 50] for i in range(0, DAYS, 50)]
    parts = [ImportPart("visitors", columns(layout.REPORTS_BY_NAME["visitors"]), batches)]
    task = asyncio.create_task(store.import_rows(site, "big.zip", parts))
    body = {"site_id": site.domain, "metrics": ["visitors"], "date_range": ["2010-01-01", "2018-12-31"],
            "include": {"imports": True}}  # fmt: skip
    answered_unseen = sent = 0  # beacons answered while the import was staging and invisible; all beacons
    for i in range(200):  # bounded: the import takes 32 short transactions
        if task.done():
            break
        beacon = {"n": "pageview", "u": f"https://other.example.org/p{i}", "d": "other.example.org"}
        r = await instance.send(beacon, ip=f"198.51.100.{i % 250}")
        assert r.status_code == 202 and "x-analytics-dropped" not in r.headers
        sent += 1
        # All or nothing: a reader sees none of the import or all of it (the swap may land any time).
        seen = (await run(store, parse(body, site, instance.clock.utcnow()))).rows[0][1]
        assert seen in ((0,), (DAYS,)), seen
        if seen == (0,) and not task.done():
            answered_unseen += 1
    record = await asyncio.wait_for(task, 60)
    assert answered_unseen >= 5, answered_unseen
    assert (record.rows, record.first_day, record.last_day) == (DAYS, start, start + timedelta(days=DAYS - 1))
    assert (await run(store, parse(body, site, instance.clock.utcnow()))).rows[0][1] == (DAYS,)
    # Every beacon answered was committed.
    assert await store.fetchall("SELECT COUNT(*) FROM events WHERE site_id <> ?", (site.id,)) == [(sent,)]


async def test_housekeeping_drops_an_import_a_dead_process_left_staging(
    instance: Instance, site: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "CHUNK", 2)  # dropped two rows per transaction
    store = instance.store
    created = int(utc(3, 1, 12, 0).timestamp())

    async def stage(conn: Any) -> None:  # what a process killed mid-import leaves behind
        cur = await conn.execute(
            "INSERT INTO site_imports (site_id, created_at, source, rows) VALUES (?, ?, 'dead.zip', ?)",
            (site.id, created, transfer.STAGED),
        )
        await conn.executemany(
            "INSERT INTO imported_visitors (site_id, import_id, date, visitors) VALUES (?, ?, ?, 1)",
            [(site.id, cur.lastrowid, f"2026-01-{d:02d}") for d in range(1, 6)],
        )

    await store.write(stage)
    assert await store.list_imports(site.id) == [] and await store.imported_range(site.id) is None
    await store.housekeeping(created + 3600, [site])  # an hour later: it may still be running
    assert await store.fetchall("SELECT COUNT(*) FROM imported_visitors") == [(5,)]
    await store.housekeeping(created + 2 * 86400, [site])  # two days later: abandoned
    assert await store.fetchall("SELECT COUNT(*) FROM imported_visitors") == [(0,)]
    assert await store.fetchall("SELECT COUNT(*) FROM site_imports") == [(0,)]


async def test_an_export_reads_per_report_not_per_day(instance: Instance, berlin: Any) -> None:
    """Twenty years cost the same statements as two weeks: each report is read over the whole
    range (a query per day once made a 20-year export 73k queries)."""
    from analytics.transfer import export

    statements: list[str] = []
    await instance.store.trace(statements.append)

    async def count(first: date, last: date) -> int:
        statements.clear()
        async for _ in export.iter_zip(instance.store, berlin, first, last):
            pass
        return len(statements)

    short = await count(FIRST, LAST)
    assert await count(date(2007, 1, 1), date(2026, 12, 31)) == short
    assert short <= 4 * len(layout.REPORTS)
    await instance.store.trace(None)
