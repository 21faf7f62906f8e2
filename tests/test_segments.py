"""One filtered set per dashboard (analytics/store/sqlite/segments.py): the raw plans of a batch
with the same site, range and filter run as one statement over the filtered rows, and every
plan gets exactly the sums it gets alone, on demo data in a real SQLite file."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from conftest import Instance
from dashboard_plans import FILTERS, PANELS

from analytics.model import Site
from analytics.stats import sharing
from analytics.stats.parse import parse
from analytics.stats.plan import Plan, passes, plan
from analytics.stats.query import Condition
from analytics.store.sqlite import reads, segments
from analytics.store.sqlite.compiler import FEW_STRINGS
from analytics.store.sqlite.store import SQLiteStore

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SCOPE = re.compile(r"SELECT [es]2\.\w+ FROM events e2")
DEMO_SEED = 3  # the demo site of `demo_file` (conftest)
DOMAIN = "segments.example"


async def traced(conn: aiosqlite.Connection, plans: list[Plan]) -> tuple[list[Any], list[str]]:
    """A batch's sums, and the statements it ran."""
    statements: list[str] = []
    await conn.set_trace_callback(statements.append)
    try:
        return await reads.sums(conn, plans), statements
    finally:
        await conn.set_trace_callback(None)  # type: ignore[arg-type]


async def each_traced(s: SQLiteStore, batches: list[list[Plan]]) -> tuple[list[Any], list[str]]:
    """Each batch's sums, and every statement they ran."""
    answers, statements = [], []
    async with s.reader() as conn:
        for plans in batches:
            answer, ran = await traced(conn, plans)
            answers.append(answer)
            statements += ran
    return answers, statements


def plans_for(site: Site, filters: list[Any], date_range: str = "30d") -> list[Plan]:
    return [plan(parse({"site_id": DOMAIN, "date_range": date_range, "filters": filters, **body}, site, NOW))
            for body in PANELS]  # fmt: skip


@pytest.mark.parametrize("filters", FILTERS, ids=range(len(FILTERS)))
async def test_a_batch_gets_what_each_plan_gets_alone(demo_store: tuple[SQLiteStore, Site], filters: list[Any]) -> None:
    s, site = demo_store
    plans = plans_for(site, filters)
    # One set for every raw plan (a tab filtered by its own value reads its rollup: `plan.own_filter`).
    assert len({sharing.shared_key(p) for p in plans if p.rollup is None}) == 1
    assert sharing.shared_key(plans[0]) is not None
    # Raw top stats take their page sums from the pages tab's rows in a batch (`sharing.page_totals`);
    # alone, they are asked for them. (One source's top stats read per-segment rollups.)
    expected = [] if plans[0].segment else [(0, 3)]
    assert [(i, tab) for i, tab, _ in sharing.page_totals(plans)] == expected
    async with s.reader() as conn:
        together = await reads.sums(conn, plans)
        alone = [(await reads.sums(conn, [p]))[0] for p in plans]
        # and compiled on its own, reading events and visits, not the shared sets (`fe`, `fs`, `fv`)
        unshared = await reads.sums(conn, plans, share=False)
    assert together == alone == unshared
    assert sum(len(g) for g in together) > 20  # the filters select real rows


async def test_one_statement_per_filtered_set(demo_store: tuple[SQLiteStore, Site]) -> None:
    s, site = demo_store
    # A device filter: one value of a channel or source reads per-segment rollups (store.sqlite.splits).
    plans = [*plans_for(site, FILTERS[3]), *plans_for(site, FILTERS[1]), *plans_for(site, FILTERS[1], "7d")]
    unfiltered = plan(parse({"site_id": DOMAIN, "date_range": "30d", "metrics": ["visitors"]}, site, NOW))
    async with s.reader() as conn:
        _, statements = await traced(conn, [*plans, unfiltered])
    # Bookkeeping, three filtered sets (two filters, two ranges), a statement per rollup plan (the
    # unfiltered one, and the tabs filtered by their own value: the pages tab twice), the strings.
    assert [p.rollup for p in plans if p.rollup] == ["rollup_pages", "rollup_pages"]
    assert len(statements) == 1 + 3 + 3 + 1, statements
    shared = [sql for sql in statements if sql.startswith("WITH fe AS MATERIALIZED")]
    assert len(shared) == 3
    assert sum("fs AS MATERIALIZED" in sql for sql in shared) == 1  # visits alone only for a visit filter


async def test_a_tab_that_adds_an_event_condition_reads_the_dashboard_s_set(
    demo_store: tuple[SQLiteStore, Site],
) -> None:
    """Outbound links on a filtered dashboard: the dashboard's filter and the goal. It reads the
    dashboard's filtered set and tests the goal there; a tab adding a visit condition does not."""
    s, site = demo_store
    base = [["is_not", "visit:device", ["Mobile"]]]  # one channel or source would read per-segment rollups
    goal = ["is", "event:goal", ["Outbound Link: Click"]]
    links = {"metrics": ["visitors", "events"], "dimensions": ["event:props:url"]}
    plans = [
        *plans_for(site, base),
        plan(parse({"site_id": DOMAIN, "date_range": "30d", "filters": [*base, goal], **links}, site, NOW)),
        plan(parse({"site_id": DOMAIN, "date_range": "30d", "filters": [*base, ["is", "visit:device", ["Mobile"]]],
                    "metrics": ["visitors"], "dimensions": ["event:page"]}, site, NOW)),
    ]  # fmt: skip
    grouped = sharing.groups(plans)
    assert [len(members) for _, members in grouped] == [len(PANELS) + 1, 1]
    async with s.reader() as conn:
        together, statements = await traced(conn, plans)
        alone = [(await reads.sums(conn, [p]))[0] for p in plans]
    assert together == alone
    assert together[len(PANELS)]  # outbound clicks of visits not on a phone, by link
    assert len([sql for sql in statements if sql.startswith("WITH fe")]) == 1


async def test_a_visit_belongs_to_its_start_day_in_a_shared_set(instance: Instance) -> None:
    """Under an event filter, visit-level tabs read the matching visits (`fv`) once: a visit that
    began before the range and has a matching page view in it counts on its start day, not here."""
    site = await instance.accounts.sites.add("crossing.example", "UTC")
    views = [(datetime(2026, 3, 1, 23, 50, tzinfo=UTC), "203.0.113.1", "https://www.linkedin.com/"),
             (datetime(2026, 3, 2, 0, 10, tzinfo=UTC), "203.0.113.1", None),  # the same visit, next day
             (datetime(2026, 3, 2, 10, 0, tzinfo=UTC), "203.0.113.2", "https://www.google.com/")]  # fmt: skip
    for when, ip, ref in views:
        instance.clock.set(when)
        body = {"n": "pageview", "u": "https://crossing.example/x", "d": "crossing.example", "r": ref}
        assert (await instance.send(body, ip=ip)).status_code == 202
    instance.clock.set(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    bodies = [{"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:source"]},
              {"metrics": ["visits"]}, {"metrics": ["pageviews"], "dimensions": ["event:page"]}]  # fmt: skip
    plans = [plan(parse({"site_id": site.domain, "date_range": ["2026-03-02", "2026-03-02"],
                         "filters": [["is", "event:page", ["/x"]]], **b}, site, instance.clock.utcnow()))
             for b in bodies]  # fmt: skip
    async with instance.store.reader() as conn:
        shared = await reads.sums(conn, plans)
        unshared = await reads.sums(conn, plans, share=False)
    assert shared == unshared
    (by_source, total, pages) = shared
    assert by_source == {("Google",): {"visitors": 1, "visits": 1, "bounces": 1}}
    assert list(total.values()) == [{"visits": 1}]
    assert list(pages.values()) == [{"pageviews": 2}]  # page views count where they happened


def test_visit_tabs_under_an_event_filter_read_the_matching_visits_once() -> None:
    site = Site(1, DOMAIN, "UTC")
    names = {name: i for i, name in enumerate(reads.NAMES, 1)}
    page = plans_for(site, FILTERS[1])  # a page: the visits with a matching event, once
    sql, _, _ = segments.statement(page, page[0].query.filters, names, None, 0)
    assert sql.count("fv AS MATERIALIZED") == 1 and sql.count(" FROM fv s") >= 6
    source = plans_for(site, FILTERS[0])  # a visit attribute: the visits that pass it, no fv
    sql, _, _ = segments.statement(source, source[0].query.filters, names, None, 0)
    assert "fv AS MATERIALIZED" not in sql and "fs AS MATERIALIZED" in sql


async def test_a_set_whose_plans_all_add_event_conditions_keeps_only_their_events(
    demo_store: tuple[SQLiteStore, Site],
) -> None:
    """Tabs that each add an event condition (the goal-link tabs, the Headline check's listed pages):
    the set keeps only events one of them can pass, and every tab gets what it gets alone."""
    s, site = demo_store
    base = ["is_not", "visit:device", ["Mobile"]]
    links = {"metrics": ["visitors", "events"], "dimensions": ["event:props:url"]}
    pages = {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"]}
    bodies = [
        ({**links}, ["is", "event:goal", ["Outbound Link: Click"]]),
        (
            {"metrics": ["visitors", "events"], "dimensions": ["event:page"]},
            ["is", "event:goal", ["Newsletter Signup"]],
        ),
        ({**pages}, ["contains", "event:page", ["/blog/"]]),
    ]
    plans = [plan(parse({"site_id": DOMAIN, "date_range": "30d", "filters": [base, extra], **body}, site, NOW))
             for body, extra in bodies]  # fmt: skip
    assert [len(members) for _, members in sharing.groups(plans)] == [3]
    async with s.reader() as conn:
        together, statements = await traced(conn, plans)
        alone = [(await reads.sums(conn, [p]))[0] for p in plans]
        unshared = await reads.sums(conn, plans, share=False)
    assert together == alone == unshared
    assert all(together)  # outbound clicks, signups and blog pages all have rows
    (shared,) = [sql for sql in statements if sql.startswith("WITH fe")]
    fe = shared.split(") SELECT", 1)[0]
    assert " OR " in fe and "instr(" in fe  # the three tabs' own conditions, tested before the join


async def test_a_pattern_filter_answers_the_same_once_the_strings_table_is_large(
    demo_store: tuple[SQLiteStore, Site], demo_file: Path, tmp_path: Path
) -> None:
    # Past FEW_STRINGS, `contains` and `matches` test only the strings the site used in the range
    # (`SCOPE`, the site's strings of the dimension in the range):
    # strings of another site, matching or not, change nothing either way.
    _, site = demo_store
    copy = tmp_path / "analytics.db"
    shutil.copy(demo_file, copy)
    batches = [plans_for(site, FILTERS[i]) for i in (2, 4, 6)]
    s = SQLiteStore(copy)
    await s.open()
    try:
        small, statements = await each_traced(s, batches)
        assert not any(SCOPE.search(sql) for sql in statements)  # the whole table was tested
        async with aiosqlite.connect(copy) as conn:  # what anyone's beacon could add, from another site
            rows = [(f"/blog/c-spam-{i}",) for i in range(FEW_STRINGS + 1)]
            await conn.executemany("INSERT INTO strings (value) VALUES (?)", rows)
            await conn.commit()
        large, statements = await each_traced(s, batches)
    finally:
        await s.close()
    assert large == small
    assert all(sum(len(g) for g in answer) > 20 for answer in small)
    # the large table took the scoped path: the site's strings in the range, from its events
    assert sum(bool(SCOPE.search(sql)) for sql in statements) >= 3


@pytest.mark.parametrize(
    "page", [["contains", "event:page", ["/blog/"]], ["is", "event:page", ["/"]]], ids=["blog", "home"]
)
async def test_entry_pages_that_imply_the_page_filter_read_the_visits_alone(
    demo_store: tuple[SQLiteStore, Site], page: list[Any]
) -> None:
    """Entrances by channel under a page filter, for entry pages that pass it (`plan.entered`):
    the same sums as the raw plan that tests every event, read from the visits alone."""
    s, site = demo_store
    base = {"site_id": DOMAIN, "date_range": "30d"}
    entries = plan(
        parse({**base, "metrics": ["visits"], "dimensions": ["visit:entry_page"], "filters": [page]}, site, NOW)
    )
    async with s.reader() as conn:
        (by_entry,) = await reads.sums(conn, [entries])
        passing = sorted(key[0] for key in by_entry if passes(Condition(page[0], page[1], tuple(page[2])), key[0]))[:5]
        assert passing
        body = {**base, "metrics": ["visitors", "visits", "bounce_rate", "visit_duration"],
                "dimensions": ["visit:entry_page", "visit:channel"],
                "filters": [page, ["is", "visit:device", ["Desktop"]], ["is", "visit:entry_page", passing]]}  # fmt: skip
        q = parse(body, site, NOW)
        implied = plan(q)
        assert implied.query.filters is not None and "event:page" not in str(implied.query.filters)
        tested = Plan(q, implied.sums, None)  # every event tested, as before
        (fast,), statements = await traced(conn, [implied])
        (slow,) = await reads.sums(conn, [tested])
    assert fast == slow and len(fast) >= 3
    assert not any("FROM events" in sql for sql in statements)
