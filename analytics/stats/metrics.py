"""The metric table: every metric the Stats API offers, the sums it needs, its formula.

Backends compute sums per group (visitors, visits, bounces, ...); every formula
that turns sums into a metric lives here, once, so two backends or two plans
cannot disagree on a formula.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Sums = dict[str, float]
# Not a sum: the median a histogram plan gives per group (stats.plan.histogram_plan, stats.medians).
MEDIAN = "time_median"


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
        # Our extensions (Plausible clients ignore metrics they do not ask for).
        Metric(
            "reads",
            "event",
            "Extension: pageviews that were read (75 % scrolled and engaged for max(10 s, 30 % of the reading time);"
            " both thresholds per site).",
        ),
        Metric("read_rate", "event", "Extension: reads in percent of pageviews."),
        Metric("readers", "event", "Extension: visitors who read at least one page, counted as visitors are."),
        Metric(
            "time_on_page_median",
            "page",
            "Extension: the median of engaged seconds on the page over the visits that viewed it (whole seconds).",
        ),
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
    "reads": ("reads",),
    "read_rate": ("reads", "pageviews"),
    "readers": ("readers",),
    "time_on_page_median": ("page_visits", MEDIAN),
}


def needed_sums(metrics: Iterable[str]) -> set[str]:
    return {s for m in metrics for s in NEEDS[m]}


def _ratio(a: float, b: float, digits: int | None = 0) -> float | int | None:
    if not b:
        return 0 if digits == 0 else 0.0
    value = a / b
    return int(round(value)) if digits == 0 else round(value, digits)


def metric_value(name: str, s: Sums, total_visitors: float) -> float | int | None:
    """One metric from a group's sums; `total_visitors` is the base of percentages."""
    get = s.get
    if name in ("visitors", "visits", "pageviews", "events", "reads", "readers"):
        return int(get(name, 0))
    if name == "views_per_visit":
        return _ratio(get("pageviews", 0), get("visits", 0), 2)
    if name == "bounce_rate":
        return _ratio(100 * get("bounces", 0), get("visits", 0))
    if name == "visit_duration":
        return _ratio(get("duration", 0), get("visits", 0))
    if name == "time_on_page":
        return _ratio(get("time_total", 0) / 1000, get("page_visits", 0))
    if name == "time_on_page_median":
        return int(round(get(MEDIAN, 0))) if get("page_visits") else None
    if name == "scroll_depth":
        return _ratio(get("scroll_total", 0), get("scroll_visits", 0)) if get("scroll_visits") else None
    if name == "read_rate":
        return _ratio(100 * get("reads", 0), get("pageviews", 0), 1)
    if name == "percentage":
        return _ratio(100 * get("visitors", 0), total_visitors, 1)
    if name == "conversion_rate":
        return _ratio(100 * get("visitors", 0), total_visitors, 2)
    raise KeyError(name)
