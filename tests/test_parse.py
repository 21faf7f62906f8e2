"""Parsing a Stats API body into a `Query` (analytics/stats/parse.py), without a database.

Every error message is checked through the API in test_api_errors.py; here: what
a valid body becomes, and the bounds counted inside the parser.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from analytics.errors import BadRequest
from analytics.model import Site
from analytics.stats import parse as parsemod
from analytics.stats.parse import parse, parse_filter, parse_filters
from analytics.stats.query import And, Condition, Not, Or, Query

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_full_body() -> None:
    q = parse(
        {
            "site_id": "blog.example.org",
            "metrics": ["visitors", "bounce_rate"],
            "date_range": ["2026-02-01", "2026-02-28"],
            "dimensions": ["visit:source", "time:week"],
            "filters": [["is", "visit:country", ["CH", "DE"]], ["contains", "event:page", ["blog"], {"case_sensitive": False}]],
            "order_by": [["visitors", "desc"], ["visit:source", "asc"]],
            "include": {"imports": True, "time_labels": True, "total_rows": True},
            "pagination": {"limit": 50, "offset": 100},
        },
        SITE,
        NOW,
    )
    assert q == Query(
        site=SITE,
        metrics=("visitors", "bounce_rate"),
        start=datetime(2026, 1, 31, 23, tzinfo=UTC),
        end=datetime(2026, 2, 28, 23, tzinfo=UTC),
        first_day=date(2026, 2, 1),
        last_day=date(2026, 2, 28),
        dimensions=("visit:source", "time:week"),
        filters=And((Condition("is", "visit:country", ("CH", "DE")), Condition("contains", "event:page", ("blog",), False))),
        order_by=(("visitors", "desc"), ("visit:source", "asc")),
        limit=50,
        offset=100,
        include_imports=True,
        time_labels=True,
        total_rows=True,
        time_granularity="day",
    )


def test_defaults() -> None:
    q = parse({"metrics": ["visitors"], "date_range": "day"}, SITE, NOW)
    assert (q.dimensions, q.filters, q.order_by, q.limit, q.offset) == ((), None, (), 10000, 0)
    assert (q.include_imports, q.time_labels, q.total_rows, q.time_granularity) == (False, False, False, "hour")
    assert parse({"metrics": ["visitors"], "date_range": "all"}, SITE, NOW, date(2025, 1, 5)).first_day == date(2025, 1, 5)
    # The dashboard passes "date" (the API itself refuses it, in api/v2.py).
    assert parse({"metrics": ["visitors"], "date_range": "day", "date": "x"}, SITE, NOW).metrics == ("visitors",)


def test_filters() -> None:
    one = parse_filters([["is", "visit:source", ["Google"]]])
    assert one == Condition("is", "visit:source", ("Google",))  # one filter is not wrapped
    assert parse_filters([]) is None and parse_filters(None) is None
    tree = parse_filter(["or", [["not", ["is_not", "event:goal", ["Signup"]]], ["matches", "event:props:plan", ["^p", 3]]]])
    assert tree == Or((Not(Condition("is_not", "event:goal", ("Signup",))), Condition("matches", "event:props:plan", ("^p", "3"))))
    assert parse_filter(["is", "event:page", [1, 2.5]]).values == ("1", "2.5")  # numbers compare as text


def test_filter_bounds_are_counted_as_documented() -> None:
    def nested(levels: int) -> list[Any]:
        f: list[Any] = ["is", "event:page", ["/"]]
        for _ in range(levels):
            f = ["not", f]
        return f

    assert isinstance(parse_filter(nested(parsemod.MAX_FILTER_DEPTH)), Not)
    with pytest.raises(BadRequest, match="nested too deeply"):
        parse_filter(nested(parsemod.MAX_FILTER_DEPTH + 1))
    # "is" counts once whatever its values; contains and matches count each value.
    many_is = [["is", "event:page", [str(i) for i in range(1000)]]] * parsemod.MAX_FILTER_CLAUSES
    assert isinstance(parse_filters(many_is), And)
    half = [["contains", "event:page", [str(i) for i in range(100)]]]
    assert parse_filters(half * 2) is not None
    with pytest.raises(BadRequest, match="too complex"):
        parse_filters(half * 2 + [["is", "event:page", ["/"]]])


def test_a_date_time_is_not_cut_to_its_day() -> None:
    with pytest.raises(BadRequest, match="invalid date"):
        parse({"metrics": ["visitors"], "date_range": ["2026-03-01T10:00:00", "2026-03-02"]}, SITE, NOW)


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(BadRequest) as exc:
        parse({"metrics": ["x" * 200], "date_range": "day"}, SITE, NOW)
    assert exc.value.message.startswith('Unknown metric "' + "x" * 76 + "...;")


def test_matches_patterns_are_checked_with_re2() -> None:
    """The parser refuses what RE2 cannot run, naming RE2's reason; Python's `re` would accept these."""
    with pytest.raises(BadRequest, match=r'Invalid regular expression "\(a\)\\\\1": invalid escape sequence: \\1'):
        parse_filter(["matches", "event:page", [r"(a)\1"]])
    with pytest.raises(BadRequest, match=r"invalid perl operator: \(\?<="):
        parse_filter(["matches_not", "event:page", ["(?<=/)blog"]])
    assert parse_filter(["matches", "event:page", ["^/(a+)+$"]]) == Condition("matches", "event:page", ("^/(a+)+$",))
    with pytest.raises(BadRequest, match="at most 500 characters"):
        parse_filter(["matches", "event:page", ["a" * (parsemod.MAX_PATTERN_LENGTH + 1)]])


def test_a_query_has_at_most_so_many_patterns() -> None:
    each = [["matches", "event:page", [f"^/{i}"]] for i in range(parsemod.MAX_PATTERNS)]
    assert isinstance(parse_filters(each), And)
    with pytest.raises(BadRequest, match="too many matches patterns: at most 100 in one query"):
        parse_filters([*each, ["not", ["matches_not", "visit:source", ["x"]]]])
