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

from analytics.catalog import BY_NAME, ROLLUP_DIMS, ROLLUPS, SEGMENTS, visitor_credit
from analytics.stats.imported import skip_reason
from analytics.stats.medians import Groups
from analytics.stats.metrics import MEDIAN, needed_sums
from analytics.stats.query import Condition, Query

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
    # The rows to keep, (key position, values), when the query's filter was the one `is` on a dimension
    # it breaks down by: the plan reads that breakdown unfiltered and keeps those rows (`own_filter`).
    keep: tuple[int, frozenset[str]] | None = None
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


def own_filter(query: Query) -> tuple[int, frozenset[str]] | None:
    """(key position, values) when the filter is one case-sensitive `is` on a dimension the query breaks
    down by, beside time dimensions only: such a filter keeps whole rows of the unfiltered breakdown.

    Every event has one value of the dimension, so the events that pass are exactly
    those of the kept rows, and each row's sums are the unfiltered row's. The Headline
    check's median time for its listed pages is such a query (`["is", "event:page", paths]`).
    """
    f = query.filters
    if not isinstance(f, Condition) or f.op != "is" or not f.case_sensitive:
        return None
    if f.dimension not in query.dimensions:
        return None
    if any(d != f.dimension and not d.startswith("time") for d in query.dimensions):
        return None
    return query.dimensions.index(f.dimension), frozenset(f.values)


def segment_for(query: Query, sums: frozenset[str]) -> Segment | None:
    """The segment a raw `query` filters on, when its filter is one case-sensitive `is` with one value
    on a segment attribute and one rollup table answers the query without it."""
    f = query.filters
    if not isinstance(f, Condition) or f.op != "is" or not f.case_sensitive or len(f.values) != 1:
        return None
    if f.dimension not in SEGMENTS:
        return None
    table = rollup_for(dataclasses.replace(query, filters=None), sums)
    return None if table is None else Segment(f.dimension, f.values[0], table)


def plan(query: Query, sums: set[str] | frozenset[str] | None = None, *, raw: bool = False) -> Plan:
    """The plan for `query`. `raw=True` skips rollups: tests use it to check both ways agree."""
    needed = frozenset(needed_sums(query.metrics) if sums is None else sums) - {MEDIAN}
    rollup = None if raw else rollup_for(query, needed)
    imports = query.include_imports and skip_reason(query) is None
    keep = None if raw or rollup is not None else own_filter(query)
    if keep is not None:
        whole = dataclasses.replace(query, filters=None)
        table = rollup_for(whole, needed)
        if table is not None:
            return Plan(whole, needed, table, imports, keep=keep)
    segment = None if raw or rollup is not None else segment_for(query, needed)
    return Plan(query, needed, rollup, imports, segment=segment)


def kept(groups: Groups, p: Plan) -> Groups:
    """A plan's rows, only those it keeps when it read a breakdown unfiltered (`Plan.keep`)."""
    if p.keep is None:
        return groups
    at, values = p.keep
    return {key: sums for key, sums in groups.items() if key[at] in values}


def histogram_plan(query: Query) -> Plan | None:
    """The plan counting page visits per whole engaged second, when `query` asks for a median of them.

    Medians come from raw events only: no rollup or imported report holds a distribution.
    """
    if MEDIAN not in needed_sums(query.metrics):
        return None
    return Plan(query, frozenset({"page_visits"}), None, False, histogram=True)
