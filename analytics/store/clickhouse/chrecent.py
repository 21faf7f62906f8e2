"""Realtime reads from raw events on ClickHouse: current visitors and the live view's last minutes.

The same answers as the SQLite backend's `recent.py`: a visitor is one visitor
id (no day is involved in a window of minutes), pages count page views' visitors,
and sources come from the newest version of each visit the window touches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analytics.store.base import Recent
from analytics.store.clickhouse.chclient import Connection

_WINDOW = "site_id = {site:UInt32} AND ts >= {lo:Int64} AND ts <= {hi:Int64}"
_VISITS = (
    "(SELECT id, source FROM sessions FINAL WHERE site_id = {site:UInt32}"
    f" AND id IN (SELECT session_id FROM events WHERE {_WINDOW}))"
)


def _bounds(site_id: int, since: datetime, until: datetime) -> dict[str, Any]:
    return {"site": site_id, "lo": int(since.timestamp()), "hi": int(until.timestamp())}


async def current_visitors(conn: Connection, site_id: int, since: datetime, until: datetime) -> int:
    rows = await conn.rows(f"SELECT uniqExact(visitor_id) FROM events WHERE {_WINDOW}", _bounds(site_id, since, until))
    return int(rows[0][0]) if rows else 0


async def recent(conn: Connection, site_id: int, since: datetime, until: datetime, limit: int) -> Recent:
    params = {**_bounds(site_id, since, until), "limit": limit}
    totals = await conn.rows(
        f"SELECT uniqExact(visitor_id), countIf(name = 'pageview') FROM events WHERE {_WINDOW}", params
    )
    minutes = await conn.rows(
        f"SELECT intDiv(ts, 60) * 60 AS m, uniqExact(visitor_id), countIf(name = 'pageview') FROM events"
        f" WHERE {_WINDOW} GROUP BY m ORDER BY m",
        params,
    )
    pages = await conn.rows(
        f"SELECT page, uniqExact(visitor_id) AS n FROM events WHERE {_WINDOW} AND name = 'pageview'"
        " GROUP BY page ORDER BY n DESC, page LIMIT {limit:UInt32}",
        params,
    )
    sources = await conn.rows(
        f"SELECT s.source AS src, uniqExact(e.visitor_id) AS n FROM (SELECT session_id, visitor_id FROM events"
        f" WHERE {_WINDOW}) AS e JOIN {_VISITS} AS s ON s.id = e.session_id"
        " GROUP BY src ORDER BY n DESC, src LIMIT {limit:UInt32}",
        params,
    )
    visitors, pageviews = (int(totals[0][0]), int(totals[0][1])) if totals else (0, 0)
    return Recent(
        visitors,
        pageviews,
        [(int(m), int(n), int(v)) for m, n, v in minutes],
        [(str(p), int(n)) for p, n in pages],
        [(str(s), int(n)) for s, n in sources],
    )
