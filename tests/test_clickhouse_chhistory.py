"""History in and out of ClickHouse on real chDB: imports replace by day, roll back on error, export by local day."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from analytics.model import Event, SessionAttrs, Site
from analytics.store.base import ImportPart, RollupRead
from analytics.store.clickhouse import chhistory
from analytics.store.clickhouse.chclient import parse_url
from analytics.store.clickhouse.chstore import ClickHouseStore

SITE = Site(1, "blog.example.org", "Europe/Zurich")
COLS = ("visitors", "pageviews", "bounces", "visits", "visit_duration")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ClickHouseStore]:
    s = ClickHouseStore(parse_url(f"chdb://{tmp_path / 'ch'}"), batch_ms=0)
    await s.open()
    yield s
    await s.close()


def visitors(*rows: tuple[Any, ...], span: tuple[date, date] | None = None) -> ImportPart:
    return ImportPart("visitors", COLS, [list(rows)], span)


async def test_imports_replace_days_and_forget_empty_ones(store: ClickHouseStore) -> None:
    first = await store.import_rows(SITE, "a.zip", [visitors((date(2026, 1, 1), 5, 9, 1, 6, 60),
                                                            (date(2026, 1, 2), 3, 3, 0, 3, 30))])  # fmt: skip
    assert (first.id, first.first_day, first.last_day, first.rows) == (1, date(2026, 1, 1), date(2026, 1, 2), 2)
    second = await store.import_rows(SITE, "b.zip", [visitors((date(2026, 1, 2), 7, 7, 0, 7, 70))])
    assert second.id == 2
    assert [r.source for r in await store.list_imports(1)] == ["b.zip", "a.zip"]
    rows = await store.conn.rows("SELECT import_id, date, visitors FROM imported_visitors ORDER BY date")
    assert rows == [(1, date(2026, 1, 1), 5), (2, date(2026, 1, 2), 7)]
    # A third import covering both days leaves the first two without rows: they are forgotten.
    await store.import_rows(SITE, "c.zip", [visitors((date(2026, 1, 1), 1, 1, 1, 1, 0),
                                                     span=(date(2026, 1, 1), date(2026, 1, 2)))])  # fmt: skip
    assert [r.source for r in await store.list_imports(1)] == ["c.zip"]
    assert await store.imported_range(1) == (date(2026, 1, 1), date(2026, 1, 2))
    assert await store.remove_imports(1) == 1
    assert await store.list_imports(1) == [] and await store.imported_range(1) is None
    assert await store.conn.rows("SELECT count() FROM imported_visitors") == [(0,)]


async def test_a_failing_part_leaves_nothing(store: ClickHouseStore) -> None:
    def batches() -> Iterator[list[tuple[Any, ...]]]:
        yield [(date(2026, 1, 1), 5, 9, 1, 6, 60)]
        raise ValueError("row 2: visitors is not a number")

    with pytest.raises(ValueError, match="row 2"):
        await store.import_rows(SITE, "bad.zip", [ImportPart("visitors", COLS, batches())])
    assert await store.list_imports(1) == []
    assert await store.conn.rows("SELECT count() FROM imported_visitors") == [(0,)]
    with pytest.raises(ValueError, match="imported_visitors has no column city"):
        await store.import_rows(SITE, "x.zip", [ImportPart("visitors", ("city",), [])])


async def test_export_rows_by_local_day(store: ClickHouseStore) -> None:
    attrs = SessionAttrs(source="Google")
    # 23:30 UTC on Mar 1 is 00:30 on Mar 2 in Zurich.
    for when, path in (("2026-03-01T22:30:00", "/a"), ("2026-03-01T23:30:00", "/b"), ("2026-03-02T10:00:00", "/a")):
        ts = int(datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp())
        day = datetime.fromtimestamp(ts + 3600, UTC).date().toordinal()
        await store.submit([Event(1, ts, day, ts, None, "pageview", "blog.example.org", path, attrs)])
    read = RollupRead("rollup_pages", ("page",), ("visitors", "pageviews"))
    days = [d async for d in store.export_rows(SITE, read, date(2026, 3, 1), date(2026, 3, 2))]
    assert days == [(date(2026, 3, 1), [("/a", 1, 1)]), (date(2026, 3, 2), [("/a", 1, 1), ("/b", 1, 1)])]
    assert await store.data_range(SITE) == (date(2026, 3, 1), date(2026, 3, 2))
    assert await chhistory.data_range(store.conn, Site(2, "other.example.org", "UTC")) is None
    with pytest.raises(ValueError, match="rollup_pages has no key or counter nope"):
        [d async for d in store.export_rows(SITE, RollupRead("rollup_pages", ("nope",), ()), date(2026, 3, 1),
                                            date(2026, 3, 2))]  # fmt: skip
