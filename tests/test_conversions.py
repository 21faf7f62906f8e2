"""Goals in queries (analytics/stats/conversions.py): page patterns as RE2, page goals as page-view filters."""

from __future__ import annotations

import pytest

from analytics.accounts.goals import Goal
from analytics.enrich.urls import path_matches
from analytics.stats import conversions, patterns

GOALS = [Goal(1, "event", "Signup"), Goal(2, "page", "/blog/*"), Goal(3, "page", "/docs/**")]


@pytest.mark.parametrize(
    ("path", "matches", "misses"),
    [
        ("/thanks", ["/thanks"], ["/x/thanks", "/Thanks"]),
        ("/blog/*", ["/blog/", "/blog/a-post", "/blog/a/b"], ["/blog", "/blogs/a"]),  # * is any characters, / too
        ("/docs/**", ["/docs/a", "/docs/a/b/c"], ["/doc"]),  # ** the same
        ("/thanks", ["/thanks", "/thanks/"], ["/thanks/x", "/thanksgiving"]),  # a trailing / is optional
        ("/a.b+(c)", ["/a.b+(c)"], ["/aXb+(c)", "/a.bb(c)"]),  # everything else is literal
        ("/*/edit", ["/7/edit", "/7/8/edit"], ["/7/editor"]),
    ],
)
def test_page_patterns(path: str, matches: list[str], misses: list[str]) -> None:
    expr = conversions.pattern(path)
    assert patterns.problem(expr) is None
    assert [patterns.search(expr, p) for p in matches] == [True] * len(matches)
    assert [patterns.search(expr, p) for p in misses] == [False] * len(misses)
    # One rule with the excluded paths in Settings and the tracker's data-exclude.
    assert [path_matches(p, [path]) for p in matches + misses] == [True] * len(matches) + [False] * len(misses)


def test_a_page_goal_filter_becomes_its_page_views() -> None:
    source = ["is", "visit:source", ["Google"]]
    assert conversions.expand([source, ["is", "event:goal", ["Visit /blog/*"]]], GOALS) == [
        source,
        ["and", [["is", "event:name", ["pageview"]], ["matches", "event:page", ["^/blog/.*/?$"]]]],
    ]
    # An event goal, or a name no page goal has, stays as it is.
    for name in ("Signup", "Visit /nowhere"):
        assert conversions.expand([["is", "event:goal", [name]]], GOALS) == [["is", "event:goal", [name]]]
    assert conversions.without_goal([source, ["is", "event:goal", ["Signup"]]]) == [source]
    assert conversions.page_goal("Visit /docs/**", GOALS) == GOALS[2] and conversions.page_goal("Signup", GOALS) is None


def test_a_parsed_query_gets_its_page_goals_wherever_they_are_named() -> None:
    """The Stats API's form: nested conditions, several names, case-insensitive names, and `not`."""
    from datetime import UTC, date, datetime

    from analytics.model import Site
    from analytics.stats.query import And, Condition, Not, Or, PageGoal, Query

    blog = PageGoal(
        (Condition("is", "event:name", ("pageview",)), Condition("matches", "event:page", ("^/blog/.*/?$",))),
        "Visit /blog/*",
    )
    source = Condition("is", "visit:source", ("Google",))

    def expanded(f: Condition | And | Or | Not) -> object:
        moment = datetime(2026, 3, 1, tzinfo=UTC)
        query = Query(Site(1, "example.org", "UTC"), ("visitors",), moment, moment, date(2026, 3, 1), date(2026, 3, 1),
                      filters=f)  # fmt: skip
        return conversions.expand_query(query, GOALS).filters

    assert expanded(And((source, Condition("is", "event:goal", ("Visit /blog/*",))))) == And((source, blog))
    assert expanded(Condition("is", "event:goal", ("Signup", "Visit /blog/*"))) == Or(
        (Condition("is", "event:goal", ("Signup",)), blog)
    )
    assert expanded(Condition("is", "event:goal", ("visit /BLOG/*",), case_sensitive=False)) == blog
    assert expanded(Not(Condition("is", "event:goal", ("Visit /blog/*",)))) == Not(blog)
    # Other operators and names no page goal has stay as they are.
    for kept in (Condition("contains", "event:goal", ("Visit",)), Condition("is", "event:goal", ("Visit /x",))):
        assert expanded(kept) == kept
