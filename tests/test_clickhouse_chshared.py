"""One filtered set per dashboard on ClickHouse (analytics/store/clickhouse/chshared.py): the raw plans
of a batch with the same site, range and filter read one materialized set of events and of visits,
and every plan gets exactly the sums it gets alone, on demo traffic in a real chDB store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dashboard_plans import FILTERS, PANELS

from analytics.devtools import demo
from analytics.model import DAY, Site
from analytics.stats.parse import parse
from analytics.stats.plan import Plan, kept, plan
from analytics.stats.query import Condition
from analytics.store.clickhouse import chdays, chshared
from analytics.store.clickhouse.chclient import parse_url
from analytics.store.clickhouse.chstore import ClickHouseStore

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SITE = Site(1, "shared.example", "Europe/Berlin")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six thousand demo events over twenty days, written through the ClickHouse write path."""
    path = tmp_path_factory.mktemp("chshared") / "ch"

    async def seed() -> None:
        store = ClickHouseStore(parse_url(f"chdb://{path}"), batch_size=20_000, batch_ms=0)
        await store.open()
        try:
            end = int(NOW.timestamp())
            async with store.bulk() as load:
                for chunk in demo.chunks(SITE, 6000, end - 20 * DAY, end, 3):
                    await load.write(chunk)
        finally:
            await store.close()

    asyncio.run(seed())
    return path


@pytest.fixture
async def store(data: Path) -> AsyncIterator[ClickHouseStore]:
    s = ClickHouseStore(parse_url(f"chdb://{data}"))
    await s.open()
    yield s
    await s.close()


def plans_for(filters: list[Any], date_range: str = "30d") -> list[Plan]:
    return [plan(parse({"site_id": SITE.domain, "date_range": date_range, "filters": filters, **body}, SITE, NOW))
            for body in PANELS]  # fmt: skip


def histogram(filters: list[Any]) -> Plan:
    """Time on page's median, as the pages tab asks it."""
    return Plan(plans_for(filters)[3].query, frozenset({"page_visits"}), None, False, histogram=True)


@pytest.mark.parametrize("filters", FILTERS, ids=range(len(FILTERS)))
async def test_a_batch_gets_what_each_plan_gets_alone(store: ClickHouseStore, filters: list[Any]) -> None:
    plans = [*plans_for(filters), histogram(filters)]
    batch = chshared.statement(plans, {}, set())
    assert batch.sql.startswith("WITH fe0 AS MATERIALIZED") and "fe1" not in batch.sql
    # The top stats' page visits, seconds, scroll depth and views are the sum of the pages tab's rows
    # (unless the filter is one page: the tab then keeps that page's row of the unfiltered rollup).
    page_sums = frozenset({"page_visits", "time_total", "scroll_total", "scroll_visits", "pageviews"})
    assert batch.derived == (((0, 3, page_sums),) if plans[3].rollup is None else ())
    # (A channel and a page pattern: the tab stays raw here, its rows kept by the pattern, which changes
    # nothing; the SQLite store reads that channel's pages from its per-segment rollups.)
    expected = {
        str([["is", "event:page", ["/"]]]): ("rollup_pages", (0, Condition("is", "event:page", ("/",)))),
        str(FILTERS[2]): (None, (0, Condition("contains", "event:page", ("/blog/",)))),
    }.get(str(filters), (None, None))
    assert (plans[3].rollup, plans[3].keep) == expected
    # The goal tabs read the set's custom events from goal_events (all of the set is, under a goal filter).
    goal_filter = filters[0][1] == "event:goal"
    assert ("fg0 AS MATERIALIZED" in batch.sql) == (not goal_filter) and "FROM goal_events AS e" in batch.sql
    together = await store.sums(plans)
    alone = [(await store.sums([p]))[0] for p in plans]
    assert together == alone
    assert sum(len(g) for g in together) > 20  # the filters select real rows


def test_one_set_per_site_range_and_filter_and_none_for_a_lone_plan() -> None:
    unfiltered = plan(parse({"site_id": SITE.domain, "date_range": "30d", "metrics": ["visitors"]}, SITE, NOW))
    plans = [*plans_for(FILTERS[0]), *plans_for(FILTERS[1]), *plans_for(FILTERS[1], "7d"), unfiltered]
    sql, _, tagged, *_ = chshared.statement(plans, {}, set())
    assert [f"fe{n} AS MATERIALIZED" in sql for n in range(4)] == [True, True, True, False]
    # Visits by filter: the source filter's (on visit attributes) and the page filter's (the visits with a
    # matching event, marked read or not, so that a visit breakdown needs no join).
    assert "fv0 AS MATERIALIZED" in sql and "s.id IN (SELECT session_id FROM fe1 WHERE read = 1) AS r" in sql
    assert "s.id IN (SELECT session_id FROM fe1)" in sql and "SELECT session_id FROM fe0" not in sql
    assert sql.endswith(chshared.SETTINGS)
    assert {i for i, _, _ in tagged} == set(range(len(plans)))
    lone = chshared.statement(plans_for(FILTERS[0])[:1], {}, set())[0]
    assert "MATERIALIZED" not in lone and chshared.SETTINGS not in lone  # one plan reads the events itself


async def test_a_tab_that_adds_an_event_condition_reads_the_dashboard_s_set(store: ClickHouseStore) -> None:
    """Outbound links on a filtered dashboard: the dashboard's filter and the goal. It reads the
    dashboard's set and tests the goal there; a tab adding a visit condition gets its own."""
    base = [["is", "visit:channel", ["Organic Search"]]]
    goal = ["is", "event:goal", ["Outbound Link: Click"]]
    links = {"metrics": ["visitors", "events"], "dimensions": ["event:props:url"]}
    plans = [
        *plans_for(base),
        plan(parse({"site_id": SITE.domain, "date_range": "30d", "filters": [*base, goal], **links}, SITE, NOW)),
        plan(parse({"site_id": SITE.domain, "date_range": "30d", "filters": [*base, ["is", "visit:device", ["Mobile"]]],
                    "metrics": ["visitors"], "dimensions": ["event:page"]}, SITE, NOW)),
    ]  # fmt: skip
    grouped = chshared.groups(plans, list(range(len(plans))))
    assert [len(members) for _, members in grouped] == [len(PANELS) + 1, 1]
    sql = chshared.statement(plans, {}, set()).sql
    assert "fe0 AS MATERIALIZED" in sql and "fe1" not in sql  # the lone mobile tab reads events itself
    together = await store.sums(plans)
    alone = [(await store.sums([p]))[0] for p in plans]
    assert together == alone
    assert together[len(PANELS)]  # outbound clicks of Organic Search visits, by link


@pytest.mark.parametrize("date_range", ["30d", "7d"])
async def test_an_unfiltered_batch_reads_each_rollup_once_and_gets_what_each_plan_gets_alone(
    store: ClickHouseStore, date_range: str
) -> None:
    """The tabs of one rollup table share one GROUPING SETS scan of its day rows and buckets (chsums.union);
    a wrong mapping from a row's grouping set to its tabs would hand one tab another's rows."""
    await store.roll_days(NOW.timestamp(), [SITE])  # settled days from the tier, the rest from buckets
    plans = plans_for([], date_range)
    rolled = [p for p in plans if p.rollup]
    assert len(rolled) >= 6
    batch = chshared.statement(plans, await chdays.tiers(store.conn, [SITE]), set())
    assert batch.sql.count("GROUPING SETS") >= 2 and "FROM rollups_day WHERE" in batch.sql
    assert batch.sql.count(" AS part, ") < len(batch.tagged)  # fewer SELECTs than parts
    together = await store.sums(plans)
    alone = [(await store.sums([p]))[0] for p in plans]
    assert together == alone
    assert all(together[i] for i, p in enumerate(plans) if p.rollup)  # every rollup tab has rows


async def test_lone_plans_on_events_read_one_set_of_the_events_any_of_them_passes(store: ClickHouseStore) -> None:
    """The unfiltered dashboard's goal-link tabs (and a page's visits): each has its own filter on events
    alone, so they read one set of the events passing any of the filters and test their own there."""
    def goal(name: str, prop: str) -> Plan:
        body = {"metrics": ["visitors", "events"], "dimensions": [f"event:props:{prop}"],
                "filters": [["is", "event:goal", [name]]]}  # fmt: skip
        return plan(parse({"site_id": SITE.domain, "date_range": "30d", **body}, SITE, NOW))

    page = {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:source"],
            "filters": [["is_not", "event:page", ["/"]]]}  # fmt: skip
    plans = [
        *plans_for([]),
        goal("Outbound Link: Click", "url"),
        goal("File Download", "url"),
        plan(parse({"site_id": SITE.domain, "date_range": "30d", **page}, SITE, NOW)),
    ]
    batch = chshared.statement(plans, {}, set())
    assert batch.sql.startswith("WITH fe0 AS MATERIALIZED") and "fe1" not in batch.sql
    assert " OR " in batch.sql.split("fv0 AS")[0]  # the set: events passing any of the three filters
    together = await store.sums(plans)
    alone = [(await store.sums([p]))[0] for p in plans]
    assert together == alone
    assert together[-3] and together[-1]  # outbound clicks by link; sources of visits outside the home page


async def test_a_filter_that_keeps_custom_events_only_reads_goal_events_and_counts_the_same(
    store: ClickHouseStore,
) -> None:
    """A goal filter keeps custom events only: its set reads `goal_events` (migration 5), the few custom
    events ordered by name, and every tab counts exactly what the same filter counts over `events`
    (an OR with a page no event has: the same events pass, but not custom events only)."""
    goal = ["is", "event:goal", ["Outbound Link: Click"]]
    fast = plans_for([goal])
    slow = plans_for([["or", [goal, ["is", "event:page", ["/no-such-page"]]]]])
    fast_sql, slow_sql = chshared.statement(fast, {}, set()).sql, chshared.statement(slow, {}, set()).sql
    assert "FROM goal_events AS e" in fast_sql and "FROM events AS e" not in fast_sql
    assert "FROM events AS e" in slow_sql and "fg0 AS MATERIALIZED" in slow_sql  # its goal tabs: goal_events
    got, expected = await store.sums(fast), await store.sums(slow)
    # The goals tab filtered by its own goal reads the unfiltered goals rollup and keeps that goal's row.
    goal = Condition("is", "event:goal", ("Outbound Link: Click",))
    assert fast[9].rollup == "rollup_events" and fast[9].keep == (0, goal)
    assert [kept(g, p) for g, p in zip(got, fast, strict=True)] == expected
    assert got[0][()]["visitors"] > 0 and len(got[2]) > 1  # clicks, from more than one source
