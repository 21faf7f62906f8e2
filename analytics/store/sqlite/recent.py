"""Realtime reads from raw events: current visitors and the live view's last minutes.

Rollups are 15-minute buckets, too coarse for "the last five minutes", so these
read `events` (by its clustered (site_id, ts) key) joined to the visits for the visitor
id and source. A visitor is one visitor id here: no day is involved in a window
of minutes.
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from analytics.store.base import Recent

# The built-in event name a page view carries; a site without page views has no such string.
_PAGEVIEW = "(SELECT id FROM strings WHERE value = 'pageview')"
_WINDOW = "e.site_id = ? AND e.ts >= ? AND e.ts <= ?"
_FROM = "FROM events e JOIN sessions s ON s.id = e.session_id"

CURRENT_SQL = f"SELECT COUNT(DISTINCT s.visitor_id) {_FROM} WHERE {_WINDOW}"
# One statement for the live view: a tagged row per part, joined with UNION ALL.
RECENT_SQL = f"""
SELECT 't', NULL, COUNT(DISTINCT s.visitor_id), COALESCE(SUM(e.name = {_PAGEVIEW}), 0) {_FROM} WHERE {_WINDOW}
UNION ALL
SELECT 'm', e.ts / 60 * 60, COUNT(DISTINCT s.visitor_id), SUM(e.name = {_PAGEVIEW}) {_FROM} WHERE {_WINDOW}
GROUP BY e.ts / 60
UNION ALL
SELECT * FROM (
    SELECT 'p', p.value, COUNT(DISTINCT s.visitor_id) AS n, NULL {_FROM} JOIN strings p ON p.id = e.page
    WHERE {_WINDOW} AND e.name = {_PAGEVIEW} GROUP BY e.page ORDER BY n DESC, p.value LIMIT ?
)
UNION ALL
SELECT * FROM (
    SELECT 's', src.value, COUNT(DISTINCT s.visitor_id) AS n, NULL {_FROM} JOIN strings src ON src.id = s.source
    WHERE {_WINDOW} GROUP BY s.source ORDER BY n DESC, src.value LIMIT ?
)
"""


def _bounds(site_id: int, since: datetime, until: datetime) -> list[int]:
    return [site_id, int(since.timestamp()), int(until.timestamp())]


async def current_visitors(conn: aiosqlite.Connection, site_id: int, since: datetime, until: datetime) -> int:
    async with conn.execute(CURRENT_SQL, _bounds(site_id, since, until)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def recent(conn: aiosqlite.Connection, site_id: int, since: datetime, until: datetime, limit: int) -> Recent:
    window = _bounds(site_id, since, until)
    async with conn.execute(RECENT_SQL, [*window, *window, *window, limit, *window, limit]) as cur:
        rows = list(await cur.fetchall())
    visitors = pageviews = 0
    minutes: list[tuple[int, int, int]] = []
    pages: list[tuple[str, int]] = []
    sources: list[tuple[str, int]] = []
    for kind, key, n, views in rows:
        if kind == "t":
            visitors, pageviews = int(n), int(views)
        elif kind == "m":
            minutes.append((int(key), int(n), int(views or 0)))
        elif kind == "p":
            pages.append((str(key), int(n)))
        else:
            sources.append((str(key), int(n)))
    minutes.sort()
    return Recent(visitors, pageviews, minutes, pages, sources)
