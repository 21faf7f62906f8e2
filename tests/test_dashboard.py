"""A site's dashboard view (analytics/web/dashboard.py): who may filter, and the chart points a view
draws. The rendered dashboard is checked end to end in test_web_reports.py and test_web_security.py."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import Instance
from web_support import UA, setup_admin

from analytics.model import Site
from analytics.web.chart import Point
from analytics.web.dashboard import View, _points, hidden_text

SITE = Site(1, "blog.example.org", "Europe/Zurich")


def test_filters_are_off_only_on_suppressing_public_links() -> None:
    assert View(SITE, "/sites/blog.example.org", public=False, k=0, role="viewer").filters_allowed
    assert View(SITE, "/share/t", public=True, k=0).filters_allowed
    assert not View(SITE, "/share/t", public=True, k=5).filters_allowed
    assert hidden_text(5) == "< 5 visitors"


def test_points_leave_the_future_undrawn() -> None:
    series = [("2026-03-02 09:00:00", 3, 3), ("2026-03-02 10:00:00", 1, 1), ("2026-03-02 11:00:00", 0, 0)]
    now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # 10:30 in Zurich: the 11:00 bucket is still ahead
    assert _points(series, 0, now, SITE.timezone) == [
        Point("2026-03-02 09:00:00", 3), Point("2026-03-02 10:00:00", 1), Point("2026-03-02 11:00:00", None),
    ]  # fmt: skip
    assert _points(series, 0, None, SITE.timezone)[2] == Point("2026-03-02 11:00:00", 0)  # a past range: all drawn


def test_points_below_k_are_hidden_by_their_visitors() -> None:
    # (label, metric value, visitors): pageviews are shown, but a bucket of 2 visitors is hidden whatever its views.
    series = [("2026-03-01", 40, 12), ("2026-03-02", 9, 2), ("2026-03-03", 30, 7)]
    assert _points(series, 5, None, SITE.timezone) == [
        Point("2026-03-01", 40), Point("2026-03-02", None, hidden=True), Point("2026-03-03", None, hidden=True),
    ]  # fmt: skip  # 7 is hidden too, or the total minus the shown buckets would give away the 2


async def test_an_empty_site_points_to_the_snippet_and_install_check(instance: Instance) -> None:
    await instance.accounts.sites.add("blog.example.org", "Europe/Zurich")
    client = instance.client(ip="10.9.9.9")
    await setup_admin(client)
    page = (await client.get("/sites/blog.example.org")).text
    assert '<h2 id="get-started-title">No data yet</h2>' in page
    assert '<a class="button primary" href="/sites/blog.example.org/snippet">Get the snippet</a>' in page
    assert 'href="/sites/blog.example.org/snippet#install-check">Check the installation</a>' in page
    # One pageview, even outside the range shown, and the pointer is gone.
    instance.clock.set(datetime(2026, 1, 5, 12, tzinfo=UTC))
    r = await instance.send({"n": "pageview", "u": "https://blog.example.org/", "d": "blog.example.org"},
                            ua=UA["win"])  # fmt: skip
    assert r.status_code == 202
    instance.clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    page = (await client.get("/sites/blog.example.org?period=today")).text
    assert "get-started" not in page and "Get the snippet" not in page
    await client.aclose()
