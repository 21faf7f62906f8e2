"""Compile a stats `Plan` to ClickHouse SQL and sum it: the ClickHouse twin of store/sqlite/compiler.py.

The planner chose the data; this module writes the same counting rules in
ClickHouse's dialect:
- rollup plans read the SummingMergeTree rollups: settled whole local days from
  the daily tier (`rollups_day`, chdays.py), the rest from 15-minute buckets;
- raw plans read `events`, which carry their visit's first-touch attributes; only
  visit sums (bounce, duration) and entry or exit pages join the newest version
  of each visit;
- imported history is summed from `imported_*`, group by group.
Texts are stored as text, so no string ids are resolved. Every value is a
server-side bound parameter (`{pN:Type}`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from analytics.catalog import BY_NAME, PROPS_PREFIX, ROLLUP_DIMS, ROLLUP_KEYS, visitor_credit
from analytics.model import BUCKET, DAY
from analytics.stats import dates, sharing
from analytics.stats.imported import (
    IMPORTED_DIMS,
    SUM_COLUMNS,
    import_tables,
)
from analytics.stats.plan import Plan, rollup_tables
from analytics.stats.query import And, Condition, Filter, Not, Or, PageGoal, Query, filter_dimensions, joined
from analytics.store.clickhouse import chdays
from analytics.store.clickhouse.chbatch import Grouping, Part
from analytics.visits.rollups import COUNTERS

POSITIVE = ("is", "contains", "matches")
VISIT_SPAN = 4 * DAY  # how long before an event its visit may have started, at most
PV, ENG = "'pageview'", "'engagement'"
_VISIT_COL = {d.name: f"s.{d.column}" for d in BY_NAME.values() if d.level == "visit"}
_EVENT_COL = {d.name: f"e.{d.column}" for d in BY_NAME.values() if d.level == "event"}
# First-touch visit attributes are also on every event row (ddl.py migration 3): no join for them.
_EVENT_ATTR = {d.name: f"e.{d.column}" for d in BY_NAME.values() if d.level == "visit" and d.first_touch}


def needs_visit_row(dimensions: Iterable[str]) -> bool:
    """Whether testing or reading these dimensions on an event needs its visit's row: what changes over a visit.

    Entry and exit page live on the visit only; first-touch attributes are on every event row.
    """
    return any(d in _VISIT_COL and d not in _EVENT_ATTR for d in dimensions)


def custom_only(f: Filter | None) -> bool:
    """Whether every event passing `f` is a custom event: then `goal_events` holds all of them (ddl.py migration 5).

    A goal condition keeps custom events only (`condition` adds the test), an AND
    when one of its items does, an OR when all of them do. A page goal is pageviews.
    """
    if isinstance(f, Condition):
        return f.dimension == "event:goal" and f.op in POSITIVE
    if isinstance(f, PageGoal):
        return False
    if isinstance(f, And):
        return any(custom_only(i) for i in f.items)
    if isinstance(f, Or):
        return all(custom_only(i) for i in f.items)
    return False


def events_table(f: Filter | None) -> str:
    """The table a raw read with filter `f` scans: the custom events alone when they are all it can keep."""
    return "goal_events" if custom_only(f) else "events"


def reads_custom_only(q: Query) -> bool:
    """Whether every part of a raw plan for `q` reads custom events only: its filter keeps nothing else, or
    it breaks down by goal (`Compiler.raw_where` then keeps custom events)."""
    return custom_only(q.filters) or "event:goal" in q.dimensions


def visitor_day(visitor: str, day: str) -> str:
    """One integer per (visitor id, day), as the SQLite compiler counts them: the id XOR the day shifted left.

    Day numbers are below 2**20, so shifted past 40 bits they never overflow. Counting
    distinct integers is four times faster here than distinct (id, day) tuples (10M
    events, 30 days: 119 against 475 ms), and it is SQLite's definition, so both
    backends count the same values.
    """
    return f"bitXor({visitor}, bitShiftLeft(toInt64({day}), 40))"


_SV = visitor_day("s.visitor_id", "s.day")
_SESSION_EXPRS = {
    "visitors": f"uniqExact({_SV})",
    "visits": "count()",
    "bounces": "countIf(s.pageviews <= 1 AND s.interactive = 0)",
    "duration": "sum(if(s.pageviews <= 1 AND s.interactive = 0, 0, s.last_action - s.start))",
    "pageviews": "sum(s.pageviews)",
    "reads": "sum(s.reads)",
    "readers": f"uniqExactIf({_SV}, s.reads > 0)",
}
IMPORTED_EXPRS: dict[str, dict[str, str]] = {
    table: {name: f"sum({col})" + (f" * {k}" if k != 1 else "") for name, (col, k) in cols.items()}
    for table, cols in SUM_COLUMNS.items()
}


# Each rollup's columns in `rollups` / `rollups_day` (ddl.py): the catalog name -> k<i> or c<i>. Parts read
# the two tables directly, not the per-rollup views: ClickHouse plans a view once per part, which doubled
# the planning of a dashboard's statement (40 parts: 121 against 60 ms).
ROLLUP_COLUMNS: dict[str, dict[str, str]] = {
    t: {**{k: f"k{i}" for i, k in enumerate(keys)}, **{c: f"c{i}" for i, c in enumerate(COUNTERS[t])}}
    for t, keys in ROLLUP_KEYS.items()
}


def _aliased(exprs: Iterable[str]) -> list[str]:
    """Sums named s0, s1...: `union` reads a part's columns by these names."""
    return [f"{e} AS s{k}" for k, e in enumerate(exprs)]


@dataclass(frozen=True, slots=True)
class Shared:
    """Where a plan of a shared filtered set reads (chshared.py): the set's names and what the plan adds to it.

    `events` holds the range's events that pass the set's filter; `visits` the visits
    that started in the range and hold such events (or pass the filter, when it is on
    visit attributes only). `rest` is the plan's own conditions beyond the set's
    (event conditions only, such as a tab's goal), tested on the set's rows.
    """

    events: str
    visits: str
    rest: Filter | None = None
    read_mark: bool = False  # the visits are those holding the set's events, with `r`: whether one was read


class Compiler:
    """The parts of one plan, each a grouped SELECT of dimension labels (d0, d1...) and sums."""

    def __init__(
        self,
        plan: Plan,
        prefix: str = "p",
        through_day: int | None = None,
        imported: bool = True,
        shared: Shared | None = None,
    ) -> None:
        self.plan = plan
        self.shared = shared
        self.through_day = through_day  # the last local day of the site's daily tier (chdays.tiers)
        self.imported = imported  # False when the site has no imported history: no parts to read it
        self.q = plan.query
        self.params: dict[str, Any] = {}
        self.prefix = prefix  # parameter names: `prefix` and a number, unique over the plan's parts
        self._n = 0

    def p(self, value: Any) -> str:
        name = f"{self.prefix}{self._n}"
        self._n += 1
        self.params[name] = value
        kind = "Int64" if isinstance(value, int) else "Date32" if isinstance(value, date) else "String"
        return f"{{{name}:{kind}}}"

    # -- expressions ---------------------------------------------------------------

    def local_offset(self, ts: str) -> str:
        steps = dates.offsets(self.q.site.timezone, self.q.start, self.q.end)
        cases = " ".join(f"WHEN {ts} < {t} THEN {steps[i][1]}" for i, (t, _) in enumerate(steps[1:]))
        return f"(CASE {cases} ELSE {steps[-1][1]} END)" if cases else str(steps[-1][1])

    def time_label(self, ts: str, dim: str, is_local: bool = False) -> str:
        kind = self.q.time_granularity if dim == "time" else dim.split(":", 1)[1]
        local = f"toDateTime({ts}, 'UTC')" if is_local else f"toDateTime({ts} + {self.local_offset(ts)}, 'UTC')"
        return {
            "hour": f"formatDateTime({local}, '%Y-%m-%d %H:00:00')",
            "day": f"toString(toDate({local}))",
            "week": f"toString(toMonday({local}))",
            "month": f"toString(toStartOfMonth({local}))",
        }[kind]

    def local_day(self, ts: str) -> str:
        return f"intDiv({ts} + {self.local_offset(ts)}, {DAY})"

    def bounds(self, column: str) -> str:
        start, end = int(self.q.start.timestamp()), int(self.q.end.timestamp())
        return f"{column} >= {self.p(start)} AND {column} < {self.p(end)}"

    def raw_dim(self, dim: str, session_level: bool = False) -> str:
        if dim.startswith("time"):
            return self.time_label("s.start" if session_level else "e.ts", dim)
        if dim.startswith(PROPS_PREFIX):
            key = self.p(dim[len(PROPS_PREFIX) :])
            return f"if(mapContains(e.props, {key}), e.props[{key}], '(none)')"
        if not session_level and dim in _EVENT_ATTR:
            return _EVENT_ATTR[dim]
        return _VISIT_COL.get(dim) or _EVENT_COL[dim]

    def condition(self, c: Condition, column: str | None = None) -> str:
        target = column or self.raw_dim(c.dimension)
        value = target if c.case_sensitive else f"lower({target})"

        def v(x: str) -> str:
            return self.p(x if c.case_sensitive else x.lower())

        if c.op in ("is", "is_not"):
            sql = f"{value} IN ({', '.join(v(x) for x in c.values)})"
        elif c.op in ("contains", "contains_not"):
            sql = "(" + " OR ".join(f"position({value}, {v(x)}) > 0" for x in c.values) + ")"
        else:
            flags = "" if c.case_sensitive else "(?i)"
            sql = "(" + " OR ".join(f"match({target}, {self.p(flags + x)})" for x in c.values) + ")"
        if column is None and c.dimension == "event:goal":
            sql = f"({sql} AND e.name NOT IN ({PV}, {ENG}))"
        return sql if c.op in POSITIVE else f"NOT ({sql})"

    def filter_sql(self, f: Filter, column: dict[str, str] | None = None) -> str:
        if isinstance(f, Condition):
            return self.condition(f, column[f.dimension] if column is not None else None)
        if isinstance(f, Not):
            return f"NOT ({self.filter_sql(f.item, column)})"
        assert isinstance(f, And | Or)
        joiner = " AND " if isinstance(f, And) else " OR "
        return "(" + joiner.join(self.filter_sql(i, column) for i in f.items) + ")"

    def visit_filter_sql(self, f: Filter) -> str:
        """`f` tested on a visit row (`s`): for filters on visit attributes only."""
        return self.filter_sql(f, _VISIT_COL)

    def sessions(self) -> str:
        """The newest version of each visit that can hold the range's events, as a joinable subquery.

        A visit takes events only while its visitor id lives (two days, see appender.KEEP): one
        that started more than four days before the range holds none of its events.
        """
        start, end = int(self.q.start.timestamp()) - VISIT_SPAN, int(self.q.end.timestamp())
        return (
            f"(SELECT * FROM sessions FINAL WHERE site_id = {self.p(self.q.site.id)}"
            f" AND start >= {self.p(start)} AND start < {self.p(end)})"
        )

    def started(self) -> str:
        """The newest version of each visit that started in the range: what visit sums count."""
        if self.shared is not None:
            return self.shared.visits
        return f"(SELECT * FROM sessions FINAL WHERE site_id = {self.p(self.q.site.id)} AND {self.bounds('start')})"

    # -- parts ----------------------------------------------------------------------

    def parts(self) -> list[Part]:
        sums = set(self.plan.sums)
        native = self.rollup_parts(self.plan.rollup, sums) if self.plan.rollup else self.raw_parts(sums)
        return native + (self.import_parts(sums) if self.plan.imports and self.imported else [])

    def v(self, value: int | str) -> str:
        """A parameter named by its value (an integer, or a word such as a rollup's name).

        Parts of different plans that read the same rows then have the same text, and
        `union` can read them in one scan.
        """
        if isinstance(value, int):
            name = f"vi{value}" if value >= 0 else f"vm{-value}"
            self.params[name] = value
            return f"{{{name}:Int64}}"
        assert value.isidentifier(), value
        self.params[f"vs_{value}"] = value
        return f"{{vs_{value}:String}}"

    def _part(self, sql: str, names: tuple[str, ...], imported: bool = False) -> Part:
        part = Part(sql, self.params, names, imported)
        self.params = {}
        return part

    def _grouped_part(self, source: str, keys: list[str], sums: list[str], names: tuple[str, ...]) -> Part:
        """`SELECT keys, sums FROM source GROUP BY keys` as a part that `union` may merge with others of `source`."""
        cols = [f"{k} AS d{i}" for i, k in enumerate(keys)]
        group = (" GROUP BY " + ", ".join(f"d{i}" for i in range(len(keys)))) if keys else ""
        sql = f"SELECT {', '.join([*cols, *_aliased(sums)])} FROM {source}{group}"
        part = Part(sql, self.params, names, False, Grouping(source, tuple(keys), tuple(sums)))
        self.params = {}
        return part

    def split_filter(self) -> tuple[Filter, Filter | None] | None:
        """The filter as (conditions an event row can test, conditions on the visit row) when it is an AND
        of such conditions and the first part is not empty; None otherwise."""
        items = sharing.conditions(self.q.filters)
        on_visits = [c for c in items if needs_visit_row(filter_dimensions(c))]
        on_events = [c for c in items if c not in on_visits]
        if not on_events or any(not set(filter_dimensions(c)) <= set(_VISIT_COL) for c in on_visits):
            return None
        both = joined(on_events)
        assert both is not None
        return both, joined(on_visits)

    def raw_where(self, f: Filter | None = None) -> str:
        """The events a raw part reads: the site, the range and the plan's filter (or `f`, when given)."""
        if self.shared is not None and f is None:  # the set holds the range and its filter: the plan's rest
            where = "1" if self.shared.rest is None else self.filter_sql(self.shared.rest)
        else:
            where = f"e.site_id = {self.p(self.q.site.id)} AND {self.bounds('e.ts')}"
            f = f if f is not None else self.q.filters
            if f is not None:
                where += " AND " + self.filter_sql(f)
        if "event:goal" in self.q.dimensions:
            where += f" AND e.name NOT IN ({PV}, {ENG})"
        elif "event:name" in self.q.dimensions:
            where += f" AND e.name != {ENG}"
        return where

    def raw_parts(self, sums: set[str]) -> list[Part]:
        """The raw plan, counting exactly as store/sqlite/compiler.py's (see its docstring)."""
        dims = self.q.dimensions
        event_dims = any(d.startswith("event:") for d in dims)
        event_filters = any(d.startswith("event:") for d in filter_dimensions(self.q.filters))
        visit_pageviews = any(d.startswith("visit:") for d in dims) and not event_dims and not event_filters
        session_visitors = not event_dims
        out: list[Part] = []

        # Only what changes over a visit (entry and exit page) needs its visit row next to each event;
        # a shared set has tested the filter already, and a plan's rest there is on events only.
        filter_joined = self.shared is None and needs_visit_row(filter_dimensions(self.q.filters))
        joined = filter_joined or needs_visit_row(dims)
        if self.shared is not None:
            events = self.shared.events
        else:
            events = "goal_events" if reads_custom_only(self.q) else "events"

        def frm(join: bool = joined) -> str:
            if not join:
                return f"FROM {events} AS e"
            return f"FROM {events} AS e INNER JOIN {self.sessions()} AS s ON s.id = e.session_id"

        if self.plan.histogram:
            return [self.histogram_part(frm())]

        def grouped(n: int) -> str:
            return (" GROUP BY " + ", ".join(f"d{i}" for i in range(n))) if n else ""

        # Reads follow pageviews and readers follow visitors (visits.rollups).
        event_sums = tuple(
            x for x in ("visitors", "pageviews", "events", "time_total", "page_visits", "reads", "readers")
            if x in sums
            and not (x in ("visitors", "readers") and session_visitors)
            and not (x in ("pageviews", "reads") and visit_pageviews)
        )  # fmt: skip
        if event_sums:
            counted = f"e.name = {PV}" if {"event:page", "event:hostname"} & set(dims) else f"e.name != {ENG}"
            exprs = {
                "visitors": f"uniqExactIf({visitor_day('e.visitor_id', self.local_day('e.ts'))}, {counted})",
                "pageviews": f"countIf(e.name = {PV})",
                "events": f"countIf(e.name NOT IN ({PV}, {ENG}))",
                "time_total": f"sumIf(ifNull(e.engaged_ms, 0), e.name = {ENG})",
                "page_visits": f"uniqExactIf((e.session_id, e.page), e.name = {PV})",
                "reads": "sum(e.read)",
                "readers": f"uniqExactIf({visitor_day('e.visitor_id', self.local_day('e.ts'))}, e.read = 1)",
            }
            keys = [self.raw_dim(d) for d in dims]
            source = f"{frm().removeprefix('FROM ')} WHERE {self.raw_where()}"
            out.append(self._grouped_part(source, keys, [exprs[x] for x in event_sums], event_sums))

        session_sums = tuple(
            x for x in ("visitors", "visits", "bounces", "duration", "pageviews", "reads", "readers")
            if x in sums
            and (x not in ("visitors", "readers") or session_visitors)
            and (x not in ("pageviews", "reads") or visit_pageviews)
        )  # fmt: skip
        if session_sums:
            select_sums = [_SESSION_EXPRS[x] for x in session_sums]
            if not event_dims and not event_filters:
                keys = [self.raw_dim(d, session_level=True) for d in dims]
                if self.shared is not None:  # the set's visits: started in the range, passing its filter
                    source = f"{self.shared.visits} AS s"
                else:
                    source = "sessions AS s FINAL"
                    source += f" WHERE s.site_id = {self.p(self.q.site.id)} AND {self.bounds('s.start')}"
                    if self.q.filters is not None:
                        source += " AND " + self.filter_sql(self.q.filters, _VISIT_COL)
                out.append(self._grouped_part(source, keys, select_sums, session_sums))
            elif self.shared is not None and self.shared.read_mark and self.shared.rest is None and not event_dims:
                # The set's visits are those holding its events, each marked with whether one of
                # them made a pageview read (`r`): a visit breakdown groups them, with no join.
                keys = [self.raw_dim(d, session_level=True) for d in dims]
                select_sums = [
                    f"uniqExactIf({_SV}, s.r = 1)" if x == "readers" else _SESSION_EXPRS[x] for x in session_sums
                ]
                out.append(self._grouped_part(f"{self.shared.visits} AS s", keys, select_sums, session_sums))
            elif (split := self.split_filter() if not event_dims and self.shared is None else None) is not None:
                # Visits that pass the conditions on the visit row and hold an event passing the rest: sets
                # of visit ids tested on `sessions`, no join, so only the matching visits' columns are read
                # (the Headline check's entrances by channel, 12 months, two filters, 10M: 0.70 of the join's time).
                on_events, on_visits = split
                keys = [self.raw_dim(d, session_level=True) for d in dims]
                held = f"SELECT e.session_id FROM {events_table(on_events)} AS e WHERE {self.raw_where(on_events)}"
                where = f"s.site_id = {self.p(self.q.site.id)} AND {self.bounds('s.start')}"
                if on_visits is not None:
                    where += " AND " + self.visit_filter_sql(on_visits)
                select_sums = [
                    f"uniqExactIf({_SV}, s.id IN ({held} AND e.read = 1))" if x == "readers" else _SESSION_EXPRS[x]
                    for x in session_sums
                ]
                source = f"sessions AS s FINAL WHERE {where} AND s.id IN ({held})"
                out.append(self._grouped_part(source, keys, select_sums, session_sums))
            else:
                # The matching events per visit (and per event dimension), then their visits: a visit
                # dimension is one value per visit, so it is read from the visit row after the join,
                # and the events need no visit row unless the filter tests one (entry or exit page).
                inner_cols = [f"{self.raw_dim(d)} AS d{i}" for i, d in enumerate(dims) if d.startswith("event:")]
                inner_keys = [f"d{i}" for i, d in enumerate(dims) if d.startswith("event:")]
                # Per visit, whether one of its matching events made a pageview read: a reader
                # under an event filter read a matching page, not just any page.
                inner = (
                    f"SELECT {', '.join([*inner_cols, 'e.session_id AS sid', 'max(e.read) AS r'])}"
                    f" {frm(join=filter_joined)} WHERE {self.raw_where()} GROUP BY {', '.join([*inner_keys, 'sid'])}"
                )
                select_sums = [
                    f"uniqExactIf({_SV}, x.r = 1)" if x == "readers" else _SESSION_EXPRS[x] for x in session_sums
                ]
                cols = [
                    f"x.d{i} AS d{i}" if d.startswith("event:") else f"{self.raw_dim(d, session_level=True)} AS d{i}"
                    for i, d in enumerate(dims)
                ]
                select = ", ".join([*cols, *_aliased(select_sums)])
                out.append(self._part(
                    f"SELECT {select} FROM ({inner}) AS x INNER JOIN {self.started()} AS s ON s.id = x.sid"
                    f"{grouped(len(cols))}",
                    session_sums,
                ))  # fmt: skip

        if "scroll_total" in sums:
            inner_cols = [f"{self.raw_dim(d)} AS d{i}" for i, d in enumerate(dims)]
            source = frm()
            where = self.raw_where() + f" AND e.name = {ENG} AND e.scroll_depth IS NOT NULL"
            group = ", ".join([*(f"d{i}" for i in range(len(dims))), "e.session_id", "e.page"])
            inner = (
                f"SELECT {', '.join([*inner_cols, 'max(e.scroll_depth) AS m'])} {source} WHERE {where} GROUP BY {group}"
            )
            cols = [f"d{i}" for i in range(len(dims))]
            select = ", ".join([*cols, *_aliased(["sum(m)", "count()"])])
            out.append(
                self._part(f"SELECT {select} FROM ({inner}){grouped(len(cols))}", ("scroll_total", "scroll_visits"))
            )
        return out

    def histogram_part(self, source: str) -> Part:
        """Page visits per key and whole engaged seconds, as store/sqlite/compiler.py's `histogram_statement`."""
        dims = self.q.dimensions
        inner_cols = [f"{self.raw_dim(d)} AS d{i}" for i, d in enumerate(dims)]
        keys = [f"d{i}" for i in range(len(dims))]
        seconds = f"intDiv(sumIf(ifNull(e.engaged_ms, 0), e.name = {ENG}), 1000)"
        inner = (
            f"SELECT {', '.join([*inner_cols, f'{seconds} AS secs'])} {source}"
            f" WHERE {self.raw_where()} AND e.name IN ({PV}, {ENG})"
            f" GROUP BY {', '.join([*keys, 'e.session_id', 'e.page'])} HAVING countIf(e.name = {PV}) > 0"
        )
        cols = [*keys, f"secs AS d{len(dims)}"]
        return self._part(
            f"SELECT {', '.join(cols)}, count() AS s0 FROM ({inner}) GROUP BY {', '.join(cols[:-1] + ['secs'])}",
            ("page_visits",),
        )

    def rollup_parts(self, table: str, sums: set[str]) -> list[Part]:
        dims = self.q.dimensions
        groups = rollup_tables(table, sums)
        visitors = visitor_credit(table, [ROLLUP_DIMS[d][1] for d in dims if not d.startswith("time")]) or "visitors"
        # Readers are credited like visitors: `readers` per full key, `r_<column>` per column.
        readers = "r_" + visitors[2:] if visitors.startswith("v_") else "readers"
        # Whole settled local days from the daily tier (chdays.py), the rest from 15-minute buckets.
        spans: list[tuple[str, str, int, int]] = []  # table suffix, column, first, end (exclusive)
        start, end = int(self.q.start.timestamp()) // BUCKET, int(self.q.end.timestamp()) // BUCKET
        days = chdays.whole_days(self.q, self.through_day)
        if days is not None:
            spans.append(("_day", "day", days[0], days[1] + 1))
            start = chdays.after(self.q, days[1])
        if start < end:
            spans.append(("", "bucket", start, end))
        out: list[Part] = []
        for tbl, names in groups:
            if not names:
                continue
            column = {
                "page_visits": "visits",
                "visitors": visitors if tbl == table else "visitors",
                "readers": readers if tbl == table else "readers",
            }
            named = ROLLUP_COLUMNS[tbl]
            sums_sql = [f"sum({named[column.get(n, n)]})" for n in names]
            reads = []
            for suffix, by, first, stop in spans:
                # Parameters named by value: every tab reading this rollup and span has the same source.
                reads.append(
                    f"rollups{suffix} WHERE `rollup` = {self.v(tbl)} AND site_id = {self.v(self.q.site.id)}"
                    f" AND {by} >= {self.v(first)} AND {by} < {self.v(stop)}"
                )
            if len(spans) == 1:
                by = spans[0][1]
                label = f"day * {DAY}" if by == "day" else f"bucket * {BUCKET}"
                keys = [
                    self.time_label(label, d, is_local=by == "day")
                    if d.startswith("time")
                    else named[ROLLUP_DIMS[d][1]]
                    for d in dims
                ]
                out.append(self._grouped_part(reads[0], keys, sums_sql, names))
                continue
            # Both spans as one source, each row with its local time (`lt`): one SELECT to plan, not two.
            columns = ", ".join(sorted(set(named.values())))
            day_read, bucket_read = reads
            local = f"bucket * {BUCKET} + {self.local_offset(f'bucket * {BUCKET}')}"
            source = (
                f"(SELECT {columns}, day * {DAY} AS lt FROM {day_read}"
                f" UNION ALL SELECT {columns}, {local} AS lt FROM {bucket_read}) AS r"
            )
            keys = [
                self.time_label("r.lt", d, is_local=True) if d.startswith("time") else f"r.{named[ROLLUP_DIMS[d][1]]}"
                for d in dims
            ]
            sums_sql = [f"sum(r.{named[column.get(n, n)]})" for n in names]
            out.append(self._grouped_part(source, keys, sums_sql, names))
        return out

    def import_parts(self, sums: set[str]) -> list[Part]:
        out: list[Part] = []
        for tbl, names, renamed in import_tables(self.q, sums):
            columns = {d: renamed.get(d) or IMPORTED_DIMS[d][1] for d in IMPORTED_DIMS}
            labels = {
                "day": "toString(date)",
                "week": "toString(toMonday(date))",
                "month": "toString(toStartOfMonth(date))",
            }
            cols = [
                f"{labels[self.q.time_granularity if d == 'time' else d.split(':', 1)[1]]} AS d{i}"
                if d.startswith("time")
                else f"{columns[d]} AS d{i}"
                for i, d in enumerate(self.q.dimensions)
            ]
            days = f"{self.p(self.q.first_day)} AND {self.p(self.q.last_day)}"
            where = f"site_id = {self.p(self.q.site.id)} AND date BETWEEN {days}"
            if self.q.filters is not None:
                where += " AND " + self.filter_sql(self.q.filters, columns)
            group = (" GROUP BY " + ", ".join(f"d{i}" for i in range(len(cols)))) if cols else ""
            select = ", ".join([*cols, *_aliased(IMPORTED_EXPRS[tbl][n] for n in names)])
            out.append(self._part(f"SELECT {select} FROM {tbl} WHERE {where}{group}", names, imported=True))
        return out
