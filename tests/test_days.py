"""The daily rollup tier (analytics/store/sqlite/days.py): settled local days summed once, rebuilt
when the zone changes, and the SQL offset of a zone across a clock change."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from analytics.model import Event, SessionAttrs, Site
from analytics.stats.dates import local_day
from analytics.store.sqlite import days
from analytics.store.sqlite.store import SQLiteStore

BERLIN = Site(1, "blog.example.org", "Europe/Berlin")


def utc(month: int, day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=UTC)


def pageview(when: datetime, visitor: int) -> Event:
    ts = int(when.timestamp())
    return Event(site_id=1, ts=ts, day=local_day(ts, BERLIN.timezone), visitor_id=visitor, prev_visitor_id=None,
                 name="pageview", hostname="blog.example.org", path="/", attrs=SessionAttrs())  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "analytics.db", batch_ms=0)
    await s.open()
    # 23:30 local on Mar 27 (CET) and Mar 29 (CEST), 00:30 local on Mar 29 (CET, before the change).
    for when, who in ((utc(3, 27, 22, 30), 1), (utc(3, 28, 23, 30), 2), (utc(3, 29, 21, 30), 3), (utc(4, 4, 9), 4)):
        await s.submit([pageview(when, who)])
    yield s
    await s.close()


def test_day_number() -> None:
    assert [days.day_number(d) for d in (date(1970, 1, 1), date(1970, 1, 2), date(2026, 3, 2))] == [0, 1, 20514]


def test_local_offset_sql_follows_the_change_to_the_second() -> None:
    sql = days.local_offset_sql("Europe/Berlin", utc(3, 28, 0), utc(3, 30, 0), "?")
    change = int(utc(3, 29, 1).timestamp())
    conn = sqlite3.connect(":memory:")
    offsets = [conn.execute(f"SELECT {sql}", [change + d] * sql.count("?")).fetchone()[0] for d in (-1, 0, 1)]
    conn.close()
    assert offsets == [3600, 7200, 7200]
    assert days.local_offset_sql("Asia/Kolkata", utc(3, 1, 0), utc(3, 2, 0), "ts") == "19800"  # no change: a number


async def test_roll_sums_each_settled_local_day_once(store: SQLiteStore) -> None:
    now = utc(4, 6, 12).timestamp()  # Apr 6: days up to Apr 3 are settled
    assert await store.roll_days(now, [BERLIN]) == 8  # Mar 27 .. Apr 3
    rows = await store.fetchall("SELECT day, visitors, visits FROM rollup_totals_day WHERE site_id = 1 ORDER BY day")
    # Mar 27 one visit; Mar 29 two (00:30 CET and 23:30 CEST); Apr 4 is not settled yet.
    assert rows == [(days.day_number(date(2026, 3, 27)), 1, 1), (days.day_number(date(2026, 3, 29)), 2, 2)]
    assert await store.fetchall("SELECT timezone, through_day FROM rollup_days") == [
        ("Europe/Berlin", days.day_number(date(2026, 4, 3)))
    ]
    assert await store.roll_days(now, [BERLIN]) == 0  # nothing new: nothing summed twice
    assert await store.roll_days(utc(4, 8, 12).timestamp(), [BERLIN]) == 2  # Apr 4 and 5
    assert await store.fetchall("SELECT SUM(visits) FROM rollup_totals_day") == [(4,)]


async def test_a_new_time_zone_rebuilds_the_tier(store: SQLiteStore) -> None:
    now = utc(4, 6, 12).timestamp()
    await store.roll_days(now, [BERLIN])
    utc_site = Site(1, "blog.example.org", "UTC")
    assert await store.roll_days(now, [utc_site]) == 8  # Mar 27 .. Apr 3 in UTC, from scratch
    rows = await store.fetchall("SELECT day, visits FROM rollup_totals_day WHERE site_id = 1 ORDER BY day")
    assert rows == [(days.day_number(date(2026, 3, d)), 1) for d in (27, 28, 29)]  # each on its UTC day
    assert await store.fetchall("SELECT timezone FROM rollup_days") == [("UTC",)]


async def test_a_site_without_data_is_skipped_and_drop_forgets(store: SQLiteStore) -> None:
    now = utc(4, 6, 12).timestamp()
    assert await store.roll_days(now, [Site(2, "empty.example.org", "UTC")]) == 0
    await store.roll_days(now, [BERLIN])
    await store.write(lambda conn: days.drop(conn, 1))
    assert await store.fetchall("SELECT COUNT(*) FROM rollup_totals_day") == [(0,)]
    assert await store.fetchall("SELECT COUNT(*) FROM rollup_days") == [(0,)]
    assert await store.roll_days(now, [BERLIN]) == 8  # rebuilt from the buckets
