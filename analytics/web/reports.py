"""Report panels as stats queries, and the privacy guard for public views.

Every number on the dashboard comes from `stats.parse` + `stats.run`, the
same pipeline the Stats API runs: a panel is only a Stats API body. Nothing
here reads events or rollups with SQL of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from analytics.catalog import BY_NAME, DIMENSIONS, Dimension
from analytics.enrich import geo, languages
from analytics.model import Site
from analytics.stats.parse import parse
from analytics.stats.query import QueryResult
from analytics.stats.run import Batch, first_day
from analytics.store.base import Store
from analytics.web.state import Range, State

Row = tuple[tuple[Any, ...], tuple[Any, ...]]

TOP_STATS: tuple[tuple[str, str], ...] = (
    ("visitors", "Unique visitors"),
    ("visits", "Total visits"),
    ("pageviews", "Total pageviews"),
    ("views_per_visit", "Views per visit"),
    ("bounce_rate", "Bounce rate"),
    ("visit_duration", "Visit duration"),
    ("time_on_page", "Time on page"),
    ("scroll_depth", "Scroll depth"),
    ("read_rate", "Read rate"),
)
# Metrics where a fall is good news (colours the change).
LOWER_IS_BETTER = {"bounce_rate"}
# Rates whose change is shown in percentage points.
POINTS = {"bounce_rate", "read_rate"}
# Columns computed from two metrics of the row: name -> (numerator, denominator), in percent.
DERIVED: dict[str, tuple[str, str]] = {"reader_rate": ("readers", "visitors")}
OUTBOUND = "Outbound Link: Click"
DOWNLOAD = "File Download"
ROWS_SHOWN = 10
ROWS_MORE = 100


@dataclass(frozen=True, slots=True)
class Column:
    metric: str
    label: str


@dataclass(frozen=True, slots=True)
class Tab:
    key: str
    title: str
    dimension: str
    param: str | None  # URL parameter a click sets; None: rows are not clickable
    columns: tuple[Column, ...]
    fixed_filters: tuple[tuple[str, str, str], ...] = ()  # (param, dimension, value), added to the query
    hide_empty: bool = False  # UTM tabs: a visit without the tag is not a row
    empty_label: str = "(none)"


@dataclass(frozen=True, slots=True)
class Panel:
    key: str
    title: str
    tabs: tuple[Tab, ...]


V = Column("visitors", "Visitors")
# Sources, channels, referrers and UTM tabs: which of them bring readers, not just clicks.
_VISIT_COLS = (
    V, Column("readers", "Readers"), Column("reader_rate", "Reader rate"), Column("bounce_rate", "Bounce"),
    Column("visit_duration", "Duration"),
)  # fmt: skip
_SHARE_COLS = (V, Column("percentage", "%"))


_COLUMNS: dict[str, tuple[Column, ...]] = {
    "visits": _VISIT_COLS,
    "share": _SHARE_COLS,
    "pages": (
        V, Column("pageviews", "Views"), Column("time_on_page", "Time"), Column("scroll_depth", "Scroll"),
        Column("reads", "Reads"), Column("read_rate", "Read rate"),
    ),  # fmt: skip
    "entries": (V, Column("visits", "Entrances"), Column("bounce_rate", "Bounce")),
    "exits": (V, Column("visits", "Exits")),
    "goals": (V, Column("events", "Events"), Column("conversion_rate", "CR")),
}
# The panels in page order; their tabs come from the catalog (a dimension's `panel`).
PANEL_TITLES: dict[str, str] = {
    "sources": "Top sources",
    "pages": "Top pages",
    "locations": "Locations",
    "devices": "Devices",
    "goals": "Goals and events",
}


def _tab(d: Dimension, state: State) -> Tab:
    """A dimension's tab; with its own filter set, a tab that drills down shows the finer dimension."""
    assert d.tab is not None
    if d.drill is not None and d.param is not None and state.filter_value(d.param) is not None:
        d = BY_NAME[d.drill]
    return Tab(
        key=d.tab or BY_NAME_TAB[d.name], title=d.tab_title or d.label, dimension=d.name, param=d.param,
        columns=_COLUMNS[d.columns], hide_empty=d.hide_empty, empty_label=d.empty_label,
    )  # fmt: skip


# A drilled-down dimension shows under the tab of the dimension it refines.
BY_NAME_TAB: dict[str, str] = {d.drill: d.tab for d in DIMENSIONS if d.drill and d.tab}


def panels(state: State, prop_keys: Sequence[str]) -> tuple[Panel, ...]:
    """The report panels for a view. Some tabs drill down when their own filter is set."""
    goal = state.filter_value("goal")
    link_cols = (V, Column("events", "Clicks"))
    extra: dict[str, list[Tab]] = {
        "goals": [
            Tab("outbound", "Outbound links", "event:props:url", "prop.url", link_cols,
                fixed_filters=(("goal", "event:goal", OUTBOUND),)),
            Tab("downloads", "Downloads", "event:props:url", "prop.url", link_cols,
                fixed_filters=(("goal", "event:goal", DOWNLOAD),)),
        ],
    }  # fmt: skip
    keys = list(prop_keys)
    chosen = state.get("prop_key")
    if chosen and chosen not in keys:
        keys.append(chosen)
    for key in keys:
        prop_cols = (V, Column("events", "Events"), *((Column("conversion_rate", "CR"),) if goal else ()))
        extra["goals"].append(Tab(f"prop:{key}", f"Property: {key}", f"event:props:{key}", f"prop.{key}", prop_cols))
    return tuple(
        Panel(key, title, (*(_tab(d, state) for d in DIMENSIONS if d.panel == key), *extra.get(key, ())))
        for key, title in PANEL_TITLES.items()
    )


def selected_tab(panel: Panel, state: State) -> Tab:
    want = state.get(f"tab_{panel.key}")
    return next((t for t in panel.tabs if t.key == want), panel.tabs[0])


# -- running queries ------------------------------------------------------------------


@dataclass
class Stats:
    """Runs Stats API bodies for one site and view through the shared pipeline.

    Queries made concurrently (one `asyncio.gather`) go to the store as one batch.
    """

    store: Store
    site: Site
    now: datetime
    filters: list[list[Any]] = field(default_factory=list)
    batch: Batch = field(init=False)

    def __post_init__(self) -> None:
        self.batch = Batch(self.store)

    async def run(self, body: dict[str, Any]) -> QueryResult:
        body = {"site_id": self.site.domain, "include": {"imports": True}, **body}
        filters = [*self.filters, *body.pop("extra_filters", [])]
        if filters:
            body["filters"] = filters
        query = parse(body, self.site, self.now)
        return await self.batch.run(query)

    async def totals(self, r: Range, metrics: Sequence[str]) -> dict[str, Any]:
        result = await self.run({"metrics": list(metrics), "date_range": r.body()})
        values = result.rows[0][1] if result.rows else (None,) * len(metrics)
        return dict(zip(metrics, values, strict=True))

    async def breakdown(self, r: Range, tab: Tab, limit: int) -> tuple[list[Row], int]:
        metrics = query_metrics(tab.columns)
        body: dict[str, Any] = {
            "metrics": metrics,
            "date_range": r.body(),
            "dimensions": [tab.dimension],
            "order_by": [["visitors", "desc"]],
            # One extra row: a UTM tab drops the "no tag" row, which is often the biggest.
            "pagination": {"limit": limit + 1 if tab.hide_empty else limit},
            "include": {"imports": True, "total_rows": True},
            "extra_filters": [["is", dim, [value]] for _, dim, value in tab.fixed_filters],
        }
        result = await self.run(body)
        rows, total = result.rows, result.total_rows or len(result.rows)
        if tab.hide_empty:
            kept = [r for r in rows if r[0][0] != ""]
            total -= len(rows) - len(kept)
            rows = kept[:limit]
        return rows, total

    async def series(self, r: Range, interval: str, metric: str) -> list[tuple[str, Any, Any]]:
        """(label, metric value, visitors) for every bucket of the range, zeros included."""
        metrics = [metric] if metric == "visitors" else [metric, "visitors"]
        result = await self.run({
            "metrics": metrics,
            "date_range": r.body(),
            "dimensions": [f"time:{interval}"],
            "include": {"imports": True, "time_labels": True},
        })  # fmt: skip
        found = {str(dims[0]): values for dims, values in result.rows}
        out: list[tuple[str, Any, Any]] = []
        for label in result.time_labels or []:
            values = found.get(label)
            if values is None:
                out.append((label, None if metric == "scroll_depth" else 0, 0))
            else:
                out.append((label, values[0], values[-1]))
        return out

    async def earliest(self, created_at: int) -> date:
        """The first local day with data (imports included), or the site's creation day."""
        created = datetime.fromtimestamp(created_at, UTC).date()
        found = await first_day(self.store, self.site)
        return min(created, found) if found is not None else created


def query_metrics(columns: Sequence[Column]) -> list[str]:
    """The Stats API metrics a tab's columns need, visitors first; derived columns ask for their parts."""
    out = ["visitors"]
    for c in columns:
        for m in DERIVED.get(c.metric, (c.metric,)):
            if m not in out:
                out.append(m)
    return out


def with_derived(values: dict[str, Any]) -> dict[str, Any]:
    """A row's metrics by name, plus the derived columns (a whole percentage, or None without a base)."""
    for name, (top, base) in DERIVED.items():
        if top in values and base in values:
            values[name] = round(100 * (values[top] or 0) / values[base]) if values[base] else None
    return values


# -- k-suppression for public views ------------------------------------------------------


def suppress(values: Sequence[int | float | None], k: int) -> list[bool]:
    """Which entries to hide so that no group of fewer than k visitors can be read or rebuilt.

    Entries with 0 < visitors < k are hidden. If the hidden ones together hold
    fewer than k visitors, the total minus the shown entries would reveal them,
    so the smallest shown entries are hidden too until the hidden sum reaches k
    (or nothing is left). Thus `total - sum(shown)` is always 0 or at least k.
    """
    hidden = [k > 0 and v is not None and 0 < v < k for v in values]
    if k <= 0:
        return hidden
    hidden_sum = sum(v or 0 for v, h in zip(values, hidden, strict=True) if h)
    if 0 < hidden_sum < k:
        order = sorted(
            (i for i, h in enumerate(hidden) if not h and (values[i] or 0) > 0), key=lambda i: values[i] or 0
        )
        for i in order:
            hidden[i] = True
            hidden_sum += values[i] or 0
            if hidden_sum >= k:
                break
    return hidden


def change(metric: str, current: Any, previous: Any) -> tuple[int | None, str]:
    """Change against the previous period: (rounded value, 'up'/'down'/'flat' as good/bad class)."""
    if current is None or previous is None:
        return None, "none"
    if metric in POINTS:
        delta = round(current - previous)  # percentage points
    elif not previous:
        return None, "none"
    else:
        delta = round((current - previous) / previous * 100)
    if delta == 0:
        return 0, "flat"
    good = (delta < 0) if metric in LOWER_IS_BETTER else (delta > 0)
    return delta, "good" if good else "bad"


def fmt(metric: str, value: Any) -> str:
    """A metric value as the dashboard shows it."""
    if value is None:
        return "–"
    if metric in ("bounce_rate", "scroll_depth", "percentage", "conversion_rate", "read_rate", "reader_rate"):
        return f"{value:g}%"
    if metric in ("visit_duration", "time_on_page"):
        return duration(int(value))
    if metric == "views_per_visit":
        return f"{value:.2f}"
    return compact(int(value))


# How a catalog entry's `names` turns codes into names (exports keep the codes, as Plausible's do).
NAMES = {"language": languages.name, "country": geo.country_name}


def display(dimension: str, value: Any) -> str:
    """A row's label: a name where the catalog says the values are codes ("de" -> "German", "DE" -> "Germany")."""
    entry = BY_NAME.get(dimension)
    if entry is not None and entry.names is not None:
        return NAMES[entry.names](str(value))
    return str(value)


# A label's end that stays visible when the cell is too narrow: its last path segment
# (so /blog/corporate-blog-a and /blog/corporate-blog-b stay apart), at most this long.
TAIL_MAX = 28
TAIL_SHORT = 14  # the end kept of a longer last segment, or of a label without segments


def label_parts(text: str) -> tuple[str, str]:
    """(head, tail) of a row's label: a narrow cell ellipsises the head in the middle of
    the label and keeps the tail whole ("/blog/corporate-bl…/the-post"). Together they
    are the whole text, so hover titles and screen readers get the full value."""
    if len(text) <= TAIL_SHORT:
        return text, ""
    cut = text.rstrip("/").rfind("/")
    if cut <= 0 or len(text) - cut > TAIL_MAX:
        cut = len(text) - TAIL_SHORT
        word = text.find("-", cut, len(text) - 4)  # start at a word where one starts near the end
        cut = word if word > 0 else cut
    return text[:cut], text[cut:]


def compact(n: int) -> str:
    if n < 10_000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k".replace(".0k", "k")
    return f"{n / 1_000_000:.1f}M".replace(".0M", "M")


def duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {s:02d}s"
    hours, m = divmod(minutes, 60)
    return f"{hours}h {m:02d}m"
