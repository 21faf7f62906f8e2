"""The query stage of `analytics bench` (analytics/devtools/bench_dashboard.py): full dashboards
derived from the dashboard's panels and the catalog, timed as one batch on real demo data."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime
from pathlib import Path

from analytics.catalog import DIMENSIONS
from analytics.devtools import bench_dashboard as bd
from analytics.devtools import demo
from analytics.web.reports import Tab

# The panel names of the committed results (docs/bench-results.json): they stay.
COMMITTED_PANELS = {"top_stats", "series_day", "top_pages", "entry_pages", "exit_pages", "channels", "sources",
                    "utm_campaign", "countries", "browsers", "os", "devices", "goals"}  # fmt: skip


def test_dashboard_set_is_every_tab_of_every_panel() -> None:
    sets = bd.query_sets()
    names = [n for n, _ in sets["dashboard_30d"].jobs]
    assert len(names) == len(set(names))
    assert COMMITTED_PANELS <= set(names)
    # Every catalog dimension with a dashboard tab is timed, with no edit in the bench.
    tabs = {bd.LEGACY_NAMES.get(d.tab, d.tab) for d in DIMENSIONS if d.tab}
    assert "languages" in tabs and tabs <= set(names)
    # Tabs the dashboard adds beyond the catalog: goal links, and a property key the site names.
    assert {"outbound", "downloads"} <= set(names)
    assert "prop:author" in {n for n, _ in bd.query_sets(("author",))["dashboard_12mo"].jobs}
    # The page's own request: top stats and series for the range and the one before, realtime, the
    # shown tab of each panel and the Headline listing; the details come after the page, alone.
    filters = {name.replace("dashboard_", "page_"): f for name, _, f in bd.DASHBOARDS}
    page = ["top_stats", "series_day", "top_stats_previous", "series_day_previous", "realtime",
            "top_pages", "channels", "countries", "browsers", "goals", "headline_listing"]  # fmt: skip
    for name, qs in sets.items():
        if name.startswith("dashboard_"):
            assert [n for n, _ in qs.jobs] == names, name
            assert qs.filters is not None
        elif name.startswith("page_"):
            # The same page under each filter of the full dashboards, set on the view as on the page.
            assert sorted(n for n, _ in qs.jobs) == sorted(page) and qs.filters == filters[name], name
        else:
            assert qs.filters is None and len(qs.jobs) == 1
    assert {"page_30d", "page_12mo", "headline_details_30d"} <= set(sets)
    assert {n for n in sets if n.startswith("page_")} == set(filters)
    assert {n for n in sets if n.startswith("headline_details_")} == {
        n.replace("page_", "headline_details_") for n in filters
    }


def test_the_issue_s_filters_are_timed() -> None:
    filters = {name: (period, f) for name, period, f in bd.DASHBOARDS}
    assert filters["dashboard_30d"] == ("30d", [])
    assert filters["dashboard_30d_source"] == ("30d", [["is", "visit:source", ["Xing"]]])
    assert filters["dashboard_30d_page"][1][0][:2] == ["is", "event:page"]
    assert filters["dashboard_30d_broad"] == ("30d", [["is", "visit:channel", ["Organic Search"]]])
    assert len(filters["dashboard_30d_2filters"][1]) == 2
    assert filters["dashboard_12mo_2filters"] == ("12mo", filters["dashboard_30d_2filters"][1])


def test_filtered_dashboard_tabs_drill_down_as_on_the_page() -> None:
    def tab(set_name: str, name: str) -> Tab:
        job = dict(bd.query_sets()[set_name].jobs)[name]
        assert isinstance(job, functools.partial)
        (*_, found) = job.args
        assert isinstance(found, Tab)
        return found

    assert tab("dashboard_30d", "sources").dimension == "visit:source"
    assert tab("dashboard_30d_source", "sources").dimension == "visit:referrer"  # visit:source is Xing
    assert tab("dashboard_30d", "outbound").fixed_filters == (("goal", "event:goal", "Outbound Link: Click"),)


def test_query_sets_run_on_demo_data_in_one_batch_and_as_before(tmp_path: Path) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    db = tmp_path / "analytics.db"
    demo.generate(db, bd.SITE, 3000, 90, seed=1, now=now.timestamp(), progress=False)
    site, prop_keys = asyncio.run(bd._site(tmp_path))
    assert prop_keys == ()
    for name, qs in bd.query_sets(prop_keys).items():
        figures = asyncio.run(bd.time_set(db, site, qs, now, 1, 1.0))
        assert figures["warm_runs"] == 1 and figures["queries"] == len(qs.jobs), name
        assert figures["cold_ms"] > 0 and figures["warm_p50_ms"] > 0, name
    broad = bd.query_sets(prop_keys)["dashboard_30d_broad"]
    shared = asyncio.run(bd.time_set(db, site, broad, now, 1, 1.0))
    before = asyncio.run(bd.time_set(db, site, broad, now, 1, 1.0, shared=False))
    # One batch: the filtered panels share one statement, where each read events alone before.
    assert shared["statements"] < before["statements"] - 10, (shared, before)
