"""Realtime reads on ClickHouse (analytics/store/clickhouse/chrecent.py).

The window rules are checked on both backends in test_recent.py; here, what is
particular to ClickHouse: a visit's source is read from its newest version.
"""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import Instance
from web_support import UA

from analytics.store.clickhouse import chrecent


async def test_sources_come_from_the_newest_version_of_each_visit(any_instance: Instance, backend: str) -> None:
    instance = any_instance
    a = await instance.accounts.sites.add("a.example.org", "UTC")
    for minute in range(4):  # one visit, written four times: four versions of its row on ClickHouse
        instance.clock.set(datetime(2026, 3, 2, 9, minute, tzinfo=UTC))
        body = {
            "n": "pageview",
            "u": f"https://a.example.org/p{minute}",
            "d": "a.example.org",
            "r": "https://www.linkedin.com/",
        }
        assert (await instance.send(body, ip="195.186.0.1", ua=UA["win"])).status_code == 202
    recent = await instance.store.recent(
        a, datetime(2026, 3, 2, 9, 0, tzinfo=UTC), datetime(2026, 3, 2, 9, 5, tzinfo=UTC), 10
    )
    assert (recent.visitors, recent.pageviews, recent.sources) == (1, 4, [("LinkedIn", 1)])
    assert recent.pages == [("/p0", 1), ("/p1", 1), ("/p2", 1), ("/p3", 1)]
    if backend == "chdb":  # the module itself, on the store's connection: one visitor despite four versions
        window = (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), datetime(2026, 3, 2, 9, 5, tzinfo=UTC))
        assert await chrecent.current_visitors(instance.store.conn, a.id, *window) == 1


async def test_the_visits_of_a_window_are_read_from_its_events_only() -> None:
    # The sessions table is filtered by the site and by the window's own events: no scan of every visit.
    assert "id IN (SELECT session_id FROM events WHERE site_id" in chrecent._VISITS
