"""A filtered set read in two halves on two readers (store.sqlite.halves, compiler.Half): every
sum equals the one-reader answer, visits crossing the cut included, on real SQLite files."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dashboard_plans import FILTERS, PANELS

from analytics.accounts import Accounts
from analytics.errors import QueryTimeout
from analytics.model import Event, SessionAttrs, Site
from analytics.stats.dates import local_day
from analytics.stats.parse import parse
from analytics.stats.plan import Plan, plan
from analytics.store.sqlite import halves, reads
from analytics.store.sqlite.store import SQLiteStore

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DEMO_SEED = 5  # the demo site of `demo_file` (conftest)
DOMAIN = "halves.example"
SHARED = "WITH fe AS MATERIALIZED"
# Every panel of a dashboard, plus the Headline check's medians and page visits per page.
EXTRA: list[dict[str, Any]] = [
    {"metrics": ["time_on_page_median"], "dimensions": ["event:page"]},
    {"metrics": ["visits", "visitors"], "dimensions": ["event:page"]},
    {"metrics": ["visits"], "dimensions": ["visit:entry_page", "visit:channel"]},
]


async def both_ways(s: SQLiteStore, plans: list[Plan]) -> tuple[list[Any], list[Any], list[str]]:
    """The batch on one reader, then on two; and the statements the two-reader run made.
    On two readers each plan is also read alone (no shared set), in halves: the same sums."""
    statements: list[str] = []
    async with s.reader() as one, s.reader() as two:
        alone = await reads.sums(one, plans)
        for conn in (one, two):
            await conn.set_trace_callback(statements.append)
        try:
            paired = await reads.sums(one, plans, spare=lambda: contextlib.nullcontext((two, None)))
        finally:
            for conn in (one, two):
                await conn.set_trace_callback(None)  # type: ignore[arg-type]
        separate = await reads.sums(one, plans, share=False, spare=lambda: contextlib.nullcontext((two, None)))
    assert separate == alone
    return alone, paired, statements


def fetcher(conn: Any) -> halves.Fetch:
    return lambda sql, params: reads._all(conn, sql, params)


def dashboard(site: Site, filters: list[Any], date_range: str | list[str] = "30d") -> list[Plan]:
    return [plan(parse({"site_id": site.domain, "date_range": date_range, "filters": filters, **body}, site, NOW))
            for body in [*PANELS, *EXTRA]]  # fmt: skip


@pytest.mark.parametrize("filters", FILTERS, ids=range(len(FILTERS)))
async def test_two_halves_give_the_one_reader_sums(demo_store: tuple[SQLiteStore, Site], filters: list[Any]) -> None:
    s, site = demo_store
    alone, paired, statements = await both_ways(s, dashboard(site, filters))
    assert paired == alone
    assert sum(len(g) for g in paired) > 20  # the filters select real rows
    shared = [sql for sql in statements if sql.startswith(SHARED)]
    assert shared and len(shared) % 2 == 0  # each filtered set, in two halves


async def test_a_twelve_month_range_splits_where_the_traffic_is(demo_store: tuple[SQLiteStore, Site]) -> None:
    """20 days of data in a 12-month range: the cut halves the traffic, not the calendar."""
    s, site = demo_store
    plans = dashboard(site, FILTERS[2], "12mo")
    async with s.reader() as conn:
        pair = await halves.half_pair(fetcher(conn), plans[0])
    assert pair is not None
    first, second = pair
    assert first.first and not second.first and first.cut == second.cut
    assert NOW - timedelta(days=20) < datetime.fromtimestamp(first.cut, UTC) < NOW
    alone, paired, _ = await both_ways(s, plans)
    assert paired == alone


def test_the_cut_leaves_about_half_the_weight_on_each_side() -> None:
    assert halves._middle([(10, 5), (11, 5), (12, 5), (13, 5)]) == 12
    assert halves._middle([(10, 1), (11, 1), (12, 100), (13, 1)]) == 12
    assert halves._middle([(10, 1), (11, 1), (12, 1), (13, 100)]) == 13
    assert halves._middle([(10, 7)]) is None  # no midnight with weight on both sides
    assert halves._middle([]) is None


def pageview(site: Site, at: datetime, visitor: int, path: str, source: str = "Google") -> Event:
    ts = int(at.timestamp())
    return Event(site_id=site.id, ts=ts, day=local_day(ts, site.timezone), visitor_id=visitor, prev_visitor_id=None,
                 name="pageview", hostname=DOMAIN, path=path, attrs=SessionAttrs(source=source, country="CH"))  # fmt: skip


def engagement(site: Site, at: datetime, visitor: int, path: str, scroll: int, ms: int) -> Event:
    ts = int(at.timestamp())
    return Event(site_id=site.id, ts=ts, day=local_day(ts, site.timezone), visitor_id=visitor, prev_visitor_id=None,
                 name="engagement", hostname=DOMAIN, path=path, attrs=SessionAttrs(source="Google", country="CH"),
                 scroll_depth=scroll, engaged_ms=ms, words=200)  # fmt: skip


@pytest.fixture
async def crossing(tmp_path: Path) -> AsyncIterator[tuple[SQLiteStore, Site]]:
    """Two local days in Zurich with equal traffic, and visits across their midnight (23:00 UTC)."""
    site = Site(1, DOMAIN, "Europe/Zurich")
    s = SQLiteStore(tmp_path / "analytics.db", batch_ms=0)
    await s.open()
    day1, day2 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC), datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    filler = [pageview(site, day + timedelta(minutes=7 * i), 5000 + i + 100 * n, f"/f{i % 3}", "Bing")
              for n, day in enumerate((day1, day2)) for i in range(40)]  # fmt: skip
    midnight = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    # Visitor 1: /a before midnight and again after it, scrolled deeper after it, then a page every
    # 20 minutes for three hours (its last event far past the cut and its 30 minutes), reading /c.
    one = [pageview(site, midnight - timedelta(minutes=20), 1, "/a"),
           engagement(site, midnight - timedelta(minutes=15), 1, "/a", 40, 20_000),
           pageview(site, midnight + timedelta(minutes=10), 1, "/b"),
           pageview(site, midnight + timedelta(minutes=20), 1, "/a"),
           engagement(site, midnight + timedelta(minutes=25), 1, "/a", 90, 30_000)]  # fmt: skip
    one += [pageview(site, midnight + timedelta(minutes=20 * k), 1, "/c") for k in range(2, 10)]
    one += [engagement(site, midnight + timedelta(minutes=20 * 9 + 2), 1, "/c", 100, 120_000)]
    # ... and a new visit of the same visitor id on the second local day.
    one += [pageview(site, midnight + timedelta(hours=8), 1, "/a")]
    # Visitor 2: a visit begun before the range (February 28th, local), going on into it.
    two = [pageview(site, datetime(2026, 2, 28, 22, 50, tzinfo=UTC), 2, "/a"),
           pageview(site, datetime(2026, 2, 28, 23, 10, tzinfo=UTC), 2, "/a")]  # fmt: skip
    # Visitor 3: the other side of the cut only, entering on /b.
    three = [pageview(site, midnight + timedelta(hours=2), 3, "/b", "LinkedIn"),
             pageview(site, midnight + timedelta(hours=2, minutes=5), 3, "/a", "LinkedIn")]  # fmt: skip
    await s.submit(sorted([*filler, *one, *two, *three], key=lambda e: e.ts))
    yield s, site
    await s.close()


@pytest.mark.parametrize("filters", [
    [["contains", "event:page", ["/a"]]],
    [["is", "visit:source", ["Google"]], ["contains", "event:page", ["/a"]]],
    [["is_not", "visit:source", ["Bing"]]],
    [["is", "event:page", ["/c"]]],
], ids=range(4))  # fmt: skip
async def test_visits_across_the_cut_count_once(crossing: tuple[SQLiteStore, Site], filters: list[Any]) -> None:
    s, site = crossing
    plans = dashboard(site, filters, ["2026-03-01", "2026-03-02"])
    async with s.reader() as conn:
        pair = await halves.half_pair(fetcher(conn), plans[0])
    assert pair is not None
    assert pair[0].cut == int(datetime(2026, 3, 1, 23, 0, tzinfo=UTC).timestamp())  # midnight in Zurich
    alone, paired, statements = await both_ways(s, plans)
    assert paired == alone
    assert len([sql for sql in statements if sql.startswith(SHARED)]) == 2


async def test_the_numbers_of_a_visit_across_the_cut(crossing: tuple[SQLiteStore, Site]) -> None:
    """Under "not from Bing, page contains /a", read in two halves: exact figures, checked by hand."""
    s, site = crossing
    filters = [["is_not", "visit:source", ["Bing"]], ["contains", "event:page", ["/a"]]]
    body = {"site_id": DOMAIN, "date_range": ["2026-03-01", "2026-03-02"], "filters": filters}
    plans = [
        plan(parse({**body, "metrics": ["visitors", "visits", "pageviews", "scroll_depth"]}, site, NOW)),
        plan(
            parse(
                {**body, "metrics": ["visits", "visitors", "pageviews", "time_on_page"], "dimensions": ["event:page"]},
                site,
                NOW,
            )
        ),
        plan(parse({**body, "metrics": ["visits"], "dimensions": ["visit:source"]}, site, NOW)),
    ]
    alone, paired, _ = await both_ways(s, plans)
    assert paired == alone
    totals, pages, sources = paired
    # Visits that began in the range with a view of /a: visitor 1's two, visitor 3's one (visitor 2's
    # began before the range). Views of /a in the range: visitor 1's three, visitor 2's second (00:10
    # local time on March 1st: its first was on February 28th) and visitor 3's one.
    assert sources == {("Google",): {"visits": 2}, ("LinkedIn",): {"visits": 1}}
    assert pages[("/a",)]["pageviews"] == 5
    # Page visits of /a: visitor 1's first visit once (viewed on both sides of the cut), its second,
    # visitor 2's and visitor 3's; the visits among them that began in the range: three. Visitors
    # where the views happened: visitor 1 on both local days, visitor 2 on March 1st, visitor 3 on
    # March 2nd. Seconds on /a: visitor 1's, on both sides of the cut.
    assert pages == {("/a",): {"pageviews": 5, "page_visits": 4, "visits": 3, "visitors": 4, "time_total": 50_000}}
    # Scroll depth of /a in visitor 1's first visit is its deepest, 90, once.
    assert totals[()]["scroll_visits"] == 1 and totals[()]["scroll_total"] == 90


async def test_a_visit_is_read_past_the_cut_to_its_last_event(crossing: tuple[SQLiteStore, Site]) -> None:
    """Visitor 1's first visit views /c only from 40 minutes after the cut to three hours after it:
    the first half reads its events up to its last, found in the first half's own statement."""
    s, site = crossing
    body = {"site_id": DOMAIN, "date_range": ["2026-03-01", "2026-03-02"], "filters": [["is", "event:page", ["/c"]]]}
    plans = [
        plan(parse({**body, "metrics": ["visits", "visitors"], "dimensions": ["visit:source"]}, site, NOW)),
        plan(parse({**body, "metrics": ["pageviews", "time_on_page_median"]}, site, NOW)),
    ]
    alone, paired, statements = await both_ways(s, plans)
    assert paired == alone
    assert paired[0] == {("Google",): {"visits": 1, "visitors": 1}}  # begun before the cut
    assert paired[1][()]["pageviews"] == 8
    assert any("MAX(s2.last)" in sql for sql in statements)


async def test_visits_stored_in_another_zone_keep_the_range_whole(tmp_path: Path) -> None:
    """Visits stored their local day in UTC, then the site moved to Zurich: visitor 1's visits at
    22:00 and 23:40 UTC are one visitor-day as stored, on both sides of Zurich's midnight. The
    range is read whole (split by start, the visits would count that visitor twice)."""
    old = Site(1, DOMAIN, "UTC")
    s = SQLiteStore(tmp_path / "analytics.db", batch_ms=0)
    await s.open()
    try:
        day1, day2 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC), datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
        filler = [pageview(old, day + timedelta(minutes=7 * i), 5000 + i + 100 * n, "/f", "Bing")
                  for n, day in enumerate((day1, day2)) for i in range(40)]  # fmt: skip
        one = [pageview(old, datetime(2026, 3, 1, 22, 0, tzinfo=UTC), 1, "/a"),
               pageview(old, datetime(2026, 3, 1, 23, 40, tzinfo=UTC), 1, "/a")]  # fmt: skip
        await s.submit(sorted([*filler, *one], key=lambda e: e.ts))
        site = Site(1, DOMAIN, "Europe/Zurich")
        body = {"site_id": DOMAIN, "date_range": ["2026-03-01", "2026-03-02"],
                "filters": [["is_not", "visit:source", ["Bing"]]], "metrics": ["visitors", "visits"]}  # fmt: skip
        plans = [plan(parse(body, site, NOW))]
        async with s.reader() as conn:
            assert await halves.half_pair(fetcher(conn), plans[0]) is None
            # In the zone they were stored in, the range splits.
            assert await halves.half_pair(fetcher(conn), plan(parse(body, old, NOW))) is not None
        alone, paired, _ = await both_ways(s, plans)
        assert paired == alone == [{(): {"visitors": 1, "visits": 2}}]
    finally:
        await s.close()


async def test_a_busy_second_reader_leaves_the_batch_on_one(demo_store: tuple[SQLiteStore, Site]) -> None:
    """The second reader is taken for the whole batch: the batch does not wait for it, and reads
    its halves one after the other on its own reader, with the same sums."""
    s, site = demo_store
    plans = dashboard(site, FILTERS[2])
    both = await s.sums(plans)
    statements: list[str] = []
    async with s.reader() as other:
        await other.set_trace_callback(statements.append)
        try:
            one = await asyncio.wait_for(s.sums(plans), timeout=60)
        finally:
            await other.set_trace_callback(None)  # type: ignore[arg-type]
    assert one == both
    assert statements == []  # nothing ran on the reader held here
    assert s._readers.qsize() == 2


async def test_a_half_past_its_budget_stops_the_batch_and_frees_both_readers(demo_file: Path, tmp_path: Path) -> None:
    shutil.copy(demo_file, tmp_path / "analytics.db")
    async with Accounts.in_dir(demo_file.parent) as accounts:
        site = await accounts.sites.get(DOMAIN)
    bounded = SQLiteStore(tmp_path / "analytics.db", query_timeout=1e-9)
    await bounded.open()
    try:
        for _ in range(2):  # and again: both readers came back to the pool
            with pytest.raises(QueryTimeout):
                await bounded.sums(dashboard(site, FILTERS[2]))
        assert bounded._readers.qsize() == 2
    finally:
        await bounded.close()


async def test_a_batch_cancelled_mid_statement_leaves_both_readers_working(demo_file: Path, tmp_path: Path) -> None:
    """A client that hangs up cancels its batch, at any point: both readers come back to the pool,
    answer the next batch exactly, and hold no read open (they see the next event written)."""
    shutil.copy(demo_file, tmp_path / "analytics.db")
    async with Accounts.in_dir(demo_file.parent) as accounts:
        site = await accounts.sites.get(DOMAIN)
    s = SQLiteStore(tmp_path / "analytics.db", batch_ms=0)
    await s.open()
    try:
        plans = dashboard(site, FILTERS[3])
        expected = await s.sums(plans)
        for delay in (0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05):
            task = asyncio.ensure_future(s.sums(plans))
            await asyncio.sleep(delay)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert await s.sums(plans) == expected, delay
            assert s._readers.qsize() == 2, delay
        counts = "SELECT COUNT(*) FROM events"
        before = [(await c.execute_fetchall(counts))[0][0] for c in s._reader_conns]
        await s.submit([pageview(site, NOW - timedelta(hours=1), 777_777, "/new")])
        after = [(await c.execute_fetchall(counts))[0][0] for c in s._reader_conns]
        assert after == [n + 1 for n in before]
    finally:
        await s.close()
