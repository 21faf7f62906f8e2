"""The schema from the catalog: one code path for one node and for a cluster, parsed by the real engine."""

from __future__ import annotations

from pathlib import Path

from analytics.catalog import ROLLUP_KEYS, SESSION_ATTRS
from analytics.store.clickhouse import ddl
from analytics.store.clickhouse.chclient import Connection, parse_url
from analytics.store.clickhouse.chstore import migrate
from analytics.visits.rollups import COUNTERS


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
        every = [s for v, _ in ddl.MIGRATIONS for s in ddl.statements(v, ddl.Layout("analytics"))]
        assert len(statements) == 2 + len(every)
        for sql in statements:
            ast = await conn.rows(f"EXPLAIN AST {sql}")
            # Migration 3 rebuilds tables: create, copy (Insert), swap (Rename: EXCHANGE) and drop.
            assert ast and ast[0][0].startswith(("Create", "Alter", "Insert", "Rename", "Drop")), sql
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
        assert await migrate(conn) == [1, 2, 3, 4, 5]
        assert await migrate(conn) == []
        versions = [(1,), (2,), (3,), (4,), (5,)]
        assert await conn.rows("SELECT version FROM schema_migrations ORDER BY version") == versions
        tables = {r[0] for r in await conn.rows("SHOW TABLES")}
        days = {f"{t}_day" for t in ROLLUP_KEYS}
        assert {"events", "goal_events", "goal_events_copy", "sessions", "rollups", "rollups_day", "rollup_days",
                "site_imports", *ROLLUP_KEYS, *days, *ddl.IMPORTED} <= tables  # fmt: skip
        assert not {t for t in tables if t.endswith("_v3")}  # the rebuilt tables' copies are gone
    finally:
        await conn.close()


def test_the_reads_migration_adds_columns_on_both_layouts() -> None:
    local = ddl.statements(2, ddl.Layout())
    assert local[:2] == [
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS words Nullable(Int32), ADD COLUMN IF NOT EXISTS read UInt8 DEFAULT 0",
        "ALTER TABLE sessions ADD COLUMN IF NOT EXISTS reads Int32 DEFAULT 0",
    ]
    # The read counters follow the older ones: migration 1's columns keep their meaning.
    assert local[2] == "ALTER TABLE rollups " + ", ".join(
        f"ADD COLUMN IF NOT EXISTS c{i} Int64 DEFAULT 0" for i in range(13, ddl.DELTA_COUNTERS)
    )
    assert ddl.DELTA_COUNTERS == len(COUNTERS["rollup_sources"]) == 23
    assert (
        "CREATE OR REPLACE VIEW rollup_pages AS SELECT site_id, bucket, k0 AS hostname, k1 AS page, c0 AS visitors,"
        " c1 AS visits, c2 AS pageviews, c3 AS time_total, c4 AS time_visits, c5 AS scroll_total,"
        " c6 AS scroll_visits, c7 AS reads, c8 AS readers FROM rollups WHERE rollup = 'rollup_pages'"
    ) in local
    assert [s.split(" (")[0] for s in local if s.startswith("CREATE TABLE")] == [
        f"CREATE TABLE IF NOT EXISTS {t}" for t in ("imported_reads", "imported_page_reads", "imported_source_reads")
    ]
    cluster = ddl.statements(2, ddl.Layout("analytics"))
    # On a cluster the local table and the Distributed one over it both get the column.
    assert cluster[:2] == [
        "ALTER TABLE events_local ON CLUSTER analytics ADD COLUMN IF NOT EXISTS words Nullable(Int32),"
        " ADD COLUMN IF NOT EXISTS read UInt8 DEFAULT 0",
        "ALTER TABLE events ON CLUSTER analytics ADD COLUMN IF NOT EXISTS words Nullable(Int32),"
        " ADD COLUMN IF NOT EXISTS read UInt8 DEFAULT 0",
    ]


async def test_a_database_from_before_reads_is_upgraded_in_place(tmp_path: Path) -> None:
    conn = Connection(parse_url(f"chdb://{tmp_path / 'ch'}"))
    await conn.open()
    try:
        # A database as migration 1 left it, with a visit, an event and a rollup row in it.
        await migrated_to(conn, 1)
        await conn.insert("events", ("site_id", "ts", "session_id", "name", "page"), [(1, 100, 1, "pageview", "/a")])
        await conn.insert("sessions", ("id", "site_id", "start", "pageviews", "state", "version"),
                          [(1, 1, 100, 1, '{"p":{},"s":[]}', 1)])  # fmt: skip
        await conn.insert("rollups", ("rollup", "site_id", "bucket", "k0", "c0", "c1", "c12"),
                          [("rollup_sources", 1, 0, "Direct / None", 1, 1, 1)])  # fmt: skip
        assert await migrate(conn) == [2, 3, 4, 5]
        assert await conn.rows("SELECT page, words, read FROM events") == [("/a", None, 0)]
        assert await conn.rows("SELECT pageviews, reads FROM sessions FINAL") == [(1, 0)]
        # The old row keeps its counters under their names; the read counters are 0 in it.
        assert await conn.rows(
            "SELECT visitors, visits, v_utm_term, reads, readers, r_channel, r_utm_term FROM rollup_sources"
        ) == [(1, 1, 1, 0, 0, 0, 0)]
        # New rows sum with the old ones, the read counters included.
        await conn.insert("rollups", ("rollup", "site_id", "bucket", "k0", "c0", "c13", "c14", "c22"),
                          [("rollup_sources", 1, 0, "Direct / None", 1, 2, 1, 1)])  # fmt: skip
        await conn.command("OPTIMIZE TABLE rollups FINAL")
        assert await conn.rows("SELECT count(), sum(visitors), sum(reads), sum(readers), sum(r_utm_term)"
                               " FROM rollup_sources") == [(1, 2, 2, 1, 1)]  # fmt: skip
        tables = {r[0] for r in await conn.rows("SHOW TABLES")}
        assert set(ddl.IMPORTED_READS) <= tables
    finally:
        await conn.close()


async def migrated_to(conn: Connection, version: int) -> None:
    """A database as migration `version` left it: every migration up to it applied and recorded."""
    for sql in ddl.migrations_table(ddl.Layout()):
        await conn.command(sql)
    for v in range(1, version + 1):
        for sql in ddl.statements(v, ddl.Layout()):
            await conn.command(sql)
        await conn.insert("schema_migrations", ("version",), [(v,)])


async def test_the_faster_migration_puts_each_visits_attributes_on_its_events(tmp_path: Path) -> None:
    """Migration 3 rebuilds events, visits and rollups with codecs; old events get their visit's newest attributes."""
    conn = Connection(parse_url(f"chdb://{tmp_path / 'ch'}"))
    await conn.open()
    try:
        await migrated_to(conn, 2)
        await conn.insert("events", ("site_id", "ts", "session_id", "name", "page"),
                          [(1, 100, 7, "pageview", "/a"), (1, 160, 7, "pageview", "/b"), (1, 200, 8, "pageview", "/")])
        # Visit 7 in two versions (the newest wins); visit 8 is missing (its events keep '').
        await conn.insert("sessions", ("id", "site_id", "start", "source", "country", "state", "version"),
                          [(7, 1, 100, "Old", "FR", "{}", 1), (7, 1, 100, "Google", "DE", "{}", 2)])
        await conn.insert("rollups", ("rollup", "site_id", "bucket", "k0", "c0"),
                          [("rollup_sources", 1, 0, "Google", 1)])  # fmt: skip
        assert await migrate(conn) == [3, 4, 5]
        assert await conn.rows("SELECT session_id, page, source, country FROM events ORDER BY ts") == [
            (7, "/a", "Google", "DE"), (7, "/b", "Google", "DE"), (8, "/", "", ""),
        ]  # fmt: skip
        assert await conn.rows("SELECT id, source, version FROM sessions FINAL") == [(7, "Google", 2)]
        first_key = ROLLUP_KEYS["rollup_sources"][0]
        assert await conn.rows(f"SELECT {first_key}, visitors FROM rollup_sources") == [("Google", 1)]
        create = str((await conn.rows("SHOW CREATE TABLE events"))[0][0])
        assert "`source` LowCardinality(String)" in create
        assert "CODEC(Delta(8), ZSTD(1))" in str((await conn.rows("SHOW CREATE TABLE sessions"))[0][0])
    finally:
        await conn.close()


async def test_the_smaller_migration_rebuilds_events_and_keeps_every_value(tmp_path: Path) -> None:
    """Migration 4 rebuilds events ordered by visit within a day, with three new codecs: every value kept."""
    conn = Connection(parse_url(f"chdb://{tmp_path / 'ch'}"))
    await conn.open()
    try:
        await migrated_to(conn, 3)
        rows = [(1, 100, 7, "pageview", 812, None, None), (1, 160, 7, "engagement", None, 75, 61_000)]
        cols = ("site_id", "ts", "session_id", "name", "words", "scroll_depth", "engaged_ms")
        await conn.insert("events", cols, rows)
        assert await migrate(conn) == [4, 5]
        await conn.command("OPTIMIZE TABLE events FINAL")
        assert await conn.rows(f"SELECT {', '.join(cols)} FROM events ORDER BY ts") == rows
        create = str((await conn.rows("SHOW CREATE TABLE events"))[0][0])
        assert create.count("CODEC(T64, ZSTD(1))") == 3
        assert "ORDER BY (site_id, intDiv(ts, 86400), session_id, ts)" in create
        cluster = ddl.statements(4, ddl.Layout("analytics"))
        assert "CREATE TABLE IF NOT EXISTS events_v3_local ON CLUSTER analytics" in cluster[0]
        assert cluster[-1].startswith("CREATE TABLE events ON CLUSTER analytics AS events_local ENGINE = Distributed(")
    finally:
        await conn.close()


async def test_the_goals_migration_copies_custom_events_and_keeps_copying_them(tmp_path: Path) -> None:
    """Migration 5: `goal_events` gets the custom events already stored, then each insert's by a materialized view."""
    conn = Connection(parse_url(f"chdb://{tmp_path / 'ch'}"))
    await conn.open()
    try:
        await migrated_to(conn, 4)
        cols = ("site_id", "ts", "session_id", "name", "page", "props")
        await conn.insert("events", cols, [
            (1, 100, 7, "pageview", "/a", {}), (1, 130, 7, "engagement", "/a", {}),
            (1, 160, 7, "Outbound Link: Click", "/a", {"url": "https://example.net/"}),
        ])  # fmt: skip
        assert await migrate(conn) == [5]
        await conn.insert("events", cols, [(2, 200, 9, "Signup", "/join", {}), (2, 210, 9, "pageview", "/join", {})])
        assert await conn.rows(f"SELECT {', '.join(cols)} FROM goal_events ORDER BY ts") == [
            (1, 160, 7, "Outbound Link: Click", "/a", {"url": "https://example.net/"}),
            (2, 200, 9, "Signup", "/join", {}),
        ]  # fmt: skip
        assert await migrate(conn) == []
        assert await conn.rows("SELECT count() FROM goal_events") == [(2,)]
        cluster = ddl.statements(5, ddl.Layout("analytics"))
        assert cluster[2] == (
            "CREATE MATERIALIZED VIEW IF NOT EXISTS goal_events_copy_local ON CLUSTER analytics TO goal_events_local"
            f" AS SELECT {cluster[2].split(' AS SELECT ')[1].split(' FROM ')[0]} FROM events_local"
            " WHERE name NOT IN ('pageview', 'engagement')"
        )
    finally:
        await conn.close()
