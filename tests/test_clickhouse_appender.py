"""The ClickHouse write path on real chDB: events, versioned visits and rollup deltas, across a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from analytics.model import Event, SessionAttrs
from analytics.store.clickhouse.appender import text_id
from analytics.store.clickhouse.chclient import parse_url
from analytics.store.clickhouse.chstore import ClickHouseStore

T0 = int(datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp())
DAY = datetime(2026, 3, 2).toordinal()


def event(ts: int, path: str, name: str = "pageview", visitor: int = 42, **extra: object) -> Event:
    return Event(1, ts, DAY, visitor, None, name, "blog.example.org", path,
                 SessionAttrs(source="Google", country="CH"), **extra)  # type: ignore[arg-type]  # fmt: skip


def test_text_ids_are_stable_63_bit_hashes() -> None:
    assert text_id("") == 0
    assert text_id("/posts/a") == text_id("/posts/a") != text_id("/posts/b")
    assert 0 < text_id("/posts/a") < 2**63


async def test_a_visit_continues_across_a_restart_and_counts_once(tmp_path: Path) -> None:
    url = parse_url(f"chdb://{tmp_path / 'ch'}")
    store = ClickHouseStore(url, batch_ms=0)
    await store.open()
    assert await store.submit([event(T0, "/posts/a")]) == [True]
    assert await store.submit([event(T0 + 30, "/posts/a", "engagement", engaged_ms=5000, scroll_depth=50)]) == [True]
    await store.close()

    store = ClickHouseStore(url, batch_ms=0)
    await store.open()  # reads the open visit back, with its page marks
    try:
        assert await store.submit([event(T0 + 600, "/posts/b"), event(T0 + 660, "/posts/a", "engagement",
                                   engaged_ms=1000, scroll_depth=80)]) == [True, True]  # fmt: skip
        assert await store.submit([event(T0 + 5, "/x", "engagement", visitor=7, engaged_ms=1)]) == [False]
        conn = store.conn
        assert await conn.rows("SELECT count(), uniqExact(session_id) FROM events") == [(4, 1)]
        visit = await conn.rows(
            "SELECT id, pageviews, entry_page, exit_page, last_action - start, source FROM sessions FINAL"
        )
        assert visit == [(1, 2, "/posts/a", "/posts/b", 600, "Google")]
        assert await conn.rows("SELECT count() FROM sessions") == [(3,)]  # three versions appended
        totals = await conn.rows(
            "SELECT sum(visitors), sum(visits), sum(bounces), sum(duration), sum(pageviews) FROM rollup_totals"
        )
        assert totals == [(1, 1, 0, 600, 2)]
        # The deepest scroll on /posts/a raised from 50 to 80, once per visit; engaged time adds up.
        pages = await conn.rows(
            "SELECT page, sum(visitors), sum(visits), sum(pageviews), sum(time_total), sum(scroll_total),"
            " sum(scroll_visits) FROM rollup_pages GROUP BY page ORDER BY page"
        )
        assert pages == [("/posts/a", 1, 1, 1, 6000, 80, 1), ("/posts/b", 1, 1, 1, 0, 0, 0)]
        sources = await conn.rows("SELECT source, sum(visits), sum(v_source) FROM rollup_sources GROUP BY source")
        assert sources == [("Google", 1, 1)]
    finally:
        await store.close()


async def test_reads_are_marked_on_the_event_the_visit_and_the_rollups(tmp_path: Path) -> None:
    url = parse_url(f"chdb://{tmp_path / 'ch'}")
    store = ClickHouseStore(url, batch_ms=0)
    await store.open()
    # A 460-word page needs 75 % scroll and max(10 s, 30 % of 2 min) = 36 s engaged.
    assert await store.submit([
        event(T0, "/posts/a"),
        event(T0 + 20, "/posts/a", "engagement", engaged_ms=20_000, scroll_depth=90, words=460),
    ]) == [True, True]  # fmt: skip
    await store.close()

    store = ClickHouseStore(url, batch_ms=0)
    await store.open()  # the visit's reading so far (20 s on /posts/a) comes back with it
    try:
        assert await store.submit([
            event(T0 + 40, "/posts/a", "engagement", engaged_ms=16_000, scroll_depth=95, words=460),
            event(T0 + 60, "/posts/a", "engagement", engaged_ms=5_000, scroll_depth=100, words=460),
            event(T0 + 70, "/posts/b"),
            event(T0 + 80, "/posts/b", "engagement", engaged_ms=9_000, scroll_depth=100),
        ]) == [True] * 4  # fmt: skip
        conn = store.conn
        # Only the engagement that crossed both thresholds is marked; a read counts once per pageview.
        marked = await conn.rows("SELECT ts - {t:Int64}, page, words, read FROM events"
                                 " WHERE name = 'engagement' ORDER BY ts", {"t": T0})  # fmt: skip
        assert marked == [(20, "/posts/a", 460, 0), (40, "/posts/a", 460, 1), (60, "/posts/a", 460, 0),
                          (80, "/posts/b", None, 0)]  # fmt: skip
        assert await conn.rows("SELECT pageviews, reads FROM sessions FINAL") == [(2, 1)]
        totals = await conn.rows("SELECT sum(pageviews), sum(reads), sum(readers) FROM rollup_totals")
        assert totals == [(2, 1, 1)]
        pages = await conn.rows("SELECT page, sum(reads), sum(readers) FROM rollup_pages GROUP BY page ORDER BY page")
        assert pages == [("/posts/a", 1, 1), ("/posts/b", 0, 0)]
        sources = await conn.rows(
            "SELECT source, sum(reads), sum(readers), sum(r_source), sum(r_channel) FROM rollup_sources GROUP BY source"
        )
        assert sources == [("Google", 1, 1, 1, 1)]
    finally:
        await store.close()


async def test_two_collectors_on_one_server_continue_each_others_visits(tmp_path: Path) -> None:
    """Two stores on one ClickHouse server (over HTTP, tests/clickhouse_http.py), one visitor's events alternating:
    each batch reads its visitors' newest visits first, so it is one visit, counted once, in rollups and rows."""
    from clickhouse_http import ClickHouseProcess

    server = ClickHouseProcess(tmp_path / "clickhouse").start()
    a = ClickHouseStore(parse_url(server.url()), batch_ms=0)
    b = ClickHouseStore(parse_url(server.url()), batch_ms=0)
    try:
        await a.open()
        await b.open()
        assert a.appender.node != b.appender.node  # their own visit id ranges
        assert await a.submit([event(T0, "/posts/a")]) == [True]
        assert await b.submit([event(T0 + 30, "/posts/a", "engagement", engaged_ms=5000, scroll_depth=50)]) == [True]
        assert await a.submit([event(T0 + 600, "/posts/b")]) == [True]
        assert await b.submit([event(T0 + 660, "/posts/b", "engagement", engaged_ms=1000, scroll_depth=80)]) == [True]
        conn = a.conn
        assert await conn.rows("SELECT count(), uniqExact(session_id) FROM events") == [(4, 1)]
        visit = await conn.rows("SELECT pageviews, entry_page, exit_page, last_action - start FROM sessions FINAL")
        assert visit == [(2, "/posts/a", "/posts/b", 600)]
        totals = await conn.rows(
            "SELECT sum(visitors), sum(visits), sum(bounces), sum(duration), sum(pageviews) FROM rollup_totals"
        )
        assert totals == [(1, 1, 0, 600, 2)]
        pages = await conn.rows(
            "SELECT page, sum(visitors), sum(pageviews), sum(time_total), sum(scroll_total) FROM rollup_pages"
            " GROUP BY page ORDER BY page"
        )
        assert pages == [("/posts/a", 1, 1, 5000, 50), ("/posts/b", 1, 1, 1000, 80)]
    finally:
        await a.close()
        await b.close()
        server.stop()
