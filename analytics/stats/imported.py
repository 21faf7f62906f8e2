"""Which queries imported history can answer (`include.imports`).

Imported rows are daily aggregates per report (Plausible's CSV layout), so
they answer a query only when it stays inside one report: its dimensions and
filters all live in the same imported table, its time dimension is a day or
coarser, its range is whole local days, and the report carries every sum the
metrics need. Otherwise imports are left out and the result's meta says why.
This is planning, the same for every backend; backends only sum the tables.
"""

from __future__ import annotations

from analytics.catalog import DIMENSIONS
from analytics.stats.metrics import needed_sums
from analytics.stats.query import Query, filter_dimensions

# Dimension -> (imported table, column), from each dimension's export report.
# The channel is not a CSV column: the import derives it from the source.
IMPORTED_DIMS: dict[str, tuple[str, str]] = {
    **{d.name: (f"imported_{d.export[0]}", d.export[1]) for d in DIMENSIONS if d.export},
    "visit:channel": ("imported_sources", "channel"),
}
_VISIT_SUMS = frozenset({"visitors", "visits", "pageviews", "bounces", "duration"})
# The sums each imported table carries.
IMPORTED_SUMS: dict[str, frozenset[str]] = {
    **{table: _VISIT_SUMS for table, _ in IMPORTED_DIMS.values()},
    "imported_visitors": _VISIT_SUMS,
    "imported_pages": frozenset(
        {"visitors", "visits", "pageviews", "time_total", "page_visits", "scroll_total", "scroll_visits"}
    ),
    "imported_custom_events": frozenset({"visitors", "events"}),
}
# Reads come from extension reports beside three of Plausible's, keyed the same way.
READ_SUMS = frozenset({"reads", "readers"})
READS_BESIDE: dict[str, str] = {
    "imported_visitors": "imported_reads",
    "imported_pages": "imported_page_reads",
    "imported_sources": "imported_source_reads",
}
# The imported column each sum adds up, per table, with a factor (seconds to milliseconds):
# what a backend sums, written once for every backend.
_VISIT_COLUMNS = {"visitors": "visitors", "visits": "visits", "pageviews": "pageviews", "bounces": "bounces",
                  "duration": "visit_duration"}  # fmt: skip
_READ_COLUMNS = {"reads": ("reads", 1), "readers": ("readers", 1)}
SUM_COLUMNS: dict[str, dict[str, tuple[str, int]]] = {
    **{table: {s: (c, 1) for s, c in _VISIT_COLUMNS.items()} for table in IMPORTED_SUMS},
    "imported_entry_pages": {**{s: (c, 1) for s, c in _VISIT_COLUMNS.items()}, "visits": ("entrances", 1)},
    "imported_exit_pages": {**{s: (c, 1) for s, c in _VISIT_COLUMNS.items()}, "visits": ("exits", 1)},
    "imported_pages": {
        "visitors": ("visitors", 1),
        "visits": ("visits", 1),
        "pageviews": ("pageviews", 1),
        # time_on_page divides by the visits that viewed the page, as for native rollups.
        "time_total": ("total_time_on_page", 1000),
        "page_visits": ("visits", 1),
        "scroll_total": ("total_scroll_depth", 1),
        "scroll_visits": ("total_scroll_depth_visits", 1),
    },  # fmt: skip
    "imported_custom_events": {"visitors": ("visitors", 1), "events": ("events", 1)},
    **{t: _READ_COLUMNS for t in ("imported_reads", *READS_BESIDE.values())},
}
# A bounced visit viewed one page, its entry page; so the bounced visits that viewed a
# page are the entry-page report's bounces for it, and bounce_rate per page imports exactly.
PAGE_BOUNCES = ("imported_entry_pages", {"event:page": "entry_page"})
# Totals (no dimension, no filter) come from three reports, like rollup_totals + rollup_pages.
TOTALS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("imported_visitors", ("visitors", "visits", "pageviews", "bounces", "duration")),
    ("imported_pages", ("time_total", "page_visits", "scroll_total", "scroll_visits")),
    ("imported_custom_events", ("events",)),
    ("imported_reads", ("reads", "readers")),
)


def imported_table(query: Query) -> str | None:
    """The one imported table a query reads, or None for totals."""
    dims = {d for d in query.dimensions if not d.startswith("time")} | filter_dimensions(query.filters)
    tables = {IMPORTED_DIMS[d][0] for d in dims}
    return tables.pop() if tables else None


def skip_reason(query: Query) -> str | None:
    """Why imported data cannot answer `query`, or None when it can."""
    if query.hourly:
        return "imported data is daily, so it has no hours"
    if not query.whole_days:
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
        have = set(IMPORTED_SUMS[table])
        if table == "imported_pages" and "event:hostname" not in dims:
            have.add("bounces")  # see PAGE_BOUNCES
        if table in READS_BESIDE:
            have |= READ_SUMS
        report = f"imported {table.removeprefix('imported_')}"
    else:
        have = {n for _, names in TOTALS for n in names}
        report = "imported totals"
    missing = sorted(needed_sums(query.metrics) - have)
    if missing:
        names = sorted(m for m in query.metrics if needed_sums((m,)) & set(missing))
        return f"{report} have no {', '.join(names)}"
    return None


def import_tables(query: Query, sums: set[str] | frozenset[str]) -> list[tuple[str, tuple[str, ...], dict[str, str]]]:
    """The imported tables a query reads: each with the sums it gives and its columns renamed for the query.

    Totals read the reports of `TOTALS`. A breakdown reads its one report, plus
    the entry-page report for bounces per page and the reads report beside it.
    Tables that would give no sum are left out.
    """
    table = imported_table(query)
    groups: list[tuple[str, tuple[str, ...], dict[str, str]]]
    if table is None:
        groups = [(t, tuple(n for n in names if n in sums), {}) for t, names in TOTALS]
    else:
        groups = [(table, tuple(n for n in SUM_COLUMNS[table] if n in sums), {})]
        if table == "imported_pages" and "bounces" in sums:
            groups.append((PAGE_BOUNCES[0], ("bounces",), PAGE_BOUNCES[1]))
        if table in READS_BESIDE and READ_SUMS & sums:
            groups.append((READS_BESIDE[table], tuple(n for n in ("reads", "readers") if n in sums), {}))
    return [g for g in groups if g[1]]
