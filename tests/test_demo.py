"""The demo generator: exact counts, the same rows as the ingest queue, rollups == raw, seeds."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import cli

from analytics.accounts import Accounts
from analytics.catalog import ROLLUP_KEYS, SESSION_ATTRS, TEXT_ATTRS
from analytics.devtools import demo
from analytics.model import Event, SessionAttrs, Site
from analytics.stats import run as stats_run
from analytics.stats.dates import local_day
from analytics.stats.parse import parse
from analytics.stats.plan import plan
from analytics.store.sqlite.store import SQLiteStore
from analytics.store.sqlite.write import HORIZON, SESSION_COLS

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DOMAIN = "blog.example.org"
_ATTRS = SESSION_ATTRS
# The writer's visit columns, without the row's own ids: visits compare by visitor and start.
_SESSION_COLS = tuple(c for c in SESSION_COLS if c not in ("id", "site_id"))
_EVENT_COLS = ("ts", "name", "hostname", "page", "props", "scroll_depth", "engaged_ms", "interactive", "revenue",
               "currency")  # fmt: skip


def _generate(
    tmp_path: Path, events: int, days: int, seed: int = 1, name: str = "a", tz: str = demo.DEFAULT_TIMEZONE
) -> Path:
    db = tmp_path / name / "analytics.db"
    result = demo.generate(db, DOMAIN, events, days, seed=seed, now=NOW.timestamp(), timezone=tz, progress=False)
    assert result.events == events
    return db


async def _open(db: Path) -> tuple[Site, SQLiteStore]:
    """The demo site and its store, open."""
    async with Accounts.in_dir(db.parent) as accounts:
        site = await accounts.sites.get(DOMAIN)
    store = SQLiteStore(db, readers=1)
    await store.open()
    return site, store


def _strings(conn: sqlite3.Connection) -> dict[int, str]:
    return dict(conn.execute("SELECT id, value FROM strings").fetchall())


def _rollups(db: Path) -> dict[str, dict[tuple[Any, ...], tuple[int, ...]]]:
    """Every rollup table with ids resolved to strings; rows whose counters are all 0 left out."""
    conn = sqlite3.connect(db)
    s = _strings(conn)
    out: dict[str, dict[tuple[Any, ...], tuple[int, ...]]] = {}
    for table, keys in ROLLUP_KEYS.items():
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        sums = [c for c in cols if c not in ("site_id", "bucket", *keys)]
        rows: dict[tuple[Any, ...], tuple[int, ...]] = {}
        for row in conn.execute(f"SELECT bucket, {', '.join(keys) or '0'}, {', '.join(sums)} FROM {table}"):
            nk = max(1, len(keys))
            key = (row[0], *(k if c in TEXT_ATTRS else s.get(k, k) for c, k in zip(keys, row[1 : 1 + nk], strict=False)))
            values = tuple(row[1 + nk :])
            if any(values):
                rows[key] = values
        out[table] = rows
    conn.close()
    return out


def _sessions(db: Path) -> dict[tuple[int, int], tuple[Any, ...]]:
    """Sessions by (visitor, start), strings resolved, the state's page and goal ids too."""
    conn = sqlite3.connect(db)
    s = _strings(conn)

    def name(i: Any, col: str) -> Any:
        return s[i] if col in ("entry_page", "exit_page") or (col in SESSION_ATTRS and col not in TEXT_ATTRS) else i

    def mark(text: str) -> str:
        ids, day = text[1:].split("@")
        return text[0] + ":".join(s[int(x)] for x in ids.split(":")) + "@" + day

    out = {}
    # Marks live in visit_state (migration 0011); a bulk load forgets those of visits past the horizon.
    cols = ", ".join(f"x.{c}" for c in _SESSION_COLS)
    for row in conn.execute(f"SELECT {cols}, v.state FROM sessions x LEFT JOIN visit_state v ON v.id = x.id"):
        values: list[Any] = [name(v, c) for c, v in zip(_SESSION_COLS, row, strict=False)]
        if row[-1] is not None:
            state = json.loads(row[-1])
            values.append(({s[int(p)]: m for p, m in state["p"].items()}, sorted(mark(x) for x in state["s"])))
        else:
            values.append(None)
        out[(row[0], row[1])] = tuple(values)
    conn.close()
    return out


def _same_visits(bulk: dict[tuple[int, int], tuple[Any, ...]], ref: dict[tuple[int, int], tuple[Any, ...]]) -> None:
    """Equal visits; marks equal where the bulk load kept them, and kept for every visit of its last two days."""
    assert bulk.keys() == ref.keys()
    latest = max((start for _, start in bulk), default=0)
    for key, values in bulk.items():
        assert values[:-1] == ref[key][:-1], key
        if values[-1] is not None:
            assert values[-1] == ref[key][-1], key
        else:
            assert key[1] < latest - HORIZON, key


def _events(db: Path) -> list[tuple[Any, ...]]:
    """Event rows in id order, strings resolved, each with its visit's (visitor, start) instead of its id."""
    conn = sqlite3.connect(db)
    s = _strings(conn)
    cols = ", ".join(f"e.{c}" for c in _EVENT_COLS)
    rows = conn.execute(
        f"SELECT s.visitor_id, s.start, {cols} FROM events e JOIN sessions s ON s.id = e.session_id ORDER BY e.id"
    ).fetchall()
    conn.close()
    return [(*r[:3], s[r[3]], s[r[4]], s[r[5]], *r[6:]) for r in rows]


def _events_as_ingest_input(db: Path, site_id: int, tz: str) -> list[Event]:
    """The demo's events as the collector would have handed them to the store, in arrival order."""
    conn = sqlite3.connect(db)
    s = _strings(conn)
    attr_cols = ", ".join(f"s.{a}" for a in _ATTRS)
    rows = conn.execute(
        "SELECT e.ts, s.visitor_id, e.name, e.hostname, e.page, e.props, e.interactive, e.scroll_depth,"
        f" e.engaged_ms, e.words, {attr_cols} FROM events e JOIN sessions s ON s.id = e.session_id ORDER BY e.ts, e.id"
    ).fetchall()
    conn.close()
    events = []
    for ts, visitor, name, host, page, props, interactive, sd, ems, words, *attrs in rows:
        values = {a: (v if a in TEXT_ATTRS else s[v]) for a, v in zip(_ATTRS, attrs, strict=True)}
        events.append(
            Event(
                site_id=site_id, ts=ts, visitor_id=visitor, prev_visitor_id=None, name=s[name], hostname=s[host],
                path=s[page], attrs=SessionAttrs(**values), day=local_day(ts, tz),
                props=tuple(json.loads(props).items()) if props else (), interactive=bool(interactive),
                scroll_depth=sd, engaged_ms=ems, words=words,
            )
        )  # fmt: skip
    return events


def test_exact_event_counts(tmp_path: Path) -> None:
    for n, days in ((0, 1), (1, 1), (999, 2), (12_345, 7)):
        db = _generate(tmp_path, n, days, name=f"n{n}")
        conn = sqlite3.connect(db)
        (events,) = conn.execute("SELECT COUNT(*) FROM events").fetchone()
        (pageviews,) = conn.execute(
            "SELECT COUNT(*) FROM events WHERE name = (SELECT id FROM strings WHERE value = 'pageview')"
        ).fetchone()
        (session_pv, sessions) = conn.execute("SELECT COALESCE(SUM(pageviews), 0), COUNT(*) FROM sessions").fetchone()
        (orphans,) = conn.execute(
            "SELECT COUNT(*) FROM events WHERE session_id NOT IN (SELECT id FROM sessions)"
        ).fetchone()
        (rollup_pv,) = conn.execute("SELECT COALESCE(SUM(pageviews), 0) FROM rollup_totals").fetchone()
        (first, last) = conn.execute("SELECT MIN(ts), MAX(ts) FROM events").fetchone()
        conn.close()
        assert events == n
        assert pageviews == session_pv == rollup_pv
        assert orphans == 0
        assert (sessions > 0) == (n > 0)
        if n:
            assert NOW.timestamp() - days * 86400 <= first <= last < NOW.timestamp()


# Half-hour zones too: a visitor's day ends at the next UTC or local midnight. Small chunks: visits
# continue across the bulk load's transactions, from memory.
@pytest.mark.parametrize(("tz", "chunk"), [(demo.DEFAULT_TIMEZONE, demo.CHUNK), ("Asia/Kolkata", 500),
                                           ("America/St_Johns", demo.CHUNK)])  # fmt: skip
def test_demo_rows_equal_the_same_events_through_the_queue(
    tmp_path: Path, tz: str, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "CHUNK", chunk)
    db = _generate(tmp_path, 4000, 3, seed=5, tz=tz)
    conn = sqlite3.connect(db.parent / "accounts.db")
    (site_id,) = conn.execute("SELECT id FROM sites").fetchone()
    conn.close()
    events = _events_as_ingest_input(db, site_id, tz)
    ref = tmp_path / "ingest" / "analytics.db"

    async def ingest() -> None:
        async with Accounts.in_dir(ref.parent) as accounts:
            site = await accounts.sites.add(DOMAIN, tz)
        store = SQLiteStore(ref, queue_size=len(events) + 1, batch_size=256)
        await store.open()
        try:
            assert site.id == site_id
            assert all(await store.submit(events))
        finally:
            await store.close()

    asyncio.run(ingest())
    _same_visits(_sessions(db), _sessions(ref))
    assert _events(db) == _events(ref)
    expected, actual = _rollups(ref), _rollups(db)
    for table in ROLLUP_KEYS:
        assert actual[table] == expected[table], table


QUERIES: list[dict[str, Any]] = [
    {"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events",
                 "time_on_page", "scroll_depth"]},
    {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"], "dimensions": ["time:day"]},
    {"metrics": ["visitors", "visits", "pageviews", "time_on_page", "scroll_depth"], "dimensions": ["event:page"]},
    {"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"], "dimensions": ["visit:entry_page"]},
    {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:exit_page"]},
    {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"], "dimensions": ["visit:source"]},
    {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:channel", "time:day"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:utm_campaign"]},
    {"metrics": ["visitors", "visits", "pageviews"], "dimensions": ["visit:country"]},
    {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:browser"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:browser_version"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:os"]},
    {"metrics": ["visitors", "visits", "percentage"], "dimensions": ["visit:device"]},
    {"metrics": ["visitors", "events"], "dimensions": ["event:goal"]},
    {"metrics": ["reads", "read_rate", "readers"]},
    {"metrics": ["reads", "read_rate", "readers"], "dimensions": ["time:day"]},
    {"metrics": ["pageviews", "reads", "read_rate", "readers"], "dimensions": ["event:page"]},
    {"metrics": ["visitors", "readers", "reads"], "dimensions": ["visit:source"]},
    {"metrics": ["visitors", "readers"], "dimensions": ["visit:channel", "time:day"]},
    {"metrics": ["readers", "reads"], "dimensions": ["visit:utm_medium"]},
    {"metrics": ["readers", "reads"], "dimensions": ["visit:entry_page"]},
]  # fmt: skip


@pytest.mark.parametrize("date_range", ["30d", "day", "12mo"])
def test_rollup_plan_equals_raw_plan(tmp_path: Path, date_range: str) -> None:
    db = _generate(tmp_path, 20_000, 35, seed=3)

    async def check() -> None:
        site, store = await _open(db)
        try:
            for body in QUERIES:
                q = parse({**body, "date_range": date_range, "site_id": DOMAIN}, site, NOW)
                assert plan(q).rollup is not None, body
                fast = await stats_run.run(store, q)
                raw = await stats_run.run(store, q, raw=True)
                assert fast.rows == raw.rows, body
                assert fast.rows, body
        finally:
            await store.close()

    asyncio.run(check())


def _dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(db)
    tables = ("events", "sessions", *ROLLUP_KEYS)
    out = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall() for t in tables}
    conn.close()
    return out


def test_same_seed_same_rows(tmp_path: Path) -> None:
    a = _dump(_generate(tmp_path, 3000, 4, seed=9, name="a"))
    b = _dump(_generate(tmp_path, 3000, 4, seed=9, name="b"))
    c = _dump(_generate(tmp_path, 3000, 4, seed=10, name="c"))
    assert a == b
    assert a["events"] != c["events"]


def test_realistic_mix(tmp_path: Path) -> None:
    db = _generate(tmp_path, 30_000, 14)
    conn = sqlite3.connect(db)
    s = _strings(conn)
    sessions = conn.execute("SELECT source, country, device, pageviews, interactive FROM sessions").fetchall()
    names: defaultdict[str, int] = defaultdict(int)
    for (name,) in conn.execute("SELECT name FROM events"):
        names[s[name]] += 1
    conn.close()
    sources = {s[r[0]] for r in sessions}
    assert {"Google", "LinkedIn", "Xing", "Instagram", "newsletter", "Direct / None"} <= sources
    assert len({r[1] for r in sessions}) > 10
    assert {s[r[2]] for r in sessions} == {"Desktop", "Mobile", "Tablet"}
    bounce_rate = sum(r[3] <= 1 and r[4] == 0 for r in sessions) / len(sessions)
    assert 0.35 < bounce_rate < 0.75
    assert names["Outbound Link: Click"] and names["File Download"] and names["engagement"]


def test_cli_is_quiet_in_a_pipe(tmp_path: Path) -> None:
    proc = cli("demo", DOMAIN, "--events", "2000", "--days", "2", data_dir=tmp_path / "data")
    assert "2,000 events" in proc.stdout or "2000 events" in proc.stdout
    assert "\r" not in proc.stderr and "ev/s" not in proc.stderr
    conn = sqlite3.connect(tmp_path / "data" / "analytics.db")
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone() == (2000,)
    conn.close()


def test_progress_bar_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo.generate(tmp_path / "analytics.db", DOMAIN, 500, 1, now=NOW.timestamp(), progress=True)
    assert "500" in capsys.readouterr().err


@pytest.mark.server
def test_refresh_covers_the_last_year_then_only_fills_the_gap(tmp_path: Path) -> None:
    """`serve --demo` refreshes: a year on the first start, only the time since on later ones."""
    data, day, now = tmp_path / "demo", 86400, NOW.timestamp()

    def events_by_month() -> dict[str, int]:
        conn = sqlite3.connect(data / "analytics.db")
        rows = conn.execute("SELECT strftime('%Y-%m', ts, 'unixepoch'), COUNT(*) FROM events GROUP BY 1").fetchall()
        conn.close()
        return dict(rows)

    first = demo.refresh(data, "demo.example", per_day=100, now=now)
    assert first is not None and first.events == 365 * 100
    months = events_by_month()
    # 2025-03-02 09:00 to 2026-03-02 09:00 UTC: thirteen calendar months, none empty, so
    # "Last 12 months" has a shape, not a flat line.
    assert sorted(months) == [f"2025-{m:02d}" for m in range(3, 13)] + ["2026-01", "2026-02", "2026-03"]
    assert min(months[m] for m in months if m not in ("2025-03", "2026-03")) > 2000
    assert json.loads((data / demo.MARKER).read_text()) == {"demo.example": int(now)}
    assert demo.refresh(data, "demo.example", per_day=100, now=now) is None  # nothing new to write
    later = demo.refresh(data, "demo.example", per_day=100, now=now + 6 * 3600)
    assert later is not None and later.events == 25  # six hours at 100 a day
    assert sum(events_by_month().values()) == 365 * 100 + 25
    # After a long pause, still at most the last year is written, not every day in between.
    (data / demo.MARKER).write_text("not json")  # a damaged marker counts as nothing written
    again = demo.refresh(data, "demo.example", days=2, per_day=100, now=now + 400 * day)
    assert again is not None and again.events == 200


# One value of each segment attribute (catalog SEGMENTS): a broad channel, a selective source, a campaign.
SEGMENT_FILTERS = [["is", "visit:channel", ["Organic Search"]], ["is", "visit:source", ["LinkedIn"]],
                   ["is", "visit:utm_campaign", ["weekly-digest"]]]  # fmt: skip


@pytest.mark.parametrize("date_range", ["30d", "day", "12mo", "7d", "24h"])
def test_segment_plan_equals_raw_plan(tmp_path: Path, date_range: str) -> None:
    """Per-segment rollups for settled days plus raw events after them give the raw plan's numbers."""
    db = _generate(tmp_path, 20_000, 35, seed=3)

    async def check() -> None:
        site, store = await _open(db)
        seen: list[str] = []
        await store.trace(seen.append)
        try:
            for body in QUERIES:
                for f in SEGMENT_FILTERS:
                    q = parse({**body, "date_range": date_range, "site_id": DOMAIN, "filters": [f]}, site, NOW)
                    if f[1] not in q.dimensions:
                        assert plan(q).segment is not None, body
                    seen.clear()
                    fast = await stats_run.run(store, q)
                    raw = await stats_run.run(store, q, raw=True)
                    assert fast.rows == raw.rows, (body, f)
                    read = any("_seg " in sql for sql in seen)
                    # Settled days read the segment rows; today and the last 24 hours have none.
                    assert read == (date_range not in ("day", "24h") and f[1] not in q.dimensions), (body, f)
        finally:
            await store.close()

    asyncio.run(check())


def test_segment_days_are_built_once(tmp_path: Path) -> None:
    """The demo splits every settled day; a second round adds none, and a zone change rebuilds them."""
    db = _generate(tmp_path, 3000, 10)

    async def check() -> None:
        site, store = await _open(db)
        try:
            assert await store.roll_segments(NOW.timestamp(), [site]) == 0
            rows = await store.fetchall("SELECT seg, COUNT(*), SUM(visits) FROM rollup_totals_seg GROUP BY seg")
            visits = await store.fetchall("SELECT SUM(visits) FROM rollup_totals_day")
            # Every visit has one value of each: each segment's visits sum to all visits.
            assert [(seg, total) for seg, _, total in rows] == [(1, visits[0][0]), (2, visits[0][0]), (3, visits[0][0])]
            days = (await store.fetchall("SELECT COUNT(DISTINCT day) FROM rollup_totals_seg"))[0][0]
            moved = dataclasses.replace(site, timezone="America/New_York")
            # A zone change starts again, a few days a round (as housekeeping does), oldest first.
            assert await store.roll_segments(NOW.timestamp(), [moved], limit=2) == 2
            assert await store.roll_segments(NOW.timestamp(), [moved]) in (days - 2, days - 1)
            zones = await store.fetchall("SELECT timezone FROM segment_days")
            assert zones == [("America/New_York",)]
            await store.delete_site(site.id)
            assert await store.fetchall("SELECT COUNT(*) FROM rollup_pages_seg") == [(0,)]
            assert await store.fetchall("SELECT COUNT(*) FROM segment_days") == [(0,)]
        finally:
            await store.close()

    asyncio.run(check())


@pytest.mark.parametrize("date_range", ["30d", "12mo", "7d"])
def test_segment_rows_kept_by_a_page_condition_equal_the_raw_plan(tmp_path: Path, date_range: str) -> None:
    """A pages breakdown under one segment value and conditions on the page ("source is Google, page
    contains /blog/") reads the segment's pages and keeps the rows that pass: the raw plan's numbers."""
    db = _generate(tmp_path, 20_000, 35, seed=3)
    pages = [
        ["contains", "event:page", ["/blog/"]],
        ["matches", "event:page", ["^/blog/[a-m]"]],
        ["is_not", "event:page", ["/"]],
    ]
    bodies = [
        {"metrics": ["visitors", "visits", "pageviews", "time_on_page", "scroll_depth"], "dimensions": ["event:page"]},
        {"metrics": ["pageviews", "reads", "read_rate", "readers"], "dimensions": ["event:page"]},
        {"metrics": ["visitors", "pageviews"], "dimensions": ["time:day", "event:page"]},
    ]

    async def check() -> None:
        site, store = await _open(db)
        seen: list[str] = []
        await store.trace(seen.append)
        try:
            for body in bodies:
                for segment, page in zip(SEGMENT_FILTERS, pages, strict=True):
                    filters = [segment, page]
                    q = parse({**body, "date_range": date_range, "site_id": DOMAIN, "filters": filters}, site, NOW)
                    p = plan(q)
                    assert p.segment is not None and p.keep is not None and p.query.filters == q.filters
                    seen.clear()
                    fast = await stats_run.run(store, q)
                    raw = await stats_run.run(store, q, raw=True)
                    assert fast.rows == raw.rows, (body, filters)
                    whole = parse(
                        {**body, "date_range": date_range, "site_id": DOMAIN, "filters": [segment]}, site, NOW
                    )
                    assert 2 <= len(fast.rows) < len((await stats_run.run(store, whole)).rows), (body, filters)
                    assert any("_seg " in sql for sql in seen), (body, filters)
        finally:
            await store.close()

    asyncio.run(check())
