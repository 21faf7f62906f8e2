"""`POST /api/event` (analytics/ingest/endpoint.py): what is dropped, what one body becomes per site,
and what the answer says. Bodies are parsed in test_payload.py; no input may give a 5xx (test_fuzz.py)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import running_app
from conftest import CHROME_UA, Instance, acli, cli

from analytics.ingest import endpoint

BODY = {"n": "pageview", "u": "https://blog.example.org/a?utm_source=news&token=x", "d": "blog.example.org"}


async def stored(instance: Instance) -> list[tuple[Any, ...]]:
    return await instance.store.fetchall(
        "SELECT s.site_id, s.language, s.country, st.value FROM events e JOIN sessions s ON s.id = e.session_id"
        " JOIN strings st ON st.id = e.page ORDER BY s.site_id"
    )


async def test_one_body_counts_for_each_registered_domain(instance: Instance) -> None:
    a = await instance.accounts.sites.add("blog.example.org")
    b = await instance.accounts.sites.add("rollup.example.org")
    r = await instance.send({**BODY, "d": "blog.example.org,rollup.example.org,unknown.example.org"},
                            ip="195.186.0.1", **{"Accept-Language": "de-CH,de;q=0.9"})  # fmt: skip
    assert (r.status_code, r.text, r.headers["access-control-allow-origin"]) == (202, "ok", "*")
    assert endpoint.DROPPED_HEADER.lower() not in r.headers
    assert await stored(instance) == [(a.id, "de", "CH", "/a"), (b.id, "de", "CH", "/a")]  # the query string dropped


async def test_what_is_dropped_gets_202_and_the_dropped_header(instance: Instance) -> None:
    site = await instance.accounts.sites.add("blog.example.org")
    await instance.accounts.sites.update_settings(site, timezone="UTC", honor_signals=True, allowed_params=(),
                                                  excluded_paths=("/a",))  # fmt: skip
    bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    for kwargs in ({"ua": bot}, {"DNT": "1"}, {"Sec-GPC": "1"}, {}):  # the last: an excluded path
        r = await instance.send(BODY, **kwargs)
        assert (r.status_code, r.headers.get(endpoint.DROPPED_HEADER)) == (202, "1"), kwargs
    r = await instance.send({**BODY, "n": "engagement", "u": "https://blog.example.org/b"})  # no visit to update
    assert r.headers.get(endpoint.DROPPED_HEADER) == "1"
    assert await stored(instance) == []
    assert (await instance.send({**BODY, "u": "https://blog.example.org/b"}, ua=CHROME_UA)).headers.get(
        endpoint.DROPPED_HEADER
    ) is None


async def test_errors_are_json_with_cors(instance: Instance) -> None:
    r = await instance.send(BODY)
    assert (r.status_code, r.json()) == (400, {"error": "domain 'blog.example.org' is not registered"})
    assert r.headers["access-control-allow-origin"] == "*"
    async with instance.client() as client:
        big = await client.post("/api/event", content=b"x", headers={"Content-Length": "99999999"})
        assert big.status_code == 413
        pre = await client.options("/api/event")
    assert pre.status_code == 204 and pre.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert pre.headers["access-control-max-age"] == "86400"


async def test_a_removed_domain_is_refused_at_once_by_every_worker(tmp_path: Path) -> None:
    """Two app instances on one data dir, as uvicorn workers are, with the clock standing still: after
    one removes the site, neither counts its domain (a 5-second cache used to keep counting it under
    the old id), and a new site starts empty with a new id."""
    data_dir = tmp_path / "data"
    async with running_app(data_dir) as first, running_app(data_dir) as second:
        old = await first.accounts.sites.add("blog.example.org")
        for app in (first, second, first):
            r = await app.send(BODY)
            assert r.status_code == 202 and endpoint.DROPPED_HEADER.lower() not in r.headers
        await second.accounts.sites.remove("blog.example.org", second.store)
        for app in (first, second):
            r = await app.send(BODY)
            assert (r.status_code, r.json()) == (400, {"error": "domain 'blog.example.org' is not registered"})
        new = await second.accounts.sites.add("blog.example.org")
        assert new.id > old.id
        assert await first.store.fetchall("SELECT site_id, COUNT(*) FROM events GROUP BY site_id") == []
        r = await first.send(BODY)
        assert r.status_code == 202 and await stored(first) == [(new.id, "", "", "/a")]


@pytest.mark.server
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_sites_remove_stops_every_uvicorn_worker_at_once(tmp_path: Path, live_server_factory: Any) -> None:
    """A real `analytics serve --workers 2` and `analytics sites remove` in another process: the next
    events, on new connections the kernel spreads over both workers, are refused, and none is stored."""
    data_dir = tmp_path / "data"
    cli("sites", "add", "blog.example.org", data_dir=data_dir)
    server = live_server_factory("--workers", "2", data_dir=data_dir)

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(base_url=server.url, headers={"User-Agent": CHROME_UA}) as c:
            return await c.post("/api/event", json=BODY)

    assert [(await post()).status_code for _ in range(8)] == [202] * 8  # both workers have the site cached
    await acli("sites", "remove", "blog.example.org", "--yes", data_dir=data_dir)
    statuses = [(await post()).status_code for _ in range(8)]
    assert statuses == [400] * 8
    with contextlib.closing(sqlite3.connect(data_dir / "analytics.db")) as conn:
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone() == (0,)
