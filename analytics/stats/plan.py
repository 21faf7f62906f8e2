"""Planning: which stored data answers a query, decided once, above every backend.

A `Plan` names the sums a query needs, whether one rollup table answers it
exactly (unfiltered, every dimension keyed by that table) or raw events must,
and whether imported history is merged in. A backend only compiles a plan to
its own language and returns sums; it never decides between rollups and raw
events, so two backends cannot plan the same query differently.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeGuard

from analytics.catalog import BY_NAME, ROLLUP_DIMS, ROLLUPS, SEGMENTS, visitor_credit
from analytics.stats import patterns
from analytics.stats.imported import skip_reason
from analytics.stats.medians import Groups
from analytics.stats.metrics import MEDIAN, needed_sums
from analytics.stats.query import And, Condition, Filter, Not, Or, PageGoal, Query, filter_dimensions, joined

_VISIT_SUMS = frozenset({"visitors", "visits", "pageviews", "bounces", "duration", "reads", "readers"})
_PAGE_SUMS = frozenset({
    "visitors", "visits", "pageviews", "time_total", "scroll_total", "scroll_visits", "page_visits", "reads", "readers",
})  # fmt: skip
# The sums each rollup table carries. Totals combine rollup_totals with rollup_pages.
ROLLUP_SUMS: dict[str, frozenset[str]] = {
    **{r.table: _VISIT_SUMS for r in ROLLUPS if r.level == "visit"},
    "rollup_totals": _VISIT_SUMS | _PAGE_SUMS | {"events", "time_visits"},
    "rollup_pages": _PAGE_SUMS,
    "rollup_events": frozenset({"visitors", "events"}),
}


def rollup_tables(table: str, sums: set[str] | frozenset[str]) -> list[tuple[str, tuple[str, ...]]]:
    """The rollup tables a rollup plan on `table` reads, each with the sums it gives (in a fixed order).

    Totals combine rollup_totals with rollup_pages (time on page and scroll depth
    are kept per page); every other table gives its own sums.
    """
    if table == "rollup_totals":
        main = tuple(
            x for x in ("visitors", "visits", "pageviews", "bounces", "duration", "events", "reads", "readers")
            if x in sums
        )  # fmt: skip
        page = tuple(x for x in ("time_total", "page_visits", "scroll_total", "scroll_visits") if x in sums)
        return [("rollup_totals", main), ("rollup_pages", page)]
    return [(table, tuple(sorted(ROLLUP_SUMS[table] & sums)))]


@dataclass(frozen=True, slots=True)
class Segment:
    """A filter on one value of a segment attribute (catalog SEGMENTS), and the rollup table
    that answers the query without it: a backend that keeps that table per value answers from it."""

    dimension: str
    value: str
    table: str


@dataclass(frozen=True, slots=True)
class Plan:
    """How to answer one query: what to sum, from which table, with or without imports."""

    query: Query
    sums: frozenset[str]
    rollup: str | None  # the rollup table that answers exactly; None: raw events
    imports: bool = False  # merge imported history (the query asked, and imports can answer it)
    # Count page visits per key and whole engaged seconds instead of summing (see stats.medians):
    # raw events only, and each key gains a last element, the seconds.
    histogram: bool = False
    # The rows to keep, (key position, the conditions on that key), when the query's filter tests
    # a dimension it breaks down by: the rows whose value passes (`own_filter`, `kept`).
    keep: tuple[int, Filter] | None = None
    # A raw plan whose filter is one value of a segment attribute: a backend that keeps rollups
    # per segment (store.sqlite.splits) may answer its settled days from them. Ignoring it is exact.
    segment: Segment | None = None
    # The range continues days answered from rollups (the days after a segment plan's settled ones):
    # a visit begun before it counts a page visit and its scroll depth from their first occurrence
    # in the visit, as the rollups count them, so a page read across the seam counts once.
    continues: bool = False

    @property
    def key_width(self) -> int:
        """How many values a group key of this plan holds."""
        return len(self.query.dimensions) + self.histogram


def rollup_for(query: Query, sums: set[str] | frozenset[str]) -> str | None:
    """The one rollup table that answers `query` exactly, or None for raw events."""
    if query.filters is not None:
        return None
    dims = [d for d in query.dimensions if not d.startswith("time")]
    if not dims:
        return "rollup_totals"
    tables = {ROLLUP_DIMS[d][0] if d in ROLLUP_DIMS else None for d in dims}
    if len(tables) != 1 or None in tables:
        return None
    table = tables.pop()
    assert table is not None
    if visitor_credit(table, [BY_NAME[d].column for d in dims]) is None:
        return None
    return table if sums <= ROLLUP_SUMS[table] else None


def own_filter(query: Query) -> tuple[Condition | None, tuple[int, Filter]] | None:
    """When the filter tests the one dimension the query breaks down by (beside time), and perhaps
    one value of a segment attribute: (that segment condition or None, (key position, the rest)).

    Such conditions keep whole rows of the breakdown without them. Every event has one
    value of the dimension, so the events that pass are exactly those of the kept rows,
    and each row's sums are the row's without them. The conditions must be case-sensitive
    (`passes` tests them as SQLite and ClickHouse do) and on a goal only `is` (a goal
    filter also drops pageviews). The Headline check's median time for its listed pages
    is such a query (`["is", "event:page", paths]`); so is a pages tab under "source is
    Google, page contains /blog/".
    """
    items = _and_items(query.filters)
    segment = [c for c in items if _segment_value(c) and c.dimension not in query.dimensions]
    rest = [c for c in items if c not in segment[:1]]
    dims = [d for d in query.dimensions if not d.startswith("time")]
    if not rest or len(dims) != 1:
        return None
    for c in rest:
        if not isinstance(c, Condition) or c.dimension != dims[0] or not c.case_sensitive:
            return None
        if c.dimension == "event:goal" and c.op != "is":
            return None
    tested = rest[0] if len(rest) == 1 else And(tuple(rest))
    return (segment[0] if segment else None), (query.dimensions.index(dims[0]), tested)


def _and_items(f: Filter | None) -> tuple[Filter, ...]:
    """The conditions a filter ANDs together (itself, when it is not an AND; a page goal is one)."""
    return () if f is None else f.items if isinstance(f, And) and not isinstance(f, PageGoal) else (f,)


def _segment_value(f: Filter | None) -> TypeGuard[Condition]:
    """Whether `f` is one case-sensitive `is` with one value on a segment attribute."""
    return (
        isinstance(f, Condition) and f.op == "is" and f.case_sensitive and len(f.values) == 1
        and f.dimension in SEGMENTS
    )  # fmt: skip


def segment_for(query: Query, sums: frozenset[str]) -> Segment | None:
    """The segment a raw `query` filters on, when its filter is one case-sensitive `is` with one value
    on a segment attribute and one rollup table answers the query without it."""
    f = query.filters
    if not _segment_value(f):
        return None
    table = rollup_for(dataclasses.replace(query, filters=None), sums)
    return None if table is None else Segment(f.dimension, f.values[0], table)


# Sums that only the matching visits decide, not which of their events matched.
_VISIT_ONLY_SUMS = frozenset({"visitors", "visits", "bounces", "duration"})


def entered(query: Query, sums: frozenset[str]) -> Query:
    """`query` without its page conditions when its entry page condition implies them.

    A visit's entry page is the page of the event that opened it, at its start. Under
    "entry page is /blog/a, page contains /blog/", every visit that began in the range
    and entered on /blog/a has a matching event, that one. So for sums the visits alone
    decide (no event dimension, no page views or reads, which count matching events),
    the page conditions test nothing more. The Headline check's entrances by channel of
    its listed pages are such a query, and so is every visit tab of a page-filtered view
    after a click on an entry page: read from the visits alone, not from every event.
    Only case-sensitive conditions (`passes` tests them as the stores do), only when
    the filter has no other event condition, and not when imported history is merged.
    """
    items = _and_items(query.filters)
    if not items or not sums <= _VISIT_ONLY_SUMS or any(d.startswith("event:") for d in query.dimensions):
        return query
    pages = [c for c in items if isinstance(c, Condition) and c.dimension == "event:page" and c.case_sensitive]
    entries = [
        c for c in items
        if isinstance(c, Condition) and c.dimension == "visit:entry_page" and c.op == "is" and c.case_sensitive
    ]  # fmt: skip
    others = [c for c in items if c not in pages]
    if not pages or not entries or any(d.startswith("event:") for d in filter_dimensions(joined(others))):
        return query
    if not any(all(passes(p, v) for p in pages for v in c.values) for c in entries):
        return query
    implied = dataclasses.replace(query, filters=joined(others))
    if implied.include_imports and skip_reason(implied) is None:
        return query  # imported history answers the narrower query, not the one asked
    return implied


def plan(query: Query, sums: set[str] | frozenset[str] | None = None, *, raw: bool = False) -> Plan:
    """The plan for `query`. `raw=True` skips rollups: tests use it to check both ways agree."""
    needed = frozenset(needed_sums(query.metrics) if sums is None else sums) - {MEDIAN}
    query = entered(query, needed)
    rollup = None if raw else rollup_for(query, needed)
    imports = query.include_imports and skip_reason(query) is None
    if raw or rollup is not None:
        return Plan(query, needed, rollup, imports)
    own = own_filter(query)
    if own is not None:
        value, keep = own
        whole = dataclasses.replace(query, filters=value)
        if value is None:
            table = rollup_for(whole, needed)
            if table is not None:
                return Plan(whole, needed, table, imports, keep=keep)
        else:
            # One value of a segment besides: the query stays raw and whole (a backend without
            # per-segment rollups answers it as it is, and keeping its rows changes nothing);
            # one with them reads the segment's rows of the breakdown and keeps those that pass.
            segment = segment_for(whole, needed)
            if segment is not None:
                return Plan(query, needed, None, imports, keep=keep, segment=segment)
    return Plan(query, needed, None, imports, segment=segment_for(query, needed))


def kept(groups: Groups, p: Plan) -> Groups:
    """A plan's rows, only those it keeps when it read a breakdown without its filter (`Plan.keep`)."""
    if p.keep is None:
        return groups
    at, tested = p.keep
    return {key: sums for key, sums in groups.items() if passes(tested, key[at])}


def passes(f: Filter, value: object) -> bool:
    """Whether a breakdown value passes the conditions on its dimension, as the stores test them."""
    if isinstance(f, Not):
        return not passes(f.item, value)
    if isinstance(f, And):
        return all(passes(i, value) for i in f.items)
    if isinstance(f, Or):
        return any(passes(i, value) for i in f.items)
    text = "" if value is None else str(value)
    if f.op in ("is", "is_not"):
        hit = text in f.values
    elif f.op in ("contains", "contains_not"):
        hit = any(v in text for v in f.values)
    else:
        hit = any(patterns.search(v, text) for v in f.values)
    return hit if f.op in ("is", "contains", "matches") else not hit


def histogram_plan(query: Query) -> Plan | None:
    """The plan counting page visits per whole engaged second, when `query` asks for a median of them.

    Medians come from raw events only: no rollup or imported report holds a distribution.
    """
    if MEDIAN not in needed_sums(query.metrics):
        return None
    return Plan(query, frozenset({"page_visits"}), None, False, histogram=True)
