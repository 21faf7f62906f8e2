"""The daily rollup tier on ClickHouse (analytics/store/clickhouse/chdays.py): which days it answers, what
housekeeping sums into it, and a time zone change. The numbers through it are test_stats_fixture.py's
(`chdb-rolled`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from analytics.model import Site
from analytics.stats.parse import parse
from analytics.stats.plan import plan
from analytics.store.clickhouse import chdays
from analytics.store.clickhouse.chclient import Connection, parse_url
from analytics.store.clickhouse.chstore import migrate
from analytics.store.clickhouse.chsums import Compiler

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FEB_20 = chdays.day_number(date(2026, 2, 20))


def query(dimensions: list[str] | None = None, **body: Any) -> Any:
    body.setdefault("date_range", ["2026-02-01", "2026-02-28"])
    return parse({"metrics": ["visitors", "visits"], "dimensions": dimensions or [], **body}, SITE, NOW)


def test_whole_settled_days_come_from_the_tier_and_the_rest_from_buckets() -> None:
    assert chdays.whole_days(query(), FEB_20) == (chdays.day_number(date(2026, 2, 1)), FEB_20)
    assert chdays.whole_days(query(), None) is None  # no tier yet
    assert chdays.whole_days(query(["time:hour"]), FEB_20) is None  # hours need buckets
    assert chdays.whole_days(query(date_range="24h"), FEB_20) is None  # not whole local days
    assert chdays.whole_days(query(), chdays.day_number(date(2026, 1, 20))) is None  # nothing settled in range
    # One part reads both: the tier's days and the buckets after them, each row with its local time.
    [part] = Compiler(plan(query(["visit:source"])), through_day=FEB_20).parts()
    assert [t.split(" WHERE ")[0] for t in part.sql.split(" FROM ")[2:]] == ["rollups_day", "rollups"]
    assert " UNION ALL " in part.sql and part.grouping is not None and part.grouping.keys == ("r.k1",)
    assert list(part.params.values()) == [
        "rollup_sources", 1, chdays.day_number(date(2026, 2, 1)), FEB_20 + 1,
        # Feb 21 00:00 in Zurich (23:00 UTC the day before) to Mar 1 00:00, in 15-minute buckets
        int(datetime(2026, 2, 20, 23, tzinfo=UTC).timestamp()) // 900,
        int(datetime(2026, 2, 28, 23, tzinfo=UTC).timestamp()) // 900,
    ]  # fmt: skip


async def test_housekeeping_sums_settled_days_once_and_again_after_a_zone_change(tmp_path: Path) -> None:
    conn = Connection(parse_url(f"chdb://{tmp_path / 'ch'}"))
    await conn.open()
    try:
        await migrate(conn)
        # Two visitors' credits 15 minutes apart late on Feb 10 (UTC): Feb 10 in Zurich, Feb 11 in Tokyo.
        bucket = int(datetime(2026, 2, 10, 22, 30, tzinfo=UTC).timestamp()) // 900
        await conn.insert("rollups", ("rollup", "site_id", "bucket", "k0", "c0"),
                          [("rollup_totals", 1, bucket, "", 1), ("rollup_totals", 1, bucket + 1, "", 1)])  # fmt: skip
        now = datetime(2026, 2, 20, 12, tzinfo=UTC).timestamp()
        assert await chdays.roll(conn, now, [SITE]) == 8  # Feb 10-17 (three days settle)
        assert await chdays.roll(conn, now, [SITE]) == 0  # once
        day = "SELECT day, sum(visitors) FROM rollup_totals_day WHERE site_id = 1 GROUP BY day ORDER BY day"
        assert await conn.rows(day) == [(chdays.day_number(date(2026, 2, 10)), 2)]
        assert await chdays.tiers(conn, [SITE]) == {1: chdays.day_number(date(2026, 2, 17))}
        tokyo = Site(1, SITE.domain, "Asia/Tokyo")
        assert await chdays.tiers(conn, [tokyo]) == {}  # a tier in another zone answers nothing
        assert await chdays.roll(conn, now, [tokyo]) == 7  # Feb 11-17, summed again in Tokyo time
        assert await conn.rows(day) == [(chdays.day_number(date(2026, 2, 11)), 2)]
        await chdays.drop(conn, 1)
        assert await chdays.tiers(conn, [tokyo]) == {} and await conn.rows(day) == []
    finally:
        await conn.close()
