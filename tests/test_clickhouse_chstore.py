"""The ClickHouse store on real chDB: acknowledged means stored, retention, site removal, a full queue."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.model import DAY, Event, QueueFull, SessionAttrs
from analytics.store.clickhouse.chclient import parse_url
from analytics.store.clickhouse.chstore import ClickHouseStore

T0 = int(datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp())


def event(site: int, ts: int, visitor: int = 1) -> Event:
    day = datetime.fromtimestamp(ts, UTC).date().toordinal()
    return Event(site, ts, day, visitor, None, "pageview", "example.org", "/", SessionAttrs())


def goal(site: int, ts: int, visitor: int = 1) -> Event:
    """A custom event: stored in `events` and copied to `goal_events`."""
    return dataclasses.replace(event(site, ts, visitor), name="Signup")


async def test_retention_deletes_old_events_and_visits_not_rollups(tmp_path: Path) -> None:
    store = ClickHouseStore(parse_url(f"chdb://{tmp_path / 'ch'}"), batch_ms=0)
    await store.open()
    try:
        old, new = T0 - 800 * DAY, T0
        assert await store.submit([event(1, old, 1), goal(1, old + 1, 1), event(1, new, 2), goal(1, new + 1, 2)]) == [
            True, True, True, True,
        ]  # fmt: skip
        assert await store.prune(T0, 25) == 2
        assert await store.conn.rows("SELECT ts FROM events ORDER BY ts") == [(new,), (new + 1,)]
        assert await store.conn.rows("SELECT ts FROM goal_events") == [(new + 1,)]
        assert await store.conn.rows("SELECT count() FROM sessions FINAL") == [(1,)]
        assert await store.conn.rows("SELECT sum(visits) FROM rollup_totals") == [(2,)]
        # A clock 800 days ahead is not believed: retention counts from the newest event.
        assert await store.prune(T0 + 800 * DAY, 25) == 0
        assert await store.conn.rows("SELECT count() FROM events") == [(2,)]
    finally:
        await store.close()


async def test_delete_site_empties_only_that_site(tmp_path: Path) -> None:
    store = ClickHouseStore(parse_url(f"chdb://{tmp_path / 'ch'}"), batch_ms=0)
    await store.open()
    try:
        await store.submit([event(1, T0), event(2, T0), goal(1, T0 + 1), goal(2, T0 + 1)])
        await store.delete_site(1)
        for table in ("events", "goal_events", "sessions", "rollup_totals", "rollup_pages", "rollup_sources"):
            assert await store.conn.rows(f"SELECT DISTINCT site_id FROM {table}") == [(2,)], table
        assert [k[0] for k in store.appender.groups] == [2]
    finally:
        await store.close()


async def test_a_full_queue_refuses_the_whole_request(tmp_path: Path) -> None:
    store = ClickHouseStore(parse_url(f"chdb://{tmp_path / 'ch'}"), batch_ms=0, queue_size=2)
    await store.open()
    try:
        with pytest.raises(QueueFull):
            await store.submit([event(1, T0 + i, i) for i in range(3)])
        await asyncio.sleep(0.05)
        assert await store.conn.rows("SELECT count() FROM events") == [(0,)]  # cancelled: never written
    finally:
        await store.close()


async def test_close_stores_everything_accepted(tmp_path: Path) -> None:
    url = parse_url(f"chdb://{tmp_path / 'ch'}")
    store = ClickHouseStore(url, batch_ms=50, batch_size=4)
    await store.open()
    pending = [asyncio.create_task(store.submit([event(1, T0 + i, i)])) for i in range(10)]
    await asyncio.sleep(0)
    await store.close()
    assert [await p for p in pending] == [[True]] * 10
    store = ClickHouseStore(url)
    await store.open()
    try:
        assert await store.conn.rows("SELECT count() FROM events") == [(10,)]
        assert await store.conn.rows("SELECT sum(visits) FROM rollup_totals") == [(10,)]
    finally:
        await store.close()


async def test_housekeeping_forgets_the_marks_of_visits_no_batch_can_continue(tmp_path: Path) -> None:
    url = parse_url(f"chdb://{tmp_path / 'ch'}")
    store = ClickHouseStore(url, batch_ms=0)
    await store.open()
    try:
        old, recent = T0 - 6 * DAY, T0 - 2 * DAY
        await store.submit([event(1, old, 1), event(1, recent, 2), event(1, T0, 3)])
        assert await store.forget_states(T0 + 3600) == 1
        states = "SELECT start, state != '' FROM sessions FINAL ORDER BY start"
        assert await store.conn.rows(states) == [(old, False), (recent, True), (T0, True)]
        assert await store.forget_states(T0 + 3600) == 0  # nothing left to clear: no mutation
        # A clock far ahead is not believed: the cutoff counts from the newest visit.
        assert await store.forget_states(T0 + 30 * DAY) == 0
    finally:
        await store.close()
    store = ClickHouseStore(url, batch_ms=0)
    await store.open()  # the appender takes over the recent visits, marks and all
    try:
        assert await store.submit([event(1, recent + 60, 2), event(1, T0 + 60, 3)]) == [True, True]
        assert await store.conn.rows("SELECT sum(visits), sum(pageviews) FROM rollup_totals") == [(3, 5)]
    finally:
        await store.close()
