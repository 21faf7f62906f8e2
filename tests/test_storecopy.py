"""`analytics store copy` on real stores: SQLite to chDB and back, twice, totals compared per day."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from conftest import Instance, cli, store_url
from test_roundtrip import RANGE, ingest, utc

from analytics.app import create_app
from analytics.clock import FrozenClock
from analytics.config import Settings
from analytics.stats import run as stats_run
from analytics.stats.parse import parse
from analytics.transfer import storecopy

# Reads too: the copy replays engagements with their word counts, and the target decides reads again.
BODY = {"metrics": [*storecopy.METRICS, "reads", "readers"], "dimensions": ["time:day"], "date_range": RANGE}


async def totals(data: Path, store: str) -> list[object]:
    app = create_app(Settings(data_dir=str(data), store=store), FrozenClock(utc(5, 12, 0)))
    async with app.router.lifespan_context(app):
        site = await app.state.accounts.sites.get("blog.example.org")
        rows: list[object] = (await stats_run.run(app.state.store, parse(BODY, site, utc(5, 12, 0)))).rows
        return rows


def copy(data: Path, to: str, store: str = "sqlite") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANALYTICS_STORE": store}
    cmd = [sys.executable, "-m", "analytics", "store", "copy", "--to", to, "--data-dir", str(data)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


async def test_sqlite_to_chdb_and_back_twice(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = create_app(Settings(data_dir=str(data), batch_ms=0.5), FrozenClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    async with app.router.lifespan_context(app):
        inst = Instance(app, app.state.clock, data)
        await inst.accounts.sites.add("blog.example.org", "Europe/Zurich")
        await ingest(inst)
    expected = await totals(data, "sqlite")
    assert [r[0] for r in expected] == [("2026-03-02",), ("2026-03-03",), ("2026-03-04",)]  # type: ignore[index]
    assert [r[1][-2:] for r in expected] == [(2, 2), (0, 0), (0, 0)]  # type: ignore[index]  # reads, readers

    chdb = store_url("chdb", data)
    for _ in range(2):  # idempotent: the second run replaces the site's data with the same
        proc = copy(data, chdb)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "blog.example.org: 26 events copied; totals equal per day\n"
        assert "Traceback" not in proc.stderr and "\r" not in proc.stderr  # no bar in a pipe
    assert await totals(data, chdb) == expected

    # The other way: chDB is the current store, SQLite the target (its site data replaced).
    proc = copy(data, "sqlite", store=chdb)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "blog.example.org: 26 events copied; totals equal per day\n"
    assert await totals(data, "sqlite") == expected


def test_copy_refuses_what_cannot_work(tmp_path: Path) -> None:
    proc = cli("store", "copy", "--to", "sqlite", data_dir=tmp_path / "d", check=False)
    assert proc.returncode == 2 and "--to 'sqlite' is the current store; name another one" in proc.stderr
    proc = copy(tmp_path / "d", f"chdb://{tmp_path / 'b'}", store=f"chdb://{tmp_path / 'a'}")
    assert proc.returncode == 2
    assert (
        "chDB opens one directory per process: copy from chdb:// to sqlite, then from sqlite to chdb://" in proc.stderr
    )
    proc = cli("store", "copy", "--to", "ftp://x", data_dir=tmp_path / "d", check=False)
    assert proc.returncode == 2 and "store: 'ftp://x' is not a store URL" in proc.stderr


def test_cluster_ddl_is_printed() -> None:
    proc = cli("store", "ddl", "--cluster", "analytics")
    assert proc.stdout.startswith("CREATE TABLE IF NOT EXISTS schema_migrations_local ON CLUSTER analytics (")
    assert "ENGINE = Distributed(analytics, currentDatabase(), events_local, site_id);" in proc.stdout
    bad = cli("store", "ddl", "--cluster", "a;b", check=False)
    assert bad.returncode == 2 and "--cluster 'a;b' is not a cluster name" in bad.stderr
