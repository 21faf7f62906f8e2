"""Imported history in stats queries (`include.imports`).

Imported rows are daily aggregates per report (`imported_*` tables), so they can
answer a query only when it stays inside one report: its dimensions and filters
all live in the same imported table, its time dimension is a day or coarser,
its range is whole local days, and the report carries every sum the metrics
need. Then the imported sums are added to the native ones, group by group.
Otherwise imports are left out and the result's meta says why.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from analytics.stats.dates import local_midnight
from analytics.stats.query import And, Condition, Filter, Not, Or, Query, filter_dimensions, needed_sums

if TYPE_CHECKING:
    from analytics.store.sqlite.store import SQLiteStore

_SESSION_SUMS = {
    "visitors": "SUM(visitors)", "visits": "SUM(visits)", "pageviews": "SUM(pageviews)",
    "bounces": "SUM(bounces)", "duration": "SUM(visit_duration)",
}  # fmt: skip
SUMS: dict[str, dict[str, str]] = {
    "imported_visitors": _SESSION_SUMS,
    "imported_sources": _SESSION_SUMS,
    "imported_locations": _SESSION_SUMS,
    "imported_devices": _SESSION_SUMS,
    "imported_browsers": _SESSION_SUMS,
    "imported_operating_systems": _SESSION_SUMS,
    "imported_entry_pages": {**_SESSION_SUMS, "visits": "SUM(entrances)"},
    "imported_exit_pages": {**_SESSION_SUMS, "visits": "SUM(exits)"},
    "imported_pages": {
        "visitors": "SUM(visitors)",
        "visits": "SUM(visits)",
        "pageviews": "SUM(pageviews)",
        # time_on_page divides by the visits that viewed the page, as for native rollups.
        "time_total": "SUM(total_time_on_page) * 1000",
        "page_visits": "SUM(visits)",
        "scroll_total": "SUM(total_scroll_depth)",
        "scroll_visits": "SUM(total_scroll_depth_visits)",
    },  # fmt: skip
    "imported_custom_events": {"visitors": "SUM(visitors)", "events": "SUM(events)"},
}
# A bounced visit viewed one page, its entry page; so the bounced visits that viewed a
# page are the entry-page report's bounces for it, and bounce_rate per page imports exactly.
# (Per-page visit_duration has no such identity, and no column in the CSV layout.)
_PAGE_BOUNCES = ("imported_entry_pages", {"event:page": "entry_page"})
# Totals (no dimension, no filter) come from three reports, like rollup_totals + rollup_pages.
_TOTALS = (
    ("imported_visitors", ("visitors", "visits", "pageviews", "bounces", "duration")),
    ("imported_pages", ("time_total", "page_visits", "scroll_total", "scroll_visits")),
    ("imported_custom_events", ("events",)),
)
IMPORTED_DIMS: dict[str, tuple[str, str]] = {
    "event:page": ("imported_pages", "page"),
    "event:hostname": ("imported_pages", "hostname"),
    "event:goal": ("imported_custom_events", "name"),
    "visit:entry_page": ("imported_entry_pages", "entry_page"),
    "visit:exit_page": ("imported_exit_pages", "exit_page"),
    **{f"visit:{c}": ("imported_sources", c) for c in (
        "channel", "source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")},
    "visit:country": ("imported_locations", "country"),
    "visit:device": ("imported_devices", "device"),
    "visit:browser": ("imported_browsers", "browser"),
    "visit:browser_version": ("imported_browsers", "browser_version"),
    "visit:os": ("imported_operating_systems", "operating_system"),
    "visit:os_version": ("imported_operating_systems", "operating_system_version"),
}  # fmt: skip


def _table(query: Query) -> str | None:
    dims = {d for d in query.dimensions if not d.startswith("time")} | filter_dimensions(query.filters)
    tables = {IMPORTED_DIMS[d][0] for d in dims}
    return tables.pop() if tables else None


def skip_reason(query: Query) -> str | None:
    """Why imported data cannot answer `query`, or None when it can."""
    for d in query.dimensions:
        if d == "time:hour" or (d == "time" and query.time_granularity == "hour"):
            return "imported data is daily, so it has no hours"
    tz = ZoneInfo(query.site.timezone)
    if query.start != local_midnight(query.first_day, tz) or query.end != local_midnight(
        query.last_day + timedelta(days=1), tz
    ):
        return "imported data is daily, and the date range is not whole days"
    dims = [d for d in query.dimensions if not d.startswith("time")] + sorted(filter_dimensions(query.filters))
    for d in dims:
        if d not in IMPORTED_DIMS:
            return f"{d} is not in imported data"
    tables = {IMPORTED_DIMS[d][0] for d in dims}
    if len(tables) > 1:
        return "imported data has no breakdown by " + " and ".join(sorted(set(dims)))
    if tables:
        table = tables.pop()
        have = set(SUMS[table])
        if table == "imported_pages" and "event:hostname" not in dims:
            have.add("bounces")  # see _PAGE_BOUNCES
        missing = sorted(needed_sums(query.metrics) - have)
        if missing:
            names = sorted(m for m in query.metrics if set(_needs(m)) & set(missing))
            return f"imported {table.removeprefix('imported_')} have no {', '.join(names)}"
    return None


def _needs(metric: str) -> set[str]:
    return needed_sums((metric,))


class ImportCompiler:
    """SQL over the imported tables for one query; every value is a bound parameter."""

    def __init__(self, query: Query) -> None:
        self.q = query
        self.params: list[Any] = []
        self.renamed: dict[str, str] = {}

    def p(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def label(self, dim: str) -> str:
        kind = self.q.time_granularity if dim == "time" else dim.split(":", 1)[1]
        return {
            "day": "date",
            "week": "date(date, 'weekday 0', '-6 days')",
            "month": "strftime('%Y-%m-01', date)",
        }[kind]

    def column(self, dim: str) -> str:
        return self.renamed.get(dim) or IMPORTED_DIMS[dim][1]

    def condition(self, c: Condition) -> str:
        column = self.column(c.dimension)
        value = column if c.case_sensitive else f"lower({column})"

        def v(x: str) -> str:
            return self.p(x if c.case_sensitive else x.lower())

        if c.op in ("is", "is_not"):
            sql = f"{value} IN ({', '.join(v(x) for x in c.values)})"
        elif c.op in ("contains", "contains_not"):
            sql = "(" + " OR ".join(f"instr({value}, {v(x)}) > 0" for x in c.values) + ")"
        else:
            flags = "" if c.case_sensitive else "(?i)"
            sql = "(" + " OR ".join(f"regexp({self.p(flags + x)}, {column})" for x in c.values) + ")"
        return sql if c.op in ("is", "contains", "matches") else f"NOT ({sql})"

    def filter_sql(self, f: Filter) -> str:
        if isinstance(f, Condition):
            return self.condition(f)
        if isinstance(f, Not):
            return f"NOT ({self.filter_sql(f.item)})"
        assert isinstance(f, And | Or)
        joiner = " AND " if isinstance(f, And) else " OR "
        return "(" + joiner.join(self.filter_sql(i) for i in f.items) + ")"

    def statements(self, sums: set[str]) -> list[tuple[str, list[Any], tuple[str, ...]]]:
        table = _table(self.q)
        groups: list[tuple[str, tuple[str, ...], dict[str, str]]]
        if table is None:
            groups = [(t, tuple(n for n in names if n in sums), {}) for t, names in _TOTALS]
        else:
            groups = [(table, tuple(n for n in SUMS[table] if n in sums), {})]
            if table == "imported_pages" and "bounces" in sums:
                groups.append((_PAGE_BOUNCES[0], ("bounces",), _PAGE_BOUNCES[1]))
        out = []
        for tbl, names, renamed in groups:
            if not names:
                continue
            self.params, self.renamed = [], renamed
            cols = [self.label(d) if d.startswith("time") else self.column(d) for d in self.q.dimensions]
            group = (" GROUP BY " + ", ".join(str(i + 1) for i in range(len(cols)))) if cols else ""
            where = f"site_id = {self.p(self.q.site.id)} AND date BETWEEN {self.p(self.q.first_day.isoformat())}"
            where += f" AND {self.p(self.q.last_day.isoformat())}"
            if self.q.filters is not None:
                where += " AND " + self.filter_sql(self.q.filters)
            select = ", ".join([*cols, *(SUMS[tbl][n] for n in names)])
            out.append((f"SELECT {select} FROM {tbl} WHERE {where}{group}", self.params, names))
        return out


async def imported_range(store: SQLiteStore, site_id: int) -> tuple[date, date] | None:
    """The first and last imported day of a site, or None: `earliest` for date_range "all"."""
    rows = await store.fetchall("SELECT MIN(first_day), MAX(last_day) FROM site_imports WHERE site_id = ?", (site_id,))
    if not rows or rows[0][0] is None:
        return None
    return date.fromisoformat(rows[0][0]), date.fromisoformat(rows[0][1])
