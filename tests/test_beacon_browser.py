"""The beacon in a real browser, against the real collector, across origins.

Setup (module-wide, so the file runs in well under a minute):
- the collector: `analytics serve` as a uvicorn process on http://localhost:P2,
  with the site `blog.test` registered through the CLI;
- the test blog (tests/blog) from a threaded loopback HTTP server, opened as
  http://blog.test:P1/ (Chromium maps blog.test and outbound.test to
  127.0.0.1 and every other name to NXDOMAIN), because the beacon sends
  nothing from localhost or 127.* pages;
- the OS's headless Chromium through Playwright, with a desktop Chrome user
  agent (the collector drops HeadlessChrome as a bot). Pages carry the
  beacon's test-only `data-webdriver` switch, since Playwright sets
  navigator.webdriver.

What was stored is read from the collector's SQLite file (read-only), waiting
on rows with a bounded poll rather than sleeping.
"""

from __future__ import annotations

import http.server
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import CHROME_UA, cli, free_port, launch_chromium

from analytics.ingest import beacon

pytestmark = pytest.mark.browser

BLOG = Path(__file__).parent / "blog"
VIEWPORT = {"width": 1280, "height": 800}  # 1280 px wide: the "Laptop" screen class


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    hostname: str
    page: str
    props: dict[str, str]
    scroll_depth: int | None
    engaged_ms: int | None
    revenue: float | None
    currency: str | None
    referrer: str
    source: str
    screen: str


_QUERY = """
SELECT e.id, n.value, h.value, p.value, e.props, e.scroll_depth, e.engaged_ms, e.revenue, e.currency,
       COALESCE(r.value, ''), COALESCE(src.value, ''), COALESCE(sc.value, '')
FROM events e
JOIN strings n ON n.id = e.name
JOIN strings h ON h.id = e.hostname
JOIN strings p ON p.id = e.page
JOIN sessions s ON s.id = e.session_id
LEFT JOIN strings r ON r.id = s.referrer
LEFT JOIN strings src ON src.id = s.source
LEFT JOIN strings sc ON sc.id = s.screen
WHERE e.id > ? ORDER BY e.id
"""


class Collector:
    """The running collector and a read-only view of what it stored."""

    def __init__(self, port: int, data_dir: Path) -> None:
        self.port = port
        self.origin = f"http://localhost:{port}"
        self.db = data_dir / "analytics.db"

    def rows(self, after: int = 0) -> list[Row]:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5) as conn:
            out = conn.execute(_QUERY, (after,)).fetchall()
        conn.close()
        return [Row(r[0], r[1], r[2], r[3], json.loads(r[4] or "{}"), *r[5:]) for r in out]

    def mark(self) -> int:
        rows = self.rows()
        return rows[-1].id if rows else 0

    def wait(self, after: int, done: Callable[[list[Row]], bool], timeout: float = 10.0) -> list[Row]:
        """Poll until `done(rows)` holds; fail with what was stored if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows(after)
            if done(rows):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; stored: {rows}")
            time.sleep(0.05)


def named(rows: list[Row], name: str) -> list[Row]:
    return [r for r in rows if r.name == name]


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    data = tmp_path_factory.mktemp("collector") / "data"
    cli("sites", "add", "blog.test", data_dir=data)
    port = free_port()
    log = data.parent / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "analytics", "serve", "--data-dir", str(data),
             "--host", "127.0.0.1", "--port", str(port)],  # fmt: skip
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"collector exited: {log.read_text()}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"collector did not start: {log.read_text()}"
            time.sleep(0.1)
        yield Collector(port, data)
    finally:
        proc.terminate()  # our own process, by its handle
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class _BlogHandler(http.server.SimpleHTTPRequestHandler):
    """Static files from tests/blog, with the placeholders in .html filled in."""

    substitutions: dict[str, str] = {}

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.endswith("/"):
            path += "index.html"
        file = (BLOG / path.lstrip("/")).resolve()
        if file.suffix != ".html" or not file.is_file() or BLOG not in file.parents:
            return super().do_GET()
        text = file.read_text("utf-8")
        for key, value in self.substitutions.items():
            text = text.replace(key, value)
        body = text.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass(frozen=True)
class Blog:
    port: int

    @property
    def origin(self) -> str:
        return f"http://blog.test:{self.port}"

    @property
    def outbound(self) -> str:
        return f"http://outbound.test:{self.port}"


@pytest.fixture(scope="module")
def blog(collector: Collector) -> Iterator[Blog]:
    port = free_port()
    handler = type("Handler", (_BlogHandler,), {})
    handler.substitutions = {
        "__COLLECTOR__": collector.origin,
        "__SRI__": beacon.sri_hash(),  # the browser checks it against what the collector serves
        "__OUTBOUND__": f"http://outbound.test:{port}",
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(BLOG)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Blog(port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch_chromium(
            p,
            # Test names to loopback, everything else to nowhere: no real network.
            "--host-resolver-rules=MAP blog.test 127.0.0.1, MAP outbound.test 127.0.0.1,"
            " MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """One fresh browser context (no shared state between tests) and its requests."""

    context: Any
    page: Any
    requests: list[str]


@pytest.fixture
def visit(browser: Any, blog: Blog) -> Iterator[Visit]:
    context = browser.new_context(user_agent=CHROME_UA, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    try:
        yield Visit(context, context.new_page(), requests)
    finally:
        context.close()


def ready(page: Any) -> None:
    """Wait until the beacon has run (it defines window.plausible after its first pageview)."""
    page.wait_for_function("typeof window.plausible == 'function' && !window.plausible.q")


def test_pageview_is_stored_with_path_referrer_and_screen(visit: Visit, blog: Blog, collector: Collector) -> None:
    mark = collector.mark()
    visit.page.goto(f"{blog.origin}/posts/hello.html?utm_campaign=spring", referer="https://news.ycombinator.com/item?id=1")
    (pv,) = named(collector.wait(mark, lambda rows: bool(named(rows, "pageview"))), "pageview")
    assert (pv.hostname, pv.page) == ("blog.test", "/posts/hello.html")
    assert pv.referrer == "news.ycombinator.com/item"  # the referrer's query is dropped
    assert pv.source == "Hacker News"
    assert pv.screen == "Laptop"
    assert pv.props == {}


def test_each_spa_navigation_counts_once(visit: Visit, blog: Blog, collector: Collector) -> None:
    page = visit.page
    mark = collector.mark()
    page.goto(f"{blog.origin}/spa/index.html")
    ready(page)
    page.click("text=One")  # pushState /spa/one
    page.click("text=One")  # same path again: nothing
    page.click("text=One, tab 2")  # /spa/one?tab=2: same path, nothing
    page.evaluate("history.replaceState({}, '', '/spa/two')")
    back = """new Promise((resolve, reject) => {
      addEventListener('popstate', () => resolve(location.pathname), {once: true});
      setTimeout(() => reject(new Error('no popstate')), 5000);
      history.%s();
    })"""
    assert page.evaluate(back % "back") == "/spa/one"  # popstate to another path: counted
    assert page.evaluate(back % "back") == "/spa/one"  # to the same path: not
    assert page.evaluate(back % "forward") == "/spa/one"
    assert page.evaluate(back % "forward") == "/spa/two"  # counted
    page.evaluate("plausible('Barrier')")  # sent after every navigation above
    rows = collector.wait(mark, lambda rows: bool(named(rows, "Barrier")))
    # Sorted: requests sent in quick succession may be stored in either order.
    assert sorted(r.page for r in named(rows, "pageview")) == [
        "/spa/index.html", "/spa/one", "/spa/one", "/spa/two", "/spa/two",
    ]
    # Each navigation first reported the page being left.
    assert sorted(r.page for r in named(rows, "engagement")) == ["/spa/index.html", "/spa/one", "/spa/one", "/spa/two"]


def test_hash_routing(visit: Visit, blog: Blog, collector: Collector) -> None:
    page = visit.page
    mark = collector.mark()
    page.goto(f"{blog.origin}/hash.html")
    ready(page)
    page.click("#a")
    page.click("#a")  # same fragment: nothing
    page.click("#b")
    page.evaluate("plausible('Barrier')")
    rows = collector.wait(mark, lambda rows: bool(named(rows, "Barrier")))
    assert sorted(r.page for r in named(rows, "pageview")) == ["/hash.html", "/hash.html#/a", "/hash.html#/b"]


def test_fragment_is_not_a_page_without_hash_mode(visit: Visit, blog: Blog, collector: Collector) -> None:
    page = visit.page
    mark = collector.mark()
    page.goto(f"{blog.origin}/")
    ready(page)
    page.click("#anchor")
    page.wait_for_function("location.hash == '#about'")
    page.evaluate("plausible('Barrier')")
    rows = collector.wait(mark, lambda rows: bool(named(rows, "Barrier")))
    assert [r.page for r in named(rows, "pageview")] == ["/"]


def test_outbound_clicks_are_counted_and_navigation_happens(visit: Visit, blog: Blog, collector: Collector) -> None:
    page = visit.page
    mark = collector.mark()
    page.goto(f"{blog.origin}/")
    ready(page)
    target = f"{blog.outbound}/posts/hello.html"
    with visit.context.expect_page() as middle:
        page.click("#outbound", button="middle")  # auxclick: opens a tab
    with visit.context.expect_page() as ctrl:
        page.click("#outbound", modifiers=["Control"])  # opens a tab
    page.click("#mail")  # mailto: not an outbound link
    page.click("#outbound")  # a plain click: this tab leaves at once
    page.wait_for_url(target)
    assert middle.value.url == target and ctrl.value.url == target
    rows = collector.wait(mark, lambda rows: len(named(rows, "Outbound Link: Click")) >= 3)
    clicks = named(rows, "Outbound Link: Click")
    assert [r.props for r in clicks] == [{"url": target}] * 3
    assert all(r.page == "/" and r.hostname == "blog.test" for r in clicks)


def test_download_click_is_counted_and_the_file_is_fetched(visit: Visit, blog: Blog, collector: Collector) -> None:
    page = visit.page
    mark = collector.mark()
    page.goto(f"{blog.origin}/")
    ready(page)
    page.click("#pdf")
    pdf = f"{blog.origin}/files/guide.pdf"
    rows = collector.wait(mark, lambda rows: bool(named(rows, "File Download")))
    assert [r.props for r in named(rows, "File Download")] == [{"url": pdf}]
    deadline = time.monotonic() + 10
    while pdf not in visit.requests:  # the navigation (or download) went ahead
        assert time.monotonic() < deadline, visit.requests
        page.wait_for_timeout(50)


def test_tagged_elements(visit: Visit, blog: Blog, collector: Collector) -> None:
    page = visit.page
    mark = collector.mark()
    page.goto(f"{blog.origin}/tagged.html")
    ready(page)
    page.click("#signup-label")  # a child of the tagged button
    page.click("#email")  # inside a tagged form: forms themselves never count
    page.click("#docs")  # a tagged link: counted with its url, and it navigates
    page.wait_for_url(f"{blog.origin}/posts/hello.html")
    page.go_back()
    page.wait_for_url(f"{blog.origin}/tagged.html")
    page.click("#subscribe")  # the tagged submit button counts, and the form submits
    page.wait_for_url(f"{blog.origin}/posts/third.html?email=reader%40example.org")
    rows = collector.wait(mark, lambda rows: bool(named(rows, "Newsletter")))
    custom = [(r.name, r.props) for r in rows if r.name not in ("pageview", "engagement")]
    assert custom == [
        ("Signup", {"plan": "pro"}),
        ("Docs Click", {"from": "plans page", "url": f"{blog.origin}/posts/hello.html"}),
        ("Newsletter", {"list": "weekly"}),
    ]


def test_queued_custom_events_arrive_with_props(visit: Visit, blog: Blog, collector: Collector) -> None:
    mark = collector.mark()
    visit.page.goto(f"{blog.origin}/queue.html")
    rows = collector.wait(mark, lambda rows: bool(named(rows, "Purchase")))
    assert sorted(r.name for r in rows) == ["Purchase", "Signup", "pageview"]
    (signup,) = named(rows, "Signup")
    assert (signup.page, signup.props) == ("/queue.html", {"plan": "pro", "source": "queue"})
    (purchase,) = named(rows, "Purchase")
    assert (purchase.props, purchase.revenue, purchase.currency) == ({"sku": "book"}, 9.5, "EUR")


HIDE = """hidden => {
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
  document.dispatchEvent(new Event('visibilitychange', {bubbles: true}));
}"""
# Scroll and wait for the scroll event (at once if the position cannot change).
SCROLL = """y => new Promise(r => {
  const before = scrollY;
  addEventListener('scroll', r, {once: true});
  scrollTo(0, y);
  if (scrollY == before) r();
})"""


def test_engagement_reports_scroll_depth_and_engaged_time_without_hidden_time(
    visit: Visit, blog: Blog, collector: Collector
) -> None:
    # Time is Playwright's fake clock, paused, so engaged milliseconds are
    # exact; visibility is simulated the way a tab switch looks to the page.
    page = visit.page
    page.clock.install(time=1_700_000_000_000)
    page.clock.pause_at(1_700_000_001_000)
    mark = collector.mark()
    page.goto(f"{blog.origin}/long.html")  # 4,000 px tall, viewport 800 px
    ready(page)
    collector.wait(mark, lambda rows: bool(named(rows, "pageview")))

    # Whether the pause took hold before the beacon's first tick is up to the
    # browser, so start from a report: the first always goes, and resets the count.
    page.evaluate(HIDE, True)
    page.evaluate(HIDE, False)
    (first,) = named(collector.wait(mark, lambda rows: bool(named(rows, "engagement"))), "engagement")
    assert first.scroll_depth == 20 and 0 <= (first.engaged_ms or 0) <= 1_000  # (0 + 800) / 4000

    page.evaluate(SCROLL, 1200)  # (1200 + 800) / 4000: 50 %
    page.clock.run_for(4_000)  # 4 s visible and focused
    page.evaluate(HIDE, True)  # tab hidden: engagement goes
    page.clock.run_for(60_000)  # a minute hidden: not engaged
    page.evaluate(HIDE, False)
    page.evaluate(SCROLL, 3000)  # (3000 + 800) / 4000: 95 %
    page.evaluate(SCROLL, 0)  # back up: the maximum stays
    page.clock.run_for(2_500)
    page.evaluate("document.hasFocus = () => false; dispatchEvent(new Event('blur'))")  # window blurred
    rows = named(collector.wait(mark, lambda rows: len(named(rows, "engagement")) >= 3), "engagement")
    assert sorted((r.page, r.scroll_depth, r.engaged_ms) for r in rows[1:]) == [
        ("/long.html", 50, 4_000),
        ("/long.html", 95, 2_500),
    ]


def test_no_storage_and_no_request_to_other_hosts(visit: Visit, blog: Blog, collector: Collector) -> None:
    page = visit.page
    mark = collector.mark()
    for path in ("/", "/posts/second.html", "/spa/index.html", "/queue.html", "/tagged.html", "/long.html"):
        page.goto(blog.origin + path)
        ready(page)
    page.evaluate(SCROLL, 2000)
    page.goto(blog.origin + "/tagged.html")
    ready(page)
    page.click("#signup")
    page.evaluate("plausible('Barrier')")
    collector.wait(mark, lambda rows: bool(named(rows, "Barrier")))

    hosts = {urlsplit(u).netloc for u in visit.requests}
    assert hosts == {f"blog.test:{blog.port}", f"localhost:{collector.port}"}
    beacon_requests = [u for u in visit.requests if "localhost" in u]
    assert {urlsplit(u).path for u in beacon_requests} == {"/js/script.v1.js", "/api/event"}

    assert visit.context.cookies() == []
    storage = page.evaluate(
        """async () => ({
          local: localStorage.length, session: sessionStorage.length,
          idb: (await indexedDB.databases()).length,
          caches: self.caches ? (await caches.keys()).length : 0,  // absent on http: origins
          cookie: document.cookie })"""
    )
    assert storage == {"local": 0, "session": 0, "idb": 0, "caches": 0, "cookie": ""}


def _sent(visit: Visit) -> list[str]:
    return [u for u in visit.requests if u.endswith("/api/event")]


@pytest.mark.parametrize(
    "case", ["localhost", "127.0.0.1", "opt-out", "excluded path", "automation without the switch", "file"]
)
def test_nothing_is_sent(visit: Visit, blog: Blog, collector: Collector, case: str, tmp_path: Path) -> None:
    page = visit.page
    url = f"{blog.origin}/"
    if case in ("localhost", "127.0.0.1"):
        url = f"http://{case}:{blog.port}/"
    elif case == "opt-out":
        # The site owner's flag, set in their own browser; the beacon only reads it.
        visit.context.add_init_script("localStorage.plausible_ignore = 'true'")
    elif case == "excluded path":
        url = f"{blog.origin}/private/secret.html"
    elif case == "automation without the switch":
        url = f"{blog.origin}/automation.html"  # navigator.webdriver is true under Playwright
    elif case == "file":
        html = (BLOG / "index.html").read_text()
        file = tmp_path / "index.html"
        file.write_text(html.replace("__COLLECTOR__", collector.origin).replace("__SRI__", beacon.sri_hash()))
        url = file.as_uri()
    page.goto(url)
    ready(page)
    page.evaluate("plausible('Probe')")
    if case == "excluded path":
        page.click("#out")  # an outbound click on an excluded page: not sent either
        page.wait_for_url(f"{blog.outbound}/posts/hello.html")
        ready(page)
        assert len(_sent(visit)) == 1  # only the outbound site's own pageview
        return
    page.wait_for_timeout(300)  # the requests would have been issued synchronously
    assert any(u.endswith("/js/script.v1.js") for u in visit.requests)
    assert _sent(visit) == []
