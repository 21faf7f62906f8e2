"""`POST /api/event` (analytics/ingest/endpoint.py): what is dropped, what one body becomes per site,
and what the answer says. Bodies are parsed in test_payload.py; no input may give a 5xx (test_fuzz.py)."""

from __future__ import annotations

from typing import Any

from conftest import CHROME_UA, Instance

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
