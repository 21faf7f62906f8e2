"""Goals in Settings (analytics/web/goal_settings.py) and the dashboard filtered by a goal.

With a goal filter the top stats are Plausible's: unique conversions, total
conversions and the conversion rate; pageview-level cards are replaced, not
zeroed. Numbers from the hand-counted data in web_support: today V1 viewed / and
/blog/a, V2 /blog/a, V3 / and sent Signup, V4 /blog/b; yesterday V5 viewed / and
/blog/a.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from conftest import Instance
from web_support import DOMAIN, NOW, DashboardPage, post_form, seed, setup_admin, sign_in

from analytics.web import goal_settings

GOALS = f"/sites/{DOMAIN}/goals"


@pytest.fixture
async def owner(instance: Instance) -> Any:
    async def send(when: Any, body: dict[str, Any], ip: str, ua: str) -> None:
        instance.clock.set(when)
        assert (await instance.send(body, ip=ip, ua=ua)).status_code == 202

    await instance.accounts.sites.add(DOMAIN, "Europe/Zurich")
    await seed(send)
    instance.clock.set(NOW)
    client = instance.client(ip="10.9.9.9")
    await setup_admin(client)
    yield client
    await client.aclose()


async def test_owner_adds_and_removes_goals(instance: Instance, owner: httpx.AsyncClient) -> None:
    assert f'href="{GOALS}">Manage goals</a>' in (await owner.get(f"/sites/{DOMAIN}/settings")).text
    r = await post_form(owner, GOALS, {"action": "add", "kind": "event", "value": "Signup"})
    assert (r.status_code, r.headers["location"]) == (303, f"{GOALS}?done=added")
    assert (await post_form(owner, GOALS, {"action": "add", "kind": "page", "value": "/blog/*"})).status_code == 303
    page = (await owner.get(f"{GOALS}?done=added")).text
    assert "Goal added." in page
    assert f'<a href="/sites/{DOMAIN}?period=30d&amp;goal=Visit+%2Fblog%2F%2A"><bdi>Visit /blog/*</bdi></a>' in page
    # Bad input is named, and the form keeps what was typed.
    r = await post_form(owner, GOALS, {"action": "add", "kind": "page", "value": "blog"})
    assert r.status_code == 400 and "A page goal is a path that starts with /" in r.text and 'value="blog"' in r.text
    r = await post_form(owner, GOALS, {"action": "add", "kind": "event", "value": "Signup"})
    assert r.status_code == 400 and "That goal is already defined." in r.text
    assert (await post_form(owner, GOALS, {"action": "remove", "goal": "999"})).status_code == 404
    assert (await post_form(owner, GOALS, {"action": "rename"})).status_code == 400
    site = await instance.accounts.sites.get(DOMAIN)
    signup = (await instance.accounts.goals.for_site(site.id))[0]
    r = await post_form(owner, GOALS, {"action": "remove", "goal": str(signup.id)})
    assert (r.status_code, r.headers["location"]) == (303, f"{GOALS}?done=removed")
    assert [g.name for g in await instance.accounts.goals.for_site(site.id)] == ["Visit /blog/*"]
    # Without the CSRF token nothing changes.
    r = await owner.post(GOALS, data={"action": "add", "kind": "event", "value": "Sneaky"})
    assert r.status_code == 403
    assert goal_settings.MAX_GOALS == 100


async def test_viewers_and_share_links_cannot_change_goals(instance: Instance, owner: httpx.AsyncClient) -> None:
    site = await instance.accounts.sites.get(DOMAIN)
    viewer_user = await instance.accounts.users.add("viewer@example.org", "viewer password")
    await instance.accounts.users.set_role(site.id, viewer_user.id, "viewer")
    token = (await owner.get(GOALS)).text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    async with instance.client(ip="10.0.0.2") as viewer:
        assert (await sign_in(viewer, "viewer@example.org", "viewer password")).status_code == 303
        assert (await viewer.get(GOALS)).status_code == 403
        r = await viewer.post(GOALS, data={"action": "add", "kind": "event", "value": "X", "csrf": token})
        assert r.status_code == 403
    await post_form(owner, f"/sites/{DOMAIN}/share", {"action": "create"}, token_page=f"/sites/{DOMAIN}/settings")
    share = (await instance.accounts.sites.get(DOMAIN)).share_token
    async with instance.client(ip="10.0.0.3") as anon:
        assert (await anon.get(f"/share/{share}/goals")).status_code == 404
        assert (await anon.get(GOALS)).status_code == 303  # to the sign-in page
    assert await instance.accounts.goals.for_site(site.id) == []


def _top(page: DashboardPage) -> list[tuple[str, str, str, str]]:
    return [(m, page.value(m), page.delta(m), page.previous(m)) for m in page.stats]


async def test_a_goal_filter_shows_conversions(owner: httpx.AsyncClient) -> None:
    assert (await post_form(owner, GOALS, {"action": "add", "kind": "page", "value": "/blog/*"})).status_code == 303
    # A custom event: V3 converted today, nobody yesterday (which had a visitor: a real 0 to compare with).
    html = (await owner.get(f"/sites/{DOMAIN}?period=today&goal=Signup")).text
    page = DashboardPage(html)
    assert page.chips == ["Goal is Signup"]
    assert _top(page) == [
        ("visitors", "1", "–", "0"), ("conversions", "1", "–", "0"), ("conversion_rate", "25%", "–", "0%"),
    ]  # fmt: skip
    titles = re.findall(r'<span class="stat-title">([^<]*)</span>', html)
    assert titles == ["Unique conversions", "Total conversions", "Conversion rate"]
    # A page goal: the visits that reached /blog/a or /blog/b (V1, V2, V4; yesterday V5).
    html = (await owner.get(f"/sites/{DOMAIN}?period=today&goal=Visit+/blog/*&tab_sources=sources")).text
    page = DashboardPage(html)
    assert page.chips == ["Goal is Visit /blog/*"]
    assert _top(page) == [
        ("visitors", "3", "↑ 200%", "1"), ("conversions", "3", "↑ 200%", "1"),
        ("conversion_rate", "75%", "↓ 25%", "100%"),
    ]  # fmt: skip
    assert page.table("sources") == [["Google", "2", "0", "0%", "0%", "1m 00s"], ["LinkedIn", "1", "0", "0%", "100%", "0s"]]
    assert "Unique conversions by hour" in html
    # Yesterday alone: V5 reached /blog/a in the second of their two visits.
    page = DashboardPage((await owner.get(f"/sites/{DOMAIN}?period=yesterday&goal=Visit+/blog/*")).text)
    assert [page.value(m) for m in page.stats] == ["1", "1", "100%"]
    # Without a goal the usual cards return, and the goals panel lists the page goal that converted, as a filter.
    page = DashboardPage((await owner.get(f"/sites/{DOMAIN}?period=today")).text)
    assert list(page.stats)[:3] == ["visitors", "visits", "pageviews"]
    assert page.table("goals") == [["Visit /blog/*", "3", "3", "75%"], ["Outbound Link: Click", "1", "1", "25%"],
                                   ["Signup", "1", "1", "25%"]]  # fmt: skip
    assert page.link("Visit /blog/*") == f"/sites/{DOMAIN}?period=today&goal=Visit+%2Fblog%2F%2A"
    assert (await post_form(owner, GOALS, {"action": "add", "kind": "page", "value": "/nowhere"})).status_code == 303
    page = DashboardPage((await owner.get(f"/sites/{DOMAIN}?period=yesterday")).text)
    assert page.table("goals") == [["Visit /blog/*", "1", "1", "100%"]]  # /nowhere never converted: no row
