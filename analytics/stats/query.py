"""The typed query object (reference §3): what a Stats API request asks for.

A request is parsed into a `Query`; `stats.plan` decides how to answer it and
`stats.run` executes the plan on a store and shapes the result. Nothing here
touches a database, and nothing here is specific to one backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from analytics.model import Site
from analytics.stats import dates

OPERATORS = ("is", "is_not", "contains", "contains_not", "matches", "matches_not")


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


@dataclass(frozen=True, slots=True)
class PageGoal(And):
    """A page goal as a filter: its page-view conditions (`items`), and the goal's `name`.

    It filters as the `And` it is; a conversion rate's base drops it like any
    `event:goal` condition (stats.conversions makes it, stats.shape drops it).
    """

    name: str = ""


Filter = Condition | And | Or | Not


def filter_dimensions(f: Filter | None) -> set[str]:
    if f is None:
        return set()
    if isinstance(f, Condition):
        return {f.dimension}
    if isinstance(f, Not):
        return filter_dimensions(f.item)
    return set().union(*(filter_dimensions(i) for i in f.items))


def joined(items: Sequence[Filter]) -> Filter | None:
    """The AND of `items`; None for none."""
    return None if not items else items[0] if len(items) == 1 else And(tuple(items))


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

    @property
    def hourly(self) -> bool:
        """Whether it breaks down by hour: daily tables (rollup tiers, imported history) cannot answer it."""
        return any(d == "time:hour" or (d == "time" and self.time_granularity == "hour") for d in self.dimensions)

    def daily_days(self, through_day: int | None) -> tuple[int, int] | None:
        """The local days [first, last] (`dates.day_number`) a store's daily tier answers, when it is
        settled through `through_day`: whole local days, no hours, at least one settled day.

        Whole days are tested first, so a site's unknown time zone fails here, as it always did."""
        if not self.whole_days or through_day is None or self.hourly:
            return None  # e.g. "24h": not whole local days
        first, last = dates.day_number(self.first_day), min(dates.day_number(self.last_day), through_day)
        return (first, last) if first <= last else None

    @property
    def whole_days(self) -> bool:
        """Whether the range is whole local days of the site (not, e.g., "24h")."""
        tz = dates.zone(self.site.timezone)
        return self.start == dates.local_midnight(self.first_day, tz) and self.end == dates.local_midnight(
            self.last_day + timedelta(days=1), tz
        )


@dataclass(slots=True)
class QueryResult:
    rows: list[tuple[tuple[str | int, ...], tuple[float | int | None, ...]]]
    total_rows: int | None = None
    time_labels: list[str] | None = None
    meta: dict[str, object] = field(default_factory=dict)
