"""Readable reports in the OS's Chromium (issue 14, point 2): full page paths at 1440 px
and on a phone, country names, and every number reachable at phone width.

A label too long for its cell is cut in the middle on a wide screen (the head ends in
an ellipsis, the last path segment stays whole) and wraps on a phone; either way the
cell's title and its text hold the full value, and nothing is clipped without an ellipsis.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import ARTIFACTS, free_port
from playwright.sync_api import Browser, Page, expect
from web_support import DOMAIN, EMAIL, IP, NOW, PASSWORD, UA, event, http_send, start_threaded, token_of

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings

pytestmark = [pytest.mark.browser, pytest.mark.server]

# Two paths alike for their first 20 characters, as in the issue; and two longer than a
# whole row at 1440 px, alike but for their ends.
PATHS = [
    "/blog/corporate-blog-communication-strategy/part-one",
    "/blog/corporate-podcast-communication-strategy/part-two",
    "/en/newsroom/press-releases/2026/annual-report-of-the-communications-department-with-appendices-tables"
    "-and-the-statement-of-the-board-final",
    "/en/newsroom/press-releases/2026/annual-report-of-the-communications-department-with-appendices-tables"
    "-and-the-statement-of-the-board-draft",
    "/",
]
WIDE = {"viewport": {"width": 1440, "height": 1000}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    clock = FrozenClock(NOW)
    data = tmp_path_factory.mktemp("reports") / "data"
    app = create_app(Settings(data_dir=str(data), batch_ms=0.5, trusted_proxies="127.0.0.1/32"), clock)
    server = start_threaded(app, free_port())
    with httpx.Client(base_url=server.url) as client:
        r = client.get("/setup")
        client.post("/setup", data={"email": EMAIL, "password": PASSWORD, "password2": PASSWORD, "csrf": token_of(r.text)})
        r = client.get("/sites/new")
        client.post("/sites/new", data={"domain": DOMAIN, "timezone": "UTC", "csrf": token_of(r.text)})
        send = http_send(server.url, clock)
        # From each of four countries, one visit per page (its own browser version, so its own
        # visitor): every page is an entry and an exit page too.
        for i, ip in enumerate(sorted(IP.values())):
            for j, path in enumerate(PATHS[i % 2 :]):
                ua = UA["win"].replace("Chrome/131.0.0.0", f"Chrome/131.0.0.{j}")
                send(NOW.replace(hour=8, minute=10 * i + j), event("pageview", path, w=1280), ip, ua)
        clock.set(NOW)
        cookies = [{"name": k, "value": v, "url": server.url} for k, v in client.cookies.items()]
    yield {"url": server.url, "cookies": cookies}
    server.stop()


def open_dashboard(browser: Browser, served: dict[str, Any], query: str, **options: Any) -> tuple[Any, Page]:
    ctx = browser.new_context(**options)
    ctx.add_cookies(served["cookies"])
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type in ("error", "warning") else None)
    page.goto(f"{served['url']}/sites/{DOMAIN}?period=custom&from=2026-03-02&to=2026-03-02&{query}")
    expect(page.locator('a[data-metric="visitors"] .stat-value')).to_have_text("18")  # 5 + 4 + 5 + 4 visits
    assert errors == []  # a CSP violation (an inline style or script) would show here
    return ctx, page


# Per label cell: its title, its text, and how each part of the label fits.
CELLS = """(tab) => [...document.querySelectorAll(`table.report[data-tab="${tab}"] td.label-cell`)].map(td => {
  const part = (cls) => {
    const el = td.querySelector('.' + cls);
    if (!el) return null;
    const style = getComputedStyle(el);
    return {text: el.textContent, clipped: el.scrollWidth > el.clientWidth + 1,
            ellipsis: style.textOverflow === 'ellipsis' && style.overflow === 'hidden',
            visible: el.getBoundingClientRect().width > 0};
  };
  const link = td.querySelector('.row-link, .row-text');
  const cell = td.getBoundingClientRect(), box = link.getBoundingClientRect();
  return {title: td.title, text: link.textContent, aria: link.getAttribute('aria-label'), head: part('head'), tail: part('tail'),
          inside: box.right <= cell.right + 1 && box.bottom <= cell.bottom + 1, lines: Math.round(box.height / parseFloat(getComputedStyle(link).lineHeight))};
})"""


def check_cells(cells: list[dict[str, Any]], expected: list[str]) -> None:
    assert sorted(c["title"] for c in cells) == sorted(expected)
    for c in cells:
        assert c["text"] == c["aria"] == c["title"], c  # hover and screen readers get the whole value
        assert c["inside"], repr(c)
        for part in (c["head"], c["tail"]):
            if part is not None:
                assert part["visible"], c
                assert not part["clipped"] or part["ellipsis"], c  # never cut without an ellipsis


@pytest.mark.parametrize("tab", ["pages", "entry", "exit"])
def test_full_paths_are_readable_at_1440_px(browser: Browser, served: dict[str, Any], tab: str) -> None:
    ctx, page = open_dashboard(browser, served, f"tab_pages={tab}", **WIDE)
    cells = page.evaluate(CELLS, tab)
    check_cells(cells, PATHS)
    by_title = {c["title"]: c for c in cells}
    # The last segments are whole on screen, so the two /blog/corporate-… rows differ.
    for path in PATHS[:2]:
        tail = by_title[path]["tail"]
        assert tail is not None and tail["text"] == path[path.rfind("/") :] and not tail["clipped"]
    # A screen reader names the link by the whole path, not by its two halves.
    expect(page.get_by_role("link", name=PATHS[2], exact=True)).to_have_count(1)
    # The two press releases: too long for the cell, cut in the middle; their ends differ.
    cut = [by_title[p] for p in PATHS[2:4]]
    assert all(c["head"]["clipped"] and c["head"]["ellipsis"] for c in cut)
    assert {c["tail"]["text"] for c in cut} == {"-board-final", "-board-draft"}  # from a word in the last characters
    assert all(not c["tail"]["clipped"] for c in cut)
    ctx.close()


def test_full_paths_wrap_on_a_phone_and_every_number_is_reachable(browser: Browser, served: dict[str, Any]) -> None:
    ctx, page = open_dashboard(browser, served, "tab_pages=pages", **PHONE)
    cells = page.evaluate(CELLS, "pages")
    check_cells(cells, PATHS)
    assert all(not (c["head"] or {}).get("clipped") and not (c["tail"] or {}).get("clipped") for c in cells)
    longest = max(cells, key=lambda c: len(c["title"]))
    assert longest["lines"] >= 2  # wrapped, all of it on screen
    # All six numbers of Top pages are there; the table scrolls sideways to show them.
    table = page.locator('table.report[data-tab="pages"]')
    headers = table.locator("thead th").all_inner_texts()
    assert [h.strip().lower() for h in headers] == ["top pages", "visitors", "views", "time", "scroll", "reads", "read rate"]
    hidden = page.evaluate("""() => [...document.querySelectorAll('table.report th, table.report td')]
        .filter(el => getComputedStyle(el).display === 'none').length""")
    assert hidden == 0
    scroller = page.locator("#panel-pages .table-scroll")
    assert scroller.get_attribute("tabindex") == "0" and scroller.get_attribute("role") == "region"
    last = table.locator("thead th").last
    fits = page.evaluate(
        """() => { const s = document.querySelector('#panel-pages .table-scroll');
                   return {overflow: s.scrollWidth > s.clientWidth, page: document.documentElement.scrollWidth}; }"""
    )
    assert fits["page"] <= 390  # the page itself never scrolls sideways, only the table
    if fits["overflow"]:
        scroller.focus()
        page.keyboard.press("End")  # a keyboard reaches the last column too
        scroller.evaluate("s => s.scrollLeft = s.scrollWidth")
    box, view = last.bounding_box(), scroller.bounding_box()
    assert box is not None and view is not None and box["x"] + box["width"] <= view["x"] + view["width"] + 1
    # The label column stays in view while the numbers scroll.
    label = table.locator("tbody td.label-cell").first.bounding_box()
    assert label is not None and label["x"] >= view["x"] - 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reports-phone.png"), full_page=True)
    ctx.close()


def test_countries_show_names_and_keep_codes_in_links(browser: Browser, served: dict[str, Any]) -> None:
    ctx, page = open_dashboard(browser, served, "tab_locations=countries", **WIDE)
    table = page.locator('table.report[data-tab="countries"]')
    names = sorted(t.strip() for t in table.locator("td.label-cell").all_inner_texts())
    assert names == ["France", "Germany", "Switzerland", "United States"]
    href = table.get_by_role("link", name="Germany", exact=True).get_attribute("href")
    assert href is not None and "country=DE" in href  # filters (and exports) keep the ISO code
    page.screenshot(path=str(ARTIFACTS / "reports-wide.png"), full_page=True)
    ctx.close()



@pytest.mark.parametrize("options", [WIDE, PHONE], ids=["1440", "390"])
def test_settings_labels_read_as_sentences(browser: Browser, served: dict[str, Any], options: dict[str, Any]) -> None:
    """Settings labels with <code> in them ran over six lines (a grid made each run a row)."""
    ctx = browser.new_context(**options)
    ctx.add_cookies(served["cookies"])
    page = ctx.new_page()
    page.goto(f"{served['url']}/sites/{DOMAIN}/settings")
    label = page.locator("label", has=page.locator('input[name="excluded_paths"]'))
    expect(label).to_contain_text("matches any characters, / included")
    shape = label.evaluate("""l => {
        const input = l.querySelector('input'), line = parseFloat(getComputedStyle(l).lineHeight);
        return {codes: [...l.querySelectorAll('code')].map(c => getComputedStyle(c).display),
                lines: Math.round((input.getBoundingClientRect().top - l.getBoundingClientRect().top) / line),
                inputWidth: input.getBoundingClientRect().width, labelWidth: l.getBoundingClientRect().width}; }""")
    assert set(shape["codes"]) == {"inline"}
    assert shape["lines"] <= (1 if options is WIDE else 4)  # the words wrap as a paragraph, no more
    assert shape["inputWidth"] >= shape["labelWidth"] - 1  # the field still spans the form
    ctx.close()
