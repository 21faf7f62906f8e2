"""Realtime reads (analytics/store/sqlite/recent.py, clickhouse/chrecent.py): window bounds, sites apart, row limits."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import Instance
from web_support import UA

from analytics.store.sqlite import recent as sql


def utc(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 3, 2, hh, mm, ss, tzinfo=UTC)


async def test_windows_are_inclusive_to_the_second_and_sites_stay_apart(any_instance: Instance) -> None:
    """On both backends, with identical answers."""
    instance = any_instance
    a = await instance.accounts.sites.add("a.example.org", "UTC")
    b = await instance.accounts.sites.add("b.example.org", "UTC")
    steps = [
        (utc(9, 0), "a.example.org", "/x", "195.186.0.1"),
        (utc(9, 1), "a.example.org", "/y", "195.186.0.1"),
        (utc(9, 2), "a.example.org", "/y", "217.0.0.1"),
        (utc(9, 2), "b.example.org", "/z", "195.186.0.1"),  # the same person on b is another visitor of b only
    ]
    for when, domain, path, ip in steps:
        instance.clock.set(when)
        body = {"n": "pageview", "u": f"https://{domain}{path}", "d": domain}
        assert (await instance.send(body, ip=ip, ua=UA["win"])).status_code == 202
    store = instance.store
    assert await store.current_visitors(a, utc(9, 0), utc(9, 2)) == 2
    assert await store.current_visitors(a, utc(9, 0, 1), utc(9, 1, 59)) == 1
    assert await store.current_visitors(a, utc(9, 3), utc(9, 8)) == 0
    assert await store.current_visitors(b, utc(9, 0), utc(9, 5)) == 1
    recent = await store.recent(a, utc(8, 50), utc(9, 5), 1)
    assert (recent.visitors, recent.pageviews) == (2, 3)
    assert recent.minutes == [(int(utc(9, m).timestamp()), 1, 1) for m in range(3)]
    assert recent.pages == [("/y", 2)]  # limit 1: the most visited page only
    assert recent.sources == [("Direct / None", 2)]
    empty = await store.recent(b, utc(10, 0), utc(10, 30), 10)
    assert (empty.visitors, empty.pageviews, empty.minutes, empty.pages, empty.sources) == (0, 0, [], [], [])


async def test_sqlite_reads_the_window_by_its_index(instance: Instance) -> None:
    a = await instance.accounts.sites.add("a.example.org", "UTC")
    # Both read the events by their clustered (site_id, ts, id) key (migration 0012), never a whole table.
    for statement in (sql.CURRENT_SQL, sql.RECENT_SQL):
        plan = await instance.store.fetchall("EXPLAIN QUERY PLAN " + statement, [a.id, 0, 1] * statement.count("e.site_id = ?") + [5] * statement.count("LIMIT ?"))
        assert any("SEARCH e USING PRIMARY KEY (site_id=? AND ts>?" in str(row[-1]) for row in plan), plan
