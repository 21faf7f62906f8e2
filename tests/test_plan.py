"""Planning (analytics/stats/plan.py): which stored data answers each query shape, without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from analytics.model import Site
from analytics.stats.parse import parse
from analytics.stats.plan import ROLLUP_SUMS, Segment, kept, plan, rollup_for
from analytics.stats.query import And, Condition

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
    assert ROLLUP_SUMS["rollup_devices"] == {
        "visitors",
        "visits",
        "pageviews",
        "bounces",
        "duration",
        "reads",
        "readers",
    }


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
    """Conditions on the dimension a query breaks down by (beside time) keep whole rows: every event has one value."""
    own = ["is", "event:page", ["/a", "/b"]]
    p = plan(query(["visitors", "time_on_page"], ["time:day", "event:page"], filters=[own]))
    assert (p.rollup, p.query.filters) == ("rollup_pages", None)
    assert p.keep == (1, Condition("is", "event:page", ("/a", "/b")))
    rows = {("2026-03-01", "/a"): {"visitors": 2}, ("2026-03-01", "/c"): {"visitors": 5}}
    assert kept(rows, p) == {("2026-03-01", "/a"): {"visitors": 2}}
    source = plan(query(["visitors", "bounce_rate"], ["visit:source"], filters=[["is", "visit:source", ["X"]]]))
    assert (source.rollup, source.keep) == ("rollup_sources", (0, Condition("is", "visit:source", ("X",))))
    pages = {(p,): {"visitors": 1} for p in ("/a", "/a/b", "/blog/a", "/Blog/x", "/c")}
    for filters, left in [
        ([["contains", "event:page", ["/a"]]], ["/a", "/a/b", "/blog/a"]),
        ([["is_not", "event:page", ["/a"]]], ["/a/b", "/blog/a", "/Blog/x", "/c"]),
        ([["matches", "event:page", ["^/[Bb]log/"]]], ["/blog/a", "/Blog/x"]),
        ([["contains_not", "event:page", ["/a", "/c"]]], ["/Blog/x"]),
        ([["matches_not", "event:page", ["a"]]], ["/Blog/x", "/c"]),
        ([["contains", "event:page", ["/"]], ["is_not", "event:page", ["/c"]]], ["/a", "/a/b", "/blog/a", "/Blog/x"]),
    ]:
        p = plan(query(["visitors"], ["event:page"], filters=filters))
        assert (p.rollup, p.query.filters, p.segment) == ("rollup_pages", None, None), filters
        assert sorted(k[0] for k in kept(pages, p)) == sorted(left), filters
    for dims, f in [
        (["event:page"], ["is", "event:page", ["/a"], {"case_sensitive": False}]),  # /A is another row
        (["event:page"], ["contains", "event:page", ["/a"], {"case_sensitive": False}]),
        (["event:goal"], ["contains", "event:goal", ["Signup"]]),  # a goal filter also drops pageviews
        (["visit:source", "event:page"], own),  # a visit breakdown inside
        (["visit:source"], own),  # another dimension
    ]:
        p = plan(query(["visitors"], dims, filters=[f]))
        assert (p.rollup, p.keep) == (None, None), (dims, f)
    assert plan(query(["visitors"], ["event:page"], filters=[own]), raw=True).rollup is None


def test_one_segment_value_besides_keeps_rows_of_the_segments_breakdown() -> None:
    """A pages tab under "source is Google, page contains /blog/": the query stays raw and whole
    (a backend without per-segment rollups answers it as it is), with the segment to read and the rows to keep."""
    google, blog = ["is", "visit:source", ["Google"]], ["contains", "event:page", ["/blog/"]]
    p = plan(query(["visitors", "pageviews"], ["event:page"], filters=[google, blog]))
    assert p.rollup is None and p.query.filters == And((Condition("is", "visit:source", ("Google",)),
                                                        Condition("contains", "event:page", ("/blog/",))))  # fmt: skip
    assert p.segment == Segment("visit:source", "Google", "rollup_pages")
    assert p.keep == (0, Condition("contains", "event:page", ("/blog/",)))
    for filters, dims in [
        ([google, blog], ["visit:source"]),  # the segment's own breakdown: no page breakdown to keep rows of
        ([google, blog], []),  # top stats: rows are not pages
        ([["is", "visit:source", ["Google", "Bing"]], blog], ["event:page"]),  # two values: no segment
        ([["is", "visit:device", ["Mobile"]], blog], ["event:page"]),  # not a segment attribute
    ]:
        p = plan(query(["visitors"], dims, filters=filters))
        assert p.keep is None and p.segment is None, (filters, dims)


ENTRIES = {"metrics": ["visits"], "dimensions": ["visit:entry_page", "visit:channel"]}
SOURCE = ["is", "visit:source", ["Google"]]
BLOG = ["contains", "event:page", ["/blog/"]]


def test_an_entry_page_that_passes_the_page_conditions_implies_them() -> None:
    """The Headline check's entrances by channel under "source is Google, page contains /blog/":
    every visit that entered on a listed /blog/ page has a matching event, its first."""
    entry = ["is", "visit:entry_page", ["/blog/a", "/blog/b"]]
    p = plan(query(ENTRIES["metrics"], ENTRIES["dimensions"], filters=[SOURCE, BLOG, entry]))
    assert p.query.filters == And((Condition(*SOURCE[:2], ("Google",)), Condition(*entry[:2], ("/blog/a", "/blog/b"))))
    assert p.rollup is None and p.segment is None
    alone = plan(query(["visitors", "bounce_rate", "visit_duration"], ["visit:country"], filters=[BLOG, entry]))
    assert alone.query.filters == Condition(*entry[:2], ("/blog/a", "/blog/b"))


@pytest.mark.parametrize(
    ("metrics", "dimensions", "filters"),
    [
        (["visits"], ["visit:channel"], [BLOG, ["is", "visit:entry_page", ["/blog/a", "/about"]]]),  # /about fails
        (["visits", "pageviews"], ["visit:channel"], [BLOG, ["is", "visit:entry_page", ["/blog/a"]]]),  # counts views
        (["visits"], ["event:page"], [BLOG, ["is", "visit:entry_page", ["/blog/a"]]]),  # an event dimension
        (["visits"], [], [["contains", "event:page", ["/BLOG/"], {"case_sensitive": False}],
                          ["is", "visit:entry_page", ["/blog/a"]]]),  # case-insensitive
        (["visits"], [], [BLOG, ["is", "event:goal", ["Signup"]], ["is", "visit:entry_page", ["/blog/a"]]]),
        (["visits"], [], [BLOG, ["contains", "visit:entry_page", ["/blog/"]]]),  # not `is`
    ],
)  # fmt: skip
def test_page_conditions_stay_when_the_entry_page_does_not_imply_them(
    metrics: list[str], dimensions: list[str], filters: list[Any]
) -> None:
    q = query(metrics, dimensions, filters=filters)
    assert plan(q).query == q


def test_page_conditions_stay_when_imported_history_would_answer_without_them() -> None:
    """Imported entry pages answer "entry page is /blog/a" but not with a page filter beside it:
    dropping the page filter would merge imported history the query asked without."""
    q = query(["visits"], ["visit:entry_page"], filters=[BLOG, ["is", "visit:entry_page", ["/blog/a"]]],
              include={"imports": True})  # fmt: skip
    p = plan(q)
    assert (p.query, p.imports) == (q, False)
