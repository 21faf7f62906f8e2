"""Imported history in stats queries: SQL over the `imported_*` tables.

Whether imports can answer a query is planning (stats.imported); this module
only sums the imported table a plan reads, with the same dimensions and
filters, so the runner adds the sums to the native ones group by group.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from analytics.stats.imported import (
    IMPORTED_DIMS,
    SUM_COLUMNS,
    import_tables,
)
from analytics.stats.query import Condition, Filter, Query
from analytics.store.sqlite.conditions import POSITIVE, filter_sql, match_sql
from analytics.store.sqlite.pool import Connections

# The SQL that sums each imported table's columns into the stats layer's sums.
SUMS: dict[str, dict[str, str]] = {
    table: {name: f"SUM({col})" + (f" * {k}" if k != 1 else "") for name, (col, k) in cols.items()}
    for table, cols in SUM_COLUMNS.items()
}


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
        sql = match_sql(c, lambda: column, self.p)
        return sql if c.op in POSITIVE else f"NOT ({sql})"

    def filter_sql(self, f: Filter) -> str:
        return filter_sql(f, self.condition)

    def statements(self, sums: set[str]) -> list[tuple[str, list[Any], tuple[str, ...]]]:
        out = []
        for tbl, names, renamed in import_tables(self.q, sums):
            self.params, self.renamed = [], renamed
            cols = [self.label(d) if d.startswith("time") else self.column(d) for d in self.q.dimensions]
            group = (" GROUP BY " + ", ".join(str(i + 1) for i in range(len(cols)))) if cols else ""
            where = f"site_id = {self.p(self.q.site.id)} AND date BETWEEN {self.p(self.q.first_day.isoformat())}"
            where += f" AND {self.p(self.q.last_day.isoformat())}"
            # An import still staging (store.sqlite.transfer) is not there yet; `+` keeps the date index in use.
            where += " AND +import_id NOT IN (SELECT id FROM site_imports WHERE rows < 0)"
            if self.q.filters is not None:
                where += " AND " + self.filter_sql(self.q.filters)
            select = ", ".join([*cols, *(SUMS[tbl][n] for n in names)])
            out.append((f"SELECT {select} FROM {tbl} WHERE {where}{group}", self.params, names))
        return out


async def imported_range(store: Connections, site_id: int) -> tuple[date, date] | None:
    """The first and last imported day of a site, or None: `earliest` for date_range "all"."""
    rows = await store.fetchall(
        "SELECT MIN(first_day), MAX(last_day) FROM site_imports WHERE site_id = ? AND rows >= 0", (site_id,)
    )
    if not rows or rows[0][0] is None:
        return None
    return date.fromisoformat(rows[0][0]), date.fromisoformat(rows[0][1])
