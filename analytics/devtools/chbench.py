"""The ClickHouse side of `analytics bench --store chdb:///dir`: seed, open and measure a ClickHouse store.

bench.py seeds the demo into SQLite as always; with a ClickHouse store this
copies it over through `analytics store copy`'s path (events replayed into
ClickHouse's own write path), and the same query sets are then timed on the
ClickHouse store. Kept apart from bench.py so the hook there is three lines.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from analytics.model import Site


def _url(store: str) -> Any:
    from analytics.store.clickhouse.chclient import parse_url

    return parse_url(store)


def open_store(store: str) -> Any:
    """A ClickHouseStore for `store` (not yet opened), batched for bulk writes."""
    from analytics.store.clickhouse.chstore import ClickHouseStore

    return ClickHouseStore(_url(store), batch_size=20_000, batch_ms=0)


def seed(db: Path, store: str, site: Site) -> dict[str, Any]:
    """Copy the site's events from the SQLite demo database `db` into `store`; returns the copy's figures."""
    from analytics.store.sqlite.store import SQLiteStore
    from analytics.transfer import storecopy

    async def run() -> dict[str, Any]:
        source, target = SQLiteStore(db, readers=1), open_store(store)
        await source.open()
        await target.open()
        try:
            began, cpu = time.perf_counter(), time.process_time()
            copied = await storecopy.copy_site(source, target, site)
            seconds = time.perf_counter() - began
            return {
                "copy_seconds": round(seconds, 1),
                "copy_events_per_s": round(copied.events / seconds) if seconds else None,
                "copy_events_per_cpu_s": round(copied.events / (time.process_time() - cpu) or 1),
                "events": copied.events,
            }
        finally:
            await target.close()
            await source.close()

    return asyncio.run(run())


def event_count(store: str) -> int:
    """Events stored in `store` (after its server stopped)."""

    async def count() -> int:
        target = open_store(store)
        await target.open()
        try:
            return int(await target.event_count())
        finally:
            await target.close()

    return asyncio.run(count())


def storage(store: str, events: int) -> dict[str, Any]:
    """Bytes per event on disk: every active part's bytes (system.parts), after ClickHouse merged them."""

    async def measure() -> dict[str, int]:
        target = open_store(store)
        await target.open()
        try:
            return dict(await target.table_bytes())
        finally:
            await target.close()

    tables = asyncio.run(measure())
    size = sum(tables.values())
    return {
        "events": events,
        "parts_bytes": size,
        "bytes_per_event": round(size / events, 1) if events else None,
        "table_bytes_per_event": {k: round(v / events, 2) for k, v in tables.items() if events and v},
    }
