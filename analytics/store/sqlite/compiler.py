"""Compile a stats `Plan` to SQLite: one statement per plan, however many parts it has.

The planner (stats.plan) chose the data; this module only writes SQL for it:
- rollups, when the plan names a rollup table: settled local days from the
  daily tier (`*_day` tables), the rest from 15-minute buckets;
- raw events joined to visits, for everything else;
- imported history (store.sqlite.history), when the plan merges it.
Each part is a grouped SELECT returning dimension values and some sums; the
parts of one plan are tagged and joined with UNION ALL into one statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from analytics.catalog import BY_NAME, PROPS_PREFIX, ROLLUP_DIMS, SEGMENTS, visitor_credit
from analytics.model import BUCKET, DAY
from analytics.stats import dates, patterns
from analytics.stats.plan import Plan, rollup_tables
from analytics.stats.query import Condition, Filter, filter_dimensions
from analytics.store.sqlite.conditions import POSITIVE, filter_sql, match_sql
from analytics.store.sqlite.days import EPOCH, local_offset_sql
from analytics.store.sqlite.history import ImportCompiler
from analytics.visits.sessions import TIMEOUT

Part = tuple[str, list[Any], tuple[str, ...]]  # SQL, its parameters, the sums its columns hold

_TEXT_COLUMNS = {d.name for d in BY_NAME.values() if d.text}
_VISIT_COL = {d.name: d.column for d in BY_NAME.values() if d.level == "visit"}
_EVENT_COL = {d.name: f"e.{d.column}" for d in BY_NAME.values() if d.level == "event"}
# Below this many strings in the shared table, a pattern tests each of them (a few ms) rather than
# first finding the ones a site used in the range (a pass over the range's events: 0.4 s at 10M).
FEW_STRINGS = 50_000
# Visit day numbers are date ordinals (< 2**20): shifted past 40 bits they never overflow.
_DAY_SHIFT = 40


@dataclass(frozen=True, slots=True)
class Half:
    """One of the two halves a raw plan's range is read in, on two readers at once (store.sqlite.halves).

    The range splits at a local midnight, `cut`. Event sums are counted where the event
    happened, and a visitor per local day there, so the halves split them by time. A visit,
    its page visits and its scroll depth belong to its start: the first half also reads the
    events after the cut of the visits it began before it, and the second leaves those visits
    out. Every sum then adds up over the halves, exactly. A visit has no gap over 30 minutes
    (visits.sessions), so each visit across the cut has an event in the 30 minutes after it,
    and the largest `last` of those visits bounds their events (`tail`), in the first half's
    own statement and snapshot.
    """

    first: bool
    cut: int


def visitor_day(visitor: str, day: str) -> str:
    """One integer per (visitor id, day): the id XOR the day shifted left, in integer arithmetic.

    SQLite has no XOR operator; (a | b) - (a & b) is a XOR b exactly and never overflows.
    The same visitor on two days always gets two values; two different visitors share
    one only if their 64-bit ids differ by exactly that bit pattern, the odds of two
    visitors sharing an id. It replaces `visitor || '@' || day`, a string built per row.
    """
    shifted = f"(({day}) << {_DAY_SHIFT})"
    return f"(({visitor} | {shifted}) - ({visitor} & {shifted}))"


def once(condition: str | None = None) -> str:
    """Distinct visitor-days among the visits with a matching event (`fv`) that meet `condition`.

    The set carries each visit's visitor-day (`vd`) and whether it is the only visit of that
    visitor-day in the set (`solo`). Most are: they count by a sum, and only the others go
    through the distinct set, which is where a visit-level tab spent most of its time. A
    visitor-day alone in the whole set is alone in any part of it, so the count is exact.
    """
    cond = "" if condition is None else f" AND {condition}"
    return f"(SUM(s.solo{cond}) + COUNT(DISTINCT CASE WHEN NOT s.solo{cond} THEN s.vd END))"


class Compiler:
    """Builds SQL text and its parameters; every value is a bound parameter."""

    def __init__(
        self,
        plan: Plan,
        name_ids: dict[str, int],
        through_day: int | None = None,
        *,
        shared: bool = False,
        rest: Filter | None = None,
        strings: int = FEW_STRINGS + 1,
        half: Half | None = None,
    ) -> None:
        """`shared`: raw parts read the batch's filtered sets (store.sqlite.segments) instead of
        events and visits: `fe`, the events in the range that pass the shared filter, each carrying
        its visit's columns as `s_<column>`, and `fs`, the visits started in the range that pass it.
        `rest`: what the plan's filter adds to the shared one (event conditions, e.g. a goal).
        `strings`: how many strings the shared table holds (its largest id; see `condition`).
        `half`: read one half of the range (`Half`), from the shared sets or from events and visits."""
        self.plan = plan
        self.q = plan.query
        self.through_day = through_day  # the site's daily tier covers local days up to this one
        self.shared = shared
        self.rest = rest
        self.strings = strings
        self.half = half
        self.params: list[Any] = []
        self.pv = name_ids.get("pageview", -1)
        self.eng = name_ids.get("engagement", -1)

    def p(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def time_label(self, ts_expr: str, dim: str, is_local: bool = False) -> str:
        kind = self.q.time_granularity if dim == "time" else dim.split(":", 1)[1]
        local = f"({ts_expr})" if is_local else f"({ts_expr} + {self.local_offset(ts_expr)})"
        return {
            "hour": f"strftime('%Y-%m-%d %H:00:00', {local}, 'unixepoch')",
            "day": f"date({local}, 'unixepoch')",
            "week": f"date({local}, 'unixepoch', 'weekday 0', '-6 days')",
            "month": f"strftime('%Y-%m-01', {local}, 'unixepoch')",
        }[kind]

    def local_offset(self, ts_expr: str) -> str:
        """The site's UTC offset in seconds at `ts_expr`, as SQL (a CASE over its changes)."""
        return local_offset_sql(self.q.site.timezone, self.q.start, self.q.end, ts_expr)

    def local_day(self, ts_expr: str) -> str:
        """The site-local day of `ts_expr` as a whole number: cheaper than a date string."""
        return f"(({ts_expr} + {self.local_offset(ts_expr)}) / {DAY})"

    def bounds(self, column: str, scale: int = 1) -> str:
        start, end = int(self.q.start.timestamp()) // scale, int(self.q.end.timestamp()) // scale
        return f"{column} >= {self.p(start)} AND {column} < {self.p(end)}"

    def visit_bounds(self, start: str) -> str:
        """Visits that began in the range (in its `half`, when it has one), by their `start` column."""
        h = self.half
        if h is None:
            return self.bounds(start)
        if h.first:
            return f"{start} >= {self.p(int(self.q.start.timestamp()))} AND {start} < {self.p(h.cut)}"
        return f"{start} >= {self.p(h.cut)} AND {start} < {self.p(int(self.q.end.timestamp()))}"

    def event_bounds(self) -> str:
        """The events a raw plan reads by time: its range, or its half's events (see `Half`)."""
        h = self.half
        if h is None:
            return self.bounds("e.ts")
        end = int(self.q.end.timestamp())
        if not h.first:
            return f"e.ts >= {self.p(h.cut)} AND e.ts < {self.p(end)}"
        start = self.p(int(self.q.start.timestamp()))
        tail = (
            f"MIN({self.p(end)}, COALESCE((SELECT MAX(s2.last) FROM events e2 JOIN sessions s2 ON s2.id = e2.session_id"
            f" WHERE e2.site_id = {self.p(self.q.site.id)} AND e2.ts >= {self.p(h.cut)}"
            f" AND e2.ts <= {self.p(h.cut + TIMEOUT)} AND s2.start < {self.p(h.cut)}) + 1, {self.p(h.cut)}))"
        )
        return f"e.ts >= {start} AND e.ts < {tail} AND (e.ts < {self.p(h.cut)} OR s.start < {self.p(h.cut)})"

    def at_event(self) -> str:
        """` AND <the event is in this half>`, for sums counted where the event happened ("" without halves).
        The cut is a whole number of our own, written into the SQL like the event-name ids."""
        return f" AND e.ts < {int(self.half.cut)}" if self.half is not None and self.half.first else ""

    def at_visit(self) -> str:
        """` AND <the event's visit began in this half>`, for sums that belong to the visit ("" without halves)."""
        if self.half is None or self.half.first:
            return ""
        return f" AND {self.visit_col('start')} >= {int(self.half.cut)}"

    def parts(self) -> list[tuple[Part, bool]]:
        """Every part of the plan, each with whether it reads imported history."""
        plan = self.plan
        sums = set(plan.sums)
        native = self.rollup_statements(plan.rollup, sums) if plan.rollup else self.raw_statements(sums)
        out = [(part, False) for part in native]
        if plan.imports and (self.half is None or self.half.first):  # imported history: in one half only
            out += [(part, True) for part in ImportCompiler(plan.query).statements(sums)]
        return out

    # -- raw plan ----------------------------------------------------------------

    def visit_col(self, column: str) -> str:
        """A visit's column in a statement over events: joined from `sessions`, or carried on `fe`."""
        return f"e.s_{column}" if self.shared else f"s.{column}"

    def raw_dim(self, dim: str, session_level: bool = False, visits_only: bool = False) -> str:
        """`dim` in a statement over events (`session_level`: time at the visit's start) or,
        with `visits_only`, over visits alone (`sessions s` or `fs s`)."""
        if dim.startswith("time"):
            start = "s.start" if visits_only else self.visit_col("start")
            return self.time_label(start if session_level or visits_only else "e.ts", dim)
        if dim.startswith(PROPS_PREFIX):
            key = dim[len(PROPS_PREFIX) :]
            path = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
            return f"COALESCE(json_extract(e.props, {self.p(path)}), '(none)')"
        if dim in _VISIT_COL:
            return f"s.{_VISIT_COL[dim]}" if visits_only else self.visit_col(_VISIT_COL[dim])
        return _EVENT_COL[dim]

    def condition(self, c: Condition) -> str:
        interned = c.dimension not in _TEXT_COLUMNS and not c.dimension.startswith(PROPS_PREFIX)
        # `is` looks its values up in the strings index; `contains` and `matches` test
        # values one by one. While the shared table is small they test all of it; past that
        # (anyone can add strings to it through the public beacon) only the strings this
        # site used in the range, which costs a pass over the range's events.
        scoped = interned and c.op not in ("is", "is_not") and self.strings > FEW_STRINGS
        scope = self.site_strings(c.dimension) if scoped else None

        def target() -> str:
            # A fresh expression per use: a props path is a bound parameter, bound each time.
            return "value" if interned else self.raw_dim(c.dimension)

        match = match_sql(c, target, self.p)
        if interned:
            column = self.raw_dim(c.dimension)
            where = match if scope is None else f"id IN ({scope}) AND {match}"
            sql = f"{column} IN (SELECT id FROM strings WHERE {where})"
        else:
            sql = match
        if c.dimension == "event:goal":
            sql = f"({sql} AND e.name NOT IN ({self.pv}, {self.eng}))"
        return sql if c.op in POSITIVE else f"NOT ({sql})"

    def site_strings(self, dim: str) -> str:
        """The string ids `dim` takes in this site's events in the range, as a subquery.

        A visit attribute is read from the visits with events in the range: every
        visit the query counts, including those the sessions-only part counts by
        their start (a visit's first event is at its start).
        """
        d = BY_NAME[dim]
        where = f"e2.site_id = {self.p(self.q.site.id)} AND {self.bounds('e2.ts')}"
        if d.level == "event":
            return f"SELECT e2.{d.column} FROM events e2 WHERE {where}"
        return f"SELECT s2.{d.column} FROM events e2 JOIN sessions s2 ON s2.id = e2.session_id WHERE {where}"

    def filter_sql(self, f: Filter) -> str:
        return filter_sql(f, self.condition)

    def filtered_events(self) -> str:
        """The WHERE of the events a raw plan reads: its site, range and filter."""
        where = f"e.site_id = {self.p(self.q.site.id)} AND {self.event_bounds()}"
        if self.q.filters is not None:
            where += " AND " + self.filter_sql(self.q.filters)
        return where

    def filtered_visits(self) -> str:
        """The WHERE of the visits a visits-only plan reads: started in the range, passing the filter."""
        where = f"s.site_id = {self.p(self.q.site.id)} AND {self.visit_bounds('s.start')}"
        if self.q.filters is not None:
            where += " AND " + self.filter_sql(self.q.filters)
        return where

    def raw_where(self) -> str:
        where = "1" if self.shared else self.filtered_events()  # `fe` holds the filtered events already
        if self.shared and self.rest is not None:
            where += " AND " + self.filter_sql(self.rest)
        if "event:goal" in self.q.dimensions:
            where += f" AND e.name NOT IN ({self.pv}, {self.eng})"
        elif "event:name" in self.q.dimensions:
            where += f" AND e.name != {self.eng}"  # engagement events are bookkeeping, not a name to list
        return where

    def raw_statements(self, sums: set[str]) -> list[Part]:
        """The raw plan. It counts exactly what the rollups count:

        - visitors, visits, bounces and duration belong to the visit's start, so a
          visit crossing midnight counts on the day it began; with an event:
          dimension (page, goal...) visitors are counted where the event happened;
        - pageviews are counted at the event, except when broken down by a visit
          dimension only, where they are the visit's pageviews (as in the rollups).

        Visit-level figures for queries without event: dimensions or filters come
        from `sessions` alone (one row per visit), without touching events.
        """
        dims = self.q.dimensions
        frm = "FROM fe e" if self.shared else "FROM events e JOIN sessions s ON s.id = e.session_id"
        if self.plan.histogram:
            return [self.histogram_statement(frm)]
        event_dims = any(d.startswith("event:") for d in dims)
        event_filters = any(d.startswith("event:") for d in filter_dimensions(self.q.filters))
        visit_pageviews = any(d.startswith("visit:") for d in dims) and not event_dims and not event_filters
        session_visitors = not event_dims
        out: list[Part] = []

        def stmt(sql: str, names: tuple[str, ...]) -> None:
            out.append((sql, self.params, names))
            self.params = []

        # Reads follow pageviews and readers follow visitors (visits.rollups).
        event_sums = tuple(
            x
            for x in ("visitors", "pageviews", "events", "time_total", "page_visits", "reads", "readers")
            if x in sums
            and not (x in ("visitors", "readers") and session_visitors)
            and not (x in ("pageviews", "reads") and visit_pageviews)
        )
        if event_sums:
            # Once per visitor and site-local day, as the rollups count; per page, readers
            # are those who viewed it, and engagement events never make a visitor.
            counted = f"e.name = {self.pv}" if {"event:page", "event:hostname"} & set(dims) else f"e.name != {self.eng}"
            per_day = visitor_day(self.visit_col("visitor_id"), self.local_day("e.ts"))
            # In a half (`Half`), sums of events count its events, page visits its visits' pages.
            here, mine = self.at_event(), self.at_visit()
            exprs = {
                "visitors": f"COUNT(DISTINCT CASE WHEN {counted}{here} THEN {per_day} END)",
                "pageviews": f"SUM(e.name = {self.pv}{here})",
                "events": f"COALESCE(SUM(e.name NOT IN ({self.pv}, {self.eng}){here}), 0)",
                "time_total": f"COALESCE(SUM(CASE WHEN e.name = {self.eng}{here} THEN e.engaged_ms END), 0)",
                "page_visits": f"COUNT(DISTINCT CASE WHEN e.name = {self.pv}{mine}{{seen}}"
                " THEN e.session_id * 4294967296 + e.page END)",
                "reads": f"COALESCE(SUM(CASE WHEN 1{here} THEN e.read END), 0)" if here else "COALESCE(SUM(e.read), 0)",
                "readers": f"COUNT(DISTINCT CASE WHEN e.read = 1{here} THEN {per_day} END)",
            }
            cols = [self.raw_dim(d) for d in dims]
            # Parameters bind in the order their marks appear: the columns', then page visits'.
            if "page_visits" in event_sums:
                exprs["page_visits"] = exprs["page_visits"].format(seen=self.not_seen_before("e.page"))
            where = self.raw_where()
            select = ", ".join([*cols, *(exprs[x] for x in event_sums)])
            stmt(f"SELECT {select} {frm} WHERE {where}{_group(len(cols))}", event_sums)

        session_sums = tuple(
            x
            for x in ("visitors", "visits", "bounces", "duration", "pageviews", "reads", "readers")
            if x in sums
            and (x not in ("visitors", "readers") or session_visitors)
            and (x not in ("pageviews", "reads") or visit_pageviews)
        )
        if session_sums:
            exprs = {
                "visitors": f"COUNT(DISTINCT {visitor_day('s.visitor_id', 's.day')})",
                "visits": "COUNT(*)",
                "bounces": "SUM(s.pageviews <= 1 AND s.interactive = 0)",
                "duration": "SUM(CASE WHEN s.pageviews <= 1 AND s.interactive = 0 THEN 0"
                " ELSE s.last_action - s.start END)",
                "pageviews": "SUM(s.pageviews)",
                "reads": "SUM(s.reads)",
                "readers": f"COUNT(DISTINCT CASE WHEN s.reads > 0 THEN {visitor_day('s.visitor_id', 's.day')} END)",
            }
            if not event_dims and self.shared and self.rest is None and event_filters:
                # The visits with a matching event, each with whether one of those made a read,
                # are materialised once per filtered set (`fv`, store.sqlite.segments): every
                # visit-level tab of the dashboard groups them instead of joining its own.
                cols = [self.raw_dim(d, visits_only=True) for d in dims]
                # `fv` marks the visits alone in their visitor-day there: see `once`.
                exprs["visitors"] = once()
                exprs["readers"] = once("s.r = 1")
                select = ", ".join([*cols, *(exprs[x] for x in session_sums)])
                stmt(f"SELECT {select} FROM fv s{_group(len(cols))}", session_sums)
            elif not event_dims and not event_filters:
                # Every visit that started in the range has its first event there.
                cols = [self.raw_dim(d, visits_only=True) for d in dims]
                source, where = ("fs s", "1") if self.shared else ("sessions s", self.filtered_visits())
                select = ", ".join([*cols, *(exprs[x] for x in session_sums)])
                stmt(f"SELECT {select} FROM {source} WHERE {where}{_group(len(cols))}", session_sums)
            else:
                inner_cols = [f"{self.raw_dim(d, session_level=True)} AS d{i}" for i, d in enumerate(dims)]
                where = self.raw_where() + f" AND {self.visit_bounds(self.visit_col('start'))}"
                # Per visit, whether one of its matching events made a pageview read: a reader
                # under an event filter read a matching page, not just any page.
                keys = [*(f"d{i}" for i in range(len(dims))), "sid"]
                inner = (
                    f"SELECT {', '.join([*inner_cols, 'e.session_id AS sid', 'MAX(COALESCE(e.read, 0)) AS r'])}"
                    f" {frm} WHERE {where} GROUP BY {', '.join(keys)}"
                )
                exprs["readers"] = f"COUNT(DISTINCT CASE WHEN x.r = 1 THEN {visitor_day('s.visitor_id', 's.day')} END)"
                cols = [f"x.d{i}" for i in range(len(dims))]
                select = ", ".join([*cols, *(exprs[x] for x in session_sums)])
                stmt(
                    f"SELECT {select} FROM ({inner}) x JOIN sessions s ON s.id = x.sid{_group(len(cols))}", session_sums
                )

        if "scroll_total" in sums:
            # A visit begun before a range that `continues` rollups, and that scrolled the page before
            # it: only what it scrolled deeper here counts, and not as another scrolled page visit.
            # (Its parameters come first: they bind in the order their marks appear.)
            earlier = self.earlier("MAX(e2.scroll_depth)", "st", "sid", "pg", f"e2.name = {self.eng}")
            inner_cols = [f"{self.raw_dim(d)} AS d{i}" for i, d in enumerate(dims)]
            where = self.raw_where() + f" AND e.name = {self.eng} AND e.scroll_depth IS NOT NULL{self.at_visit()}"
            group = ", ".join([*(f"d{i}" for i in range(len(dims))), "e.session_id", "e.page"])
            cols = [f"d{i}" for i in range(len(dims))]
            if self.plan.continues:
                inner_cols += ["e.session_id AS sid", "e.page AS pg", f"MAX({self.visit_col('start')}) AS st"]
            inner = (
                f"SELECT {', '.join([*inner_cols, 'MAX(e.scroll_depth) AS m'])} {frm} WHERE {where} GROUP BY {group}"
            )
            if self.plan.continues:
                inner = f"SELECT {', '.join([*cols, 'm', f'{earlier} AS b'])} FROM ({inner})"
                select = ", ".join([*cols, "SUM(CASE WHEN b IS NULL THEN m ELSE MAX(m - b, 0) END)", "SUM(b IS NULL)"])
            else:
                select = ", ".join([*cols, "SUM(m)", "COUNT(*)"])
            stmt(f"SELECT {select} FROM ({inner}){_group(len(cols))}", ("scroll_total", "scroll_visits"))
        return out

    def earlier(self, value: str, start: str, session: str, page: str, kind: str) -> str:
        """`value` over the events of visit `session` on `page` of `kind` before the range, for a visit
        that began before it (`start`); NULL for none, or for a visit begun in the range. Only for a
        plan that `continues` rollups: otherwise "" and no parameters."""
        if not self.plan.continues:
            return ""
        cut = int(self.q.start.timestamp())
        # Parameters bind in the order their marks appear.
        head = f"(CASE WHEN {start} < {self.p(cut)} THEN (SELECT {value} FROM events e2"
        return (
            f"{head} WHERE e2.site_id = {self.p(self.q.site.id)} AND e2.ts >= {start} AND e2.ts < {self.p(cut)}"
            f" AND e2.session_id = {session} AND e2.page = {page} AND {kind}) END)"
        )

    def not_seen_before(self, page: str) -> str:
        """For a range that `continues` rollups: ` AND NOT <the visit viewed the page before the range>`."""
        if not self.plan.continues:
            return ""
        seen = self.earlier("1", self.visit_col("start"), "e.session_id", page, f"e2.name = {self.pv}")
        return f" AND {seen} IS NULL"

    def histogram_statement(self, frm: str) -> Part:
        """Page visits per key and whole engaged seconds, for medians (stats.medians).

        A page visit is a visit's pageviews of one page that pass the plan's filter;
        its engaged time is the sum of its engagement on that page, the same
        events `time_total` sums. The key gains the seconds as its last value.
        """
        dims = self.q.dimensions
        inner_cols = [f"{self.raw_dim(d)} AS d{i}" for i, d in enumerate(dims)]
        keys = [f"d{i}" for i in range(len(dims))]
        seconds = f"COALESCE(SUM(CASE WHEN e.name = {self.eng} THEN e.engaged_ms END), 0) / 1000"
        inner = (
            f"SELECT {', '.join([*inner_cols, f'{seconds} AS secs'])} {frm}"
            f" WHERE {self.raw_where()} AND e.name IN ({self.pv}, {self.eng}){self.at_visit()}"
            f" GROUP BY {', '.join([*keys, 'e.session_id', 'e.page'])} HAVING SUM(e.name = {self.pv}) > 0"
        )
        sql = f"SELECT {', '.join([*keys, 'secs'])}, COUNT(*) FROM ({inner}){_group(len(keys) + 1)}"
        part = (sql, self.params, ("page_visits",))
        self.params = []
        return part

    # -- rollup plan -------------------------------------------------------------

    def rollup_statements(self, table: str, sums: set[str]) -> list[Part]:
        dims = self.q.dimensions
        groups = rollup_tables(table, sums)
        columns = [ROLLUP_DIMS[d][1] for d in dims if not d.startswith("time")]
        visitors = visitor_credit(table, columns) or "visitors"
        # Readers are credited like visitors: `readers` per full key, `r_<column>` per column.
        readers = "r_" + visitors[2:] if visitors.startswith("v_") else "readers"

        # Whole settled days come from the daily tier, the rest from 15-minute buckets.
        # A segment plan (store.sqlite.reads) reads its settled days per segment, `through_day` being
        # the segment tier's; the days after are a raw plan of their own.
        parts: list[tuple[str, str, list[str], list[Any]]] = []
        days = self.q.daily_days(self.through_day)
        segment = self.plan.segment
        bucket_start = int(self.q.start.timestamp()) // BUCKET
        if days is not None:
            cols = [self.time_label(f"day * {DAY}", d, is_local=True) if d.startswith("time") else ROLLUP_DIMS[d][1]
                    for d in dims]  # fmt: skip
            if segment is None:
                parts.append(("_day", "site_id = ? AND day BETWEEN ? AND ?", cols, [self.q.site.id, *days]))
            else:
                where = (
                    "site_id = ? AND seg = ? AND value = (SELECT id FROM strings WHERE value = ?)"
                    " AND day BETWEEN ? AND ?"
                )
                params = [self.q.site.id, SEGMENTS[segment.dimension], segment.value, *days]
                parts.append(("_seg", where, cols, params))
            next_day = EPOCH + timedelta(days=days[1] + 1)
            bucket_start = int(dates.local_midnight(next_day, dates.zone(self.q.site.timezone)).timestamp()) // BUCKET
        bucket_end = int(self.q.end.timestamp()) // BUCKET
        if bucket_start < bucket_end and segment is None:
            label = f"bucket * {BUCKET}"
            cols = [self.time_label(label, d) if d.startswith("time") else ROLLUP_DIMS[d][1] for d in dims]
            where = "site_id = ? AND bucket >= ? AND bucket < ?"
            parts.append(("", where, cols, [self.q.site.id, bucket_start, bucket_end]))

        out: list[Part] = []
        for tbl, names in groups:
            if not names:
                continue
            column = {
                "page_visits": "visits",
                "visitors": visitors if tbl == table else "visitors",
                "readers": readers if tbl == table else "readers",
            }
            exprs = [f"SUM({column.get(n, n)})" for n in names]
            for suffix, where, cols, params in parts:
                select = ", ".join([*cols, *exprs])
                out.append((f"SELECT {select} FROM {tbl}{suffix} WHERE {where}{_group(len(cols))}", params, names))
        self.params = []
        return out


def _group(n: int) -> str:
    return (" GROUP BY " + ", ".join(str(i + 1) for i in range(n))) if n else ""


def regexp(pattern: str, value: Any) -> bool:
    """SQLite's REGEXP function, for `matches` filters: RE2, linear in the value's length."""
    return patterns.search(pattern, value)


def union(parts: list[tuple[Part, bool]], ndims: int) -> tuple[str, list[Any], list[tuple[tuple[str, ...], bool]]]:
    """One statement for all parts of a plan: each row starts with its part's index.

    Parts return different numbers of sums, so each is padded with NULLs to the
    widest. Returns the SQL, its parameters, and per part (its sums, whether it
    reads imported history).
    """
    width = max(len(names) for (_, _, names), _ in parts)
    selects, params, layout = [], [], []
    for i, ((sql, part_params, names), imported) in enumerate(parts):
        pad = ", NULL" * (width - len(names))
        selects.append(f"SELECT {i}, p.*{pad} FROM ({sql}) p")
        params.extend(part_params)
        layout.append((names, imported))
    return " UNION ALL ".join(selects), params, layout
