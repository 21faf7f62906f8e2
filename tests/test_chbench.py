"""The ClickHouse bench hook (analytics/devtools/chbench.py): the demo's traffic seeded into chDB through its
write path, the dashboard's query sets timed there, storage measured; `bench --store` refuses a bad URL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from conftest import cli

from analytics.devtools import bench_dashboard, chbench, demo


def test_demo_seeded_timed_and_measured_on_chdb(tmp_path: Path) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    db = tmp_path / "analytics.db"
    seeded = demo.generate(db, bench_dashboard.SITE, 3000, 90, seed=1, now=now.timestamp(), progress=False)
    site, prop_keys = asyncio.run(bench_dashboard._site(tmp_path))
    store = f"chdb://{tmp_path / 'ch'}"
    figures = chbench.seed(store, site, 3000, 90, now.timestamp())
    assert figures["events"] == seeded.events == 3000 and figures["seed_seconds"] >= 0
    assert chbench.event_count(store) == seeded.events
    sets = bench_dashboard.query_sets(prop_keys)
    for name in ("dashboard_30d", "dashboard_30d_source"):  # a whole dashboard, unfiltered and filtered
        qs = sets[name]
        figures = asyncio.run(bench_dashboard.time_set(db, site, qs, now, 1, 1.0, store_url=store))
        assert figures["warm_runs"] == 1 and figures["queries"] == len(qs.jobs) and figures["cold_ms"] > 0, name
    sizes = chbench.storage(store, seeded.events)
    assert sizes["bytes_per_event"] > 0 and set(sizes["table_bytes_per_event"]) >= {"events", "sessions", "rollups"}


def test_seeding_writes_what_the_sqlite_demo_writes(tmp_path: Path) -> None:
    """The same demo traffic, seeded straight into chDB, answers the dashboard's queries as the SQLite demo does."""
    from analytics.stats import run as stats_run
    from analytics.stats.parse import parse
    from analytics.store.sqlite.store import SQLiteStore

    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    db = tmp_path / "analytics.db"
    demo.generate(db, bench_dashboard.SITE, 4000, 30, seed=1, now=now.timestamp(), progress=False)
    site, _ = asyncio.run(bench_dashboard._site(tmp_path))
    store = f"chdb://{tmp_path / 'ch'}"
    chbench.seed(store, site, 4000, 30, now.timestamp())
    body = {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"], "date_range": "30d"}

    async def answers() -> list[object]:
        out = []
        for s in (SQLiteStore(db, readers=1), chbench.open_store(store)):
            await s.open()
            try:
                for dims in ([], ["visit:source"], ["event:page"], ["time:day"]):
                    out.append((await stats_run.run(s, parse({**body, "dimensions": dims}, site, now))).rows)
            finally:
                await s.close()
        return out

    got = asyncio.run(answers())
    assert got[:4] == got[4:] and len(got[0]) == 1 and len(got[3]) == 30


def test_bench_refuses_a_bad_store() -> None:
    proc = cli("bench", "--quick", "--store", "chdb://", check=False)
    assert proc.returncode == 2 and "store: chdb:// needs a directory" in proc.stderr
