"""Which queries imported history can answer (analytics/stats/imported.py), without a database.

The reasons for the common refusals are checked end to end in test_imports.py;
here: the tables each dimension maps to, and the cases decided by the sums.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from analytics import catalog
from analytics.model import Site
from analytics.stats.imported import IMPORTED_DIMS, imported_table, skip_reason
from analytics.stats.parse import parse

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def query(metrics: list[str], dimensions: list[str] | None = None, **body: Any) -> Any:
    body.setdefault("date_range", "7d")
    return parse({"metrics": metrics, "dimensions": dimensions or [], **body}, SITE, NOW)


def test_dimensions_map_to_the_reports_the_catalog_exports() -> None:
    for d in catalog.DIMENSIONS:
        if d.export is not None:
            assert IMPORTED_DIMS[d.name] == (f"imported_{d.export[0]}", d.export[1]), d.name
    assert IMPORTED_DIMS["visit:channel"] == ("imported_sources", "channel")  # derived on import
    assert "visit:screen" not in IMPORTED_DIMS and "event:name" not in IMPORTED_DIMS


@pytest.mark.parametrize(
    ("metrics", "dimensions", "body"),
    [
        (["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "events", "time_on_page"], [], {}),
        (["visitors"], ["time"], {}),  # a week of days
        (["visitors", "bounce_rate"], ["visit:source", "time:month"], {}),
        (["visitors"], ["visit:source"], {"filters": [["is", "visit:utm_campaign", ["spring"]]]}),  # one report
        (["bounce_rate", "time_on_page", "scroll_depth"], ["event:page"], {}),  # bounces from entry pages
        (["visitors", "events", "conversion_rate"], ["event:goal"], {}),
        (["visitors"], ["visit:language"], {}),
        (["visitors"], [], {"date_range": "day"}),  # today is whole days when nothing asks for hours
    ],
)
def test_answerable(metrics: list[str], dimensions: list[str], body: dict[str, Any]) -> None:
    assert skip_reason(query(metrics, dimensions, **body)) is None


@pytest.mark.parametrize(
    ("metrics", "dimensions", "reason"),
    [
        (["bounce_rate"], ["event:page", "event:hostname"], "imported pages have no bounce_rate"),
        (["time_on_page"], ["event:goal"], "imported custom_events have no time_on_page"),
        (["visitors", "events", "scroll_depth"], ["event:goal"], "imported custom_events have no scroll_depth"),
        (["bounce_rate", "events"], ["visit:device"], "imported devices have no events"),
        (["visitors"], ["visit:source", "event:goal"], "imported data has no breakdown by event:goal and visit:source"),
    ],
)
def test_refused_by_the_report(metrics: list[str], dimensions: list[str], reason: str) -> None:
    assert skip_reason(query(metrics, dimensions)) == reason


def test_hours_are_refused_before_anything_else() -> None:
    q = query(["events"], ["time:hour", "visit:screen"])
    assert skip_reason(q) == "imported data is daily, so it has no hours"


def test_imported_table() -> None:
    assert imported_table(query(["visitors"])) is None  # totals: three reports
    assert imported_table(query(["visitors"], ["time:day"])) is None
    assert imported_table(query(["visitors"], ["visit:os_version"])) == "imported_operating_systems"
    filtered = query(["visitors"], ["time:day"], filters=[["is", "visit:source", ["Google"]]])
    assert imported_table(filtered) == "imported_sources"  # a filter picks the report too
