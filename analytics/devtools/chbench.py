"""The ClickHouse side of `analytics bench --store chdb:///dir`: seed, open and measure a ClickHouse store.

With a ClickHouse store, bench_dashboard.py seeds the demo's traffic straight
into ClickHouse's own write path (no SQLite copy first), and the same query
sets are then timed on the ClickHouse store. Kept apart from bench.py so the hook there is three lines.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from analytics.model import Site

SEED_CHUNK = 100_000  # events per write while seeding: fewer, larger parts and rollup rows


def _url(store: str) -> Any:
    from analytics.store.clickhouse.chclient import parse_url

    return parse_url(store)


def open_store(store: str) -> Any:
    """A ClickHouseStore for `store` (not yet opened), batched for bulk writes."""
    from analytics.store.clickhouse.chstore import ClickHouseStore

    return ClickHouseStore(_url(store), batch_size=20_000, batch_ms=0)


def seed(store: str, site: Site, events: int, days: int, now: float, progress: bool = False) -> dict[str, Any]:
    """Write the demo's traffic for `site` straight into `store` through its write path; the seeding's figures.

    The events are the demo's (`demo.chunks`, the same seed and clock as the SQLite
    demo), and they go through the appender and visits/ in large pipelined chunks
    (`ClickHouseStore.bulk`): the one write path, without the ingest queue. The daily
    rollup tier is then filled by housekeeping, as `analytics demo` does for SQLite.
    """
    import gc
    import sys

    from tqdm import tqdm  # type: ignore[import-untyped]

    from analytics.devtools import demo
    from analytics.model import DAY

    async def run() -> dict[str, Any]:
        target = open_store(store)
        await target.open()
        try:
            await target.delete_site(site.id, forever=False)
            began, cpu = time.perf_counter(), time.process_time()
            end = int(now)
            with tqdm(total=events, unit="ev", unit_scale=True, disable=not progress, file=sys.stderr) as bar:
                async with target.bulk() as load:
                    for chunk in demo.chunks(site, events, end - days * DAY, end, 1, size=SEED_CHUNK):
                        await load.write(chunk)
                        bar.update(len(chunk))
            written = time.perf_counter() - began
            await target.housekeeping(now, [site])
            seconds = time.perf_counter() - began
            return {
                "seed_seconds": round(seconds, 1),
                "seed_events_per_s": round(load.events / seconds) if seconds else None,
                "seed_events_per_cpu_s": round(load.events / ((time.process_time() - cpu) or 1)),
                "write_seconds": round(written, 1),
                "daily_tier_seconds": round(seconds - written, 1),
                "events": load.events,
            }
        finally:
            await target.close()

    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived objects and no cycles, as in the demo
    try:
        return asyncio.run(run())
    finally:
        if collecting:
            gc.enable()


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
