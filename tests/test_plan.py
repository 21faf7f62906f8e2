"""Planning (analytics/stats/plan.py): which stored data answers each query shape, without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from analytics.model import Site
from analytics.stats.parse import parse
from analytics.stats.plan import ROLLUP_SUMS, kept, plan, rollup_for

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def query(metrics: list[str], dimensions: list[str] | None = None, **body: Any) -> Any:
    return parse({"metrics": metrics, "date_range": "7d", "dimensions": dimensions or [], **body}, SITE, NOW)


@pytest.mark.parametrize(
    ("metrics", "dimensions", "table"),
    [
        (["visitors", "pageviews", "bounce_rate", "visit_duration"], [], "rollup_totals"),
        (["visitors", "time_on_page", "scroll_depth", "events"], ["time:day"], "rollup_totals"),
        (["visitors", "bounce_rate"], ["visit:source"], "rollup_sources"),
        (["visitors"], ["visit:source", "visit:utm_campaign", "visit:channel", "visit:referrer",
                        "visit:utm_source", "visit:utm_medium", "visit:utm_content", "visit:utm_term"],
         "rollup_sources"),  # the full key
        (["visitors"], ["visit:browser", "time:week"], "rollup_browsers"),
        (["visitors", "visits"], ["visit:entry_page"], "rollup_entry_pages"),
        (["visitors", "pageviews", "time_on_page"], ["event:page"], "rollup_pages"),
        (["visitors", "events"], ["event:goal"], "rollup_events"),
        (["visitors"], ["visit:language"], "rollup_languages"),
    ],
)  # fmt: skip
def test_unfiltered_queries_read_one_rollup_table(metrics: list[str], dimensions: list[str], table: str) -> None:
    q = query(metrics, dimensions)
    p = plan(q)
    assert (p.rollup, p.imports, p.query) == (table, False, q)


@pytest.mark.parametrize(
    ("metrics", "dimensions", "body"),
    [
        (["visitors"], ["visit:source"], {"filters": [["is", "visit:country", ["CH"]]]}),  # any filter
        (["visitors"], ["visit:source", "visit:country"], {}),  # two rollup tables
        (["visitors"], ["visit:source", "visit:referrer"], {}),  # part of a key: no exact visitor credit
        (["visitors"], ["event:name"], {}),  # no rollup keyed by it
        (["visitors"], ["event:props:plan"], {}),
        (["bounce_rate"], ["event:page"], {}),  # rollup_pages carries no bounces
        (["visitors"], ["event:hostname"], {}),  # a host alone, counted per page: not exact
    ],
)
def test_other_queries_read_raw_events(metrics: list[str], dimensions: list[str], body: dict[str, Any]) -> None:
    assert plan(query(metrics, dimensions, **body)).rollup is None


def test_sums_are_the_metrics_needs_or_what_the_caller_asks() -> None:
    q = query(["bounce_rate", "views_per_visit"], ["visit:device"])
    assert plan(q).sums == {"bounces", "visits", "pageviews"}
    assert plan(q, {"visitors"}).sums == {"visitors"}
    assert rollup_for(q, {"time_total"}) is None  # a device table has no engaged time
    assert ROLLUP_SUMS["rollup_devices"] == {"visitors", "visits", "pageviews", "bounces", "duration", "reads", "readers"}


def test_raw_skips_rollups() -> None:
    q = query(["visitors"])
    assert plan(q).rollup == "rollup_totals" and plan(q, raw=True).rollup is None


def test_imports_only_where_they_can_answer() -> None:
    assert plan(query(["visitors"], ["visit:source"], include={"imports": True})).imports is True
    assert plan(query(["visitors"], ["visit:source"])).imports is False  # not asked
    assert plan(query(["visitors"], ["time:hour"], include={"imports": True})).imports is False  # daily data


def test_plans_are_values() -> None:
    """Two panels asking the same thing give equal plans, so a batch runs it once."""
    assert plan(query(["visitors"], ["visit:source"])) == plan(query(["visitors"], ["visit:source"]))
    assert len({plan(query(["visitors"])), plan(query(["visitors"])), plan(query(["visits"]))}) == 2


def test_a_filter_on_the_broken_down_dimension_keeps_rows_of_the_unfiltered_rollup() -> None:
    """`is` on the dimension a query breaks down by (beside time) keeps whole rows: every event has one value."""
    own = ["is", "event:page", ["/a", "/b"]]
    p = plan(query(["visitors", "time_on_page"], ["time:day", "event:page"], filters=[own]))
    assert (p.rollup, p.keep, p.query.filters) == ("rollup_pages", (1, frozenset({"/a", "/b"})), None)
    rows = {("2026-03-01", "/a"): {"visitors": 2}, ("2026-03-01", "/c"): {"visitors": 5}}
    assert kept(rows, p) == {("2026-03-01", "/a"): {"visitors": 2}}
    source = plan(query(["visitors", "bounce_rate"], ["visit:source"], filters=[["is", "visit:source", ["X"]]]))
    assert (source.rollup, source.keep) == ("rollup_sources", (0, frozenset({"X"})))
    for dims, f in [
        (["event:page"], ["contains", "event:page", ["/a"]]),  # not whole rows
        (["event:page"], ["is", "event:page", ["/a"], {"case_sensitive": False}]),  # /A is another row
        (["event:page"], ["is_not", "event:page", ["/a"]]),
        (["visit:source", "event:page"], own),  # a visit breakdown inside
        (["visit:source"], own),  # another dimension
    ]:
        p = plan(query(["visitors"], dims, filters=[f]))
        assert (p.rollup, p.keep) == (None, None), (dims, f)
    assert plan(query(["visitors"], ["event:page"], filters=[own]), raw=True).rollup is None
