"""The Headline check in the OS's Chromium: the page lists its pages at once, and
app.js fills in their channels and median times from the details request after
the page has loaded, with links that filter the dashboard, and nothing from any
other host. The app runs under a real uvicorn on loopback with a frozen clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port
from playwright.sync_api import Browser, expect
from test_headlines import NOW, readers
from web_support import DOMAIN, EMAIL, PASSWORD, http_send, start_threaded, token_of

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_channels_and_median_times_arrive_after_the_page(browser: Browser, tmp_path: Path) -> None:
    clock = FrozenClock(NOW)
    settings = Settings(data_dir=str(tmp_path / "data"), batch_ms=0.5, trusted_proxies="127.0.0.1/32")
    server = start_threaded(create_app(settings, clock), free_port())
    try:
        with httpx.Client(base_url=server.url) as client:
            r = client.get("/setup")
            fields = {"email": EMAIL, "password": PASSWORD, "password2": PASSWORD, "csrf": token_of(r.text)}
            assert client.post("/setup", data=fields).status_code == 303
            r = client.get("/sites/new")
            r = client.post("/sites/new", data={"domain": DOMAIN, "timezone": "UTC", "csrf": token_of(r.text)})
            assert r.status_code == 303
            send = http_send(server.url, clock)
            for when, body, ip, ua in readers():
                send(when, body, ip, ua)
            clock.set(NOW)
            cookies: list[Any] = [{"name": k, "value": v, "url": server.url} for k, v in client.cookies.items()]
        ctx = browser.new_context()
        ctx.set_default_timeout(10_000)
        ctx.add_cookies(cookies)
        page = ctx.new_page()
        problems: list[str] = []
        details: list[str] = []
        page.on("request", lambda req: None if req.url.startswith(server.url + "/") else problems.append(req.url))
        page.on("request", lambda req: details.append(req.url) if "/headlines?" in req.url else None)
        page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto(f"{server.url}/sites/{DOMAIN}?period=today")
        row = page.locator('table[data-tab="headlines"] tbody tr')
        expect(row.locator("td").nth(5)).to_have_text("10s")  # the median, not the mean of 59 s
        expect(row.locator("td").nth(2)).to_have_text("Organic Social 12")
        expect(page.locator("[data-headline-more]")).to_be_hidden()
        expect(page.locator("#panel-headlines")).not_to_have_attribute("aria-busy", "true")
        assert details == [f"{server.url}/sites/{DOMAIN}/headlines?period=today&listed=%2Fbait"]
        # The channel is a filter, as every number of the panel is.
        row.get_by_role("link", name="Organic Social 12").click()
        expect(page.locator(".chip")).to_have_count(2)
        assert "channel=Organic+Social" in page.url and "entry=%2Fbait" in page.url
        assert problems == []
        ctx.close()
    finally:
        server.stop()
