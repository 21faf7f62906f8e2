"""Compile a stats `Query` to SQLite and run it.

Two plans give the same sums:
- rollups, for unfiltered queries whose dimensions live in one rollup table;
- raw events joined to sessions, for everything else.
Both return per-group *sums* (visitors, visits, bounces, ...); `stats.shape`
turns sums into metrics, so the two plans cannot disagree on formulas.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from analytics.model import BUCKET, DAY
from analytics.stats import dates
from analytics.stats.query import PROPS_PREFIX, And, Condition, Filter, Not, Or, Query, filter_dimensions, needed_sums
from analytics.store.sqlite import imported as imports
from analytics.store.sqlite.days import EPOCH, day_number
from analytics.store.sqlite.store import ROLLUP_KEYS

if TYPE_CHECKING:
    from analytics.store.sqlite.store import SQLiteStore

Sums = dict[str, float]
Key = tuple[Any, ...]

_SESSION_TABLES = (
    "rollup_sources", "rollup_locations", "rollup_devices", "rollup_browsers", "rollup_os",
    "rollup_entry_pages", "rollup_exit_pages",
)  # fmt: skip
ROLLUP_DIMS: dict[str, tuple[str, str]] = {
    **{f"visit:{c}": ("rollup_sources", c) for c in (
        "channel", "source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")},
    "visit:country": ("rollup_locations", "country"),
    "visit:device": ("rollup_devices", "device"),
    "visit:screen": ("rollup_devices", "screen"),
    "visit:browser": ("rollup_browsers", "browser"),
    "visit:browser_version": ("rollup_browsers", "browser_version"),
    "visit:os": ("rollup_os", "os"),
    "visit:os_version": ("rollup_os", "os_version"),
    "visit:entry_page": ("rollup_entry_pages", "entry_page"),
    "visit:exit_page": ("rollup_exit_pages", "exit_page"),
    "event:page": ("rollup_pages", "page"),
    "event:goal": ("rollup_events", "name"),
}  # fmt: skip
_SESSION_SUMS = ("visitors", "visits", "pageviews", "bounces", "duration")
_TABLE_SUMS: dict[str, tuple[str, ...]] = {
    **{t: _SESSION_SUMS for t in _SESSION_TABLES},
    "rollup_pages": ("visitors", "visits", "pageviews", "time_total", "scroll_total", "scroll_visits"),
    "rollup_events": ("visitors", "events"),
}
_TEXT_COLUMNS = {"visit:country"}
_VISIT_COLUMNS = (
    "entry_page", "exit_page", "source", "referrer", "channel", "utm_source", "utm_medium", "utm_campaign",
    "utm_content", "utm_term", "device", "screen", "browser", "browser_version", "os", "os_version", "country",
)  # fmt: skip
_VISIT_COL = {f"visit:{c}": f"s.{c}" for c in _VISIT_COLUMNS}
_EVENT_COL = {"event:page": "e.page", "event:hostname": "e.hostname", "event:name": "e.name", "event:goal": "e.name"}


def rollup_table(query: Query) -> str | None:
    """The one rollup table that answers `query` exactly, or None for the raw plan."""
    if query.force_raw or query.filters is not None:
        return None
    dims = [d for d in query.dimensions if not d.startswith("time")]
    sums = needed_sums(query.metrics)
    if not dims:
        return "rollup_totals"
    tables = {ROLLUP_DIMS[d][0] if d in ROLLUP_DIMS else None for d in dims}
    if len(tables) != 1 or None in tables:
        return None
    table = tables.pop()
    assert table is not None
    if visitors_column(table, dims) is None:
        return None
    have = set(_TABLE_SUMS[table]) | ({"page_visits"} if table == "rollup_pages" else set())
    return table if sums <= have else None


class Compiler:
    """Builds SQL text and its parameters; every value is a bound parameter."""

    def __init__(self, query: Query, name_ids: dict[str, int], through_day: int | None = None) -> None:
        self.q = query
        self.through_day = through_day  # the site's daily tier covers local days up to this one
        self.params: list[Any] = []
        self.pv = name_ids.get("pageview", -1)
        self.eng = name_ids.get("engagement", -1)
        self._offsets = dates.offsets(query.site.timezone, query.start, query.end)

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
        cases = " ".join(f"WHEN {ts_expr} < {t} THEN {o}" for t, o in self._offsets[1:])
        last = self._offsets[-1][1]
        return f"CASE {cases} ELSE {last} END" if cases else str(last)

    def local_day(self, ts_expr: str) -> str:
        """The site-local day of `ts_expr` as a whole number: cheaper than a date string."""
        return f"(({ts_expr} + {self.local_offset(ts_expr)}) / {DAY})"

    def bounds(self, column: str, scale: int = 1) -> str:
        start, end = int(self.q.start.timestamp()) // scale, int(self.q.end.timestamp()) // scale
        return f"{column} >= {self.p(start)} AND {column} < {self.p(end)}"

    # -- raw plan ----------------------------------------------------------------

    def raw_dim(self, dim: str, session_level: bool = False) -> str:
        if dim.startswith("time"):
            return self.time_label("s.start" if session_level else "e.ts", dim)
        if dim.startswith(PROPS_PREFIX):
            key = dim[len(PROPS_PREFIX) :]
            path = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
            return f"COALESCE(json_extract(e.props, {self.p(path)}), '(none)')"
        return _VISIT_COL.get(dim) or _EVENT_COL[dim]

    def condition(self, c: Condition) -> str:
        positive = c.op in ("is", "contains", "matches")
        interned = c.dimension not in _TEXT_COLUMNS and not c.dimension.startswith(PROPS_PREFIX)

        def target() -> str:
            # A fresh expression per use: a props path is a bound parameter, bound each time.
            return "value" if interned else self.raw_dim(c.dimension)

        def value() -> str:
            return target() if c.case_sensitive else f"lower({target()})"

        def v(x: str) -> str:
            return self.p(x if c.case_sensitive else x.lower())

        if c.op in ("is", "is_not"):
            match = f"{value()} IN ({', '.join(v(x) for x in c.values)})"
        elif c.op in ("contains", "contains_not"):
            match = "(" + " OR ".join(f"instr({value()}, {v(x)}) > 0" for x in c.values) + ")"
        else:
            flags = "" if c.case_sensitive else "(?i)"
            match = "(" + " OR ".join(f"regexp({self.p(flags + x)}, {target()})" for x in c.values) + ")"
        if interned:
            column = self.raw_dim(c.dimension)
            sql = f"{column} IN (SELECT id FROM strings WHERE {match})"
        else:
            sql = match
        if c.dimension == "event:goal":
            sql = f"({sql} AND e.name NOT IN ({self.pv}, {self.eng}))"
        return sql if positive else f"NOT ({sql})"

    def filter_sql(self, f: Filter) -> str:
        if isinstance(f, Condition):
            return self.condition(f)
        if isinstance(f, Not):
            return f"NOT ({self.filter_sql(f.item)})"
        joiner = " AND " if isinstance(f, And) else " OR "
        assert isinstance(f, And | Or)
        return "(" + joiner.join(self.filter_sql(i) for i in f.items) + ")"

    def raw_where(self) -> str:
        where = f"e.site_id = {self.p(self.q.site.id)} AND {self.bounds('e.ts')}"
        if self.q.filters is not None:
            where += " AND " + self.filter_sql(self.q.filters)
        if "event:goal" in self.q.dimensions:
            where += f" AND e.name NOT IN ({self.pv}, {self.eng})"
        elif "event:name" in self.q.dimensions:
            where += f" AND e.name != {self.eng}"  # engagement events are bookkeeping, not a name to list
        return where

    def raw_statements(self, sums: set[str]) -> list[tuple[str, list[Any], tuple[str, ...]]]:
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
        frm = "FROM events e JOIN sessions s ON s.id = e.session_id"
        event_dims = any(d.startswith("event:") for d in dims)
        event_filters = any(d.startswith("event:") for d in filter_dimensions(self.q.filters))
        visit_pageviews = any(d.startswith("visit:") for d in dims) and not event_dims and not event_filters
        session_visitors = not event_dims
        out: list[tuple[str, list[Any], tuple[str, ...]]] = []

        def stmt(sql: str, names: tuple[str, ...]) -> None:
            out.append((sql, self.params, names))
            self.params = []

        event_sums = tuple(
            x
            for x in ("visitors", "pageviews", "events", "time_total", "page_visits")
            if x in sums
            and not (x == "visitors" and session_visitors)
            and not (x == "pageviews" and visit_pageviews)
        )
        if event_sums:
            # Once per visitor and site-local day, as the rollups count; per page, readers
            # are those who viewed it, and engagement events never make a visitor.
            counted = f"e.name = {self.pv}" if {"event:page", "event:hostname"} & set(dims) else f"e.name != {self.eng}"
            visitor_day = f"s.visitor_id || '@' || {self.local_day('e.ts')}"
            exprs = {
                "visitors": f"COUNT(DISTINCT CASE WHEN {counted} THEN {visitor_day} END)",
                "pageviews": f"SUM(e.name = {self.pv})",
                "events": f"COALESCE(SUM(e.name NOT IN ({self.pv}, {self.eng})), 0)",
                "time_total": f"COALESCE(SUM(CASE WHEN e.name = {self.eng} THEN e.engaged_ms END), 0)",
                "page_visits": f"COUNT(DISTINCT CASE WHEN e.name = {self.pv}"
                " THEN e.session_id * 4294967296 + e.page END)",
            }
            cols = [self.raw_dim(d) for d in dims]
            where = self.raw_where()
            select = ", ".join([*cols, *(exprs[x] for x in event_sums)])
            stmt(f"SELECT {select} {frm} WHERE {where}{_group(len(cols))}", event_sums)

        session_sums = tuple(
            x
            for x in ("visitors", "visits", "bounces", "duration", "pageviews")
            if x in sums
            and (x != "visitors" or session_visitors)
            and (x != "pageviews" or visit_pageviews)
        )
        if session_sums:
            exprs = {
                "visitors": "COUNT(DISTINCT s.visitor_id || '@' || s.day)",
                "visits": "COUNT(*)",
                "bounces": "SUM(s.pageviews <= 1 AND s.interactive = 0)",
                "duration": "SUM(CASE WHEN s.pageviews <= 1 AND s.interactive = 0 THEN 0"
                " ELSE s.last_action - s.start END)",
                "pageviews": "SUM(s.pageviews)",
            }
            if not event_dims and not event_filters:
                # Every visit that started in the range has its first event there.
                cols = [self.raw_dim(d, session_level=True) for d in dims]
                where = f"s.site_id = {self.p(self.q.site.id)} AND {self.bounds('s.start')}"
                if self.q.filters is not None:
                    where += " AND " + self.filter_sql(self.q.filters)
                select = ", ".join([*cols, *(exprs[x] for x in session_sums)])
                stmt(f"SELECT {select} FROM sessions s WHERE {where}{_group(len(cols))}", session_sums)
            else:
                inner_cols = [f"{self.raw_dim(d, session_level=True)} AS d{i}" for i, d in enumerate(dims)]
                where = self.raw_where() + f" AND {self.bounds('s.start')}"
                inner = f"SELECT DISTINCT {', '.join([*inner_cols, 'e.session_id AS sid'])} {frm} WHERE {where}"
                cols = [f"x.d{i}" for i in range(len(dims))]
                select = ", ".join([*cols, *(exprs[x] for x in session_sums)])
                stmt(
                    f"SELECT {select} FROM ({inner}) x JOIN sessions s ON s.id = x.sid{_group(len(cols))}", session_sums
                )

        if "scroll_total" in sums:
            inner_cols = [f"{self.raw_dim(d)} AS d{i}" for i, d in enumerate(dims)]
            where = self.raw_where() + f" AND e.name = {self.eng} AND e.scroll_depth IS NOT NULL"
            group = ", ".join([*(f"d{i}" for i in range(len(dims))), "e.session_id", "e.page"])
            inner = (
                f"SELECT {', '.join([*inner_cols, 'MAX(e.scroll_depth) AS m'])} {frm} WHERE {where} GROUP BY {group}"
            )
            cols = [f"d{i}" for i in range(len(dims))]
            select = ", ".join([*cols, "SUM(m)", "COUNT(*)"])
            stmt(f"SELECT {select} FROM ({inner}){_group(len(cols))}", ("scroll_total", "scroll_visits"))
        return out

    # -- rollup plan -------------------------------------------------------------

    def daily_days(self) -> tuple[int, int] | None:
        """The local days [first, last] the daily tier can answer, if the range is whole days."""
        q, tz = self.q, dates.zone(self.q.site.timezone)
        if self.through_day is None or any(
            d == "time:hour" or (d == "time" and q.time_granularity == "hour") for d in q.dimensions
        ):
            return None
        if q.start != dates.local_midnight(q.first_day, tz) or q.end != dates.local_midnight(
            q.last_day + timedelta(days=1), tz
        ):
            return None  # e.g. "24h": not whole local days
        first, last = day_number(q.first_day), min(day_number(q.last_day), self.through_day)
        return (first, last) if first <= last else None

    def rollup_statements(self, table: str, sums: set[str]) -> list[tuple[str, list[Any], tuple[str, ...]]]:
        dims = self.q.dimensions
        groups: list[tuple[str, tuple[str, ...]]]
        if table == "rollup_totals":
            main = tuple(x for x in ("visitors", "visits", "pageviews", "bounces", "duration", "events") if x in sums)
            page = tuple(x for x in ("time_total", "page_visits", "scroll_total", "scroll_visits") if x in sums)
            groups = [("rollup_totals", main), ("rollup_pages", page)]
        else:
            groups = [(table, tuple(x for x in (*_TABLE_SUMS[table], "page_visits") if x in sums))]
        visitors = visitors_column(table, [d for d in dims if not d.startswith("time")]) or "visitors"

        # Whole settled days come from the daily tier, the rest from 15-minute buckets.
        parts: list[tuple[str, str, list[str], list[Any]]] = []
        days = self.daily_days()
        bucket_start = int(self.q.start.timestamp()) // BUCKET
        if days is not None:
            cols = [self.time_label(f"day * {DAY}", d, is_local=True) if d.startswith("time") else ROLLUP_DIMS[d][1]
                    for d in dims]  # fmt: skip
            parts.append(("_day", "site_id = ? AND day BETWEEN ? AND ?", cols, [self.q.site.id, *days]))
            next_day = EPOCH + timedelta(days=days[1] + 1)
            bucket_start = int(dates.local_midnight(next_day, dates.zone(self.q.site.timezone)).timestamp()) // BUCKET
        bucket_end = int(self.q.end.timestamp()) // BUCKET
        if bucket_start < bucket_end:
            label = f"bucket * {BUCKET}"
            cols = [self.time_label(label, d) if d.startswith("time") else ROLLUP_DIMS[d][1] for d in dims]
            where = "site_id = ? AND bucket >= ? AND bucket < ?"
            parts.append(("", where, cols, [self.q.site.id, bucket_start, bucket_end]))

        out: list[tuple[str, list[Any], tuple[str, ...]]] = []
        for tbl, names in groups:
            if not names:
                continue
            column = {"page_visits": "visits", "visitors": visitors if tbl == table else "visitors"}
            exprs = [f"SUM({column.get(n, n)})" for n in names]
            for suffix, where, cols, params in parts:
                select = ", ".join([*cols, *exprs])
                out.append((f"SELECT {select} FROM {tbl}{suffix} WHERE {where}{_group(len(cols))}", params, names))
        self.params = []
        return out


def visitors_column(table: str, dims: list[str]) -> str | None:
    """The column that counts each visitor once for this breakdown, if the table has one.

    `visitors` credits the table's full key; `v_<col>` one key column alone.
    """
    keys = ROLLUP_KEYS[table]
    cols = [ROLLUP_DIMS[d][1] for d in dims]
    if len(keys) <= 1 or set(cols) == set(keys) or table == "rollup_pages":
        return "visitors"
    if len(cols) == 1:
        return f"v_{cols[0]}"
    return None


def _group(n: int) -> str:
    return (" GROUP BY " + ", ".join(str(i + 1) for i in range(n))) if n else ""


def _regexp(pattern: str, value: Any) -> bool:
    if value is None:
        return False
    try:
        return re.search(pattern, str(value)) is not None
    except re.error:
        return False


async def _name_ids(store: SQLiteStore) -> dict[str, int]:
    rows = await store.fetchall("SELECT value, id FROM strings WHERE value IN ('pageview', 'engagement')")
    return {v: i for v, i in rows}


async def run_sums(store: SQLiteStore, query: Query, sums: set[str]) -> tuple[dict[Key, Sums], bool]:
    """Group key (dimension values, strings resolved) -> sums, and whether rollups answered."""
    table = rollup_table(query)
    through = await store.fetchall(
        "SELECT through_day FROM rollup_days WHERE site_id = ? AND timezone = ?", (query.site.id, query.site.timezone)
    )
    compiler = Compiler(query, await _name_ids(store), through[0][0] if through else None)
    native = compiler.rollup_statements(table, sums) if table else compiler.raw_statements(sums)
    statements = [(*s, False) for s in native]
    if query.include_imports and imports.skip_reason(query) is None:
        statements += [(*s, True) for s in imports.ImportCompiler(query).statements(sums)]
    ndims = len(query.dimensions)
    groups: dict[Key, Sums] = {}
    imported: dict[Key, Sums] = {}  # keyed by text already, merged after ids are resolved
    async with store.reader() as conn:
        await conn.create_function("regexp", 2, _regexp, deterministic=True)
        for sql, params, names, from_imports in statements:
            target = imported if from_imports else groups
            async with conn.execute(sql, params) as cur:
                for row in await cur.fetchall():
                    key, values = tuple(row[:ndims]), row[ndims:]
                    bucket = target.setdefault(key, {})
                    for name, value in zip(names, values, strict=True):
                        bucket[name] = bucket.get(name, 0) + (value or 0)
    groups = await _resolve_strings(store, query, groups)
    for key, extra in imported.items():
        bucket = groups.setdefault(key, {})
        for name, value in extra.items():
            bucket[name] = bucket.get(name, 0) + value
    return groups, table is not None


async def _resolve_strings(store: SQLiteStore, query: Query, groups: dict[Key, Sums]) -> dict[Key, Sums]:
    interned = [
        i
        for i, d in enumerate(query.dimensions)
        if not d.startswith("time") and not d.startswith(PROPS_PREFIX) and d not in _TEXT_COLUMNS
    ]
    if not interned or not groups:
        return groups
    ids = sorted({k[i] for k in groups for i in interned})
    names: dict[int, str] = {}
    for n in range(0, len(ids), 500):
        chunk = ids[n : n + 500]
        rows = await store.fetchall(f"SELECT id, value FROM strings WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        names.update(rows)
    out: dict[Key, Sums] = {}
    for key, sums in groups.items():
        resolved = tuple(names.get(v, "") if i in interned else v for i, v in enumerate(key))
        prev = out.get(resolved)
        out[resolved] = sums if prev is None else {k: prev.get(k, 0) + sums.get(k, 0) for k in {*prev, *sums}}
    return out


def uses_only(query: Query, prefixes: tuple[str, ...]) -> bool:
    dims = set(query.dimensions) | filter_dimensions(query.filters)
    return all(d.startswith(prefixes) for d in dims)


async def run_query(store: SQLiteStore, query: Query) -> Any:
    from analytics.stats.shape import shape

    # Decide once for the whole query, so percentage and conversion bases agree with the rows.
    reason = imports.skip_reason(query) if query.include_imports else None
    run = dataclasses.replace(query, include_imports=False) if reason else query
    result = await shape(lambda q, sums: run_sums(store, q, sums), run)
    if query.include_imports:
        result.meta["imports_included"] = reason is None
        if reason:
            result.meta["imports_skip_reason"] = reason
    return result
