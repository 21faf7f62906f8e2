"""Goals in queries: a page goal ("Visit /blog/*") as the conditions that find its page views.

A custom-event goal is the `event:goal` dimension as it is: events of that
name. A page goal is a visit to pages matching a path pattern, by the one rule
the excluded paths in Settings and the tracker's `data-exclude` use
(`enrich.urls.path_matches`): `*` (or `**`) stands for any characters, `/`
included, and a trailing `/` on the path is optional. As a filter
it becomes "a pageview whose path matches", so visitors, visits and every
breakdown under it count the visits that reached such a page. The pattern is
turned into an anchored RE2 expression here, once, for every backend.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any, Protocol

from analytics.stats import run as stats_run
from analytics.stats import shape
from analytics.stats.imported import skip_reason
from analytics.stats.metrics import metric_value
from analytics.stats.query import And, Condition, Filter, Not, Or, PageGoal, Query, QueryResult
from analytics.store.base import Store

UNPAGED = 1 << 31  # every row: a breakdown with page goals is paged after its rows are merged


class GoalLike(Protocol):
    """A defined goal, as accounts.goals.Goal has it (stats does not import accounts)."""

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> str: ...

    @property
    def name(self) -> str: ...


def pattern(path: str) -> str:
    """The RE2 expression for a page goal's path pattern: the whole path, `*` any characters, a final `/` optional."""
    return "^" + ".*".join(re.escape(part) for part in re.split(r"\*+", path)) + "/?$"


def page_goal(name: str, goals: Sequence[GoalLike]) -> GoalLike | None:
    """The page goal shown as `name`, if one is defined."""
    return next((g for g in goals if g.kind == "page" and g.name == name), None)


def expand(filters: list[list[Any]], goals: Sequence[GoalLike]) -> list[list[Any]]:
    """Dashboard filters with each `is event:goal` naming a page goal replaced by its page-view conditions."""
    out: list[list[Any]] = []
    for f in filters:
        if len(f) >= 3 and f[0] == "is" and f[1] == "event:goal" and len(f[2]) == 1:
            goal = page_goal(str(f[2][0]), goals)
            if goal is not None:
                views = [["is", "event:name", ["pageview"]], ["matches", "event:page", [pattern(goal.value)]]]
                out.append(["and", views])
                continue
        out.append(f)
    return out


def expand_query(query: Query, goals: Sequence[GoalLike]) -> Query:
    """A parsed query with every page goal its `is event:goal` conditions name as a `PageGoal`.

    The Stats API's form of `expand`: the filter may nest, and a condition may
    name several goals, some custom events and some pages (any of them counts).
    A conversion rate's base drops the `PageGoal`s as it drops goal conditions.
    """
    if query.filters is None or not any(g.kind == "page" for g in goals):
        return query
    return dataclasses.replace(query, filters=_expand(query.filters, goals))


def _expand(f: Filter, goals: Sequence[GoalLike]) -> Filter:
    if isinstance(f, Not):
        return Not(_expand(f.item, goals))
    if isinstance(f, And | Or):
        return type(f)(tuple(_expand(i, goals) for i in f.items))
    if f.dimension != "event:goal" or f.op != "is":
        return f
    fold = (lambda v: v) if f.case_sensitive else str.casefold
    pages = {fold(g.name): g for g in goals if g.kind == "page"}
    names = tuple(v for v in f.values if fold(v) not in pages)
    found = [pages[fold(v)] for v in f.values if fold(v) in pages]
    items: list[Filter] = [
        PageGoal(
            (Condition("is", "event:name", ("pageview",)), Condition("matches", "event:page", (pattern(g.value),))),
            g.name,
        )
        for g in dict.fromkeys(found)
    ]
    if not items:
        return f
    if names:
        items.insert(0, dataclasses.replace(f, values=names))
    return items[0] if len(items) == 1 else Or(tuple(items))


def page_goal_rows(query: Query, goals: Sequence[GoalLike]) -> list[tuple[str, Query]]:
    """For a breakdown by `event:goal`: per defined page goal, the query whose rows are its rows.

    Goals in a breakdown are custom events by name; a page goal is not an event
    name, so each gets a query of its own, as the dashboard's goals tab does:
    the other dimensions, the filter and the goal's page views, with `events`
    read as those page views (as Plausible does), and `percentage` as the
    visitors it is a share of (`merge` divides by the view's visitors, as for
    the other rows). Unpaged: `merge` pages all rows.
    """
    if "event:goal" not in query.dimensions:
        return []
    metrics = tuple({"events": "pageviews", "percentage": "visitors"}.get(m, m) for m in query.metrics)
    out = []
    for g in goals:
        if g.kind == "page":
            views = _expand(Condition("is", "event:goal", (g.name,)), goals)
            out.append((g.name, dataclasses.replace(
                query, dimensions=tuple(d for d in query.dimensions if d != "event:goal"), metrics=metrics,
                filters=views if query.filters is None else And((query.filters, views)),
                order_by=(), limit=UNPAGED, offset=0, total_rows=False, time_labels=False,
            )))  # fmt: skip
    return out


def imports_reason(query: Query, pages: list[tuple[str, Query]]) -> str | None:
    """Why a goal breakdown with imports leaves them out, or None when it keeps them.

    Imported history has no page views per path together with event names, so
    a page goal's rows cannot include it. Then no row does: a breakdown mixing
    rows with and without imported history would not add up.
    """
    if not query.include_imports:
        return None
    if all(skip_reason(q) is None for _, q in pages):
        return None
    return "imported data has no page goals, so no goal row includes it"


def unpaged(query: Query) -> Query:
    """The query with every row: `merge` pages it with the page goals' rows."""
    return dataclasses.replace(query, limit=UNPAGED, offset=0)


def view_visitors(query: Query) -> Query:
    """The visitors of the query's view, without its dimensions: what `percentage` is a share of."""
    return dataclasses.replace(query, dimensions=(), metrics=("visitors",), order_by=(), limit=UNPAGED, offset=0,
                               total_rows=False, time_labels=False)  # fmt: skip


def merge(
    query: Query, result: QueryResult, goal_rows: list[tuple[str, QueryResult]], view: QueryResult | None = None
) -> QueryResult:
    """The custom events' rows (`result`, of `unpaged(query)`) with each page goal's rows, ordered and paged.

    `view` is the answer of `view_visitors(query)`, needed when `percentage` is asked.
    """
    at = query.dimensions.index("event:goal")
    share = query.metrics.index("percentage") if "percentage" in query.metrics else None
    total = view.rows[0][1][0] or 0 if view is not None and view.rows else 0
    rows = [*result.rows]
    for name, found in goal_rows:
        for key, values in found.rows:
            if share is not None:
                visitors = {"visitors": values[share] or 0}
                values = (*values[:share], metric_value("percentage", visitors, total), *values[share + 1 :])
            rows.append(((*key[:at], name, *key[at:]), values))
    merged = shape.paged(query, rows)
    merged.meta = result.meta
    return merged


async def run(store: Store, query: Query, goals: Sequence[GoalLike]) -> QueryResult:
    """Answer a query that names or breaks down by goals, with the site's page goals.

    A page goal in a filter becomes its page views (`expand_query`); a breakdown by
    `event:goal` gets a row per page goal reached (`page_goal_rows`), merged with the
    custom events' rows and paged with them (`merge`), all in one store batch.
    """
    query = expand_query(query, goals)
    pages = page_goal_rows(query, goals)
    if not pages:
        return await stats_run.run(store, query)
    without = imports_reason(query, pages)
    if without is not None:
        query = dataclasses.replace(query, include_imports=False)
        pages = [(name, dataclasses.replace(q, include_imports=False)) for name, q in pages]
    view = [view_visitors(query)] if "percentage" in query.metrics else []
    found = await stats_run.run_many(store, [unpaged(query), *(q for _, q in pages), *view])
    named = [(name, r) for (name, _), r in zip(pages, found[1 : 1 + len(pages)], strict=True)]
    result = merge(query, found[0], named, found[-1] if view else None)
    if without is not None:
        result.meta = {"imports_included": False, "imports_skip_reason": without}
    return result


def without_goal(filters: list[list[Any]]) -> list[list[Any]]:
    """The filters without their goal condition: the visitors a conversion rate is a share of."""
    return [f for f in filters if not (len(f) >= 3 and f[1] == "event:goal")]
