"""The live view (analytics/web/live.py): the page, its data, who may see it, and its refresh in Chromium.

Seeded data (web_support): at 08:33 Zurich time V4's last event is two minutes
old (current visitors 1); V2, V3 and V4 were active in the last 30 minutes
(three visitors, three pageviews); V1's events at 08:00 to 08:02 are older.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from conftest import Instance, free_port
from playwright.sync_api import Browser, expect
from web_support import (
    DOMAIN,
    EMAIL,
    NOW,
    PASSWORD,
    UA,
    http_send,
    local,
    post_form,
    seed,
    seed_sync,
    setup_admin,
    start_threaded,
    token_of,
)

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings
from analytics.web import live

LIVE = f"/sites/{DOMAIN}/live"


async def _seeded(instance: Instance) -> httpx.AsyncClient:
    async def send(when: Any, body: dict[str, Any], ip: str, ua: str) -> None:
        instance.clock.set(when)
        assert (await instance.send(body, ip=ip, ua=ua)).status_code == 202

    await instance.accounts.sites.add(DOMAIN, "Europe/Zurich")
    await seed(send)
    instance.clock.set(local(2, 8, 33))
    client = instance.client(ip="10.9.9.9")
    await setup_admin(client)
    return client


def _table(html: str, key: str) -> list[tuple[str, str]]:
    body = html.split(f'data-live-rows="{key}"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<bdi>([^<]*)</bdi></span></td><td class=\"num\">(\d+)</td>", body)


async def test_the_page_shows_the_last_30_minutes_without_javascript(instance: Instance) -> None:
    client = await _seeded(instance)
    r = await client.get(LIVE)
    assert r.status_code == 200 and "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert re.search(r'data-live-field="current"[^>]*>1</output>', html)
    assert re.search(r'data-live-field="visitors">3</output>', html)
    assert re.search(r'data-live-field="pageviews">3</output>', html)
    assert f'data-live="/sites/blog.example.org/live/data" data-interval="{live.REFRESH_MS}"' in html
    assert _table(html, "pages") == [("/", "1"), ("/blog/a", "1"), ("/blog/b", "1")]
    assert _table(html, "sources") == [("Google", "1"), ("LinkedIn", "1"), ("newsletter", "1")]
    assert html.count('class="live-bar') == 30
    assert "<title>08:31: 1 visitors, 0 pageviews</title>" in html and "<title>08:30: 1 visitors, 1 pageviews</title>" in html
    assert "<script>" not in html and " style=" not in html
    # The dashboard links to it; the refresh endpoint and the page agree.
    assert f'href="{LIVE}" class="live-link"' in (await client.get(f"/sites/{DOMAIN}")).text
    data = (await client.get(LIVE + "/data")).json()
    assert (data["current"], data["visitors"], data["pageviews"], data["now"]) == ("1", "3", "3", "08:33:00")
    await client.aclose()


async def test_who_may_see_it(instance: Instance) -> None:
    client = await _seeded(instance)
    async with instance.client() as anon:
        assert (await anon.get(LIVE)).status_code == 303  # to the sign-in page
        assert (await anon.get(LIVE + "/data")).status_code == 303
    r = await post_form(client, f"/sites/{DOMAIN}/share", {"action": "create"}, token_page=f"/sites/{DOMAIN}/settings")
    assert r.status_code == 303
    token = (await instance.accounts.sites.get(DOMAIN)).share_token
    await post_form(client, f"/sites/{DOMAIN}/share", {"action": "k", "k": "0"}, token_page=f"/sites/{DOMAIN}/settings")
    async with instance.client() as anon:
        shared = await anon.get(f"/share/{token}/live")
        assert shared.status_code == 200 and shared.headers["referrer-policy"] == "no-referrer"
        assert f'data-live="/share/{token}/live/data"' in shared.text and 'class="site-nav"' not in shared.text
        assert (await anon.get(f"/share/{token}/live/data")).json()["current"] == "1"
        assert (await anon.get(f"/share/{'x' * 20}/live")).status_code == 404
    # A password-protected link shows nothing before the password is given.
    site = await instance.accounts.sites.get(DOMAIN)
    await instance.accounts.sites.set_share(site, token, "scrypt$not-a-real-hash")
    async with instance.client() as anon:
        assert (await anon.get(f"/share/{token}/live")).status_code == 401
        assert (await anon.get(f"/share/{token}/live/data")).status_code == 401
    await client.aclose()


# -- in Chromium ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.server
def test_live_view_refreshes_in_place(browser: Browser, tmp_path: Any) -> None:
    clock = FrozenClock(NOW)
    app = create_app(Settings(data_dir=str(tmp_path / "data"), batch_ms=0.5, trusted_proxies="127.0.0.1/32"), clock)
    server = start_threaded(app, free_port())
    try:
        with httpx.Client(base_url=server.url) as client:
            r = client.get("/setup")
            client.post("/setup", data={"email": EMAIL, "password": PASSWORD, "password2": PASSWORD,
                                        "csrf": token_of(r.text)})  # fmt: skip
            r = client.get("/sites/new")
            client.post("/sites/new", data={"domain": DOMAIN, "timezone": "Europe/Zurich", "csrf": token_of(r.text)})
            send = http_send(server.url, clock)
            seed_sync(send)
            cookies = [{"name": k, "value": v, "url": server.url} for k, v in client.cookies.items()]
        clock.set(local(2, 8, 33))
        ctx = browser.new_context()
        ctx.set_default_timeout(10_000)
        ctx.add_cookies(cookies)  # type: ignore[arg-type]
        page = ctx.new_page()
        problems: list[str] = []
        page.on("request", lambda req: None if req.url.startswith(server.url + "/") else problems.append(req.url))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.clock.install()
        page.goto(f"{server.url}/sites/{DOMAIN}?period=today")
        page.get_by_role("link", name="Live view").click()
        expect(page).to_have_url(f"{server.url}{LIVE}")
        expect(page.locator("#live-current")).to_have_text("1")
        expect(page.locator('[data-live-field="pageviews"]')).to_have_text("3")
        page.evaluate("window.notReloaded = true")

        # A new reader arrives at 08:34 from a search engine; the page catches up by itself.
        clock.set(local(2, 8, 34))
        send(local(2, 8, 34), {"n": "pageview", "u": f"https://{DOMAIN}/blog/new", "d": DOMAIN,
                               "r": "https://duckduckgo.com/"}, "90.0.0.2", UA["linux"])  # fmt: skip
        page.clock.run_for(6_000)
        expect(page.locator("#live-current")).to_have_text("2")
        expect(page.locator('[data-live-field="visitors"]')).to_have_text("4")
        expect(page.locator('[data-live-field="pageviews"]')).to_have_text("4")
        expect(page.locator('[data-live-field="now"]')).to_have_text("08:34:00")
        expect(page.locator('[data-live-rows="sources"] bdi')).to_have_text(["DuckDuckGo", "Google", "LinkedIn",
                                                                             "newsletter"])  # fmt: skip
        expect(page.locator('[data-live-rows="pages"] tr').first).to_contain_text("/")
        expect(page.locator('[data-live-rows="pages"] bdi')).to_have_text(["/", "/blog/a", "/blog/b", "/blog/new"])
        expect(page.locator('[data-live-axis="last"]')).to_have_text("08:34")
        assert page.locator("rect.live-bar").nth(29).get_attribute("height") == "100"  # 08:34: the busiest minute
        assert page.evaluate("window.notReloaded") is True

        # Half an hour later everyone has left: zeros and empty tables, still without a reload.
        clock.set(local(2, 9, 10))
        page.clock.run_for(6_000)
        expect(page.locator("#live-current")).to_have_text("0")
        expect(page.locator('[data-live-rows="pages"]')).to_have_text("Nobody in the last 30 minutes")
        assert page.evaluate("window.notReloaded") is True
        assert problems == []
        ctx.close()
    finally:
        server.stop()
