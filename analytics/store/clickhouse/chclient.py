"""The one connection to ClickHouse: a store URL parsed, the client opened, every call on one thread.

`chdb:///path` opens the embedded engine (chDB) on a data directory;
`clickhouse://user:password@host:8123/database` (or `clickhouses://` for TLS)
reaches a server over HTTP. Both give clickhouse-connect's same client, so the
backend above never knows which it talks to.

chDB runs in this process and serves one caller at a time, so every call goes
through one worker thread: the event loop never blocks, and calls never overlap.
On a server, reads and inserts (what requests wait for) wait at most the query
budget plus `ANSWER_MARGIN` for an answer, so a server that hangs holds no request
longer than that; statements that may rightly run long (DDL, mutations,
`INSERT ... SELECT`, `OPTIMIZE`: `command`) go through a second client on their own
thread, with clickhouse-connect's default wait, and never hold up ingest.
Failures become `StorageError` (cannot open: the CLI exits 2 with the reason) or
`StoreUnavailable` (gone while running: 503 with Retry-After).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from analytics.errors import StorageError, Unavailable

SCHEMES = ("chdb", "clickhouse", "clickhouses")
# Seconds a read or insert on a server may wait for its answer beyond the query budget: past that, a
# server that took the connection but does not answer (hung, or cut off behind a proxy) is unavailable.
ANSWER_MARGIN = 5
CONNECT_TIMEOUT = 5


class StoreUnavailable(Unavailable):
    """ClickHouse did not answer or refused a call while running: retry later, nothing was acknowledged."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"The event store is unavailable ({reason}); retry later", retry_after=5)


@dataclass(frozen=True, slots=True)
class StoreURL:
    """A parsed `--store` URL for ClickHouse. `path` for chDB; host, port, credentials and database for a server."""

    scheme: str
    path: str = ""
    host: str = ""
    port: int = 8123
    user: str = "default"
    password: str = ""
    database: str = "default"

    @property
    def embedded(self) -> bool:
        return self.scheme == "chdb"

    def display(self) -> str:
        """The URL without its password: safe for messages and logs."""
        if self.embedded:
            return f"chdb://{self.path}"
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}/{self.database}"


def parse_url(url: str) -> StoreURL:
    """Parse a ClickHouse store URL; a ValueError names what is wrong."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES:
        raise ValueError(
            f"{url!r} is not a store URL: use sqlite, chdb:///path or clickhouse://user:password@host:8123/db"
        )
    if scheme == "chdb":
        if not rest or rest == "/":
            raise ValueError("chdb:// needs a directory, e.g. chdb:///var/lib/analytics/events")
        return StoreURL(scheme, path=str(Path(rest).expanduser()))
    parts = urlsplit(url)
    try:
        port = parts.port or (8443 if scheme == "clickhouses" else 8123)
    except ValueError:
        raise ValueError(f"{scheme}:// has a port that is not a number") from None
    if not parts.hostname:
        raise ValueError(f"{scheme}:// needs a host, e.g. {scheme}://user:password@host:8123/analytics")
    database = parts.path.strip("/") or "default"
    if not database.replace("_", "").isalnum():
        raise ValueError(f"{database!r} is not a database name (letters, digits and _)")
    return StoreURL(
        scheme, host=parts.hostname, port=port, user=unquote(parts.username or "default"),
        password=unquote(parts.password or ""), database=database,
    )  # fmt: skip


class Connection:
    """The client for one store URL, its calls run one at a time on a worker thread (two on a server, see above)."""

    def __init__(self, url: StoreURL, query_timeout: float | None = None) -> None:
        self.url = url
        self.query_timeout = query_timeout
        self._client: Any = None
        self._slow: Any = None  # the client for `command`: the same one on chDB
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="analytics-clickhouse")
        self._slow_pool = (
            self._pool if url.embedded
            else concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="analytics-clickhouse-slow")
        )  # fmt: skip

    def answer_timeout(self) -> int | None:
        """How long a read or insert waits for the server's answer; None (no budget): the client's default."""
        return math.ceil(self.query_timeout) + ANSWER_MARGIN if self.query_timeout else None

    def _server_client(self, database: str | None, read_timeout: int | None) -> Any:
        import clickhouse_connect

        url = self.url
        options: dict[str, Any] = {"database": database} if database else {}
        if read_timeout:
            options["send_receive_timeout"] = read_timeout
        return clickhouse_connect.get_client(
            host=url.host, port=url.port, username=url.user, password=url.password,
            secure=url.scheme == "clickhouses", connect_timeout=CONNECT_TIMEOUT, **options,
        )  # fmt: skip

    def _open(self) -> tuple[Any, Any]:
        try:
            import clickhouse_connect  # imported when used: SQLite users never load it
        except ImportError:
            raise RuntimeError("clickhouse-connect is not installed: pip install 'analytics[clickhouse]'") from None

        url = self.url
        if url.embedded:
            Path(url.path).mkdir(parents=True, exist_ok=True)
            client = clickhouse_connect.get_client(dsn=f"chdb://{url.path}")
            return client, client
        if url.database != "default":
            boot = self._server_client(None, None)
            boot.command(f"CREATE DATABASE IF NOT EXISTS {url.database}")
            boot.close()
        client = self._server_client(url.database, self.answer_timeout())
        try:
            return client, self._server_client(url.database, None)
        except BaseException:
            client.close()
            raise

    async def open(self) -> None:
        """Open the client; anything that stops it (lock held, no server, wrong password) is a StorageError."""
        try:
            self._client, self._slow = await self._call(self._open)
        except Exception as exc:
            raise StorageError(self.url.display(), _reason(exc)) from None

    async def close(self) -> None:
        if self._client is not None:
            client, slow, self._client, self._slow = self._client, self._slow, None, None
            if slow is not client:
                await self._call_slow(slow.close)
            await self._call(client.close)
        self._pool.shutdown(wait=True)
        self._slow_pool.shutdown(wait=True)

    async def _call_slow(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._slow_pool, lambda: fn(*args, **kwargs))

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    def _settings(self) -> dict[str, Any]:
        return {"max_execution_time": self.query_timeout} if self.query_timeout else {}

    async def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of one SELECT; `{name:Type}` placeholders are bound server-side from `params`."""
        try:
            result = await self._call(self._client.query, sql, parameters=params or {}, settings=self._settings())
        except Exception as exc:
            raise _mapped(exc, self.query_timeout) from None
        return [tuple(r) for r in result.result_rows]

    async def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """One statement without rows (DDL, DELETE, INSERT ... SELECT), on the thread that may wait long."""
        try:
            await self._call_slow(self._slow.command, sql, parameters=params or {})
        except Exception as exc:
            raise _mapped(exc, None) from None

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """One synchronous insert: it returns once ClickHouse has written the rows (no async insert buffer)."""
        if not rows:
            return
        try:
            await self._call(self._client.insert, table, rows, column_names=list(columns))
        except Exception as exc:
            raise _mapped(exc, None) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "already initialized" in text or "lock" in text.lower():
        return "the chDB data directory is in use by another process (chDB allows one process per directory)"
    return text[:300]


def _mapped(exc: BaseException, timeout: float | None) -> Exception:
    from analytics.errors import QueryTimeout

    text = str(exc)
    if timeout and ("TIMEOUT_EXCEEDED" in text or "Timeout exceeded" in text):
        return QueryTimeout(timeout)
    if (
        isinstance(exc, (ConnectionError, OSError))
        or "Connection" in type(exc).__name__
        or "Operational" in type(exc).__name__
    ):
        return StoreUnavailable(_reason(exc))
    return exc if isinstance(exc, Exception) else RuntimeError(text)
