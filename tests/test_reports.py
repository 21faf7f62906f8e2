"""Report panels and the privacy guard (analytics/web/reports.py): the panels a view gets, the
changes and formats it shows, and `Stats` answering panels from a real store.

k-suppression and the dashboard's numbers are also checked in test_web_reports.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from analytics.model import Event, SessionAttrs, Site
from analytics.stats.dates import local_day
from analytics.store.sqlite.store import SQLiteStore
from analytics.web import reports
from analytics.web.reports import Stats, change, compact, duration, fmt, panels, selected_tab
from analytics.web.state import Range, State

SITE = Site(1, "blog.example.org", "Europe/Zurich")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_panels_and_tabs_come_from_the_catalog() -> None:
    shown = panels(State({}, "/x"), ())
    assert [p.key for p in shown] == ["sources", "pages", "locations", "devices", "goals"]
    tabs = {p.key: [t.key for t in p.tabs] for p in shown}
    assert tabs["sources"] == ["channels", "sources", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"]
    assert tabs["locations"] == ["countries", "languages"]
    assert tabs["goals"] == ["goals", "outbound", "downloads"]
    outbound = shown[4].tabs[1]
    assert (outbound.dimension, outbound.param, outbound.fixed_filters) == (
        "event:props:url", "prop.url", (("goal", "event:goal", "Outbound Link: Click"),),
    )  # fmt: skip


def test_a_filtered_tab_drills_down_and_properties_get_tabs() -> None:
    state = State({"browser": "Firefox", "goal": "Signup", "prop_key": "plan"}, "/x")
    devices = panels(state, ("author",))[3]
    browsers = devices.tabs[0]
    assert (browsers.key, browsers.dimension, browsers.title) == ("browsers", "visit:browser_version", "Browser versions")
    goals = panels(state, ("author",))[4]
    assert [t.key for t in goals.tabs][-2:] == ["prop:author", "prop:plan"]  # the chosen key is added
    assert [c.metric for c in goals.tabs[-1].columns] == ["visitors", "events", "conversion_rate"]  # with a goal: CR
    assert selected_tab(devices, State({"tab_devices": "os"}, "/x")).key == "os"
    assert selected_tab(devices, State({"tab_devices": "nope"}, "/x")).key == "browsers"


@pytest.mark.parametrize(
    ("metric", "current", "previous", "expected"),
    [
        ("visitors", 12, 10, (20, "good")),
        ("visitors", 5, 10, (-50, "bad")),
        ("visitors", 10, 10, (0, "flat")),
        ("visitors", 3, 0, (None, "none")),  # no change against nothing
        ("visitors", None, 4, (None, "none")),
        ("bounce_rate", 40, 55, (-15, "good")),  # percentage points, and lower is better
        ("bounce_rate", 60, 0, (60, "bad")),
        ("visit_duration", 90, 60, (50, "good")),
    ],
)
def test_change(metric: str, current: float | None, previous: float | None, expected: tuple[int | None, str]) -> None:
    assert change(metric, current, previous) == expected


def test_formats() -> None:
    assert [fmt(m, v) for m, v in (("visitors", 1234), ("visitors", 12_345), ("pageviews", 2_500_000),
                                   ("bounce_rate", 33), ("percentage", 12.5), ("views_per_visit", 1.5),
                                   ("visit_duration", 3725), ("time_on_page", 59), ("scroll_depth", None))] == [
        "1234", "12.3k", "2.5M", "33%", "12.5%", "1.50", "1h 02m", "59s", "–",
    ]  # fmt: skip
    assert [compact(n) for n in (9999, 10_000, 1_000_000, 1_050_000)] == ["9999", "10k", "1M", "1.1M"]
    assert [duration(s) for s in (0, 61, 3600)] == ["0s", "1m 01s", "1h 00m"]


def test_suppress_hides_nothing_without_k() -> None:
    assert reports.suppress([1, 2, None], 0) == [False, False, False]
    assert reports.suppress([None, 3, 30], 5) == [False, True, True]  # None is no group


def pageview(minute: int, visitor: int, **attrs: str) -> Event:
    ts = int(datetime(2026, 3, 1, 9, minute, tzinfo=UTC).timestamp())
    return Event(site_id=1, ts=ts, day=local_day(ts, SITE.timezone), visitor_id=visitor, prev_visitor_id=None,
                 name="pageview", hostname="blog.example.org", path="/", attrs=SessionAttrs(**attrs))  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "analytics.db", batch_ms=0)
    await s.open()
    await s.submit([pageview(0, 1, utm_campaign="spring"), pageview(1, 2), pageview(2, 3), pageview(3, 4, utm_campaign="x")])
    yield s
    await s.close()


async def test_a_utm_tab_drops_the_untagged_row_but_still_fills_its_rows(store: SQLiteStore) -> None:
    stats = Stats(store, SITE, NOW)
    tab = next(t for t in panels(State({}, "/x"), ())[0].tabs if t.key == "utm_campaign")
    rows, total = await stats.breakdown(Range("custom", date(2026, 3, 1), date(2026, 3, 1)), tab, limit=2)
    assert [(dims[0], values[0]) for dims, values in rows] == [("spring", 1), ("x", 1)]  # "" had 2 and is left out
    assert total == 2


async def test_a_series_has_every_bucket_and_the_visitors_beside_the_metric(store: SQLiteStore) -> None:
    stats = Stats(store, SITE, NOW)
    r = Range("custom", date(2026, 2, 28), date(2026, 3, 1))
    assert await stats.series(r, "day", "pageviews") == [("2026-02-28", 0, 0), ("2026-03-01", 4, 4)]
    assert await stats.series(r, "day", "scroll_depth") == [("2026-02-28", None, 0), ("2026-03-01", None, 4)]
    assert await stats.totals(r, ["visitors", "bounce_rate"]) == {"visitors": 4, "bounce_rate": 100}
    assert await stats.earliest(int(NOW.timestamp())) == date(2026, 3, 1)  # data before the site's creation day


@pytest.mark.parametrize(
    ("text", "head", "tail"),
    [  # fmt: skip
        ("/", "/", ""),
        ("Organic Search", "Organic Search", ""),  # short: whole
        ("/blog/corporate-blog-communication/part-one", "/blog/corporate-blog-communication", "/part-one"),
        ("/blog/corporate-blog-communication/part-one/", "/blog/corporate-blog-communication", "/part-one/"),
        # A last segment longer than a tail: its end, from the start of a word near it.
        ("/news/annual-report-of-the-communications-department-final",
         "/news/annual-report-of-the-communications-department", "-final"),
        # Else its last TAIL_SHORT characters.
        ("/news/annualreportofthecommunicationsdepartmentfinal", "/news/annualreportofthecommunicationsd", "epartmentfinal"),
        ("a-very-long-source-name-without-slashes.example", "a-very-long-source-name-without-s", "lashes.example"),
    ],
)
def test_label_parts_keep_the_end_of_a_long_label(text: str, head: str, tail: str) -> None:
    assert reports.label_parts(text) == (head, tail)
    assert head + tail == text  # the cell's text is always the whole label


def test_display_names_languages_and_countries_from_the_catalog() -> None:
    assert reports.display("visit:country", "DE") == "Germany"
    assert reports.display("visit:language", "de") == "German"
    assert reports.display("visit:source", "DE") == "DE"  # no `names`: the value itself
    assert reports.display("event:page", "/de") == "/de"
