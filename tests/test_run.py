"""Running queries (analytics/stats/run.py) on a real SQLite store: batches, shared plans, imports and "all".

Data, blog.example.org in Europe/Zurich, written through the store's write path:
  visitor 1  Mar 1 09:00 /  and 09:05 /a   (one visit, 2 pageviews)
  visitor 2  Mar 1 10:00 /a                 (a bounce)
  visitor 3  Mar 2 08:00 /                  (a bounce)
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from analytics.model import Event, SessionAttrs, Site
from analytics.stats import run as stats_run
from analytics.stats.dates import local_day
from analytics.stats.parse import parse
from analytics.stats.run import Batch
from analytics.store.base import ImportPart
from analytics.store.sqlite.store import SQLiteStore
from analytics.transfer.imports import columns
from analytics.transfer.layout import REPORTS_BY_NAME

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def pageview(when: datetime, visitor: int, path: str) -> Event:
    ts = int(when.timestamp())
    return Event(site_id=1, ts=ts, day=local_day(ts, SITE.timezone), visitor_id=visitor, prev_visitor_id=None,
                 name="pageview", hostname="blog.example.org", path=path, attrs=SessionAttrs(source="Google"))  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "analytics.db", batch_ms=0)
    await s.open()
    for e in (
        pageview(datetime(2026, 3, 1, 8, 0, tzinfo=UTC), 1, "/"),
        pageview(datetime(2026, 3, 1, 8, 5, tzinfo=UTC), 1, "/a"),
        pageview(datetime(2026, 3, 1, 9, 0, tzinfo=UTC), 2, "/a"),
        pageview(datetime(2026, 3, 2, 7, 0, tzinfo=UTC), 3, "/"),
    ):
        assert await s.submit([e]) == [True]
    yield s
    await s.close()


def query(metrics: list[str], dimensions: list[str] | None = None, **body: Any) -> Any:
    body.setdefault("date_range", ["2026-03-01", "2026-03-02"])
    return parse({"metrics": metrics, "dimensions": dimensions or [], **body}, SITE, NOW)


async def traced(store: SQLiteStore, work: Any) -> tuple[Any, list[str]]:
    statements: list[str] = []
    await store.trace(statements.append)
    try:
        result = await work
    finally:
        await store.trace(None)
    return result, [s for s in statements if not s.lstrip().upper().startswith("PRAGMA")]


async def test_run_answers_one_query_both_ways(store: SQLiteStore) -> None:
    q = query(["visitors", "visits", "pageviews", "bounce_rate"], ["time:day"])
    expected = [(("2026-03-01",), (2, 2, 3, 50)), (("2026-03-02",), (1, 1, 1, 100))]
    assert (await stats_run.run(store, q)).rows == expected
    assert (await stats_run.run(store, q, raw=True)).rows == expected


async def test_a_batch_runs_concurrent_queries_as_one_store_batch(store: SQLiteStore) -> None:
    batch = Batch(store)
    totals, by_day, again = query(["visitors"]), query(["pageviews"], ["time:day"]), query(["visitors"])
    results, statements = await traced(store, asyncio.gather(batch.run(totals), batch.run(by_day), batch.run(again)))
    assert [r.rows for r in results] == [[((), (3,))], [(("2026-03-01",), (3,)), (("2026-03-02",), (1,))], [((), (3,))]]
    # One statement of bookkeeping, then one per distinct plan: `again` is `totals` and runs once.
    assert len(statements) == 3, statements
    assert "rollup_days" in statements[0]


async def test_a_later_query_starts_the_next_batch(store: SQLiteStore) -> None:
    batch = Batch(store)
    first, statements = await traced(store, batch.run(query(["visitors"])))
    second, more = await traced(store, batch.run(query(["visitors"])))
    assert first.rows == second.rows == [((), (3,))]
    assert len(statements) == len(more) == 2


async def test_every_caller_of_a_failed_batch_sees_the_failure(store: SQLiteStore) -> None:
    batch = Batch(store)
    nowhere = dataclasses.replace(query(["visitors"]), site=Site(1, "blog.example.org", "Nowhere/Zone"))
    results = await asyncio.gather(batch.run(query(["visitors"])), batch.run(nowhere), return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results) and type(results[0]) is type(results[1])
    assert (await batch.run(query(["visitors"]))).rows == [((), (3,))]  # the next batch is not affected


async def test_imports_are_decided_once_per_query(store: SQLiteStore) -> None:
    report = REPORTS_BY_NAME["visitors"]
    rows = [(date(2026, 2, 27), 5, 8, 2, 6, 300)]  # date, then columns(report)
    assert columns(report) == ("visitors", "pageviews", "bounces", "visits", "visit_duration")
    await store.import_rows(SITE, "old.zip", [ImportPart("visitors", columns(report), [rows])])

    with_imports = query(["visitors", "visits"], date_range=["2026-02-27", "2026-03-02"], include={"imports": True})
    hourly = query(["visitors"], ["time:hour"], include={"imports": True})
    done, skipped = await stats_run.run_many(store, [with_imports, hourly])
    assert done.rows == [((), (8, 9))] and done.meta == {"imports_included": True}
    assert skipped.meta == {"imports_included": False, "imports_skip_reason": "imported data is daily, so it has no hours"}
    assert sum(m[0] for _, m in skipped.rows) == 3  # native data only
    assert (await stats_run.run(store, query(["visitors"]))).meta == {}  # not asked: nothing said


async def test_first_day_reaches_back_to_imports_when_asked(store: SQLiteStore) -> None:
    assert await stats_run.first_day(store, SITE) == date(2026, 3, 1)
    report = REPORTS_BY_NAME["visitors"]
    await store.import_rows(SITE, "old.zip", [ImportPart("visitors", columns(report), [[(date(2025, 12, 24), 1, 1, 1, 1, 0)]])])
    assert await stats_run.first_day(store, SITE) == date(2025, 12, 24)
    assert await stats_run.first_day(store, SITE, imports=False) == date(2026, 3, 1)
    assert await stats_run.first_day(store, Site(2, "empty.example.org", "UTC")) is None
