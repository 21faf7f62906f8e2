"""Store URLs parsed, and the one client: real chDB in tmp_path, a closed port for an absent server,
ClickHouse's HTTP interface (tests/clickhouse_http.py) for a server that stops answering."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import free_port

from analytics.errors import StorageError
from analytics.store.clickhouse.chclient import ANSWER_MARGIN, Connection, StoreUnavailable, StoreURL, parse_url


def test_urls_parse() -> None:
    assert parse_url("chdb:///var/lib/events") == StoreURL("chdb", path="/var/lib/events")
    server = parse_url("clickhouse://ana%40ly:s%3Acret@db.internal:9000/analytics")
    assert server == StoreURL("clickhouse", host="db.internal", port=9000, user="ana@ly", password="s:cret",
                              database="analytics")  # fmt: skip
    assert parse_url("clickhouse://db") == StoreURL("clickhouse", host="db", port=8123)
    assert parse_url("clickhouses://u:p@db/x").port == 8443
    assert server.display() == "clickhouse://ana@ly@db.internal:9000/analytics"  # never the password
    assert "s:cret" not in server.display()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://db",
            "'mysql://db' is not a store URL: use sqlite, chdb:///path or clickhouse://user:password@host:8123/db",
        ),
        (
            "/srv/events",
            "'/srv/events' is not a store URL: use sqlite, chdb:///path or clickhouse://user:password@host:8123/db",
        ),
        ("chdb://", "chdb:// needs a directory, e.g. chdb:///var/lib/analytics/events"),
        ("clickhouse://:8123/db", "clickhouse:// needs a host, e.g. clickhouse://user:password@host:8123/analytics"),
        ("clickhouse://db:eighty/x", "clickhouse:// has a port that is not a number"),
        ("clickhouse://db/x;DROP", "'x;DROP' is not a database name (letters, digits and _)"),
    ],
)
def test_bad_urls_say_why(url: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_url(url)
    assert str(info.value) == message


async def test_rows_commands_and_inserts_on_chdb(tmp_path: Path) -> None:
    conn = Connection(parse_url(f"chdb://{tmp_path / 'ch'}"))
    await conn.open()
    try:
        await conn.command("CREATE TABLE t (a Int64, s String) ENGINE = MergeTree ORDER BY a")
        await conn.insert("t", ("a", "s"), [(1, "x'); DROP TABLE t; --"), (2, "y")])
        await conn.insert("t", ("a", "s"), [])  # nothing to send: no call
        rows = await conn.rows("SELECT a, s FROM t WHERE s = {v:String} ORDER BY a", {"v": "x'); DROP TABLE t; --"})
        assert rows == [(1, "x'); DROP TABLE t; --")]
        assert await conn.rows("SELECT count() FROM t") == [(2,)]
    finally:
        await conn.close()
    assert (tmp_path / "ch").is_dir()


async def test_a_second_chdb_directory_in_one_process_is_a_clear_error(tmp_path: Path) -> None:
    first = Connection(parse_url(f"chdb://{tmp_path / 'one'}"))
    await first.open()
    second = Connection(parse_url(f"chdb://{tmp_path / 'two'}"))
    try:
        with pytest.raises(StorageError) as info:
            await second.open()
        assert str(info.value) == (
            "the chDB data directory is in use by another process (chDB allows one process per directory)"
        )
        assert info.value.path == f"chdb://{tmp_path / 'two'}"
    finally:
        await second.close()
        await first.close()


async def test_an_absent_server_is_a_storage_error_naming_it_without_the_password() -> None:
    port = free_port()
    conn = Connection(parse_url(f"clickhouse://ana:hunter2@127.0.0.1:{port}/analytics"))
    with pytest.raises(StorageError) as info:
        await conn.open()
    await conn.close()
    assert info.value.path == f"clickhouse://ana@127.0.0.1:{port}/analytics"
    assert "hunter2" not in str(info.value) and str(info.value)


async def test_on_a_server_a_read_waits_the_query_budget_plus_a_margin_then_is_unavailable(tmp_path: Path) -> None:
    """Over HTTP to ClickHouse's engine (tests/clickhouse_http.py): rows, commands and inserts work; a server
    that takes the connection but never answers (SIGSTOP) makes a read unavailable after 1 s + 5 s."""
    from clickhouse_http import ClickHouseProcess

    assert Connection(parse_url("clickhouse://db/x")).answer_timeout() is None  # no budget: the client's default
    assert Connection(parse_url("clickhouse://db/x"), 2.5).answer_timeout() == 3 + ANSWER_MARGIN
    server = ClickHouseProcess(tmp_path / "clickhouse").start()
    conn = Connection(parse_url(server.url()), query_timeout=1)
    try:
        await conn.open()
        await conn.command("CREATE TABLE t (n UInt32, s String) ENGINE = MergeTree ORDER BY n")
        await conn.insert("t", ("n", "s"), [(1, "a"), (2, "b\\n'")])
        assert await conn.rows("SELECT n, s FROM t WHERE n >= {m:UInt32} ORDER BY n", {"m": 1}) == [(1, "a"), (2, "b\\n'")]
        server.pause()
        start = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            await conn.rows("SELECT count() FROM t")
        assert 1 + ANSWER_MARGIN - 0.5 < time.monotonic() - start < 1 + ANSWER_MARGIN + 3
        assert info.value.status == 503 and info.value.headers == {"Retry-After": "5"}
        assert "s3cret-pw" not in info.value.message
        server.resume()
        assert await conn.rows("SELECT count() FROM t") == [(2,)]
    finally:
        server.resume()
        await conn.close()
        server.stop()
