"""Dashboard numbers: exact values from the hand-counted data set in web_support,
ranges in the site's time zone (including a half-hour zone), click-to-filter,
previous-period changes, and proof that every number comes from the stats pipeline.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Instance
from web_support import DOMAIN, NOW, DashboardPage, get_token, local, post_form, seed, setup_admin

from analytics.stats import run as stats_run
from analytics.stats.parse import parse
from analytics.web import chart, reports
from analytics.web.state import Range, State, intervals_for, resolve_range

DASH = f"/sites/{DOMAIN}"


async def _send(instance: Instance) -> Any:
    async def send(when: datetime, body: dict[str, Any], ip: str, ua: str) -> None:
        instance.clock.set(when)
        r = await instance.send(body, ip=ip, ua=ua)
        assert r.status_code == 202 and "x-analytics-dropped" not in r.headers, (body, r.text)

    return send


@pytest.fixture
async def seeded(instance: Instance, site: Any) -> Any:
    await seed(await _send(instance))
    instance.clock.set(NOW)
    client = instance.client(ip="10.9.9.9")
    await setup_admin(client)
    yield client
    await client.aclose()


async def dashboard(client: httpx.AsyncClient, query: str = "period=today") -> DashboardPage:
    r = await client.get(f"{DASH}?{query}")
    assert r.status_code == 200, r.text[:500]
    return DashboardPage(r.text)


# -- exact numbers -----------------------------------------------------------------------------


async def test_top_stats_today_with_changes_against_yesterday(seeded: httpx.AsyncClient) -> None:
    page = await dashboard(seeded)
    expected = {
        "visitors": ("4", "↑ 300%", "1"),
        "visits": ("4", "↑ 100%", "2"),
        "pageviews": ("5", "↑ 150%", "2"),
        "views_per_visit": ("1.25", "↑ 25%", "1.00"),
        "bounce_rate": ("25%", "↓ 75pp", "100%"),
        "visit_duration": ("45s", "–", "0s"),  # no change against 0
        "time_on_page": ("4s", "–", "0s"),  # 20 engaged seconds over 5 page visits
        "scroll_depth": ("50%", "–", "–"),
    }
    for metric, (value, delta, before) in expected.items():
        assert (page.value(metric), page.delta(metric), page.previous(metric)) == (value, delta, before), metric


async def test_every_panel_shows_exact_rows(seeded: httpx.AsyncClient) -> None:
    tabs = "tab_sources=sources&tab_pages=entry&tab_devices=os&tab_goals=outbound"
    page = await dashboard(seeded, "period=today&" + tabs)
    assert page.table("sources") == [["Google", "2", "0", "0%", "0%", "1m 00s"], ["LinkedIn", "1", "0", "0%", "100%", "0s"],
                                     ["newsletter", "1", "0", "0%", "0%", "1m 00s"]]  # fmt: skip
    assert page.table("entry") == [["/", "2", "2", "0%"], ["/blog/a", "1", "1", "100%"], ["/blog/b", "1", "1", "0%"]]
    assert page.table("countries") == [["Switzerland", "1", "25%"], ["Germany", "1", "25%"], ["France", "1", "25%"],
                                       ["United States", "1", "25%"]]  # names; the rows keep the codes' order
    assert page.table("os") == [
        ["Android", "1", "25%"],
        ["Linux", "1", "25%"],
        ["Windows", "1", "25%"],
        ["iOS", "1", "25%"],
    ]
    assert page.table("outbound") == [["https://example.com/x", "1", "1"]]

    page = await dashboard(seeded, "period=today")
    assert page.table("channels") == [["Organic Search", "2", "0", "0%", "0%", "1m 00s"], ["Email", "1", "0", "0%", "0%", "1m 00s"],
                                      ["Organic Social", "1", "0", "0%", "100%", "0s"]]  # fmt: skip
    assert page.table("pages") == [
        ["/", "2", "2", "0s", "–", "0", "0%"],
        ["/blog/a", "2", "2", "10s", "50%", "0", "0%"],
        ["/blog/b", "1", "1", "0s", "–", "0", "0%"],
    ]
    assert page.table("browsers") == [["Chrome", "2", "50%"], ["Firefox", "1", "25%"], ["Safari", "1", "25%"]]
    assert page.table("goals") == [["Outbound Link: Click", "1", "1", "25%"], ["Signup", "1", "1", "25%"]]

    page = await dashboard(seeded, "period=today&tab_pages=exit&tab_devices=screens&tab_sources=utm_campaign")
    assert page.table("exit") == [["/blog/a", "2", "2"], ["/", "1", "1"], ["/blog/b", "1", "1"]]
    assert page.table("screens") == [["Mobile", "2", "50%"], ["Desktop", "1", "25%"], ["Laptop", "1", "25%"]]
    assert page.table("utm_campaign") == [["march", "1", "0", "0%", "0%", "1m 00s"]]  # visits without a tag are no row
    page = await dashboard(seeded, "period=today&tab_devices=devices&tab_sources=utm_medium")
    assert page.table("devices") == [["Desktop", "2", "50%"], ["Mobile", "2", "50%"]]
    assert page.table("utm_medium") == [["email", "1", "0", "0%", "0%", "1m 00s"]]


async def test_goal_with_property_breakdown(seeded: httpx.AsyncClient) -> None:
    page = await dashboard(seeded, "period=today&goal=Signup&prop_key=plan")
    assert page.chips == ["Goal is Signup"]
    assert page.value("visitors") == "1"
    assert page.table("prop:plan") == [["pro", "1", "1", "100%"]]


async def test_clicking_a_source_filters_everything_and_drills_into_referrers(seeded: httpx.AsyncClient) -> None:
    page = await dashboard(seeded, "period=today&tab_sources=sources")
    href = page.link("Google")
    assert "source=Google" in href
    filtered = DashboardPage((await seeded.get(href)).text)
    assert filtered.chips == ["Source is Google"]
    assert [filtered.value(m) for m in ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration")] == [
        "2", "2", "3", "0%", "1m 00s",
    ]  # fmt: skip
    assert filtered.table("sources") == [["google.com", "2", "0", "0%", "0%", "1m 00s"]]  # drilled into referrers
    assert filtered.table("countries") == [["Switzerland", "1", "50%"], ["France", "1", "50%"]]
    assert filtered.table("pages") == [["/", "1", "1", "0s", "–", "0", "0%"], ["/blog/a", "1", "1", "20s", "50%", "0", "0%"],
                                       ["/blog/b", "1", "1", "0s", "–", "0", "0%"]]  # fmt: skip

    # A second filter combines with the first; removing one keeps the other.
    both = DashboardPage((await seeded.get(filtered.link("France"))).text)
    assert both.chips == ["Source is Google", "Country is France"]
    assert both.value("visitors") == "1" and both.value("pageviews") == "1"
    remove = next(href for text, href in both.links if text == "×" and "source=" not in href)
    only_country = DashboardPage((await seeded.get(remove)).text)
    assert only_country.chips == ["Country is France"]
    assert only_country.value("visitors") == "1"


async def test_ranges_and_custom_range(seeded: httpx.AsyncClient) -> None:
    yesterday = await dashboard(seeded, "period=yesterday")
    assert [yesterday.value(m) for m in ("visitors", "visits", "pageviews", "bounce_rate")] == ["1", "2", "2", "100%"]
    custom = await dashboard(seeded, "period=custom&from=2026-03-01&to=2026-03-02")
    assert custom.value("visitors") == "5"  # one person a day: the salt changes daily
    assert custom.value("pageviews") == "7"
    reversed_ = await dashboard(seeded, "period=custom&from=2026-03-02&to=2026-03-01")
    assert reversed_.value("visitors") == "5"
    assert (await dashboard(seeded, "period=lastmonth")).value("visitors") == "0"
    assert (await dashboard(seeded, "period=7d")).value("visitors") == "1"  # Plausible's 7d ends yesterday
    assert (await dashboard(seeded, "period=month")).value("visitors") == "5"
    assert (await dashboard(seeded, "period=all")).value("visitors") == "5"
    bad = await seeded.get(f"{DASH}?period=custom&from=nope&to=2026-03-01")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text


async def test_chart_series_and_previous_overlay(seeded: httpx.AsyncClient) -> None:
    pattern = r'data-label="([^"]+)" data-value="([^"]*)" data-prev-label="([^"]*)" data-prev-value="([^"]*)"'
    # The default comparison, Feb 27-28, holds nothing: no line at zero, no "before: 0", a sentence instead.
    r = await seeded.get(f"{DASH}?period=custom&from=2026-03-01&to=2026-03-02&metric=pageviews")
    assert r.status_code == 200
    assert re.findall(pattern, r.text) == [("Sun, Mar 1, 2026", "2", "", ""), ("Mon, Mar 2, 2026", "5", "", "")]
    assert 'class="previous"' not in r.text and "before:" not in r.text
    assert "Nothing to compare: no data from" in r.text and 'datetime="2026-02-27"' in r.text
    # A custom comparison range, Feb 28 - Mar 1, overlays day by day.
    r = await seeded.get(f"{DASH}?period=custom&from=2026-03-01&to=2026-03-02&metric=pageviews"
                         "&compare=custom&compare_from=2026-02-28&compare_to=2026-03-01")  # fmt: skip
    assert re.findall(pattern, r.text) == [
        ("Sun, Mar 1, 2026", "2", "Sat, Feb 28, 2026", "0"),
        ("Mon, Mar 2, 2026", "5", "Sun, Mar 1, 2026", "2"),
    ]
    assert "Total pageviews by day" in r.text and 'class="previous"' in r.text
    # What the second line is, it says by its name, not always "previous period".
    assert "<title>Mon, Mar 2, 2026: 5 (compared range, Sun, Mar 1, 2026: 2)</title>" in r.text
    titles = re.findall(r'class="delta[^"]*" title="([^"]*)"', r.text)
    # visitors, visits and pageviews of Feb 28 - Mar 1, as the chart's second line has them (0 + 2)
    assert titles[:3] == ["Compared range: 1", "Compared range: 2", "Compared range: 2"]
    assert all(t.startswith("Compared range: ") for t in titles), titles
    hourly = await seeded.get(f"{DASH}?period=today")
    labels = re.findall(r'data-label="([^"]+)" data-value="([^"]*)"', hourly.text)
    assert len(labels) == 24
    assert labels[8] == ("Mon, Mar 2, 2026, 08:00", "4")
    assert labels[11][1] == "–"  # the future is not drawn
    off = await seeded.get(f"{DASH}?period=today&compare=off")
    assert "previous period" not in DashboardPage(off.text).previous("visitors") and 'class="previous"' not in off.text


async def test_realtime_counts_the_last_five_minutes(instance: Instance, seeded: httpx.AsyncClient) -> None:
    instance.clock.set(local(2, 8, 33))
    r = await seeded.get(f"{DASH}/realtime")
    assert r.json() == {"visitors": 1, "text": "1"}  # V4 only; V3's last event was at 08:21
    instance.clock.set(local(2, 8, 40))
    assert (await seeded.get(f"{DASH}/realtime")).json()["visitors"] == 0
    page = await seeded.get(f"{DASH}?period=today")
    assert 'data-realtime="/sites/blog.example.org/realtime"' in page.text
    assert '<a href="/sites/blog.example.org/live" class="live-link">Live view</a>' in page.text


async def test_export_button_streams_the_ranges_csv_zip(seeded: httpx.AsyncClient) -> None:
    page = await seeded.get(f"{DASH}?period=today")
    assert f'href="{DASH}/export?period=today"' in page.text
    r = await seeded.get(f"{DASH}/export?period=today")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        visitors = zf.read("imported_visitors.csv").decode().splitlines()
    assert visitors[0].startswith("date,visitors,pageviews")
    assert visitors[1].startswith("2026-03-02,4,5,")


# -- one source of numbers -----------------------------------------------------------------------


async def test_dashboard_numbers_equal_the_stats_pipeline(
    instance: Instance, site: Any, seeded: httpx.AsyncClient
) -> None:
    site = await instance.accounts.sites.get(DOMAIN)
    now = NOW

    async def api(body: dict[str, Any]) -> list[Any]:
        body = {"site_id": DOMAIN, "date_range": ["2026-03-01", "2026-03-02"], **body}
        return (await stats_run.run(instance.store, parse(body, site, now))).rows

    page = await dashboard(seeded, "period=custom&from=2026-03-01&to=2026-03-02&tab_sources=sources")
    rows = await api({"metrics": ["visitors", "pageviews", "bounce_rate"]})
    assert page.value("visitors") == str(rows[0][1][0])
    assert page.value("pageviews") == str(rows[0][1][1])
    assert page.value("bounce_rate") == f"{rows[0][1][2]}%"
    sources = await api({"metrics": ["visitors"], "dimensions": ["visit:source"], "order_by": [["visitors", "desc"]]})
    assert [(r[0], r[1]) for r in page.table("sources")] == [(str(d[0]), str(m[0])) for d, m in sources]
    pages = await api({"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"]})
    assert [(r[0], r[1], r[2]) for r in page.table("pages")] == [(str(d[0]), str(m[0]), str(m[1])) for d, m in pages]


def test_the_web_module_has_no_sql_over_events_or_rollups() -> None:
    web = Path(reports.__file__).parent
    for path in web.glob("*.py"):
        text = path.read_text().lower()
        for word in ("from events", "join events", "rollup_", "from sessions", "join sessions"):
            assert word not in text, f"{path.name} reads {word!r} itself; use the stats pipeline"


# -- time zones and ranges -------------------------------------------------------------------------


async def test_half_hour_zone_days_and_hours(instance: Instance) -> None:
    await instance.accounts.sites.add("india.example.org", "Asia/Kolkata")  # UTC+5:30
    for when, ip in (
        (datetime(2026, 3, 1, 18, 29, tzinfo=UTC), "1.1.1.1"),
        (datetime(2026, 3, 1, 18, 31, tzinfo=UTC), "1.1.1.2"),
    ):
        instance.clock.set(when)  # 23:59 and 00:01 local
        r = await instance.send({"n": "pageview", "u": "https://india.example.org/", "d": "india.example.org"}, ip=ip)
        assert r.status_code == 202
    instance.clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # 14:30 local
    async with instance.client(ip="10.1.1.1") as client:
        await setup_admin(client)
        today = DashboardPage((await client.get("/sites/india.example.org?period=today")).text)
        yesterday = DashboardPage((await client.get("/sites/india.example.org?period=yesterday")).text)
        assert today.value("visitors") == "1" and yesterday.value("visitors") == "1"
        hourly = (await client.get("/sites/india.example.org?period=today")).text
        points = re.findall(r'data-label="([^"]+)" data-value="([^"]*)"', hourly)
        assert points[0] == ("Mon, Mar 2, 2026, 00:00", "1")
        assert points[14][1] == "0" and points[15][1] == "–"  # 14:00 is now, 15:00 is the future


def test_presets_resolve_in_the_sites_zone() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    tz = "Europe/Zurich"

    def days(period: str, **kw: Any) -> tuple[date, date]:
        r = resolve_range(period, tz, now, kw.pop("earliest", None), kw.pop("start", None), kw.pop("end", None))
        return r.first, r.last

    assert days("today") == (date(2026, 3, 2), date(2026, 3, 2))
    assert days("yesterday") == (date(2026, 3, 1), date(2026, 3, 1))
    assert days("7d") == (date(2026, 2, 23), date(2026, 3, 1))
    assert days("28d") == (date(2026, 2, 2), date(2026, 3, 1))
    assert days("30d") == (date(2026, 1, 31), date(2026, 3, 1))
    assert days("month") == (date(2026, 3, 1), date(2026, 3, 2))
    assert days("lastmonth") == (date(2026, 2, 1), date(2026, 2, 28))
    assert days("12mo") == (date(2025, 3, 1), date(2026, 2, 28))  # complete months, as the API's 12mo
    assert days("year") == (date(2026, 1, 1), date(2026, 3, 2))
    assert days("all", earliest=date(2025, 7, 9)) == (date(2025, 7, 9), date(2026, 3, 2))
    assert days("custom", start="2026-02-10", end="2026-02-01") == (date(2026, 2, 1), date(2026, 2, 10))
    # 23:45 UTC on Mar 1 is already Mar 2 in Kathmandu (+5:45) and still Mar 1 in St. John's (-3:30).
    late = datetime(2026, 3, 1, 23, 45, tzinfo=UTC)
    assert resolve_range("today", "Asia/Kathmandu", late, None).first == date(2026, 3, 2)
    assert resolve_range("today", "America/St_Johns", late, None).first == date(2026, 3, 1)
    assert resolve_range("lastmonth", "UTC", datetime(2026, 1, 15, tzinfo=UTC), None).first == date(2025, 12, 1)


def test_previous_period_and_intervals() -> None:
    r = Range("7d", date(2026, 2, 23), date(2026, 3, 1))
    assert (r.previous().first, r.previous().last) == (date(2026, 2, 16), date(2026, 2, 22))
    assert intervals_for(Range("today", date(2026, 3, 2), date(2026, 3, 2))) == ("hour",)
    assert intervals_for(r) == ("hour", "day")
    assert intervals_for(Range("12mo", date(2025, 3, 1), date(2026, 2, 28))) == ("day", "week", "month")


def test_url_state_round_trips() -> None:
    state = State({"period": "7d", "source": "Google", "prop.author": "Ann & Bo", "junk": "x"}, "/sites/a")
    assert [f.dimension for f in state.filters] == ["visit:source", "event:props:author"]
    assert state.filters_body() == [["is", "visit:source", ["Google"]], ["is", "event:props:author", ["Ann & Bo"]]]
    assert state.without_filter("source") == "/sites/a?period=7d&prop.author=Ann+%26+Bo"
    assert state.with_filter("country", "CH") == "/sites/a?period=7d&source=Google&prop.author=Ann+%26+Bo&country=CH"
    assert state.with_period("today") == "/sites/a?period=today&source=Google&prop.author=Ann+%26+Bo"
    with pytest.raises(Exception, match="not available"):
        State({"source": "x"}, "/share/t", allow_filters=False)


# -- k-suppression and the chart, without a database -----------------------------------------------


def test_suppression_hides_small_rows_and_their_complement() -> None:
    assert reports.suppress([10, 7, 1], 5) == [False, True, True]  # 1 alone would be total - 17
    assert reports.suppress([10, 3, 3], 5) == [False, True, True]
    assert reports.suppress([10, 6, 0], 5) == [False, False, False]
    assert reports.suppress([2, 1], 5) == [True, True]
    assert reports.suppress([9, 8, 7, 4], 5) == [False, False, True, True]  # hidden sum 11
    assert reports.suppress([9, 1], 0) == [False, False]
    for values in ([10, 7, 1], [50, 40, 3, 1, 1], [6, 5, 5, 4], [12, 2, 2]):
        hide = reports.suppress(values, 5)
        hidden_sum = sum(v for v, h in zip(values, hide, strict=True) if h)
        assert hidden_sum == 0 or hidden_sum >= 5, values  # total minus shown never rebuilds a small row
        assert all(h for v, h in zip(values, hide, strict=True) if 0 < v < 5)


def test_chart_geometry() -> None:
    assert [chart.nice_max(v) for v in (0, 4, 5, 7, 1.25, 130)] == [4.0, 4.0, 8.0, 8.0, 2.0, 200.0]
    pts = [chart.Point("2026-03-01", 2), chart.Point("2026-03-02", None, hidden=True), chart.Point("2026-03-03", 4)]
    c = chart.build("visitors", "day", pts, [chart.Point("2026-02-26", 1)] * 3, hidden_text="< 5 visitors")
    assert len(c.current) == 2 and c.dots  # the hidden point breaks the line into two single points
    assert c.previous and c.hits[1]["value"] == "< 5 visitors"
    assert [t for _, t in c.y_ticks] == ["0", "1", "2", "3", "4"]
    assert c.hits[0]["title"] == "Sun, Mar 1, 2026: 2 (previous period, Thu, Feb 26, 2026: 1)"
    year = chart.build("visitors", "day", pts, [chart.Point("2025-03-01", 1)] * 3, compared="a year earlier")
    assert year.hits[0]["title"] == "Sun, Mar 1, 2026: 2 (a year earlier, Sat, Mar 1, 2025: 1)"
    assert chart.build("visitors", "day", [], None).empty


async def test_import_form_loads_an_export_into_another_site(instance: Instance, seeded: httpx.AsyncClient) -> None:
    exported = (await seeded.get(f"{DASH}/export?period=custom&from=2026-03-01&to=2026-03-02")).content
    r = await post_form(seeded, "/sites/new", {"domain": "copy.example.org", "timezone": "Europe/Zurich"})
    assert r.status_code == 303
    token = await get_token(seeded, "/sites/copy.example.org/settings")
    files = {"file": ("blog-export.zip", exported, "application/zip")}
    r = await seeded.post("/sites/copy.example.org/imports", data={"csrf": token}, files=files)
    assert r.status_code == 303 and r.headers["location"].endswith("done=imported#imports")
    settings_page = await seeded.get("/sites/copy.example.org/settings")
    assert "blog-export.zip" in settings_page.text
    original = await dashboard(seeded, "period=custom&from=2026-03-01&to=2026-03-02")
    r = await seeded.get("/sites/copy.example.org?period=custom&from=2026-03-01&to=2026-03-02")
    copy = DashboardPage(r.text)
    for metric in ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration"):
        assert copy.value(metric) == original.value(metric), metric
    bad = await seeded.post(
        "/sites/copy.example.org/imports",
        data={"csrf": token},
        files={"file": ("x.zip", b"not a zip", "application/zip")},
    )
    assert bad.status_code == 400


# -- query batching ------------------------------------------------------------------------------

DASHBOARD_VIEWS = [
    "period=7d",
    "period=30d",
    "period=12mo",
    "period=7d&source=Google",
    "period=today&page=/blog/hello&country=CH",
    "period=30d&goal=Signup",
    "period=all",
]


@pytest.mark.parametrize("query", DASHBOARD_VIEWS)
async def test_a_full_dashboard_reads_events_with_at_most_17_statements(
    instance: Instance, seeded: httpx.AsyncClient, query: str
) -> None:
    """Top stats, comparison, chart, realtime and every panel: one batch of plans, each one statement.

    15 before the Headline check, which adds two (pages with reads, entrances by page and channel).
    """
    statements: list[str] = []
    await instance.store.trace(statements.append)
    try:
        page = await dashboard(seeded, query)
    finally:
        await instance.store.trace(None)
    assert len(page.tables) == 6 and "visitors" in page.stats, query  # five panels and the Headline check
    events = [s for s in statements if not s.lstrip().upper().startswith(("PRAGMA", "BEGIN", "COMMIT"))]
    assert len(events) <= 17, "\n".join(events)
