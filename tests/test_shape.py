"""From sums to a result (analytics/stats/shape.py): bases, metrics, order, paging and labels, without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from analytics.model import Site
from analytics.stats.parse import parse
from analytics.stats.query import And, Condition, Not
from analytics.stats.shape import shape, supporting

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def query(metrics: list[str], dimensions: list[str] | None = None, **body: Any) -> Any:
    body.setdefault("date_range", ["2026-02-23", "2026-03-01"])
    return parse({"metrics": metrics, "dimensions": dimensions or [], **body}, SITE, NOW)


def test_supporting_queries_give_the_bases_of_relative_metrics() -> None:
    assert supporting(query(["visitors"], ["visit:source"])) == []
    share = query(["visitors", "percentage"], ["visit:source"])
    (base,) = supporting(share)
    assert (base.dimensions, base.metrics, base.filters) == ((), ("visitors",), None)

    goal = Condition("is", "event:goal", ("Signup",))
    country = Condition("is", "visit:country", ("CH",))
    cr = query(["conversion_rate"], ["event:goal", "time:day"],
               filters=[["is", "event:goal", ["Signup"]], ["is", "visit:country", ["CH"]]])  # fmt: skip
    (base,) = supporting(cr)
    assert cr.filters == And((goal, country))
    assert (base.dimensions, base.filters, base.metrics) == (("time:day",), country, ("visitors",))


def test_goal_conditions_leave_the_base_wherever_they_are() -> None:
    q = query(["conversion_rate"], filters=[["not", ["is", "event:goal", ["Signup"]]]])
    assert supporting(q)[0].filters is None
    q = query(["conversion_rate"], filters=[["or", [["is", "event:goal", ["A"]], ["is", "event:page", ["/"]]]],
                                            ["is", "event:goal", ["B"]]])  # fmt: skip
    assert supporting(q)[0].filters == Condition("is", "event:page", ("/",))
    q = query(["conversion_rate"], ["event:goal"], filters=[["not", ["is", "event:page", ["/"]]]])
    assert supporting(q)[0].filters == Not(Condition("is", "event:page", ("/",)))


def test_metrics_from_sums_ordered_by_the_first_metric() -> None:
    q = query(["visitors", "bounce_rate", "percentage"], ["visit:source"])
    groups = {("Google",): {"visitors": 3, "visits": 4, "bounces": 1}, ("Bing",): {"visitors": 5, "visits": 5},
              ("Gone",): {"visitors": 0, "visits": 0}}  # fmt: skip
    result = shape(q, groups, [{(): {"visitors": 10}}])
    assert result.rows == [(("Bing",), (5, 0, 50.0)), (("Google",), (3, 25, 30.0))]  # an all-zero row is left out
    assert (result.total_rows, result.time_labels) == (None, None)


def test_conversion_rate_per_row_of_the_other_dimensions() -> None:
    q = query(["visitors", "conversion_rate"], ["event:goal", "time:day"])
    groups = {("Signup", "2026-02-23"): {"visitors": 1}, ("Signup", "2026-02-24"): {"visitors": 2}}
    base = {("2026-02-23",): {"visitors": 4}, ("2026-02-24",): {"visitors": 8}}
    rows = shape(q, groups, [base]).rows
    assert rows == [(("Signup", "2026-02-23"), (1, 25.0)), (("Signup", "2026-02-24"), (2, 25.0))]
    only_goal = query(["conversion_rate"], ["event:goal"])
    assert shape(only_goal, {("Signup",): {"visitors": 3}}, [{(): {"visitors": 12}}]).rows == [(("Signup",), (25.0,))]


def test_order_paging_and_totals() -> None:
    q = query(["visitors"], ["visit:source"], order_by=[["visit:source", "asc"]],
              pagination={"limit": 2, "offset": 1}, include={"total_rows": True})  # fmt: skip
    groups = {(s,): {"visitors": v} for s, v in (("c", 1), ("a", 9), ("d", 4), ("b", 2))}
    result = shape(q, groups, [])
    assert result.rows == [(("b",), (2,)), (("c",), (1,))] and result.total_rows == 4
    desc = query(["visitors", "visits"], ["visit:source"], order_by=[["visits", "desc"], ["visitors", "asc"]])
    groups = {("a",): {"visitors": 2, "visits": 3}, ("b",): {"visitors": 1, "visits": 3}, ("c",): {"visits": 9}}
    assert [k for k, _ in shape(desc, groups, []).rows] == [("c",), ("b",), ("a",)]


def test_a_missing_scroll_depth_sorts_as_the_largest_value() -> None:
    """As SQL's default NULL order: last ascending, first descending."""
    groups = {("/a",): {"pageviews": 1}, ("/b",): {"scroll_total": 30, "scroll_visits": 1},
              ("/c",): {"scroll_total": 90, "scroll_visits": 1}}  # fmt: skip
    asc = query(["scroll_depth"], ["event:page"], order_by=[["scroll_depth", "asc"]])
    assert shape(asc, groups, []).rows == [(("/b",), (30,)), (("/c",), (90,)), (("/a",), (None,))]
    desc = query(["scroll_depth"], ["event:page"], order_by=[["scroll_depth", "desc"]])
    assert shape(desc, groups, []).rows == [(("/a",), (None,)), (("/c",), (90,)), (("/b",), (30,))]


def test_time_rows_labels_and_an_empty_total() -> None:
    q = query(["visitors"], ["time:week"], date_range=["2026-02-25", "2026-03-10"], include={"time_labels": True})
    # The store labels a week by its Monday; the first week starts before the range.
    groups = {("2026-02-23",): {"visitors": 2}, ("2026-03-02",): {"visitors": 5}}
    result = shape(q, groups, [])
    assert result.rows == [(("2026-02-25",), (2,)), (("2026-03-02",), (5,))]
    assert result.time_labels == ["2026-02-25", "2026-03-02", "2026-03-09"]
    empty = shape(query(["visitors", "bounce_rate", "scroll_depth"]), {}, [])
    assert empty.rows == [((), (0, 0, None))]  # a total is one row, even of nothing
    assert shape(query(["visitors"], ["visit:source"]), {}, []).rows == []
