"""Bounded queries: every stats statement has a time budget (`query_timeout`).

SQLite's progress handler stops a statement past the budget; the store turns that
into `QueryTimeout`, which the API answers as a 503 JSON message with Retry-After
and the dashboard as an error page, and the reader serves the next query at once.
A budget of a nanosecond stops any statement long enough to reach the handler
(10000 SQLite steps), so these tests do not depend on the machine's speed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from api_support import PASSWORD, SITE, api_user, post_query, running_app
from conftest import Instance
from web_support import sign_in

from analytics.errors import QueryTimeout
from analytics.model import Event, SessionAttrs, Site
from analytics.stats.dates import local_day
from analytics.stats.parse import parse
from analytics.stats.plan import plan
from analytics.store.sqlite.store import SQLiteStore

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
INSTANT = 1e-9  # seconds: past at the handler's first call
MESSAGE = (
    "The query ran longer than 1e-09 seconds and was stopped; try a shorter date range or fewer filters, or retry later"
)


def events(site: Site, n: int = 3000) -> list[Event]:
    """`n` pageviews on March 1st by `n` visitors, on 100 paths."""
    start = int(datetime(2026, 3, 1, 9, 0, tzinfo=UTC).timestamp())
    return [
        Event(
            site_id=site.id,
            ts=start + i,
            day=local_day(start + i, site.timezone),
            visitor_id=1000 + i,
            prev_visitor_id=None,
            name="pageview",
            hostname=SITE,
            path=f"/p{i % 100}",
            attrs=SessionAttrs(source="Google", country="CH"),
        )  # fmt: skip
        for i in range(n)
    ]


def query(site: Site, filters: list[Any], date_range: list[str] | None = None) -> Any:
    """Countries under a page pattern: raw events (a pages breakdown would keep rows of the pages rollup)."""
    body = {"metrics": ["visitors", "pageviews"], "date_range": date_range or ["2026-03-01", "2026-03-01"],
            "dimensions": ["visit:country"], "filters": filters}  # fmt: skip
    return parse(body, site, NOW)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SQLiteStore, SQLiteStore]]:
    """The same file through a store with an instant budget and one without a budget."""
    bounded = SQLiteStore(tmp_path / "analytics.db", batch_ms=0, query_timeout=INSTANT)
    free = SQLiteStore(tmp_path / "analytics.db", batch_ms=0)
    await bounded.open()
    await free.open()
    await free.submit(events(Site(1, SITE, "Europe/Zurich")))
    yield bounded, free
    await bounded.close()
    await free.close()


async def test_a_statement_past_the_budget_is_stopped_and_the_reader_serves_the_next(
    stores: tuple[SQLiteStore, SQLiteStore],
) -> None:
    bounded, free = stores
    site = Site(1, SITE, "Europe/Zurich")
    heavy = plan(query(site, [["matches", "event:page", ["^/p1"]]]))
    assert heavy.rollup is None
    (unbounded,) = await free.sums([heavy])
    assert sum(v["pageviews"] for v in unbounded.values()) == 330  # /p1 and /p10../p19, 30 each
    for _ in range(3):  # every reader of the pool, more than once
        with pytest.raises(QueryTimeout) as info:
            await bounded.sums([heavy])
        assert (info.value.status, info.value.message, info.value.headers) == (503, MESSAGE, {"Retry-After": "1"})
        # A short statement never reaches the handler: the same reader answers it.
        assert await bounded.sums(
            [plan(query(site, [["matches", "event:page", ["^/p1"]]], ["2026-02-01", "2026-02-01"]))]
        ) == [{}]


async def test_the_api_answers_503_with_retry_after_and_the_dashboard_an_error_page(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", api_rate_limit=0, query_timeout=INSTANT) as instance:
        site = await instance.accounts.sites.add(SITE, "Europe/Zurich")
        await instance.store.submit(events(site))
        user = await api_user(instance)
        body = {"site_id": SITE, "metrics": ["visitors"], "date_range": ["2026-03-01", "2026-03-01"],
                "dimensions": ["visit:country"], "filters": [["matches", "event:page", ["^/p"]]]}  # fmt: skip
        r = await post_query(instance, user, body)
        assert (r.status_code, r.headers["content-type"], r.headers["retry-after"]) == (503, "application/json", "1")
        assert r.json() == {"error": MESSAGE}
        await dashboard_page(instance, user.email)


async def dashboard_page(instance: Instance, email: str) -> None:
    async with instance.client() as web:
        await sign_in(web, email, PASSWORD)
        r = await web.get(f"/sites/{SITE}", params={"period": "custom", "from": "2026-03-01", "to": "2026-03-01",
                                                       "page": "/p1"})  # fmt: skip
        assert r.status_code == 503, r.text[:300]
        assert r.headers["content-type"].startswith("text/html") and r.headers["retry-after"] == "1"
        assert MESSAGE in r.text


def test_no_budget_without_a_setting() -> None:
    assert SQLiteStore(":memory:").query_timeout is None


async def test_a_planted_catastrophic_path_neither_slows_a_query_nor_the_beacon(
    tmp_path: Path, live_server_factory: Any
) -> None:
    """On a real server: a path built to make a backtracking engine run for hours
    (`^/(a+)+$` against 40 a's and a `!`) is answered at once, and so is the next beacon.

    Before RE2 this query held the GIL inside one `re.search` (13.9 s with 26 a's, doubling
    with each more), and every beacon behind it waited."""
    import asyncio

    import httpx

    from analytics.accounts.repository import Accounts

    data = tmp_path / "data"
    accounts = Accounts.in_dir(data)
    await accounts.open()
    await accounts.sites.add(SITE, "UTC")
    await accounts.users.add("owner@example.org", PASSWORD)
    key = await accounts.keys.add("owner@example.org")
    await accounts.close()
    server = await asyncio.to_thread(live_server_factory, data_dir=data)
    ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0"}
    planted = "/" + "a" * 40 + "!"
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as c:
        for path in ("/", planted):
            r = await c.post("/api/event", json={"n": "pageview", "u": f"https://{SITE}{path}", "d": SITE}, headers=ua)
            assert r.status_code == 202
        body = {"site_id": SITE, "metrics": ["pageviews"], "date_range": "day", "dimensions": ["event:page"],
                "filters": [["matches", "event:page", ["^/(a+)+$", "^/$"]]]}  # fmt: skip
        query = asyncio.create_task(c.post("/api/v2/query", json=body, headers={"Authorization": f"Bearer {key}"}))
        beacon = await c.post("/api/event", json={"n": "pageview", "u": f"https://{SITE}/", "d": SITE}, headers=ua)
        r = await query
    assert beacon.status_code == 202
    assert r.status_code == 200, r.text
    assert r.json()["results"] in ([{"dimensions": ["/"], "metrics": [1]}], [{"dimensions": ["/"], "metrics": [2]}])
