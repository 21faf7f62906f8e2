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
    # Every rollup of the catalog summed by the engine in one table, and a view naming its columns.
    rollups = next(s for s in statements if s.startswith("CREATE TABLE IF NOT EXISTS rollups "))
    assert (
        "SummingMergeTree()" in rollups
        and "ORDER BY (site_id, rollup, bucket, k0, k1, k2, k3, k4, k5, k6, k7)" in rollups
    )
    views = [s for s in statements if s.startswith("CREATE VIEW")]
    assert len(views) == len(ROLLUP_KEYS)
    assert (
        "CREATE VIEW IF NOT EXISTS rollup_pages AS SELECT site_id, bucket, k0 AS hostname, k1 AS page, c0 AS visitors,"
        " c1 AS visits, c2 AS pageviews, c3 AS time_total, c4 AS time_visits, c5 AS scroll_total,"
        " c6 AS scroll_visits FROM rollups WHERE rollup = 'rollup_pages'"
    ) in views


def test_cluster_statements_come_from_the_same_code() -> None:
    local = ddl.statements(1, ddl.Layout())
    cluster = ddl.statements(1, ddl.Layout("analytics"))
    views = len(ROLLUP_KEYS)  # a view per rollup, over the distributed table
    assert len(cluster) == 2 * (len(local) - views) + views  # each table: a local one and a distributed one
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
        statements = [s.strip() for s in ddl.cluster_ddl("analytics").split(";\n") if s.strip()]
        assert len(statements) == 2 + len(ddl.statements(1, ddl.Layout("analytics")))
        for sql in statements:
            ast = await conn.rows(f"EXPLAIN AST {sql}")
            assert ast and ast[0][0].startswith("Create"), sql
        views = [s for s in statements if s.startswith("CREATE VIEW")]
        assert views[0] == (
            "CREATE VIEW IF NOT EXISTS rollup_totals ON CLUSTER analytics AS SELECT site_id, bucket, c0 AS visitors,"
            " c1 AS visits, c2 AS bounces, c3 AS duration, c4 AS pageviews, c5 AS events, c6 AS time_total,"
            " c7 AS time_visits, c8 AS scroll_total, c9 AS scroll_visits FROM rollups WHERE rollup = 'rollup_totals'"
        )
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
        assert {"events", "sessions", "rollups", "site_imports", *ROLLUP_KEYS, *ddl.IMPORTED} <= tables
    finally:
        await conn.close()
