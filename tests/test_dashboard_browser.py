"""The dashboard in the OS's Chromium: onboarding, exact numbers, click-to-filter,
ranges, the back button, realtime, the chart tooltip, share links in a fresh
context, no request to any other host, and screenshots (desktop, phone, dark).

The app runs under a real uvicorn on loopback (in a thread, with a frozen clock
so the seeded dates are exact); see web_support for the hand-counted data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ARTIFACTS, BACKENDS, free_port, store_url
from playwright.sync_api import Browser, BrowserContext, Page, expect
from web_support import (
    DOMAIN,
    EMAIL,
    NOW,
    PASSWORD,
    UA,
    ThreadedServer,
    http_send,
    local,
    seed_sync,
    start_threaded,
    token_of,
)

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings

pytestmark = [pytest.mark.browser, pytest.mark.server]
WAIT = 10_000


def _serve(data_dir: Path, backend: str = "sqlite") -> tuple[ThreadedServer, FrozenClock]:
    clock = FrozenClock(NOW)
    settings = Settings(
        data_dir=str(data_dir), store=store_url(backend, data_dir), batch_ms=0.5, trusted_proxies="127.0.0.1/32"
    )
    app = create_app(settings, clock)
    return start_threaded(app, free_port()), clock


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A server with the admin, the site and the seeded data; cookies of a signed-in admin.

    Once per event-store backend: the same clicks see the same numbers on SQLite and ClickHouse."""
    server, clock = _serve(tmp_path_factory.mktemp("browser") / "data", request.param)
    with httpx.Client(base_url=server.url) as client:
        r = client.get("/setup")
        client.post(
            "/setup", data={"email": EMAIL, "password": PASSWORD, "password2": PASSWORD, "csrf": token_of(r.text)}
        )
        r = client.get("/sites/new")
        r = client.post("/sites/new", data={"domain": DOMAIN, "timezone": "Europe/Zurich", "csrf": token_of(r.text)})
        assert r.status_code == 303
        seed_sync(http_send(server.url, clock))
        clock.set(NOW)
        cookies = [{"name": k, "value": v, "url": server.url} for k, v in client.cookies.items()]
    yield {"server": server, "clock": clock, "cookies": cookies, "url": server.url}
    server.stop()


def _context(
    browser: Browser, base: str, cookies: list[dict[str, Any]] | None = None, **options: Any
) -> tuple[BrowserContext, Page, list[str]]:
    """A context that records every request not aimed at our own server, and console errors."""
    ctx = browser.new_context(**options)
    ctx.set_default_timeout(WAIT)
    if cookies:
        ctx.add_cookies(cookies)  # type: ignore[arg-type]
    page = ctx.new_page()
    problems: list[str] = []
    page.on(
        "request", lambda req: None if req.url.startswith(base + "/") else problems.append("foreign request " + req.url)
    )
    page.on("console", lambda msg: problems.append("console " + msg.text) if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"page error {exc}"))
    return ctx, page, problems


def stat(page: Page, metric: str) -> str:
    return page.locator(f'a[data-metric="{metric}"] .stat-value').inner_text().strip()


def rows(page: Page, tab: str) -> list[list[str]]:
    out = []
    for tr in page.locator(f'table.report[data-tab="{tab}"] tbody tr').all():
        cells = [c.strip() for c in tr.locator("td").all_text_contents()]  # a label's head and tail as one
        if cells != ["No data yet"]:
            out.append(cells)
    return out


def test_onboarding_create_admin_sign_in_and_add_a_site(browser: Browser, tmp_path: Path) -> None:
    server, clock = _serve(tmp_path / "data")
    try:
        ctx, page, problems = _context(browser, server.url)
        page.goto(server.url + "/")
        expect(page).to_have_url(server.url + "/setup")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        expect(page).to_have_url(server.url + "/sites/new")

        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(server.url + "/login")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
        assert [p for p in problems if "401" not in p] == []  # the refused sign-in itself is a 401
        problems.clear()
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(server.url + "/sites")

        page.get_by_role("link", name="Add a site").click()
        page.get_by_label("Domain").fill("https://www.Blog.Example.org/")
        page.get_by_label("Time zone").select_option("Asia/Kolkata")
        page.get_by_role("button", name="Add site").click()
        expect(page).to_have_url(server.url + f"/sites/{DOMAIN}/snippet?typed=https%3A%2F%2Fwww.Blog.Example.org%2F")
        expect(page.locator("p.notice")).to_contain_text(f"Saved as {DOMAIN}, not https://www.Blog.Example.org/")
        expect(page.locator("#snippet-code")).to_contain_text(f'data-domain="{DOMAIN}"')
        expect(page.locator("#snippet-code")).to_contain_text('integrity="sha384-')
        expect(page.locator("code.sri")).to_have_text(re.compile(r"^sha384-[A-Za-z0-9+/=]{64}$"))
        expect(page.locator("#install-check")).to_contain_text("No event has arrived yet")

        http_send(server.url, clock)(
            NOW, {"n": "pageview", "u": f"https://{DOMAIN}/", "d": DOMAIN}, "1.2.3.4", UA["linux"]
        )
        page.get_by_role("button", name="Check again").click()
        expect(page.locator("#install-check")).to_contain_text("Events are arriving: 1 pageviews")
        page.get_by_role("link", name="Open the dashboard").click()
        expect(page.locator('a[data-metric="visitors"] .stat-value')).to_have_text("0")  # 30 days end yesterday
        page.get_by_role("link", name="Today").click()
        expect(page.locator('a[data-metric="visitors"] .stat-value')).to_have_text("1")
        assert problems == []
        ctx.close()
    finally:
        server.stop()


def test_numbers_filters_ranges_and_the_back_button(browser: Browser, seeded: dict[str, Any]) -> None:
    base = seeded["url"]
    ctx, page, problems = _context(browser, base, seeded["cookies"], viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/sites/{DOMAIN}?period=today")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    assert [stat(page, m) for m in ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate",
                                    "visit_duration", "time_on_page", "scroll_depth")] == [
        "4", "4", "5", "1.25", "25%", "45s", "4s", "50%"]  # fmt: skip
    expect(page.locator('a[data-metric="visitors"] .delta')).to_have_text("↑ 300%")
    assert rows(page, "channels") == [["Organic Search", "2", "0", "0%", "0%", "1m 00s"], ["Email", "1", "0", "0%", "0%", "1m 00s"],
                                      ["Organic Social", "1", "0", "0%", "100%", "0s"]]  # fmt: skip
    assert rows(page, "pages")[1] == ["/blog/a", "2", "2", "10s", "50%", "0", "0%"]
    assert rows(page, "goals") == [["Outbound Link: Click", "1", "1", "25%"], ["Signup", "1", "1", "25%"]]

    # Click the Sources tab, then a source: everything filters to it.
    page.locator("#panel-sources").get_by_role("link", name="Sources", exact=True).click()
    assert rows(page, "sources")[0] == ["Google", "2", "0", "0%", "0%", "1m 00s"]
    page.locator('table[data-tab="sources"]').get_by_role("link", name="Google").focus()  # keyboard works too
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"source=Google"))
    expect(page.locator(".chip")).to_contain_text("Source is Google")
    assert [stat(page, m) for m in ("visitors", "visits", "pageviews", "bounce_rate")] == ["2", "2", "3", "0%"]
    assert rows(page, "sources") == [["google.com", "2", "0", "0%", "0%", "1m 00s"]]
    assert rows(page, "countries") == [["Switzerland", "1", "50%"], ["France", "1", "50%"]]

    # Back: the unfiltered view returns, from the URL alone.
    page.go_back()
    expect(page.locator(".chip")).to_have_count(0)
    expect(page.locator('a[data-metric="visitors"] .stat-value')).to_have_text("4")

    # Ranges: a preset, then a custom range through the form.
    page.get_by_role("link", name="Yesterday").click()
    expect(page).to_have_url(re.compile(r"period=yesterday"))
    assert [stat(page, m) for m in ("visitors", "visits", "pageviews")] == ["1", "2", "2"]
    page.get_by_label("From", exact=True).fill("2026-03-01")
    page.get_by_label("To", exact=True).fill("2026-03-02")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"period=custom&from=2026-03-01&to=2026-03-02"))
    assert stat(page, "visitors") == "5" and stat(page, "pageviews") == "7"

    # The chart: hover a day for its values, then walk the points with the keyboard.
    page.locator("svg.chart .hits rect").nth(1).hover()
    tip = page.locator(".tooltip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("Mon, Mar 2, 2026")
    expect(tip.locator(".tt-value")).to_have_text("4")
    expect(tip.locator(".tt-prev")).to_have_count(0)  # Feb 27-28 hold nothing: no comparison to show
    expect(page.locator(".nothing-before")).to_have_text("Nothing to compare: no data from 2026-02-27 to 2026-02-28.")
    page.locator("svg.chart").focus()
    page.keyboard.press("Home")
    expect(tip.locator(".tt-label")).to_have_text("Sun, Mar 1, 2026")
    expect(tip.locator(".tt-value")).to_have_text("1")
    page.keyboard.press("ArrowRight")
    expect(tip.locator(".tt-value")).to_have_text("4")
    page.go_back()
    page.go_back()
    expect(page).to_have_url(re.compile(r"period=today"))
    assert problems == []
    ctx.close()


def test_comparisons_show_their_dates_and_follow_the_form(browser: Browser, seeded: dict[str, Any]) -> None:
    base = seeded["url"]
    ctx, page, problems = _context(browser, base, seeded["cookies"])
    page.goto(f"{base}/sites/{DOMAIN}?period=today&metric=pageviews")
    # Today against yesterday: exact dates, changes and the previous line.
    expect(page.locator(".range-line")).to_contain_text("Today: 2026-03-02 (Europe/Zurich) · compared with 2026-03-01")
    expect(page.locator('a[data-metric="pageviews"] .delta')).to_have_text("↑ 150%")
    expect(page.locator('a[data-metric="pageviews"] .stat-prev')).to_have_text("before: 2")
    expect(page.locator("svg.chart path.previous")).not_to_have_count(0)
    # A year earlier holds nothing: no "before: 0" and no line at zero, a sentence instead.
    page.locator("select[name=compare]").select_option("year")
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(re.compile(r"compare=year"))
    expect(page.locator(".nothing-before")).to_have_text("Nothing to compare: no data from 2025-03-02.")
    expect(page.locator(".stat-prev")).to_have_count(0)
    expect(page.locator(".delta")).to_have_count(0)
    expect(page.locator("svg.chart path.previous")).to_have_count(0)
    # A custom comparison range, typed in.
    page.locator("select[name=compare]").select_option("custom")
    page.get_by_label("Compare from").fill("2026-03-01")
    page.get_by_label("to", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(re.compile(r"compare=custom&compare_from=2026-03-01&compare_to=2026-03-01"))
    expect(page.locator(".range-line")).to_contain_text("compared with 2026-03-01")
    expect(page.locator('a[data-metric="visitors"] .stat-prev')).to_have_text("before: 1")
    # Nothing: no comparison at all; back restores the previous one.
    page.locator("select[name=compare]").select_option("off")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator(".stat-prev")).to_have_count(0)
    page.go_back()
    expect(page.locator('a[data-metric="visitors"] .stat-prev')).to_have_text("before: 1")
    assert problems == []
    ctx.close()


def test_realtime_refreshes_by_itself(browser: Browser, seeded: dict[str, Any]) -> None:
    base, clock = seeded["url"], seeded["clock"]
    ctx, page, problems = _context(browser, base, seeded["cookies"])
    page.clock.install()
    page.goto(f"{base}/sites/{DOMAIN}?period=today")
    expect(page.locator("#realtime")).to_have_text("0")
    clock.set(local(2, 8, 33))  # two minutes after V4's last event
    try:
        page.clock.run_for(16_000)
        expect(page.locator("#realtime")).to_have_text("1")
    finally:
        clock.set(NOW)
    assert problems == []
    ctx.close()


def test_share_link_opens_in_a_fresh_context(browser: Browser, seeded: dict[str, Any]) -> None:
    base = seeded["url"]
    ctx, page, problems = _context(browser, base, seeded["cookies"])
    page.goto(f"{base}/sites/{DOMAIN}/settings")
    page.get_by_role("button", name="Create share link").click()
    link = page.locator("a.share-url").get_attribute("href")
    assert link and re.fullmatch(re.escape(base) + r"/share/[A-Za-z0-9_-]{32}", link)
    ctx.close()

    public, pub_page, pub_problems = _context(browser, base)
    pub_page.goto(link + "?period=today")
    expect(pub_page.locator(".badge")).to_have_text("shared")
    expect(pub_page.locator('a[data-metric="visitors"] .stat-value')).to_have_text("< 5 visitors")  # k = 5
    assert rows(pub_page, "channels") == []
    assert pub_page.locator("a[href*='/settings'], a[href*='/export'], a[href^='/sites']").count() == 0
    public.close()

    ctx, page, problems2 = _context(browser, base, seeded["cookies"])
    page.goto(f"{base}/sites/{DOMAIN}/settings")
    page.get_by_label("Hide rows with fewer than").fill("0")
    page.locator("form", has=page.get_by_label("Hide rows with fewer than")).get_by_role("button", name="Save").click()
    ctx.close()

    public, pub_page, pub_problems2 = _context(browser, base)
    pub_page.goto(link + "?period=today")
    expect(pub_page.locator('a[data-metric="visitors"] .stat-value')).to_have_text("4")
    pub_page.locator('table[data-tab="channels"]').get_by_role("link", name="Organic Search").click()
    expect(pub_page.locator('a[data-metric="visitors"] .stat-value')).to_have_text("2")
    public.close()
    assert problems + pub_problems + problems2 + pub_problems2 == []


def test_screenshots_desktop_phone_and_dark(browser: Browser, seeded: dict[str, Any]) -> None:
    base = seeded["url"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, options in (
        ("desktop", {"viewport": {"width": 1280, "height": 900}}),
        ("phone", {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2}),
        ("dark", {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"}),
    ):
        ctx, page, problems = _context(browser, base, seeded["cookies"], **options)
        page.goto(f"{base}/sites/{DOMAIN}?period=custom&from=2026-02-24&to=2026-03-02")
        expect(page.locator('a[data-metric="visitors"] .stat-value')).to_have_text("5")
        # Nothing wider than the screen: the layout holds at phone width.
        assert page.evaluate("document.documentElement.scrollWidth") <= options["viewport"]["width"]  # type: ignore[index]
        if name == "dark":
            bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert bg == "rgb(15, 18, 24)"
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
        assert problems == []
        ctx.close()
