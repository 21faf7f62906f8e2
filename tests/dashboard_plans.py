"""A filtered dashboard's queries for the shared-set suites of both backends (test_segments,
test_clickhouse_chshared): the panels of one page and the filters they run under."""

from __future__ import annotations

from typing import Any

# Panels of a dashboard: top stats, chart, visit and event breakdowns, goals, a property.
PANELS: list[dict[str, Any]] = [
    {"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration",
                 "time_on_page", "scroll_depth", "events"]},
    {"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"]},
    {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["time:week"]},
    {"metrics": ["visitors", "pageviews", "time_on_page", "scroll_depth"], "dimensions": ["event:page"]},
    {"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"], "dimensions": ["visit:source"]},
    {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:entry_page"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:exit_page"]},
    {"metrics": ["visitors", "pageviews"], "dimensions": ["visit:entry_page"]},
    {"metrics": ["visitors", "percentage"], "dimensions": ["visit:country"]},
    {"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["event:goal"]},
    {"metrics": ["visitors", "events"], "dimensions": ["event:props:url"]},
    {"metrics": ["visitors", "pageviews", "visits"], "dimensions": ["visit:browser", "event:page"]},
]  # fmt: skip
FILTERS: list[list[Any]] = [
    [["is", "visit:source", ["LinkedIn"]]],
    [["is", "event:page", ["/"]]],
    [["is", "visit:channel", ["Organic Search"]], ["contains", "event:page", ["/blog/"]]],
    [["is_not", "visit:device", ["Mobile"]]],
    [["or", [["is", "visit:country", ["CH"]], ["matches", "event:page", ["^/blog/c"]]]]],
    [["is", "visit:exit_page", ["/"]]],
    [["contains", "visit:entry_page", ["/blog/"]], ["is", "visit:device", ["Desktop"]]],
    [["is", "event:goal", ["Outbound Link: Click"]]],  # custom events only: ClickHouse reads goal_events
]
