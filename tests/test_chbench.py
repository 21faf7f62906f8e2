"""The ClickHouse bench hook (analytics/devtools/chbench.py): the demo copied into chDB, the dashboard's
query sets timed there, storage measured; `bench --store` refuses a bad URL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from conftest import cli

from analytics.devtools import bench_dashboard, chbench, demo


def test_demo_copied_timed_and_measured_on_chdb(tmp_path: Path) -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    db = tmp_path / "analytics.db"
    seeded = demo.generate(db, bench_dashboard.SITE, 3000, 90, seed=1, now=now.timestamp(), progress=False)
    site, prop_keys = asyncio.run(bench_dashboard._site(tmp_path))
    store = f"chdb://{tmp_path / 'ch'}"
    copied = chbench.seed(db, store, site)
    assert copied["events"] == seeded.events and copied["copy_seconds"] >= 0
    assert chbench.event_count(store) == seeded.events
    sets = bench_dashboard.query_sets(prop_keys)
    for name in ("dashboard_30d", "dashboard_30d_source"):  # a whole dashboard, unfiltered and filtered
        qs = sets[name]
        figures = asyncio.run(bench_dashboard.time_set(db, site, qs, now, 1, 1.0, store_url=store))
        assert figures["warm_runs"] == 1 and figures["queries"] == len(qs.jobs) and figures["cold_ms"] > 0, name
    sizes = chbench.storage(store, seeded.events)
    assert sizes["bytes_per_event"] > 0 and set(sizes["table_bytes_per_event"]) >= {"events", "sessions", "rollups"}


def test_bench_refuses_a_bad_store() -> None:
    proc = cli("bench", "--quick", "--store", "chdb://", check=False)
    assert proc.returncode == 2 and "store: chdb:// needs a directory" in proc.stderr
