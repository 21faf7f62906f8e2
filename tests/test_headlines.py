"""The Headline check (analytics/web/headlines.py): the rule on its own, then on a dashboard with real data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from conftest import Instance
from web_support import DOMAIN, DashboardPage, post_form, setup_admin

from analytics.accounts.sites import DashboardOptions
from analytics.web.headlines import Page, flagged, panel
from analytics.web.state import State

DASH = f"/sites/{DOMAIN}"
NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def page(path: str, views: int, rate: float, entries: dict[str, int]) -> Page:
    return Page(path, views, round(views * rate / 100), rate, sum(entries.values()), entries, median_time=30)


def test_pages_with_many_entrances_and_a_read_rate_under_half_the_median() -> None:
    pages = [
        page("/bait", 40, 5.0, {"Organic Social": 30, "Direct": 5}),  # 35 entrances, 5 % < 40 / 2: listed
        page("/fine", 40, 40.0, {"Organic Search": 20}),
        page("/also-fine", 20, 45.0, {"Direct": 12}),
        page("/low-but-few", 30, 2.0, {"Email": 9}),  # 9 entrances: not many
        page("/rare", 3, 0.0, {"Direct": 15}),  # too few views to set the median, but listed: 0 % < 20 %
    ]
    listed, median = flagged(pages)
    assert median == 22.5  # of 2, 5, 40 and 45 %: the pages with at least 10 views
    assert [p.path for p in listed] == ["/bait", "/rare"]


def test_no_pages_no_median() -> None:
    assert flagged([]) == ([], None)
    shown = panel([], State({}, DASH), links=True)
    assert shown == {"rows": [], "rule": "Listed: pages with at least 10 entrances whose read rate is below half the"
                     " median read rate of the pages with at least 10 views (no such pages yet), in this view.",
                     "pending": False, "details_url": None, "full_url": None}  # fmt: skip
    # Nothing listed: nothing to load after the page.
    assert panel([], State({}, DASH), links=True, details=f"{DASH}/headlines")["pending"] is False


def test_listed_rows_wait_for_their_details_from_a_url_with_the_view() -> None:
    pages = [page("/bait", 40, 5.0, {}), page("/fine", 40, 40.0, {}), page("/rare", 3, 0.0, {"Direct": 15})]
    shown = panel(pages, State({"period": "7d", "source": "Google", "more": "pages"}, DASH), links=True,
                  details=f"{DASH}/headlines")  # fmt: skip
    assert shown["pending"] is True
    # The view's parameters (its range and filters, not which panel shows more rows) and the listed pages.
    assert shown["details_url"] == f"{DASH}/headlines?period=7d&source=Google&listed=%2Frare"
    assert shown["full_url"] == f"{DASH}?period=7d&more=pages&source=Google&headlines=1#panel-headlines"


def test_rows_link_to_the_filters_that_show_each_number() -> None:
    shown = panel([page("/bait", 40, 5.0, {"Organic Social": 30, "Direct": 5}), page("/fine", 40, 40.0, {})],
                  State({"period": "7d"}, DASH), links=True)  # fmt: skip
    (row,) = shown["rows"]
    assert row["label"] == "/bait" and row["link"] == f"{DASH}?period=7d&page=%2Fbait"
    assert row["entries"] == "35" and (row["read_rate"], row["median"], row["time"]) == ("5%", "22.5%", "30s")
    assert [(c["label"], c["value"], c["link"]) for c in row["channels"]] == [
        ("Organic Social", "30", f"{DASH}?period=7d&channel=Organic+Social&entry=%2Fbait"),
        ("Direct", "5", f"{DASH}?period=7d&channel=Direct&entry=%2Fbait"),
    ]
    assert "(22.5%)" in shown["rule"]
    assert panel([page("/bait", 40, 5.0, {"Direct": 35}), page("/fine", 40, 40.0, {})], State({}, DASH),
                 links=False)["rows"][0]["link"] is None  # fmt: skip


UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.{n} Safari/537.36"


def readers() -> Iterator[tuple[datetime, dict[str, Any], str, str]]:
    """The events of the fixture below: (time, body, client address, user agent)."""
    for n in range(12):
        for path, ref, depth in (("/bait", "https://www.linkedin.com/", 20), ("/good", "https://www.google.com/", 100)):
            ip, ua = f"10.0.{0 if path == '/bait' else 1}.{n + 1}", UA.format(n=n)
            view: dict[str, Any] = {"n": "pageview", "u": f"https://{DOMAIN}{path}", "d": DOMAIN, "r": ref}
            yield datetime(2026, 3, 2, 9, n, tzinfo=UTC), view, ip, ua
            engaged = 40_000 if path == "/good" else 600_000 if n == 11 else 10_000
            body = {"n": "engagement", "u": f"https://{DOMAIN}{path}", "d": DOMAIN, "sd": depth, "e": engaged, "wc": 300}
            yield datetime(2026, 3, 2, 9, n, 40, tzinfo=UTC), body, ip, ua


@pytest.fixture
async def dashboard(any_instance: Instance) -> Any:
    """12 LinkedIn readers enter on /bait and leave at 20 %; 12 search readers read /good to the end.

    On /bait, 11 readers are engaged for 10 s and one leaves the tab open for 10 minutes: the
    mean time on page is 59 s, the median 10 s.
    """
    instance = any_instance
    await instance.accounts.sites.add(DOMAIN, "UTC")
    for when, body, ip, ua in readers():
        instance.clock.set(when)
        assert (await instance.send(body, ip=ip, ua=ua)).status_code == 202
    instance.clock.set(NOW)
    client = instance.client(ip="10.9.9.9")
    await setup_admin(client)
    yield client
    await client.aclose()


async def test_the_panel_on_a_dashboard_follows_its_filters(dashboard: httpx.AsyncClient) -> None:
    # /bait: 12 entrances from LinkedIn, read rate 0 % against a median of (0 + 100) / 2 = 50 %.
    # The page lists it at once; its channels and median time, which read raw events, come after.
    html = (await dashboard.get(f"{DASH}?period=today")).text
    assert DashboardPage(html).table("headlines") == [["/bait", "12", "…", "0%", "50%", "…"]]
    assert "Listed: pages with at least 10 entrances whose read rate is below half the median read rate" in html
    assert f'data-headlines="{DASH}/headlines?period=today&amp;listed=%2Fbait"' in html
    details = await dashboard.get(f"{DASH}/headlines?period=today&listed=%2Fbait")
    assert details.status_code == 200 and details.headers["content-type"] == "application/json"
    link = f"{DASH}?period=today&channel=Organic+Social&entry=%2Fbait"
    assert details.json() == {
        "rows": [{"label": "/bait", "channels": [{"label": "Organic Social", "value": "12", "link": link}],
                  "time": "10s"}]
    }  # fmt: skip
    # Without JavaScript, one link shows the same numbers in the page.
    assert f'href="{DASH}?period=today&amp;headlines=1#panel-headlines"' in html
    full = DashboardPage((await dashboard.get(f"{DASH}?period=today&headlines=1")).text)
    assert full.table("headlines") == [["/bait", "12", "Organic Social 12", "0%", "50%", "10s"]]
    # Every number is a filter away: the page's read rate, its entrances by channel.
    filtered = DashboardPage((await dashboard.get(f"{DASH}?period=today&page=%2Fbait")).text)
    assert filtered.table("pages") == [["/bait", "12", "12", "59s", "20%", "0", "0%"]]  # the mean time
    by_channel = DashboardPage((await dashboard.get(f"{DASH}?period=today&entry=%2Fbait&tab_sources=channels")).text)
    assert by_channel.table("channels") == [["Organic Social", "12", "0", "0%", "100%", "0s"]]
    # The panel follows the filters: with only LinkedIn visits there is no median to fall below.
    social = DashboardPage((await dashboard.get(f"{DASH}?period=today&source=LinkedIn")).text)
    assert social.table("headlines") == [["No page draws many entrances and loses its readers."]]


async def test_details_follow_the_view_and_take_only_what_the_panel_lists(dashboard: httpx.AsyncClient) -> None:
    url = f"{DASH}/headlines?period=today"
    # The view's filters apply: under a Google filter /bait has no entrances and no page visits.
    google = await dashboard.get(url + "&source=Google&listed=%2Fbait")
    assert google.json() == {"rows": [{"label": "/bait", "channels": [], "time": "–"}]}
    # At most the panel's 10 rows; a page nobody viewed is a row of nothing, in the order asked.
    many = "".join(f"&listed=%2Fp{n}" for n in range(12))
    rows = (await dashboard.get(url + many + "&listed=%2Fbait")).json()["rows"]
    assert [r["label"] for r in rows] == [f"/p{n}" for n in range(10)]
    assert {(tuple(r["channels"]), r["time"]) for r in rows} == {((), "–")}
    assert (await dashboard.get(url)).json() == {"rows": []}
    # Bad input gets the dashboard's clear errors, not a traceback.
    bad = await dashboard.get(f"{DASH}/headlines?period=custom&from=2026-13-01&to=2026-03-02&listed=%2Fbait")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
    assert (await dashboard.get("/sites/unknown.example/headlines?listed=%2Fbait")).status_code == 404


async def test_details_on_share_links_only_where_the_panel_is_shown(
    dashboard: httpx.AsyncClient, any_instance: Instance
) -> None:
    await post_form(dashboard, f"{DASH}/share", {"action": "create"}, token_page=f"{DASH}/settings")
    site = await any_instance.accounts.sites.get(DOMAIN)
    query = "/headlines?period=today&listed=%2Fbait"
    async with any_instance.client(ip="10.0.0.3") as anon:
        assert (await anon.get(DASH + query)).status_code == 303  # members only: to the sign-in page
        # Rows below 5 visitors are hidden on this link, so it has no Headline check and no details.
        hidden = await anon.get(f"/share/{site.share_token}{query}")
        assert hidden.status_code == 404 and "not shown on this link" in hidden.text
        await any_instance.accounts.sites.set_dashboard_options(site.id, DashboardOptions(share_min_visitors=0))
        shown = await anon.get(f"/share/{site.share_token}{query}")
        link = f"/share/{site.share_token}?period=today&channel=Organic+Social&entry=%2Fbait"
        assert shown.json()["rows"][0]["channels"] == [{"label": "Organic Social", "value": "12", "link": link}]
        assert (await anon.get(f"/share/{'x' * 32}{query}")).status_code == 404
