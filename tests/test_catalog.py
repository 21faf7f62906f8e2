"""The catalog of dimensions (analytics/catalog.py): what every layer derives from one entry each."""

from __future__ import annotations

import pytest

from analytics import catalog
from analytics.catalog import ROLLUP_KEYS, visitor_credit


def test_rollup_tables_and_their_keys_follow_the_entries() -> None:
    assert ROLLUP_KEYS == {
        "rollup_totals": (),
        "rollup_pages": ("hostname", "page"),
        "rollup_events": ("name", "link_url", "path"),  # goals break down by link and path as well
        "rollup_entry_pages": ("entry_page",),
        "rollup_exit_pages": ("exit_page",),
        "rollup_sources": ("channel", "source", "referrer", "utm_source", "utm_medium", "utm_campaign",
                           "utm_content", "utm_term"),
        "rollup_locations": ("country",),
        "rollup_languages": ("language",),
        "rollup_browsers": ("browser", "browser_version"),
        "rollup_os": ("os", "os_version"),
        "rollup_devices": ("device", "screen"),
    }  # fmt: skip
    # Visit tables keyed by several columns credit each column; single-key tables need no credits.
    assert catalog.CREDITS["rollup_browsers"] == ("browser", "browser_version")
    assert catalog.CREDITS["rollup_locations"] == () and catalog.CREDITS["rollup_pages"] == ()
    assert catalog.CREDITS["rollup_events"] == ("name",)
    assert [r.table for r in catalog.VISIT_ROLLUPS] == [
        "rollup_entry_pages", "rollup_exit_pages", "rollup_sources", "rollup_locations", "rollup_languages",
        "rollup_browsers", "rollup_os", "rollup_devices",
    ]  # fmt: skip


def test_visit_attributes_come_from_first_touch_entries_in_order() -> None:
    assert catalog.SESSION_ATTRS == tuple(d.column for d in catalog.DIMENSIONS if d.first_touch)
    assert catalog.SESSION_ATTRS[:3] == ("channel", "source", "referrer")
    assert catalog.TEXT_ATTRS == {"country", "language"}
    assert catalog.ATTR_DEFAULTS["channel"] == "Direct" and catalog.ATTR_DEFAULTS["source"] == "Direct / None"
    assert {v for k, v in catalog.ATTR_DEFAULTS.items() if k not in ("channel", "source")} == {""}
    assert "entry_page" not in catalog.SESSION_ATTRS  # a visit dimension, but not a first-touch attribute


def test_dashboard_lists_follow_the_entries() -> None:
    assert catalog.PANELS == ("pages", "goals", "sources", "locations", "devices")
    assert catalog.FILTER_PARAMS["entry"] == "visit:entry_page"
    assert catalog.FILTER_LABELS["os"] == "Operating system"
    assert "name" not in catalog.FILTER_PARAMS  # event:name has no URL parameter
    assert set(catalog.FILTER_PARAMS.values()) == {d.name for d in catalog.DIMENSIONS if d.param}
    assert catalog.ROLLUP_DIMS["visit:browser_version"] == ("rollup_browsers", "browser_version")
    assert "event:name" not in catalog.ROLLUP_DIMS


@pytest.mark.parametrize(
    ("table", "columns", "credit"),
    [
        ("rollup_locations", ["country"], "visitors"),  # a single-key table
        ("rollup_totals", [], "visitors"),
        ("rollup_browsers", ["browser", "browser_version"], "visitors"),  # the full key
        ("rollup_browsers", ["browser_version", "browser"], "visitors"),  # in any order
        ("rollup_browsers", ["browser"], "v_browser"),  # one column of a wider key
        ("rollup_sources", ["utm_term"], "v_utm_term"),
        ("rollup_sources", ["source", "referrer"], None),  # part of the key, more than one column
        ("rollup_pages", ["page"], "visitors"),  # a path counted per page
        ("rollup_pages", ["hostname"], None),
        ("rollup_events", ["name"], "v_name"),
        ("rollup_events", ["link_url"], None),
    ],
)
def test_visitor_credit(table: str, columns: list[str], credit: str | None) -> None:
    assert visitor_credit(table, columns) == credit


def test_is_dimension() -> None:
    assert all(catalog.is_dimension(d) for d in catalog.api_dimensions())
    assert catalog.is_dimension("event:props:author")
    assert catalog.is_dimension("event:props:" + "k" * 300)
    assert not catalog.is_dimension("event:props:" + "k" * 301)
    assert not catalog.is_dimension("event:props:")
    assert not catalog.is_dimension("visit:city")
    assert not catalog.is_dimension("time:minute")


def test_api_dimensions_list_events_then_visits_then_time() -> None:
    names = catalog.api_dimensions()
    assert names[:4] == ["event:hostname", "event:page", "event:name", "event:goal"]
    assert names[-5:] == ["time", "time:hour", "time:day", "time:week", "time:month"]
    assert len(names) == len(set(names)) == len(catalog.DIMENSIONS) + 5
    assert set(catalog.BY_NAME) == set(catalog.EVENT_DIMENSIONS) | set(catalog.VISIT_DIMENSIONS)
