"""The SQLite store (analytics/store/sqlite/store.py) on real files: group commit, a full queue,
a failing event isolated from its batch, site removal, retention and closing."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from analytics.catalog import ROLLUP_KEYS
from analytics.model import DAY, Event, QueueFull, SessionAttrs, Site
from analytics.store.base import ImportPart
from analytics.store.sqlite.store import CLOCK_GRACE, SQLiteStore
from analytics.transfer.imports import columns
from analytics.transfer.layout import REPORTS_BY_NAME

T0 = int(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp())


def event(site: int, visitor: int, ts: int = T0, name: str = "pageview", **attrs: str) -> Event:
    return Event(site_id=site, ts=ts, day=ts // DAY, visitor_id=visitor, prev_visitor_id=None, name=name,
                 hostname="h.example", path="/", attrs=SessionAttrs(**attrs))  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "analytics.db", batch_ms=0)
    await s.open()
    yield s
    await s.close()


async def count(store: SQLiteStore, table: str, site: int | None = None) -> int:
    where = f" WHERE site_id = {site}" if site is not None else ""
    return int((await store.fetchall(f"SELECT COUNT(*) FROM {table}{where}"))[0][0])


async def test_concurrent_events_share_one_commit(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "analytics.db", batch_ms=50, batch_size=100)
    await store.open()
    commits: list[str] = []
    try:
        await store._writer.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)  # type: ignore[union-attr]
        results = await asyncio.gather(*(store.submit([event(1, v)]) for v in range(10)))
        assert results == [[True]] * 10
        assert len(commits) == 1  # ten requests, one group commit
        assert await store.submit([event(1, 99, name="engagement")]) == [False]  # no visit to update
    finally:
        await store.close()


async def test_a_full_queue_refuses_all_of_a_request(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "analytics.db", queue_size=2)
    await store.open()
    try:
        with pytest.raises(QueueFull):  # one request for three sites: the third does not fit
            await store.submit([event(1, 1), event(2, 1), event(3, 1)])
        await asyncio.sleep(0.05)  # the writer runs
        assert await count(store, "events") == 0  # the client was told 503: none of its events may count
        assert await store.submit([event(1, 2)]) == [True]
        assert await count(store, "events") == 1
    finally:
        await store.close()


async def test_an_event_that_cannot_be_stored_fails_alone(store: SQLiteStore) -> None:
    bad = event(1, 2, ts=2**70)  # too large for SQLite's integers
    results = await asyncio.gather(store.submit([event(1, 1)]), store.submit([bad]), store.submit([event(1, 3)]),
                                   return_exceptions=True)  # fmt: skip
    assert results[0] == [True] and results[2] == [True] and isinstance(results[1], OverflowError)
    assert await count(store, "events") == 2


async def test_removing_a_site_leaves_none_of_its_rows(store: SQLiteStore) -> None:
    await store.submit([event(1, 1, language="de", country="CH", source="Google"), event(1, 1, name="Signup")])
    await store.submit([event(2, 1, language="fr")])
    report = REPORTS_BY_NAME["visitors"]
    await store.import_rows(Site(1, "a.example", "UTC"), "a.zip",
                            [ImportPart("visitors", columns(report), [[(date(2026, 1, 1), 1, 1, 1, 1, 0)]])])  # fmt: skip
    await store.roll_days(T0 + 10 * DAY, [Site(1, "a.example", "UTC"), Site(2, "b.example", "UTC")])

    await store.delete_site(1)
    tables = ["events", "sessions", "site_imports", "imported_visitors", "rollup_days",
              *ROLLUP_KEYS, *(f"{t}_day" for t in ROLLUP_KEYS)]  # fmt: skip
    left = {t: n for t in tables if (n := await count(store, t, 1))}
    assert left == {}
    assert await count(store, "rollup_languages", 2) == 1 and await count(store, "events", 2) == 1


async def test_a_removed_sites_events_are_refused_at_write_time(tmp_path: Path, store: SQLiteStore) -> None:
    """An event checked against its site before the removal but committed after it never lands under
    the old id, whichever writer (another worker's store on the same file) commits it."""
    other_worker = SQLiteStore(tmp_path / "analytics.db")  # the fixture's file
    await other_worker.open()
    try:
        await store.submit([event(1, 1)])
        await other_worker.delete_site(1)
        assert await store.submit([event(2, 1), event(1, 2), event(2, 3)]) == [True, False, True]
        assert await other_worker.submit([event(1, 4)]) == [False]
        assert (await count(store, "events", 1), await count(store, "sessions", 1)) == (0, 0)
        assert await count(store, "rollup_pages", 1) == 0 and await count(store, "events", 2) == 2
        assert await store.fetchall("SELECT site_id FROM removed_sites") == [(1,)]
    finally:
        await other_worker.close()


async def test_events_stamped_by_a_clock_ahead_do_not_make_it_believed(
    store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    """One beacon received while the clock is 800 days ahead used to become "the newest stored event",
    and the next round emptied the rest. Such events count only once they span a week (CLOCK_GRACE):
    a clock that has run ahead, with traffic, that long is taken as right (a long downtime)."""
    await store.submit([event(1, 1, ts=T0 - 100 * DAY), event(1, 2)])
    assert await store.prune(T0, retention_months=25) == 0
    ahead = T0 + 800 * DAY
    await store.submit([event(1, 3, ts=ahead)])
    with caplog.at_level(logging.WARNING, logger="analytics"):
        assert await store.prune(ahead + 60, retention_months=25) == 0
    assert "clock is 800 days ahead of the newest stored event" in caplog.text
    assert await store.fetchall("SELECT trusted FROM clock_mark") == [(T0 + DAY,)]
    assert await store.prune(T0 + 120, retention_months=25) == 0  # the clock is back: believed at once
    await store.submit([event(1, 4, ts=ahead + 6 * DAY)])
    assert await store.prune(ahead + 6 * DAY, retention_months=25) == 0  # six days ahead with traffic
    await store.submit([event(1, 5, ts=ahead + CLOCK_GRACE)])
    assert await store.prune(ahead + CLOCK_GRACE, retention_months=25) == 2  # a week: believed
    assert await count(store, "events") == 3


async def test_prune_keeps_rollups(store: SQLiteStore) -> None:
    await store.submit([event(1, 1, ts=T0 - 800 * DAY)])
    await store.submit([event(1, 2)])
    assert await store.prune(T0, retention_months=25) == 1
    assert (await count(store, "events"), await count(store, "sessions")) == (1, 1)
    assert await store.fetchall("SELECT SUM(visits) FROM rollup_totals") == [(2,)]


async def test_closing_commits_everything_accepted(tmp_path: Path) -> None:
    db = tmp_path / "analytics.db"
    store = SQLiteStore(db, batch_ms=20)
    await store.open()
    pending = [asyncio.create_task(store.submit([event(1, v)])) for v in range(5)]
    await asyncio.sleep(0)
    await store.close()
    assert [t.result() for t in pending] == [[True]] * 5
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone() == (5,)
    conn.close()


async def test_write_runs_a_job_between_batches_and_rolls_back_on_error(store: SQLiteStore) -> None:
    async def insert_then_fail(conn: Any) -> None:
        await conn.execute("INSERT INTO strings (value) VALUES ('kept?')")
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await store.write(insert_then_fail)
    assert await store.fetchall("SELECT COUNT(*) FROM strings WHERE value = 'kept?'") == [(0,)]
    assert await store.checkpoint() is True


async def test_prune_deletes_nothing_newer_than_the_newest_event_allows(
    store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A clock 800 days ahead would have emptied the events; retention counts from the newest event instead."""
    await store.submit([event(1, 1, ts=T0 - 800 * DAY)])
    await store.submit([event(1, 2), event(2, 3, ts=T0 - 40 * DAY)])
    with caplog.at_level(logging.WARNING, logger="analytics"):
        assert await store.prune(T0 + 800 * DAY, retention_months=25) == 1  # only the one 25 months before T0
    assert await count(store, "events") == 2
    assert "clock is 800 days ahead of the newest stored event" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="analytics"):
        assert await store.prune(T0 + DAY - 1, retention_months=1) == 1  # within a day: the clock is trusted
    assert caplog.text == "" and await count(store, "events") == 1
