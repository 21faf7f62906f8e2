"""Plausible's CSV export layout (reference §4): the reports, their files and columns.

Each `Report` is one file, `imported_<name>.csv`: a `date` column, then its
columns in the file's order. A column is a report key (a rollup key column,
written as text), a constant Plausible has and we do not (region, city), or a
sum of a rollup counter. `Report.read` says, in backend-neutral names, which
rollup table and columns the store reads for it; the store returns daily rows of
key values and sums, and `Report.cells` turns them into the file's cells.

The ten Plausible reports keep their exact layouts. A visit dimension declared in
the catalog with `export=(report, column)` and a single-key rollup table of its
own gets a generic report with no edit here: `imported_<report>.csv` holding
date, <column>, visitors, visits, visit_duration, bounces, pageviews. Our import
reads such files back; Plausible's import ignores them.

Exported text is attacker-controlled (paths, UTM values, event names), so every
text cell that a spreadsheet would read as a formula gets a leading apostrophe
(`neutralise`), which the import takes off again (`unneutralise`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from analytics import catalog
from analytics.enrich.referrers import DIRECT
from analytics.store.base import RollupRead

# A spreadsheet runs a cell as a formula when it starts with one of these. Line
# feed and CR too (the formula may follow on the next line of the cell), and the
# full-width forms, which some spreadsheets fold to their ASCII twins.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_RISKY = frozenset((*FORMULA_START, "'"))  # the first characters `neutralise` must look further at
Kind = Literal["key", "const", "sum"]


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column and where its cells come from."""

    name: str  # the CSV header
    kind: Kind
    source: str = ""  # key: the rollup key column; sum: the rollup counter
    value: str | int = ""  # const: the cell every row holds (its type is the column's type)
    blank: str | None = None  # key: the stored value the file writes as an empty cell
    divide: int = 1  # sum: stored units per file unit, rounded half up (milliseconds -> seconds)

    @property
    def is_text(self) -> bool:
        """Whether the column holds text (keys and text constants) rather than whole numbers."""
        return self.kind == "key" or (self.kind == "const" and isinstance(self.value, str))


@dataclass(frozen=True, slots=True)
class Report:
    """One report: its name (`imported_<name>.csv`, the NDJSON "report" field), rollup and columns."""

    name: str
    rollup: str
    columns: tuple[Column, ...]  # after `date`, in the file's order
    read: RollupRead = field(init=False)
    text_cells: tuple[int, ...] = field(init=False)  # positions of the key cells, which hold tracked text
    _order: Callable[[tuple[Any, ...]], tuple[Any, ...]] = field(init=False, repr=False, compare=False)
    _consts: tuple[Any, ...] = field(init=False, repr=False, compare=False)
    _fixes: tuple[tuple[int, str | None, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = [c for c in self.columns if c.kind == "key"]
        sums = [c for c in self.columns if c.kind == "sum"]
        consts = [c for c in self.columns if c.kind == "const"]
        # A store row is (*keys, *sums); with the constants after them, one itemgetter puts it in file order.
        where = {id(c): i for i, c in enumerate([*keys, *sums, *consts])}
        fixes = [(i, c.blank, c.divide) for i, c in enumerate([*keys, *sums]) if c.blank is not None or c.divide != 1]
        setattr_ = object.__setattr__
        setattr_(self, "read", RollupRead(self.rollup, tuple(c.source for c in keys), tuple(c.source for c in sums)))
        setattr_(self, "text_cells", tuple(i for i, c in enumerate(self.columns) if c.kind == "key"))
        setattr_(self, "_order", operator.itemgetter(*(where[id(c)] for c in self.columns)))
        setattr_(self, "_consts", tuple(c.value for c in consts))
        setattr_(self, "_fixes", tuple(fixes))

    @property
    def file(self) -> str:
        return f"imported_{self.name}.csv"

    @property
    def header(self) -> tuple[str, ...]:
        return ("date", *(c.name for c in self.columns))

    def cells(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """One day's store rows (key values, then sums, as `read` names them) as file cells, in file order.

        Rows whose every figure is zero are left out, and rows are ordered by
        their key cells as written (Plausible's empty source sorts first).
        """
        nkeys, order, consts, fixes = len(self.read.keys), self._order, self._consts, self._fixes
        out = []
        for row in rows:
            if fixes:
                fixed = list(row)
                for i, blank, divide in fixes:
                    if blank is not None and fixed[i] == blank:
                        fixed[i] = ""
                    elif divide != 1:
                        fixed[i] = (fixed[i] + divide // 2) // divide  # half up; sums are never negative
                row = tuple(fixed)
            if any(row[nkeys:]):
                out.append(order(row + consts))
        if any(blank is not None for _, blank, _ in fixes):
            # A blanked key no longer sorts where the store sorted it; the sort is stable for ties.
            positions = self.text_cells
            out.sort(key=lambda cells: [cells[i] for i in positions])
        return out


def _key(name: str, source: str | None = None, blank: str | None = None) -> Column:
    return Column(name, "key", source or name, blank=blank)


def _sum(name: str, source: str | None = None, divide: int = 1) -> Column:
    return Column(name, "sum", source or name, divide=divide)


def _visit_sums(*order: str, visitors: str = "visitors") -> tuple[Column, ...]:
    rename = {"visit_duration": "duration", "entrances": "visits", "exits": "visits", "visitors": visitors}
    return tuple(_sum(n, rename.get(n)) for n in order)


# Rollup tables keyed by several columns count a visitor once per full key in
# `visitors`, and once per value of one column in `v_<column>`. A report row is
# finer than the breakdown people sum it by (a source, a browser, a goal), so rows
# carry that column's credit: summed per source, browser, OS or goal they give the
# same visitors as the native breakdown; per referrer or version they may undercount.

SESSION = ("visitors", "visits", "visit_duration", "bounces", "pageviews")
PLAUSIBLE: tuple[Report, ...] = (
    Report("visitors", "rollup_totals", _visit_sums("visitors", "pageviews", "bounces", "visits", "visit_duration")),
    Report(
        "sources",
        "rollup_sources",
        (
            _key("source", blank=DIRECT),  # Plausible writes "Direct / None" as an empty source
            _key("referrer"),
            _key("utm_source"),
            _key("utm_medium"),
            _key("utm_campaign"),
            _key("utm_content"),
            _key("utm_term"),
            *_visit_sums("pageviews", "visitors", "visits", "visit_duration", "bounces", visitors="v_source"),
        ),
    ),
    Report(
        "pages",
        "rollup_pages",
        (
            _key("hostname"),
            _key("page"),
            _sum("visits"),
            _sum("visitors"),
            _sum("pageviews"),
            _sum("total_scroll_depth", "scroll_total"),
            _sum("total_scroll_depth_visits", "scroll_visits"),
            # Engaged time is stored in ms; Plausible's total_time_on_page is whole seconds.
            _sum("total_time_on_page", "time_total", divide=1000),
            _sum("total_time_on_page_visits", "time_visits"),
        ),
    ),
    Report(
        "entry_pages",
        "rollup_entry_pages",
        (_key("entry_page"), *_visit_sums("visitors", "entrances", "visit_duration", "bounces", "pageviews")),
    ),
    Report(
        "exit_pages",
        "rollup_exit_pages",
        (_key("exit_page"), *_visit_sums("visitors", "visit_duration", "exits", "bounces", "pageviews")),
    ),
    Report(
        "custom_events",
        "rollup_events",
        (_key("name"), _key("link_url"), _key("path"), _sum("visitors", "v_name"), _sum("events")),
    ),
    Report(
        "locations",
        "rollup_locations",
        (
            _key("country"),
            Column("region", "const", value=""),
            Column("city", "const", value=0),
            *_visit_sums(*SESSION),
        ),
    ),
    Report("devices", "rollup_devices", (_key("device"), *_visit_sums(*SESSION, visitors="v_device"))),
    Report(
        "browsers",
        "rollup_browsers",
        (_key("browser"), _key("browser_version"), *_visit_sums(*SESSION, visitors="v_browser")),
    ),
    Report(
        "operating_systems",
        "rollup_os",
        (
            _key("operating_system", "os"),
            _key("operating_system_version", "os_version"),
            *_visit_sums(*SESSION, visitors="v_os"),
        ),
    ),
)


def generic_report(dimension: catalog.Dimension, rollup_keys: tuple[str, ...]) -> Report:
    """The report of a visit dimension with its own single-key rollup table, keyed `rollup_keys`.

    Raises ValueError when the dimension cannot have one: the catalog entry is then wrong.
    """
    if dimension.export is None:
        raise ValueError(f"{dimension.name} has no export report")
    name, column = dimension.export
    if dimension.level != "visit" or dimension.rollup is None or rollup_keys != (dimension.column,):
        raise ValueError(
            f"{dimension.name}: a generic export report ({name}) needs a visit dimension whose rollup table"
            f" is keyed by its column alone ({dimension.column}), found {dimension.rollup} keyed {rollup_keys}"
        )
    return Report(name, dimension.rollup, (_key(column, dimension.column), *_visit_sums(*SESSION)))


def _generic_reports() -> tuple[Report, ...]:
    plausible = {r.name for r in PLAUSIBLE}
    out: dict[str, Report] = {}
    for d in catalog.DIMENSIONS:
        if d.export is None or d.export[0] in plausible:
            continue
        if d.export[0] in out:
            raise ValueError(f"{d.name}: report {d.export[0]} is taken; a generic report has one key column")
        out[d.export[0]] = generic_report(d, catalog.ROLLUP_KEYS.get(d.rollup or "", ()))
    return tuple(out.values())


# Reads (our extension): three more files that Plausible's import ignores. Totals, per page,
# and per source row; readers carry the source's credit (`r_source`), as visitors carry `v_source`.
READS: tuple[Report, ...] = (
    Report("reads", "rollup_totals", (_sum("reads"), _sum("readers"))),
    Report("page_reads", "rollup_pages", (_key("hostname"), _key("page"), _sum("reads"), _sum("readers"))),
    Report(
        "source_reads",
        "rollup_sources",
        (
            _key("source", blank=DIRECT),
            *(_key(c) for c in ("referrer", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")),
            _sum("reads"),
            _sum("readers", "r_source"),
        ),
    ),
)
REPORTS: tuple[Report, ...] = (*PLAUSIBLE, *_generic_reports(), *READS)
REPORTS_BY_NAME: dict[str, Report] = {r.name: r for r in REPORTS}


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe.

    Numbers stay numbers. A value that already starts with apostrophes before a
    formula character gets one more, so `unneutralise` restores every value exactly.
    """
    # Most cells start with a letter, digit or slash: one set lookup decides (exports write millions).
    if isinstance(value, str) and value and value[0] in _RISKY and value.lstrip("'").startswith(FORMULA_START):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    """Undo `neutralise`: drop the apostrophe it put before a formula character."""
    if value.startswith("'") and value[1:].lstrip("'").startswith(FORMULA_START):
        return value[1:]
    return value
