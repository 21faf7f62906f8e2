"""In Chromium: after a click filters the dashboard, "Export CSV" and a panel's CSV link
download the filtered view, named after its range and filter (issue 14 item 3)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port, launch_chromium
from playwright.sync_api import Browser, expect, sync_playwright
from web_support import DOMAIN, EMAIL, NOW, PASSWORD, ThreadedServer, http_send, seed_sync, start_threaded, token_of

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ThreadedServer, list[dict[str, Any]]]]:
    clock = FrozenClock(NOW)
    app = create_app(Settings(data_dir=str(tmp_path / "data"), batch_ms=0.5, trusted_proxies="127.0.0.1/32"), clock)
    server = start_threaded(app, free_port())
    try:
        with httpx.Client(base_url=server.url) as client:
            r = client.get("/setup")
            client.post(
                "/setup", data={"email": EMAIL, "password": PASSWORD, "password2": PASSWORD, "csrf": token_of(r.text)}
            )
            r = client.get("/sites/new")
            r = client.post(
                "/sites/new", data={"domain": DOMAIN, "timezone": "Europe/Zurich", "csrf": token_of(r.text)}
            )
            assert r.status_code == 303
            seed_sync(http_send(server.url, clock))
            clock.set(NOW)
            cookies = [{"name": k, "value": v, "url": server.url} for k, v in client.cookies.items()]
        yield server, cookies
    finally:
        server.stop()


def test_export_and_panel_links_carry_the_filters(served: tuple[ThreadedServer, list[dict[str, Any]]]) -> None:
    server, cookies = served
    with sync_playwright() as p:
        browser: Browser = launch_chromium(p)
        try:
            ctx = browser.new_context(accept_downloads=True)
            ctx.set_default_timeout(10_000)
            ctx.add_cookies(cookies)  # type: ignore[arg-type]
            page = ctx.new_page()
            page.goto(f"{server.url}/sites/{DOMAIN}?period=today&tab_sources=sources")
            page.locator('table.report[data-tab="sources"] a.row-link', has_text="Google").click()
            expect(page).to_have_url(f"{server.url}/sites/{DOMAIN}?period=today&tab_sources=sources&source=Google")

            export = page.get_by_role("link", name="Export CSV")
            expect(export).to_have_attribute(
                "href", f"/sites/{DOMAIN}/export?period=today&tab_sources=sources&source=Google"
            )
            with page.expect_download() as info:
                export.click()
            download = info.value
            assert download.suggested_filename == "blog.example.org_2026-03-02_2026-03-02_source-Google.zip"
            with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as zf:
                assert zf.read("visitors.csv").decode().split("\r\n")[1] == "2026-03-02,2,2,3,1.5,0,60"

            with page.expect_download() as info:
                page.get_by_role("link", name="Download Top pages as CSV").click()
            download = info.value
            assert download.suggested_filename == "blog.example.org_2026-03-02_2026-03-02_source-Google_pages.csv"
            assert Path(download.path()).read_bytes().decode().split("\r\n")[1:4] == [
                "/,1,1,0,,0,0.0",
                "/blog/a,1,1,20,50,0,0.0",
                "/blog/b,1,1,0,,0,0.0",
            ]
            ctx.close()
        finally:
            browser.close()
