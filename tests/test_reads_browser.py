"""Reads in a real browser (issue 13): scripted readers on the cross-origin test blog.

The blog and Chromium are set up as in test_beacon_browser.py; this module
runs its own collector (with a user and a Stats API key), so its counts are its
own. Every reader gets a fresh browser context with its own user agent, so each
is a visitor of its own, and Playwright's fake clock (`page.clock`), so minutes
of reading take no real time. The articles (tests/blog/articles) are 4,000 px
tall in an 800 px viewport: scrolled to y, the depth is (y + 800) / 40 %.

Then the Stats API answers exact reads, read_rate and readers per page and per source.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from conftest import CHROME_UA, CHROMIUM, CHROMIUM_ARGS, cli, start_server
from test_beacon_browser import HIDE, SCROLL, VIEWPORT, Blog, Collector, blog, browser, named, ready  # noqa: F401  (fixtures, used by name)

from analytics.visits.reading import Rule

pytestmark = pytest.mark.browser

WORDS = "document.body.innerText.split(/\\s+/).length"  # what the beacon measures
EMAIL = "reader@example.org"
T0 = 1_700_000_000_000
# As test_beacon_browser: test names to loopback, everything else to nowhere.
RESOLVE = ("--host-resolver-rules=MAP blog.test 127.0.0.1, MAP outbound.test 127.0.0.1,"
           " MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1")  # fmt: skip


class ApiCollector(Collector):
    """The collector, and a Stats API key for it."""

    def __init__(self, port: int, data_dir: Any, key: str) -> None:
        super().__init__(port, data_dir)
        self.key = key

    def query(self, **body: Any) -> list[Any]:
        body = {"site_id": "blog.test", "date_range": "day", **body}
        r = httpx.post(f"http://127.0.0.1:{self.port}/api/v2/query", json=body,
                       headers={"Authorization": f"Bearer {self.key}"}, timeout=30)  # fmt: skip
        assert r.status_code == 200, r.text
        return [(tuple(x["dimensions"]), tuple(x["metrics"])) for x in r.json()["results"]]


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiCollector]:
    """This module's own collector (the blog fixture serves pages that point at it)."""
    data = tmp_path_factory.mktemp("reads") / "data"
    cli("sites", "add", "blog.test", data_dir=data)
    cli("users", "add", EMAIL, "--password-stdin", input="a long enough password\n", data_dir=data)
    key = cli("keys", "add", EMAIL, data_dir=data).stdout.strip()
    server = start_server(data)
    try:
        yield ApiCollector(server.port, data, key)
    finally:
        server.stop()


def open_reader(chromium: Any, n: int) -> Any:
    """Visitor n: a browser of its own whose user agent is its own, and a page on a paused fake clock.

    A browser, not just a context: a page that is unloading sends its last
    requests (the engagement on leaving) with the browser's user agent, not the
    context's override, and HeadlessChrome is dropped as a bot.
    """
    ua = CHROME_UA.replace("131.0.0.0", f"131.0.0.{n}")
    own = chromium.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, RESOLVE, f"--user-agent={ua}"]
    )  # fmt: skip
    context = own.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.clock.install(time=T0)
    page.clock.pause_at(T0 + 1000)
    return page


def leave(page: Any) -> None:
    """Close the reader's own browser."""
    page.context.browser.close()


def start(page: Any, url: str, referer: str | None = None) -> int:
    """Open `url` and start from a clean report (see test_beacon_browser); returns the page's word count."""
    page.goto(url, referer=referer) if referer else page.goto(url)
    ready(page)
    page.evaluate(HIDE, True)
    page.evaluate(HIDE, False)
    # Back to the browser's own visibility, which leaving the page changes for real.
    page.evaluate("() => { delete document.hidden; delete document.visibilityState }")
    return int(page.evaluate(WORDS))


def scroll_through(page: Any, positions: list[int], step_ms: int) -> None:
    """Read at a pace: each `step_ms` of reading, scroll to the next position."""
    for y in positions:
        page.clock.run_for(step_ms)
        page.evaluate(SCROLL, y)


@dataclass(frozen=True)
class Session:
    words: dict[str, int]  # page -> the word count the page has in the browser
    engagements: dict[str, list[tuple[int | None, int | None]]]  # reader -> [(depth, engaged ms)] in order


@pytest.fixture(scope="module")
def readers(browser: Any, blog: Blog, collector: ApiCollector) -> Session:  # noqa: F811
    """Six scripted readers, one after the other; what each one's engagement reports were."""
    words: dict[str, int] = {}
    engagements: dict[str, list[tuple[int | None, int | None]]] = {}
    art = f"{blog.origin}/articles"

    def record(name: str, mark: int, page_path: str, count: int) -> None:
        rows = collector.wait(mark, lambda rows: len([r for r in named(rows, "engagement") if r.page == page_path]) >= count)
        engagements[name] = [(r.scroll_depth, r.engaged_ms) for r in named(rows, "engagement") if r.page == page_path]

    # 1. Reads the medium article to the end at reading speed (from LinkedIn), then closes the tab.
    page, mark = open_reader(browser, 1), collector.mark()
    words["medium"] = start(page, f"{art}/medium.html", "https://www.linkedin.com/")
    scroll_through(page, [y * 3200 // 12 for y in range(1, 13)], 10_000)  # 2 minutes, 20 % to 100 %
    page.close(run_before_unload=True)
    record("reads to the end", mark, "/articles/medium.html", 2)
    leave(page)

    # 2. Scrolls the long essay to the bottom in two seconds (from the newsletter), leaves by an outbound link.
    page, mark = open_reader(browser, 2), collector.mark()
    words["long"] = start(page, f"{art}/long.html?utm_source=newsletter&utm_medium=email")
    scroll_through(page, [800, 1600, 2400, 3200], 500)
    page.click("#out")
    page.wait_for_url("**/elsewhere.html")
    record("skims", mark, "/articles/long.html", 2)
    leave(page)

    # 3. Reads half the medium article for a minute (from Google), follows a same-tab link to the short note.
    page, mark = open_reader(browser, 3), collector.mark()
    start(page, f"{art}/medium.html", "https://www.google.com/")
    scroll_through(page, [200, 400, 600, 800, 1000, 1200], 10_000)  # (1200 + 800) / 4000: 50 %
    page.click("#next")
    page.wait_for_url(f"{art}/short.html")
    record("reads half", mark, "/articles/medium.html", 2)
    ready(page)
    words["short"] = int(page.evaluate(WORDS))
    leave(page)

    # 4. Opens the long essay and leaves the tab idle for an hour, then switches away.
    page, mark = open_reader(browser, 4), collector.mark()
    start(page, f"{art}/long.html")
    page.clock.run_for(3_600_000)
    page.evaluate(HIDE, True)
    record("idle", mark, "/articles/long.html", 2)
    leave(page)

    # 5. An SPA: the route changes by pushState; the first route's engagement goes with it.
    page, mark = open_reader(browser, 5), collector.mark()
    start(page, f"{blog.origin}/spa/")
    page.clock.run_for(5_000)
    page.click("text=One")
    record("spa", mark, "/spa/", 2)
    leave(page)

    # 6. Reads the short note (from Xing) in 15 s to the end, then closes the tab.
    page, mark = open_reader(browser, 6), collector.mark()
    start(page, f"{art}/short.html", "https://www.xing.com/")
    scroll_through(page, [1600, 3200], 7_500)
    page.close(run_before_unload=True)
    record("reads the note", mark, "/articles/short.html", 2)
    leave(page)
    return Session(words, engagements)


def test_each_way_of_leaving_delivers_the_engagement(readers: Session) -> None:
    # The first report of each reader is the clean start (hidden and shown at once): depth 20, no time.
    assert all(rows[0][1] == 0 for rows in readers.engagements.values())
    assert {rows[0][0] for name, rows in readers.engagements.items() if name != "spa"} == {20}
    last = {name: rows[-1] for name, rows in readers.engagements.items()}
    assert last["reads to the end"] == (100, 120_000)  # closing the tab
    assert last["skims"] == (100, 2_000)  # an outbound link
    assert last["reads half"] == (50, 60_000)  # a same-tab link
    assert last["spa"][1] == 5_000  # an SPA route
    assert last["reads the note"] == (100, 15_000)  # closing the tab


def test_an_idle_tab_adds_at_most_the_idle_window(readers: Session) -> None:
    assert readers.engagements["idle"][-1] == (20, 30_000)  # an hour open, nobody there: 30 s


def test_the_word_counts_arrive_and_decide(readers: Session, collector: ApiCollector) -> None:
    import sqlite3

    with sqlite3.connect(f"file:{collector.db}?mode=ro", uri=True) as conn:
        stored = dict(conn.execute(
            "SELECT p.value, MAX(e.words) FROM events e JOIN strings p ON p.id = e.page"
            " WHERE e.words IS NOT NULL AND p.value LIKE '/articles/%' GROUP BY 1"
        ).fetchall())  # fmt: skip
    conn.close()
    assert stored == {f"/articles/{k}.html": v for k, v in readers.words.items()}
    assert 100 < readers.words["short"] < 130 < 450 < readers.words["medium"] < 480 < 900 < readers.words["long"]
    rule = Rule()
    # medium: 2 min at 230 wpm, 30 % is 36 s: read in 120 s, not in 60 s at half depth.
    assert 35_000 < rule.needed_ms(readers.words["medium"]) < 38_000
    # short: the 10 s minimum; read in 15 s at 100 %.
    assert rule.needed_ms(readers.words["short"]) == 10_000
    assert rule.needed_ms(readers.words["long"]) > 70_000  # skimmed in 2 s: no read


def test_the_stats_api_gives_exact_reads_per_page_and_source(readers: Session, collector: ApiCollector) -> None:
    totals = collector.query(metrics=["pageviews", "reads", "read_rate", "readers", "visitors"])
    # Pageviews: medium 2, long 2, short 2 (reader 3 followed the link), the SPA's two routes.
    # Reads: reader 1 (medium) and reader 6 (short): 2 of 8 = 25 %.
    assert totals == [((), (8, 2, 25.0, 2, 6))]
    pages = collector.query(metrics=["pageviews", "reads", "read_rate", "readers"], dimensions=["event:page"],
                            order_by=[["pageviews", "desc"], ["event:page", "asc"]])  # fmt: skip
    assert pages == [
        (("/articles/long.html",), (2, 0, 0.0, 0)),
        (("/articles/medium.html",), (2, 1, 50.0, 1)),
        (("/articles/short.html",), (2, 1, 50.0, 1)),
        (("/spa/",), (1, 0, 0.0, 0)),
        (("/spa/one",), (1, 0, 0.0, 0)),
    ]
    sources = collector.query(metrics=["visitors", "readers", "reads"], dimensions=["visit:source"],
                              order_by=[["visit:source", "asc"]])  # fmt: skip
    assert sources == [
        (("Direct / None",), (2, 0, 0)),  # the idle tab and the SPA
        (("Google",), (1, 0, 0)),
        (("LinkedIn",), (1, 1, 1)),
        (("Xing",), (1, 1, 1)),
        (("newsletter",), (1, 0, 0)),
    ]
    filtered = collector.query(metrics=["reads", "readers"], filters=[["is", "visit:channel", ["Organic Social"]]])
    assert filtered == [((), (2, 2))]
