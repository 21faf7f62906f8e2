"""The SQLite write path: a bulk load writes exactly what the ingest queue writes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from analytics.catalog import ROLLUP_KEYS, SESSION_ATTRS, TEXT_ATTRS
from analytics.model import Event, SessionAttrs
from analytics.store.sqlite import write
from analytics.store.sqlite.store import SQLiteStore
from analytics.visits.rollups import Deltas, link_url
from analytics.visits.sessions import TIMEOUT

DAY0 = 20_000 * 86400  # a UTC midnight
LINKEDIN = SessionAttrs(channel="Organic Social", source="LinkedIn", referrer="linkedin.com", country="CH",
                        device="Mobile", browser="Safari", browser_version="18", os="iOS", os_version="18.1",
                        screen="Mobile")  # fmt: skip
GOOGLE = SessionAttrs(channel="Organic Search", source="Google", utm_campaign="spring", country="DE",
                      device="Desktop", browser="Firefox", browser_version="133", screen="Laptop")  # fmt: skip


def ev(site: int, ts: int, visitor: int, name: str = "pageview", path: str = "/", attrs: SessionAttrs = GOOGLE,
       prev: int | None = None, **kw: Any) -> Event:  # fmt: skip
    return Event(site_id=site, ts=ts, day=ts // 86400, visitor_id=visitor, prev_visitor_id=prev, name=name,
                 hostname=f"site{site}.example", path=path, attrs=attrs, **kw)  # fmt: skip


def traffic() -> list[Event]:
    """Two sites, two days: visits of several pages, goals, engagement, a visit across midnight."""
    t = DAY0 + 9 * 3600
    out = [
        ev(1, t, 1, path="/a", attrs=LINKEDIN), ev(1, t + 20, 1, "engagement", "/a", scroll_depth=40, engaged_ms=900),
        ev(1, t + 30, 1, path="/b"), ev(1, t + 35, 1, "Outbound Link: Click", "/b", props=(("url", "https://x.example/ü"),)),
        ev(1, t + 40, 1, "engagement", "/b", scroll_depth=80, engaged_ms=3000),
        ev(1, t + 50, 1, "engagement", "/b", scroll_depth=60, engaged_ms=500),
        ev(1, t + 60, 2, "engagement", "/a", engaged_ms=5),  # no visit to update: dropped
        ev(1, t + 70, 2, path="/a"),
        ev(1, t + 80, 2, "Purchase", "/a", revenue=(12.5, "EUR"), props=(("plan", "pro"),)),
        ev(1, t + 90, 2, "Video Play", "/a", interactive=False),
        # Visitor 1 returns: a second visit that day, from Google.
        ev(1, t + 3 * TIMEOUT, 1, path="/b"), ev(1, t + 3 * TIMEOUT + 5, 1, path="/c"),
        ev(2, t + 100, 1, path="/a"), ev(2, t + 200, 3, path="/", attrs=LINKEDIN),
        ev(1, t + 3 * TIMEOUT + 9, 1, "File Download", "/c", props=(("url", "https://site1.example/f.pdf"),)),
        # Across midnight: today's id 9, yesterday's 4 continues the visit.
        ev(1, DAY0 + 86400 - 120, 4, path="/late"), ev(1, DAY0 + 86400 + 60, 9, path="/later", prev=4),
        ev(1, DAY0 + 86400 + 90, 9, "engagement", "/later", prev=4, scroll_depth=100, engaged_ms=7000),
        ev(1, DAY0 + 86400 + 4000, 9, path="/", prev=4),
    ]
    return sorted(out, key=lambda e: e.ts)


def dump(db: Path) -> dict[str, Any]:
    """Everything the write path wrote, ids resolved to strings, visits keyed by visitor and start."""
    conn = sqlite3.connect(db)
    s = dict(conn.execute("SELECT id, value FROM strings").fetchall())
    interned = [c not in TEXT_ATTRS for c in SESSION_ATTRS]
    sessions = {}
    # A visit's marks live in visit_state (migration 0011).
    visits = "SELECT s.*, v.state FROM sessions s LEFT JOIN visit_state v ON v.id = s.id"
    for row in conn.execute(f"{visits} ORDER BY site_id, visitor_id, start"):
        cols = [d[0] for d in conn.execute(f"{visits} LIMIT 0").description]
        v = dict(zip(cols, row, strict=True))
        attrs = tuple(s[v[a]] if i else v[a] for a, i in zip(SESSION_ATTRS, interned, strict=True))
        state = json.loads(v["state"])
        pages = {s[int(p)]: m for p, m in state["p"].items()}
        sessions[(v["site_id"], v["visitor_id"], v["start"])] = (
            v["day"], v["last"], v["last_action"], s[v["entry_page"]], s[v["exit_page"]], v["pageviews"],
            v["events"], v["interactive"], attrs, pages, len(state["s"]),
        )  # fmt: skip
    events = [
        (r[0], r[1], r[2], s[r[3]], s[r[4]], s[r[5]], *r[6:])
        for r in conn.execute(
            "SELECT e.site_id, s.visitor_id, e.ts, e.name, e.hostname, e.page, e.props, e.scroll_depth, e.engaged_ms,"
            " e.interactive, e.revenue, e.currency FROM events e JOIN sessions s ON s.id = e.session_id ORDER BY e.id"
        )
    ]
    rollups = {}
    for table, keys in ROLLUP_KEYS.items():
        width = 2 + len(keys)
        rows = {}
        for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
            cols = [d[0] for d in conn.execute(f"SELECT * FROM {table} LIMIT 0").description]
            named = dict(zip(cols, r, strict=True))
            key = tuple(named[c] if c in TEXT_ATTRS or c in ("site_id", "bucket") else s[named[c]]
                        for c in ("site_id", "bucket", *keys))  # fmt: skip
            counters = {c: v for c, v in list(named.items())[width:] if v}
            if counters:
                rows[key] = counters
        rollups[table] = rows
    conn.close()
    return {"sessions": sessions, "events": events, "rollups": rollups}


def with_store(db: Path, job: Callable[[SQLiteStore], Awaitable[None]]) -> None:
    async def run() -> None:
        store = SQLiteStore(db, batch_size=3)  # small batches: visits continue across transactions
        await store.open()
        try:
            await job(store)
        finally:
            await store.close()

    asyncio.run(run())


def queued(db: Path, events: list[Event]) -> list[bool]:
    stored: list[bool] = []

    async def job(store: SQLiteStore) -> None:
        for e in events:  # one at a time, in order, as separate requests would arrive
            stored.extend(await store.submit([e]))

    with_store(db, job)
    return stored


def bulk(db: Path, *batches: list[Event]) -> int:
    stored = 0

    async def job(store: SQLiteStore) -> None:
        nonlocal stored
        async with store.bulk() as load:
            for batch in batches:
                stored += await load.write(batch)

    with_store(db, job)
    return stored


def test_bulk_load_writes_what_the_queue_writes(tmp_path: Path) -> None:
    events = traffic()
    stored = queued(tmp_path / "q.db", events)
    assert stored.count(False) == 1  # the engagement without a visit
    assert bulk(tmp_path / "b.db", events[:7], events[7:8], events[8:]) == len(events) - 1
    expected = dump(tmp_path / "q.db")
    assert dump(tmp_path / "b.db") == expected
    assert len(expected["sessions"]) == 7
    # 09:00 on site 1: visitor 1 (2 pages, a click at +35 s) and visitor 2 (a purchase: no bounce).
    assert expected["rollups"]["rollup_totals"][(1, (DAY0 + 9 * 3600) // 900)] == {
        "visitors": 2, "visits": 2, "pageviews": 3, "duration": 35 + 20, "events": 3, "time_total": 4400,
        "time_visits": 2, "scroll_total": 40 + 80, "scroll_visits": 2,
    }  # fmt: skip
    # Visitor 1's second visit that day: a visit, not another visitor.
    assert expected["rollups"]["rollup_totals"][(1, (DAY0 + 9 * 3600 + 3 * TIMEOUT) // 900)] == {
        "visits": 1, "pageviews": 2, "duration": 9, "events": 1,
    }  # fmt: skip


def test_bulk_load_continues_visits_already_in_the_database(tmp_path: Path) -> None:
    events = traffic()
    queued(tmp_path / "q.db", events)
    queued(tmp_path / "b.db", events[:9])
    bulk(tmp_path / "b.db", events[9:13], events[13:])
    assert dump(tmp_path / "b.db") == dump(tmp_path / "q.db")


def test_a_failed_bulk_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    events = traffic()
    reference = queued(tmp_path / "q.db", events)
    assert reference.count(True) == len(events) - 1
    broken = [ev(1, events[9].ts + 1, 1, path="/x"), ev(1, 2**70, 5)]  # the second cannot be stored

    async def job(store: SQLiteStore) -> None:
        async with store.bulk() as load:
            await load.write(events[:9])
            with pytest.raises(OverflowError):
                await load.write(broken)  # continued visitor 1's visit in memory, then rolled back
            await load.write(events[9:])

    with_store(tmp_path / "b.db", job)
    assert dump(tmp_path / "b.db") == dump(tmp_path / "q.db")


def test_link_goals_keep_the_url_they_lead_to() -> None:
    click = ev(1, DAY0, 1, "Outbound Link: Click", props=(("url", "https://x.example/"), ("a", "b")))
    assert link_url(click) == "https://x.example/"
    assert link_url(ev(1, DAY0, 1, "File Download", props=(("url", "/f.pdf"),))) == "/f.pdf"
    assert link_url(ev(1, DAY0, 1, "Signup", props=(("url", "https://x.example/"),))) == ""
    assert link_url(ev(1, DAY0, 1, "Outbound Link: Click")) == ""


def test_a_bulk_load_relaxes_syncing_and_restores_it(tmp_path: Path) -> None:
    async def pragmas(store: SQLiteStore) -> tuple[int, ...]:
        async def read(conn: Any) -> tuple[int, ...]:
            out = []
            for name in ("synchronous", "cache_size", "wal_autocheckpoint"):
                async with conn.execute(f"PRAGMA {name}") as cur:
                    row = await cur.fetchone()
                out.append(row[0])
            return tuple(out)

        return await store.write(read, transaction=False)

    seen = []

    async def job(store: SQLiteStore) -> None:
        seen.append(await pragmas(store))
        async with store.bulk():
            seen.append(await pragmas(store))
        seen.append(await pragmas(store))

    with_store(tmp_path / "a.db", job)
    assert seen == [(2, -8000, 1000), (1, -65536, 16384), (2, -8000, 1000)]  # FULL, NORMAL, FULL


def test_rollup_rows_that_sum_to_nothing_are_not_written(tmp_path: Path) -> None:
    deltas = Deltas()  # device and screen are string ids, as the writer interns them
    deltas.row("rollup_devices", (1, 100, 3, 4))[1] += 1  # visits
    row = deltas.row("rollup_devices", (1, 100, 5, 6))
    row[1] += 1
    row[1] -= 1  # a visit taken back and not added again

    async def job(store: SQLiteStore) -> None:
        await store.write(lambda conn: write.write_deltas(conn, deltas))
        await store.write(lambda conn: write.write_deltas(conn, deltas))  # upserts add up

    with_store(tmp_path / "a.db", job)
    conn = sqlite3.connect(tmp_path / "a.db")
    rows = conn.execute("SELECT site_id, bucket, device, screen, visits, visitors FROM rollup_devices").fetchall()
    conn.close()
    assert rows == [(1, 100, 3, 4, 2, 0)]


def test_marks_of_visits_past_the_horizon_are_forgotten_by_housekeeping(tmp_path: Path) -> None:
    """Only visits a batch may still load keep their marks (visit_state); stats never read them."""
    db = tmp_path / "analytics.db"
    old, new = DAY0 + 600, DAY0 + 4 * 86400 + 600

    async def job(store: SQLiteStore) -> None:
        assert await store.submit([ev(1, old, 1, path="/a")]) == [True]
        later = [ev(1, new, 2, path="/b"), ev(1, new + 5, 2, "engagement", "/b", engaged_ms=9)]
        assert await store.submit(later) == [True, True]
        await store.prune(new + 60, 25)

    with_store(db, job)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (2,)
    (state,) = conn.execute("SELECT v.state FROM visit_state v JOIN sessions s ON s.id = v.id").fetchall()
    assert json.loads(state[0])["p"] and conn.execute("SELECT COUNT(*) FROM visit_state").fetchone() == (1,)
    conn.close()


def test_a_visit_whose_marks_were_forgotten_loads_with_none(tmp_path: Path) -> None:
    """A batch that still finds such a visit (a clock set back) reads it with empty marks, never fails."""
    db = tmp_path / "analytics.db"

    async def first(store: SQLiteStore) -> None:
        assert await store.submit([ev(1, DAY0 + 600, 1, path="/a")]) == [True]

    async def again(store: SQLiteStore) -> None:
        assert await store.submit([ev(1, DAY0 + 700, 1, path="/b")]) == [True]

    with_store(db, first)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM visit_state")
    conn.commit()
    conn.close()
    with_store(db, again)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT pageviews, exit_page != entry_page FROM sessions").fetchall() == [(2, 1)]
    assert conn.execute("SELECT COUNT(*) FROM visit_state").fetchone() == (1,)
    conn.close()
