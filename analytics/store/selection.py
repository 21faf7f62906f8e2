"""Choosing the event store from the `store` setting: SQLite in the data dir, or ClickHouse."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analytics.clock import Clock
from analytics.config import Settings

if TYPE_CHECKING:
    from analytics.store.clickhouse.chstore import ClickHouseStore
    from analytics.store.sqlite.store import SQLiteStore


def make_store(settings: Settings, clock: Clock | None = None, **options: Any) -> SQLiteStore | ClickHouseStore:
    """The store `settings.store` names, not yet opened; `options` go to the SQLite store (e.g. readers)."""
    common: dict[str, Any] = {
        "clock": clock,
        "batch_size": settings.batch_size,
        "batch_ms": settings.batch_ms,
        "queue_size": settings.queue_size,
        "query_timeout": settings.query_timeout or None,
    }
    if settings.store == "sqlite":
        from analytics.store.sqlite.store import SQLiteStore

        return SQLiteStore(settings.db_path, **common, **options)
    from analytics.store.clickhouse.chclient import parse_url
    from analytics.store.clickhouse.chstore import ClickHouseStore

    return ClickHouseStore(parse_url(settings.store), **common)
