"""The schema from the catalog: one code path for one node and for a cluster, parsed by the real engine."""

from __future__ import annotations

from pathlib import Path

from analytics.catalog import ROLLUP_KEYS, SESSION_ATTRS
from analytics.store.clickhouse import ddl
from analytics.store.clickhouse.chclient import Connection, parse_url
from analytics.store.clickhouse.chstore import migrate


def test_single_node_statements_use_plain_merge_trees() -> None:
    statements = ddl.statements(1, ddl.Layout())
    text = "\n".join(statements)
    assert "ON CLUSTER" not in text and "Replicated" not in text and "Distributed" not in text
    events = next(s for s in statements if s.startswith("CREATE TABLE IF NOT EXISTS events "))
    assert "ENGINE = MergeTree()" in events and "ORDER BY (site_id, ts, session_id)" in events
    sessions = next(s for s in statements if s.startswith("CREATE TABLE IF NOT EXISTS sessions "))
    assert "ReplacingMergeTree(version)" in sessions
    assert all(f"{a} LowCardinality(String)" in sessions for a in SESSION_ATTRS)
    # Every rollup of the catalog, summed by the engine, keyed as the catalog keys it.
    for table, keys in ROLLUP_KEYS.items():
        stmt = next(s for s in statements if s.startswith(f"CREATE TABLE IF NOT EXISTS {table} "))
        assert "SummingMergeTree()" in stmt
        assert f"ORDER BY (site_id, bucket{''.join(', ' + k for k in keys)})" in stmt


def test_cluster_statements_come_from_the_same_code() -> None:
    local = ddl.statements(1, ddl.Layout())
    cluster = ddl.statements(1, ddl.Layout("analytics"))
    assert len(cluster) == 2 * len(local)  # each table: a replicated local table and a distributed one
    assert cluster[0].startswith("CREATE TABLE IF NOT EXISTS events_local ON CLUSTER analytics (")
    assert "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" in cluster[0]
    assert cluster[1] == (
        "CREATE TABLE IF NOT EXISTS events ON CLUSTER analytics AS events_local"
        " ENGINE = Distributed(analytics, currentDatabase(), events_local, site_id)"
    )
    sessions = next(s for s in cluster if s.startswith("CREATE TABLE IF NOT EXISTS sessions_local"))
    assert (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)"
        in sessions
    )
    # The columns are the single node's, word for word.
    assert cluster[0].split("(\n", 1)[1].split("\n)")[0] == local[0].split("(\n", 1)[1].split("\n)")[0]


async def test_chdb_parses_every_cluster_statement(tmp_path: Path) -> None:
    conn = Connection(parse_url(f"chdb://{tmp_path / 'ch'}"))
    await conn.open()
    try:
        statements = [s for s in ddl.cluster_ddl("analytics").split(";\n") if s.strip()]
        assert len(statements) == 2 * (1 + len(ddl.statements(1, ddl.Layout())))
        for sql in statements:
            ast = await conn.rows(f"EXPLAIN AST {sql}")
            assert ast and ast[0][0].startswith("CreateQuery"), sql
    finally:
        await conn.close()


async def test_migrations_run_once(tmp_path: Path) -> None:
    conn = Connection(parse_url(f"chdb://{tmp_path / 'ch'}"))
    await conn.open()
    try:
        assert await migrate(conn) == [1]
        assert await migrate(conn) == []
        assert await conn.rows("SELECT version FROM schema_migrations") == [(1,)]
        tables = {r[0] for r in await conn.rows("SHOW TABLES")}
        assert {"events", "sessions", "site_imports", *ROLLUP_KEYS, *ddl.IMPORTED} <= tables
    finally:
        await conn.close()
