"""Dashboard state kept in the URL: range, filters, tabs and chart options.

Everything a dashboard view shows follows from its query string, so a view can
be shared as a link and the back button steps through earlier views. This
module turns the query string into typed state and builds the links that
change one part of it.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from analytics import catalog
from analytics.errors import BadRequest
from analytics.stats import dates

PERIODS: dict[str, str] = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "28d": "Last 28 days",
    "30d": "Last 30 days",
    "month": "Month to date",
    "lastmonth": "Last month",
    "12mo": "Last 12 months",
    "year": "Year to date",
    "all": "All time",
    "custom": "Custom range",
}
DEFAULT_PERIOD = "30d"
# What the figures are compared with (`compare=` in the URL); the default is the previous period.
COMPARISONS: dict[str, str] = {
    "previous": "the previous period",
    "year": "the same period a year earlier",
    "custom": "a custom range",
    "off": "nothing",
}
# What a compared figure is called next to its value (a tooltip, a title), per comparison.
COMPARED: dict[str, str] = {"previous": "previous period", "year": "a year earlier", "custom": "compared range"}

# URL parameter -> stats dimension, and its label: from the catalog. Clicking a
# row adds `param=value` (filter "is").
FILTER_PARAMS: dict[str, str] = catalog.FILTER_PARAMS
FILTER_LABELS: dict[str, str] = catalog.FILTER_LABELS
PROP_PREFIX = "prop."
MAX_VALUE = 2000
MAX_FILTERS = 12
# Other parameters the dashboard understands; anything else is ignored.
STATE_PARAMS = (
    "period", "from", "to", "interval", "metric", "compare", "compare_from", "compare_to", "prop_key", "more",
    *(f"tab_{panel}" for panel in catalog.PANELS),
)  # fmt: skip
INTERVALS = ("hour", "day", "week", "month")
CHART_METRICS = ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration",
                 "time_on_page", "scroll_depth", "read_rate")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Filter:
    param: str  # URL parameter, e.g. "source" or "prop.author"
    dimension: str
    value: str

    @property
    def label(self) -> str:
        if self.param.startswith(PROP_PREFIX):
            return "Property " + self.param[len(PROP_PREFIX) :]
        return FILTER_LABELS[self.param]

    def body(self) -> list[Any]:
        return ["is", self.dimension, [self.value]]


@dataclass(frozen=True, slots=True)
class Range:
    period: str
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Range:
        """The range this one compares with by default (`stats.dates.previous_period`)."""
        return Range(self.period, *dates.previous_period(self.period, self.first, self.last))

    def year_earlier(self) -> Range:
        return Range(self.period, *dates.year_earlier(self.first, self.last))

    def body(self) -> list[str]:
        return [self.first.isoformat(), self.last.isoformat()]


def today_in(tz: str, now: datetime) -> date:
    return now.astimezone(zoneinfo.ZoneInfo(tz)).date()


def resolve_range(
    period: str, tz: str, now: datetime, earliest: date | None, start: str | None = None, end: str | None = None
) -> Range:
    """A dashboard period to explicit local days [first, last] in the site's time zone."""
    today = today_in(tz, now)
    if period == "custom":
        first, last = _custom_days(start, end, "a custom range")
    elif period in PERIODS:
        first, last = dates.preset_days(period, today, earliest)
    else:
        raise BadRequest(f"unknown period; use one of {', '.join(PERIODS)}")
    return Range(period, first, last)


def _custom_days(start: str | None, end: str | None, what: str) -> tuple[date, date]:
    try:
        first = date.fromisoformat((start or "")[:10])
        last = date.fromisoformat((end or "")[:10])
    except ValueError:
        raise BadRequest(f"{what} needs from and to dates as YYYY-MM-DD") from None
    if not (dates.in_bounds(first) and dates.in_bounds(last)):
        raise BadRequest(f"{what}'s {dates.BOUNDS}")
    if last < first:
        first, last = last, first
    if (last - first).days > 366 * 20:
        raise BadRequest(f"{what} may span at most 20 years")
    return first, last


def comparison(r: Range, mode: str, start: str | None = None, end: str | None = None) -> Range | None:
    """The range `r` is compared with under `mode` (see COMPARISONS); None for no comparison.

    None too when the comparison would begin before the calendar's first day.
    """
    if mode == "off":
        return None
    if mode == "year":
        other = r.year_earlier()
    elif mode == "custom":
        other = Range("custom", *_custom_days(start, end, "a comparison range"))
    else:
        other = r.previous()
    return other if dates.in_bounds(other.first) else None


def intervals_for(r: Range) -> tuple[str, ...]:
    """Chart intervals that make sense for a range (not 700 hourly points, not one monthly one)."""
    out = []
    if r.days <= 7:
        out.append("hour")
    if 1 < r.days <= 800:
        out.append("day")
    if 14 <= r.days:
        out.append("week")
    if 60 <= r.days:
        out.append("month")
    return tuple(out)


def default_interval(r: Range) -> str:
    return dates.granularity(r.first, r.last)


class State:
    """The parsed query string of a dashboard view, and links that change it."""

    def __init__(self, params: Mapping[str, str], base: str, allow_filters: bool = True) -> None:
        self.base = base
        self.params: dict[str, str] = {}
        for key in STATE_PARAMS:
            if key in params:
                self.params[key] = params[key][:100]
        filters = []
        for key, value in params.items():
            if key in FILTER_PARAMS:
                dim = FILTER_PARAMS[key]
            elif key.startswith(PROP_PREFIX) and 0 < len(key) - len(PROP_PREFIX) <= 300:
                dim = "event:props:" + key[len(PROP_PREFIX) :]
            else:
                continue
            if not allow_filters:
                raise BadRequest("filters are not available on this shared link")
            filters.append(Filter(key, dim, value[:MAX_VALUE]))
        if len(filters) > MAX_FILTERS:
            raise BadRequest(f"at most {MAX_FILTERS} filters")
        self.filters = tuple(filters)
        period = self.params.get("period", DEFAULT_PERIOD)
        self.period = period if period in PERIODS else DEFAULT_PERIOD

    def get(self, key: str, default: str = "") -> str:
        return self.params.get(key, default)

    def filter_value(self, param: str) -> str | None:
        return next((f.value for f in self.filters if f.param == param), None)

    def filters_body(self) -> list[list[Any]]:
        return [f.body() for f in self.filters]

    def _all(self) -> dict[str, str]:
        out = dict(self.params)
        for f in self.filters:
            out[f.param] = f.value
        return out

    def url(self, **changes: str | None) -> str:
        """This view with some parameters changed (None removes one)."""
        params = self._all()
        for key, value in changes.items():
            key = key.replace("__", ".")
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return self.base + ("?" + urlencode(params) if params else "")

    def with_filter(self, param: str, value: str, *also: tuple[str, str]) -> str:
        """This view filtered by `param` is `value` (and any `also` pairs), on top of its filters."""
        params = self._all()
        for key, val in (*also, (param, value)):
            params[key] = val
        params.pop("more", None)
        return self.base + "?" + urlencode(params)

    def without_filters(self) -> str:
        return self.base + ("?" + urlencode(self.params) if self.params else "")

    def without_filter(self, param: str) -> str:
        params = self._all()
        params.pop(param, None)
        return self.base + ("?" + urlencode(params) if params else "")

    def with_period(self, period: str) -> str:
        return self.url(period=period, **{"from": None, "to": None, "interval": None})

    def hidden_inputs(self, exclude: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        """Every parameter as (name, value), for GET forms that change one part of the view."""
        return [(k, v) for k, v in self._all().items() if k not in exclude]
