"""Hostile tracked values in Chromium (issue 5, item 8).

Events whose path, referrer, event name, props and UTM values carry `<script>`,
`"><img src=x onerror=…>`, `javascript:` URLs, very long strings and RTL or
zero-width characters are ingested; then every panel and tab is opened, rows
are clicked to filter by the hostile values, and the share view is opened.

The browser context bypasses our CSP on purpose: the CSP is a second line of
defence, and this test proves the first one (escaping) on its own. A payload
that ran would set `window.__xss`; the sentinel must stay undefined, no dialog
may open, no link may have a `javascript:` href, and nothing may be wider than
the screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import ARTIFACTS, free_port, launch_chromium
from playwright.sync_api import Browser, Page, sync_playwright
from web_support import DOMAIN, EMAIL, HOST, NOW, PASSWORD, UA, start_threaded, token_of

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=2">'
SVG = "<svg/onload=window.__xss=3>"
JS = "javascript:window.__xss=4"
RTL = "\u202egnp.exe\u200b\u200d\u2067שלום\u2069"
LONG = "W" * 3000


def hostile_events() -> list[tuple[dict[str, Any], str]]:
    """(body, ip) pairs; each ip + agent is its own visitor."""
    utm = "&".join(f"{k}={quote(v)}" for k, v in (
        ("utm_source", SVG), ("utm_medium", RTL), ("utm_campaign", LONG[:1200]), ("utm_content", JS), ("utm_term", IMG),
    ))  # fmt: skip
    return [
        ({"n": "pageview", "u": HOST + "/" + quote(SCRIPT), "d": DOMAIN,
          "r": "https://evil.example/" + quote(IMG)}, "1.0.0.1"),
        ({"n": "pageview", "u": HOST + "/" + quote(IMG) + "?" + utm, "d": DOMAIN, "r": JS}, "1.0.0.2"),
        ({"n": "pageview", "u": HOST + "/" + quote(RTL) + "/" + "x" * 1500, "d": DOMAIN,
          "r": "https://" + "long" * 40 + ".example/" + quote(SVG)}, "1.0.0.3"),
        ({"n": IMG[:120], "u": HOST + "/a", "d": DOMAIN, "p": {SCRIPT: IMG, "url": JS, "k": LONG[:2000]}}, "1.0.0.4"),
        ({"n": "Outbound Link: Click", "u": HOST + "/a", "d": DOMAIN, "p": {"url": JS}}, "1.0.0.5"),
        ({"n": "File Download", "u": HOST + "/a", "d": DOMAIN,
          "p": {"url": "https://x.example/" + quote(SVG)}}, "1.0.0.6"),
        ({"n": SCRIPT, "u": HOST + "/b?ref=" + quote(SCRIPT), "d": DOMAIN, "p": {"k": RTL}}, "1.0.0.7"),
        ({"n": "pageview", "u": HOST + "/c?utm_source=" + quote(JS) + "&utm_campaign=" + quote(RTL), "d": DOMAIN,
          "r": "https://t.co/" + quote(SCRIPT)}, "1.0.0.8"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    clock = FrozenClock(NOW)
    data = tmp_path_factory.mktemp("xss") / "data"
    app = create_app(Settings(data_dir=str(data), batch_ms=0.5, trusted_proxies="127.0.0.1/32"), clock)
    server = start_threaded(app, free_port())
    with httpx.Client(base_url=server.url) as client:
        r = client.get("/setup")
        client.post(
            "/setup", data={"email": EMAIL, "password": PASSWORD, "password2": PASSWORD, "csrf": token_of(r.text)}
        )
        r = client.get("/sites/new")
        client.post("/sites/new", data={"domain": DOMAIN, "timezone": "UTC", "csrf": token_of(r.text)})
        r = client.get(f"/sites/{DOMAIN}/settings")
        client.post(f"/sites/{DOMAIN}/share", data={"action": "create", "csrf": token_of(r.text)})
        r = client.get(f"/sites/{DOMAIN}/settings")
        client.post(f"/sites/{DOMAIN}/share", data={"action": "k", "k": "0", "csrf": token_of(r.text)})
        r = client.get(f"/sites/{DOMAIN}/settings")
        share = r.text.split('class="share-url" href="', 1)[1].split('"', 1)[0]
        for body, ip in hostile_events():
            sent = client.post("/api/event", json=body, headers={"User-Agent": UA["win"], "X-Forwarded-For": ip})
            assert sent.status_code == 202 and "x-analytics-dropped" not in sent.headers, (body, sent.text)
        cookies = [{"name": k, "value": v, "url": server.url} for k, v in client.cookies.items()]
    yield {"url": server.url, "cookies": cookies, "share": share}
    server.stop()


@pytest.fixture(scope="module")
def page(hostile: dict[str, Any]) -> Iterator[tuple[Page, list[str]]]:
    with sync_playwright() as p:
        browser: Browser = launch_chromium(p)
        ctx = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(10_000)
        ctx.add_cookies(hostile["cookies"])
        pg = ctx.new_page()
        alarms: list[str] = []
        pg.on("dialog", lambda d: (alarms.append("dialog " + d.message), d.dismiss()))
        pg.on("pageerror", lambda e: alarms.append(f"page error {e}"))
        pg.on(
            "request",
            lambda req: None if req.url.startswith(hostile["url"] + "/") else alarms.append("request " + req.url),
        )
        yield pg, alarms
        ctx.close()
        browser.close()


CHECK = """() => {
  const bad = [];
  if (typeof window.__xss !== 'undefined') bad.push('sentinel ' + window.__xss);
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const v = attr.value.trim().toLowerCase();
      if (attr.name.startsWith('on')) bad.push('handler ' + el.tagName + ' ' + attr.name);
      const url = ['href', 'src', 'action', 'formaction', 'xlink:href'].includes(attr.name);
      const scheme = v.replace(/[\\s\\u0000-\\u001f]/g, '');
      if (url && scheme.startsWith('javascript:')) bad.push('javascript url on ' + el.tagName);
    }
  }
  const scripts = [...document.scripts].map(s => s.getAttribute('src') || 'inline');
  if (scripts.length !== 1 || !scripts[0].startsWith('/static/app.js')) bad.push('scripts ' + scripts.join(','));
  if (document.querySelector('img[src="x"], svg svg[onload]')) bad.push('injected element');
  const width = document.documentElement.scrollWidth;
  if (width > window.innerWidth) bad.push('too wide ' + width);
  return bad;
}"""


def visit(page: Page, url: str, alarms: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    page.wait_for_load_state("load")
    assert page.evaluate(CHECK) == [], url
    assert alarms == [], url


def test_every_panel_renders_hostile_values_as_text(hostile: dict[str, Any], page: tuple[Page, list[str]]) -> None:
    pg, alarms = page
    base = f"{hostile['url']}/sites/{DOMAIN}?period=today"
    tabs = {
        "tab_sources": ["channels", "sources", "utm_medium", "utm_source", "utm_campaign", "utm_content", "utm_term"],
        "tab_pages": ["pages", "entry", "exit"],
        "tab_devices": ["browsers", "os", "devices", "screens"],
        "tab_goals": ["goals", "outbound", "downloads"],
    }
    for param, keys in tabs.items():
        for key in keys:
            visit(pg, f"{base}&{param}={key}", alarms)
    for key in (SCRIPT, "url", "k"):
        visit(pg, f"{base}&prop_key={quote(key)}", alarms)

    # The hostile strings are there, as visible text.
    visit(pg, f"{base}&tab_pages=pages", alarms)
    assert pg.get_by_text(SCRIPT).count() >= 1
    assert pg.locator("table.report").get_by_text(IMG).count() >= 1
    visit(pg, f"{base}&tab_goals=goals", alarms)
    assert pg.locator('table[data-tab="goals"]').get_by_text(SCRIPT).count() == 1
    visit(pg, f"{base}&tab_goals=outbound", alarms)
    assert pg.locator('table[data-tab="outbound"]').get_by_text(JS).count() == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "dashboard-hostile.png"), full_page=True)


def test_filtering_by_hostile_values_and_the_share_view(hostile: dict[str, Any], page: tuple[Page, list[str]]) -> None:
    pg, alarms = page
    base = f"{hostile['url']}/sites/{DOMAIN}?period=today"
    clicked = 0
    for param, key in (("tab_pages", "pages"), ("tab_sources", "sources"), ("tab_sources", "utm_source"),
                       ("tab_sources", "utm_medium"), ("tab_goals", "goals"), ("tab_goals", "outbound")):  # fmt: skip
        visit(pg, f"{base}&{param}={key}", alarms)
        links = [a.get_attribute("href") for a in pg.locator(f'table[data-tab="{key}"] a.row-link').all()]
        for href in links:
            assert href and href.startswith(f"/sites/{DOMAIN}?")
            visit(pg, hostile["url"] + href, alarms)
            assert pg.locator(".chip").count() >= 1
            clicked += 1
    assert clicked >= 12
    # Two hostile filters at once, then the public view of the same data.
    visit(pg, f"{base}&page={quote('/' + SCRIPT)}&goal={quote(IMG[:120])}&prop.{quote(SCRIPT)}={quote(IMG)}", alarms)
    assert pg.locator(".chip").count() == 3
    for tab in ("tab_pages=entry", "tab_sources=utm_campaign", "tab_goals=downloads", f"prop_key={quote(SCRIPT)}"):
        visit(pg, f"{hostile['share']}?period=today&{tab}", alarms)
    realtime = pg.evaluate(
        "async (u) => (await fetch(u)).headers.get('content-type')",
        f"/share/{hostile['share'].rsplit('/', 1)[1]}/realtime",
    )
    assert realtime.startswith("application/json")


def test_phone_width_holds_with_long_values(hostile: dict[str, Any], page: tuple[Page, list[str]]) -> None:
    pg, alarms = page
    pg.set_viewport_size({"width": 360, "height": 780})
    try:
        for query in ("tab_pages=pages", "tab_sources=utm_campaign", "tab_goals=goals&goal=" + quote(IMG[:120])):
            visit(pg, f"{hostile['url']}/sites/{DOMAIN}?period=today&{query}", alarms)
    finally:
        pg.set_viewport_size({"width": 1280, "height": 900})
