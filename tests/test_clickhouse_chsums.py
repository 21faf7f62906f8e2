"""Compiling plans to ClickHouse SQL (analytics/store/clickhouse/chsums.py): tables read, values bound, and
(in test_stats_fixture.py and test_api_query.py) the same numbers as SQLite on real chDB."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from analytics.model import Site
from analytics.stats.parse import parse
from analytics.stats.plan import plan
from analytics.store.clickhouse.chbatch import Grouping
from analytics.store.clickhouse.chsums import ROLLUP_COLUMNS, Compiler, events_table

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def query(metrics: list[str], dimensions: list[str] | None = None, **body: Any) -> Any:
    body.setdefault("date_range", ["2026-02-01", "2026-02-28"])
    return parse({"metrics": metrics, "dimensions": dimensions or [], **body}, SITE, NOW)


def test_an_unfiltered_breakdown_reads_its_rollup_with_the_visitor_credit() -> None:
    [(sql, params, names, imported, grouping)] = Compiler(plan(query(["visitors", "visits"], ["visit:source"]))).parts()
    # `rollups` directly, each catalog column under its generic name (source is k1, v_source c6, visits c1),
    # parameters named by their values (so that every tab reading this rollup has the same source text).
    start = int(datetime(2026, 1, 31, 23, tzinfo=UTC).timestamp()) // 900
    end = start + 28 * 96
    source = (
        "rollups WHERE `rollup` = {vs_rollup_sources:String}"
        f" AND site_id = {{vi1:Int64}} AND bucket >= {{vi{start}:Int64}} AND bucket < {{vi{end}:Int64}}"
    )
    assert sql == f"SELECT k1 AS d0, sum(c6) AS s0, sum(c1) AS s1 FROM {source} GROUP BY d0"
    assert grouping == Grouping(source, ("k1",), ("sum(c6)", "sum(c1)"))
    assert [ROLLUP_COLUMNS["rollup_sources"][c] for c in ("source", "v_source", "visits")] == ["k1", "c6", "c1"]
    assert params == {"vs_rollup_sources": "rollup_sources", "vi1": 1, f"vi{start}": start, f"vi{end}": end}
    assert names == ("visitors", "visits") and not imported


def test_totals_read_rollup_totals_and_pages() -> None:
    parts = Compiler(plan(query(["visitors", "time_on_page", "scroll_depth"]))).parts()
    assert [next(v for v in p[1].values() if isinstance(v, str)) for p in parts] == ["rollup_totals", "rollup_pages"]


def test_filters_are_bound_parameters_never_text() -> None:
    evil = "x') OR 1=1 --"
    filters = [
        ["is", "visit:source", [evil]],
        ["contains", "event:page", ["/Posts"]],
        ["matches", "event:props:plan", ["^pro$"]],
    ]
    parts = Compiler(plan(query(["visitors", "pageviews"], filters=filters))).parts()
    assert parts
    for sql, params, *_ in parts:
        assert evil not in sql and "/posts" not in sql.lower().replace("{", "")
        assert {evil, "/Posts", "^pro$", "plan"} <= set(params.values())
        # The visit's source is on each event row (migration 3): the filter reads it there.
        assert "e.source IN (" in sql and "position(e.page, " in sql and "match(if(mapContains(e.props, " in sql
    # Pageviews read events alone; visitors per visit are the visits holding a matching event, with no join.
    assert ["sessions" in sql for sql, *_ in parts] == [False, True]
    assert (
        "FROM sessions AS s FINAL WHERE " in parts[1][0]
        and "AND s.id IN (SELECT e.session_id FROM events" in parts[1][0]
    )
    assert "JOIN" not in parts[1][0]


def test_visits_that_must_pass_their_entry_page_and_hold_a_matching_event_are_two_tests_on_sessions() -> None:
    """A visit figure filtered on the visit row (entry page) and on events (a page): the visits that pass the
    first and hold an event passing the second, found without joining events to visits."""
    filters = [["is", "visit:entry_page", ["/a"]], ["is", "event:page", ["/b"]], ["is", "visit:source", ["X"]]]
    [(sql, params, names, *_)] = Compiler(
        plan(query(["visitors", "visits"], ["visit:channel"], filters=filters))
    ).parts()
    assert "JOIN" not in sql and names == ("visitors", "visits")
    visits, events = sql.split(" AND s.id IN (SELECT e.session_id FROM events AS e WHERE ")
    assert "s.entry_page IN (" in visits and "e.page IN (" in events and "e.source IN (" in events
    assert {"/a", "/b", "X"} <= set(params.values())
    # An OR across the visit row and events cannot be split: the events are grouped per visit as before.
    either = [["or", [["is", "visit:entry_page", ["/a"]], ["is", "event:page", ["/b"]]]]]
    [(sql, *_)] = Compiler(plan(query(["visits"], ["visit:channel"], filters=either))).parts()
    assert "INNER JOIN" in sql


def test_only_what_changes_over_a_visit_joins_the_visits() -> None:
    def joins(filters: list[list[object]], dims: list[str]) -> bool:
        [(sql, *_)] = Compiler(plan(query(["pageviews"], dims, filters=filters))).parts()
        return " INNER JOIN (SELECT * FROM sessions FINAL" in sql

    assert not joins([["is", "visit:country", ["DE"]], ["is", "event:page", ["/"]]], ["visit:device"])
    assert joins([["is", "visit:exit_page", ["/"]], ["is", "event:page", ["/"]]], [])
    assert joins([["is", "event:page", ["/"]]], ["visit:entry_page"])


def test_visit_figures_without_event_filters_read_visits_alone() -> None:
    [(sql, _, names, *_)] = Compiler(
        plan(query(["visits", "bounce_rate"], ["visit:country"], filters=[["is", "visit:device", ["Mobile"]]]))
    ).parts()
    assert sql.startswith(
        "SELECT s.country AS d0, count() AS s0, countIf(s.pageviews <= 1 AND s.interactive = 0) AS s1"
    )
    assert "FROM sessions AS s FINAL WHERE" in sql and "events" not in sql
    assert names == ("visits", "bounces")


def test_imported_history_is_summed_by_day_label() -> None:
    q = query(["visitors"], ["time:week"], include={"imports": True})
    imported = [p for p in Compiler(plan(q)).parts() if p[3]]
    assert [p[0] for p in imported] == [
        "SELECT toString(toMonday(date)) AS d0, sum(visitors) AS s0 FROM imported_visitors"
        " WHERE site_id = {p2:Int64} AND date BETWEEN {p0:Date32} AND {p1:Date32} GROUP BY d0"
    ]
    assert imported[0][1] == {"p0": date(2026, 2, 1), "p1": date(2026, 2, 28), "p2": 1}


def test_a_site_without_imported_history_reads_no_imported_table() -> None:
    p = plan(query(["visitors", "visits"], ["visit:source"], include={"imports": True}))
    assert p.imports
    assert [part.imported for part in Compiler(p).parts()] == [False, True]
    assert [part.imported for part in Compiler(p, imported=False).parts()] == [False]


def test_a_filter_keeping_custom_events_only_reads_goal_events() -> None:
    """`goal_events` holds every custom event and nothing else: a filter that passes nothing else may read it."""

    def table(*filters: Any) -> str:
        return events_table(query(["visitors"], filters=list(filters)).filters)

    goal, page = ["is", "event:goal", ["Signup"]], ["is", "event:page", ["/"]]
    assert table(goal) == "goal_events"
    assert table(["contains", "event:goal", ["Sign"]]) == "goal_events"
    assert table(goal, ["is", "visit:source", ["Google"]]) == "goal_events"  # an AND with a goal
    assert table(["or", [goal, ["is", "event:goal", ["Download"]]]]) == "goal_events"
    assert table(["or", [goal, page]]) == "events"  # pageviews of / pass too
    assert table(["is_not", "event:goal", ["Signup"]]) == "events"  # every pageview passes
    assert table(page) == "events"
    assert events_table(None) == "events"
