"""The typed query object and the metric table (reference §2, §3).

A request is parsed into a `Query`; a backend compiles it to SQL and returns a
`QueryResult`. Nothing here touches a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from analytics.model import Site


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    level: Literal["event", "session", "page", "derived"]
    description: str


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("visitors", "event", "Unique visitors, counted once per day in the site's time zone (daily salt)."),
        Metric("visits", "session", "Sessions: visits that end after 30 minutes without activity."),
        Metric("pageviews", "event", "Number of pageview events."),
        Metric("views_per_visit", "session", "Pageviews divided by visits."),
        Metric("bounce_rate", "session", "Percent of visits with one pageview and no interactive event."),
        Metric(
            "visit_duration",
            "session",
            "Mean seconds from a visit's first to last page view or event; bounces count 0.",
        ),
        Metric("events", "event", "Number of custom events."),
        Metric("scroll_depth", "page", "Mean over visits of the deepest scroll on the page, in percent."),
        Metric("time_on_page", "page", "Engaged seconds on the page per visit that viewed it."),
        Metric("percentage", "derived", "Share of the total visitors, in percent."),
        Metric("conversion_rate", "derived", "Visitors who completed the goal, in percent of all visitors."),
    )
}

# Which sums each metric needs: backends compute sums, stats.shape the formulas.
NEEDS: dict[str, tuple[str, ...]] = {
    "visitors": ("visitors",),
    "visits": ("visits",),
    "pageviews": ("pageviews",),
    "views_per_visit": ("pageviews", "visits"),
    "bounce_rate": ("bounces", "visits"),
    "visit_duration": ("duration", "visits"),
    "events": ("events",),
    "time_on_page": ("time_total", "page_visits"),
    "scroll_depth": ("scroll_total", "scroll_visits"),
    "percentage": ("visitors",),
    "conversion_rate": ("visitors",),
}


def needed_sums(metrics: tuple[str, ...] | list[str]) -> set[str]:
    return {s for m in metrics for s in NEEDS[m]}


EVENT_DIMENSIONS = ("event:page", "event:hostname", "event:name", "event:goal")
VISIT_DIMENSIONS = (
    "visit:entry_page", "visit:exit_page", "visit:source", "visit:referrer", "visit:channel",
    "visit:utm_source", "visit:utm_medium", "visit:utm_campaign", "visit:utm_content", "visit:utm_term",
    "visit:device", "visit:screen", "visit:browser", "visit:browser_version", "visit:os", "visit:os_version",
    "visit:country",
)  # fmt: skip
TIME_DIMENSIONS = ("time", "time:hour", "time:day", "time:week", "time:month")
PROPS_PREFIX = "event:props:"
OPERATORS = ("is", "is_not", "contains", "contains_not", "matches", "matches_not")


def is_dimension(name: str) -> bool:
    if name.startswith(PROPS_PREFIX):
        return 0 < len(name) - len(PROPS_PREFIX) <= 300
    return name in EVENT_DIMENSIONS or name in VISIT_DIMENSIONS or name in TIME_DIMENSIONS


@dataclass(frozen=True, slots=True)
class Condition:
    op: str  # one of OPERATORS
    dimension: str
    values: tuple[str, ...]
    case_sensitive: bool = True


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Filter


Filter = Condition | And | Or | Not


def filter_dimensions(f: Filter | None) -> set[str]:
    if f is None:
        return set()
    if isinstance(f, Condition):
        return {f.dimension}
    if isinstance(f, Not):
        return filter_dimensions(f.item)
    return set().union(*(filter_dimensions(i) for i in f.items))


@dataclass(frozen=True, slots=True)
class Query:
    site: Site
    metrics: tuple[str, ...]
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    first_day: date  # the range in the site's time zone, for labels
    last_day: date
    dimensions: tuple[str, ...] = ()
    filters: Filter | None = None
    order_by: tuple[tuple[str, Literal["asc", "desc"]], ...] = ()
    limit: int = 10000
    offset: int = 0
    include_imports: bool = False
    time_labels: bool = False
    total_rows: bool = False
    time_granularity: str = "day"  # what the plain "time" dimension means for this range
    force_raw: bool = False  # tests: bypass rollups to check both paths agree


@dataclass(slots=True)
class QueryResult:
    rows: list[tuple[tuple[str | int, ...], tuple[float | int | None, ...]]]
    total_rows: int | None = None
    time_labels: list[str] | None = None
    used_rollups: bool = False
    meta: dict[str, object] = field(default_factory=dict)
