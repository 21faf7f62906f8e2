"""The event store's numbered migrations (analytics/store/sqlite/migrate.py) on real files."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from analytics.accounts import Accounts
from analytics.devtools import demo
from analytics.model import Site
from analytics.stats.parse import parse
from analytics.stats.plan import plan
from analytics.store.sqlite import reads
from analytics.store.sqlite.files import apply
from analytics.store.sqlite.files import statements as _statements
from analytics.store.sqlite.migrate import migrate, migrations
from analytics.store.sqlite.store import SQLiteStore


def test_migrations_are_numbered_from_one_each_number_once() -> None:
    found = migrations()
    numbers = [n for n, _, _ in found]
    assert numbers[0] == 1 and numbers == sorted(set(numbers))  # 0009 is reserved by a parallel branch
    assert found[0][1] == "0001_init.sql" and all(name.endswith(".sql") for _, name, _ in found)


def test_a_fresh_file_gets_every_migration_once(tmp_path: Path) -> None:
    db = tmp_path / "analytics.db"

    async def run() -> tuple[list[str], list[str]]:
        async with aiosqlite.connect(db, isolation_level=None) as conn:
            first = await migrate(conn)
            second = await migrate(conn)
        return first, second

    first, second = asyncio.run(run())
    assert first == [name for _, name, _ in migrations()] and second == []
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
    conn.close()


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    """0008 cannot create a table that is already there: 0001 to 0007 are rolled back with it."""
    db = tmp_path / "analytics.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE rollup_languages (x)")
    conn.close()

    async def run() -> None:
        async with aiosqlite.connect(db, isolation_level=None) as conn:
            with pytest.raises(sqlite3.OperationalError, match="table rollup_languages already exists"):
                await migrate(conn)

    asyncio.run(run())
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("rollup_languages",)]
    conn.close()


def test_statements_split_on_complete_statements() -> None:
    sql = "-- a comment\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\nEND;\n-- trailing\n"
    parts = _statements(sql)
    assert [p.strip().splitlines()[-1] for p in parts] == ["CREATE TABLE a (x TEXT DEFAULT ';');", "END;"]
    with pytest.raises(RuntimeError, match="incomplete statement"):
        _statements("CREATE TABLE a (x)")


# -- 0011-0012: visit marks apart, events clustered (issue 11) ---------------------------------------

_NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
_DOMAIN = "migrate.example"
_PANELS: list[dict[str, Any]] = [
    {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "time_on_page", "scroll_depth"]},
    {"metrics": ["visitors", "pageviews"], "dimensions": ["time:day"]},
    {"metrics": ["visitors", "pageviews", "time_on_page"], "dimensions": ["event:page"]},
    {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["visit:source"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:exit_page"]},
    {"metrics": ["visitors"], "dimensions": ["visit:country", "visit:browser"]},
]
_FILTERS: list[list[Any]] = [
    [["is", "visit:source", ["Google"]]],
    [["contains", "event:page", ["/blog/"]], ["is_not", "visit:device", ["Mobile"]]],
    [["contains", "visit:exit_page", ["/"]]],
]


async def _old_schema_copy(new: Path, old: Path) -> None:
    """`old`: the schema before 0011 holding every row of `new` (as the code of then wrote it)."""
    async with aiosqlite.connect(old, isolation_level=None) as conn:
        await conn.execute("BEGIN IMMEDIATE")
        await apply(conn, [m for m in migrations() if m[0] < 11])
        await conn.execute("COMMIT")
        await conn.execute("ATTACH ? AS new", (str(new),))
        async with conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'") as cur:
            tables = [r[0] for r in await cur.fetchall()]
        for table in tables:
            async with conn.execute(f"PRAGMA main.table_info({table})") as cur:
                names = [r[1] for r in await cur.fetchall()]
            # Visit marks sat in `sessions` before 0011; forgotten ones as the writer reads them then: none.
            state = 'COALESCE((SELECT v.state FROM new.visit_state v WHERE v.id = t.id), \'{"p":{},"s":[]}\')'
            cols = ", ".join(state if (table, c) == ("sessions", "state") else f"t.{c}" for c in names)
            await conn.execute(
                f"INSERT OR REPLACE INTO main.{table} ({', '.join(names)}) SELECT {cols} FROM new.{table} t"
            )


async def _all_sums(db: Path, site: Site, *, shared: bool) -> list[Any]:
    store = SQLiteStore(db, shared_sets=shared)
    await store.open()
    try:
        out = []
        for filters in [[], *_FILTERS]:
            body = {"site_id": _DOMAIN, "date_range": "30d", "filters": filters}
            plans = [plan(parse({**body, **panel}, site, _NOW)) for panel in _PANELS]
            async with store.reader() as conn:
                out.append(await reads.sums(conn, plans))
        return out
    finally:
        await store.close()


async def _site(data: Path) -> Site:
    async with Accounts.in_dir(data) as accounts:
        return await accounts.sites.get(_DOMAIN)


def test_0011_an_old_database_migrates_and_gives_identical_stats(tmp_path: Path) -> None:
    """0011 and 0012: visit marks move to `visit_state`, events cluster by site and time;
    every plan's sums are those of a database written that way, and the writer still finds recent marks."""
    new, old = tmp_path / "new" / "analytics.db", tmp_path / "old.db"
    new.parent.mkdir()
    demo.generate(new, _DOMAIN, 3000, 20, seed=5, now=_NOW.timestamp(), progress=False)
    site = asyncio.run(_site(new.parent))
    asyncio.run(_old_schema_copy(new, old))
    conn = sqlite3.connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 10
    assert "state" in {r[1] for r in conn.execute("PRAGMA table_info(sessions)")}
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 3000
    conn.close()

    expected = asyncio.run(_all_sums(new, site, shared=True))
    assert asyncio.run(_all_sums(old, site, shared=True)) == expected  # migrates on open
    assert asyncio.run(_all_sums(old, site, shared=False)) == expected
    assert sum(len(rows) for sums in expected for plan_sums in sums for rows in plan_sums) > 100

    conn = sqlite3.connect(old)
    conn.execute("ATTACH ? AS new", (str(new),))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations()[-1][0]
    rows = conn.execute("SELECT * FROM main.events ORDER BY id").fetchall()
    assert len(rows) == 3000 and rows == conn.execute("SELECT * FROM new.events ORDER BY id").fetchall()
    assert "state" not in {r[1] for r in conn.execute("PRAGMA main.table_info(sessions)")}
    # 0012: events clustered on (site_id, ts, id) without a rowid or a second index; ids go on from the last.
    assert conn.execute("SELECT name FROM main.sqlite_master WHERE tbl_name = 'events'").fetchall() == [("events",)]
    assert "WITHOUT ROWID" in conn.execute("SELECT sql FROM main.sqlite_master WHERE name = 'events'").fetchone()[0]
    assert conn.execute("SELECT next FROM main.event_ids").fetchone() == (3001,)
    recent = (
        "SELECT v.id, v.state FROM {0}.visit_state v JOIN {0}.sessions s ON s.id = v.id"
        " WHERE s.start >= (SELECT MAX(start) FROM {0}.sessions) - 2 * 86400 ORDER BY v.id"
    )
    marks = conn.execute(recent.format("main")).fetchall()
    assert len(marks) > 50 and marks == conn.execute(recent.format("new")).fetchall()
    conn.close()
