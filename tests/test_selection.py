"""Choosing the event store: `--store` / ANALYTICS_STORE, and what the CLI says when it cannot be used."""

from __future__ import annotations

from pathlib import Path

from conftest import cli, free_port

from analytics.config import Settings
from analytics.store.clickhouse.chstore import ClickHouseStore
from analytics.store.selection import make_store
from analytics.store.sqlite.store import SQLiteStore


def test_the_setting_picks_the_backend(tmp_path: Path) -> None:
    sqlite = make_store(Settings(data_dir=str(tmp_path), batch_size=7), readers=1)
    assert isinstance(sqlite, SQLiteStore) and sqlite.path == tmp_path / "analytics.db" and sqlite.batch_size == 7
    ch = make_store(Settings(data_dir=str(tmp_path), store=f"chdb://{tmp_path / 'ch'}", query_timeout=3))
    assert isinstance(ch, ClickHouseStore) and ch.url.path == str(tmp_path / "ch") and ch.conn.query_timeout == 3


def test_bad_or_unusable_stores_stop_the_start_with_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = cli("serve", "--store", "mongodb://db", data_dir=data, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "store: 'mongodb://db' is not a store URL" in proc.stderr
    proc = cli("serve", "--store", f"chdb://{tmp_path / 'ch'}", "--workers", "2", data_dir=data, check=False)
    assert proc.returncode == 2 and "only one process may open its data directory" in proc.stderr
    port = free_port()
    proc = cli("serve", "--store", f"clickhouse://ana:hunter2@127.0.0.1:{port}/analytics", data_dir=data, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "hunter2" not in proc.stderr
    assert f"database 'clickhouse://ana@127.0.0.1:{port}/analytics' is not usable: " in proc.stderr


def test_cli_commands_use_the_store_from_the_environment(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "ANALYTICS_STORE": f"chdb://{tmp_path / 'ch'}", "ANALYTICS_DATA_DIR": str(tmp_path / "d")}
    run = [sys.executable, "-m", "analytics"]
    subprocess.run([*run, "sites", "add", "blog.example.org"], env=env, check=True, capture_output=True, timeout=60)
    out = subprocess.run([*run, "prune"], env=env, check=True, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    out = subprocess.run([*run, "migrate"], env=env, check=True, capture_output=True, text=True, timeout=60)
    assert out.stdout == f"event store chdb://{tmp_path / 'ch'} is up to date (accounts in {tmp_path / 'd'})\n"
    assert (tmp_path / "ch").is_dir() and (tmp_path / "d" / "accounts.db").exists()
    assert not (tmp_path / "d" / "analytics.db").exists()  # events never went to SQLite
