"""A site's stored events read back as `Event`s, in time order: what `analytics store copy` replays.

Each event gets its visit's first-touch attributes and visitor id, so writing
the events again through `visits/` rebuilds the same visits and rollups.
Read in pages continued by (ts, id), each on a pooled reader.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from analytics.catalog import SESSION_ATTRS, TEXT_ATTRS
from analytics.model import Event, SessionAttrs, Site
from analytics.stats import dates
from analytics.store.sqlite.pool import Connections

_ATTRS = ", ".join(f"s.{a}" for a in SESSION_ATTRS)
_SQL = (
    "SELECT e.id, e.ts, s.visitor_id, e.name, e.hostname, e.page, e.props, e.scroll_depth, e.engaged_ms,"
    f" e.interactive, e.revenue, e.currency, e.words, {_ATTRS} FROM events e JOIN sessions s ON s.id = e.session_id"
    " WHERE e.site_id = ? AND (e.ts > ? OR (e.ts = ? AND e.id > ?)) ORDER BY e.ts, e.id LIMIT ?"
)
_INTERNED = [i for i, a in enumerate(SESSION_ATTRS) if a not in TEXT_ATTRS]


async def replay(store: Connections, site: Site, page: int = 5000) -> AsyncIterator[list[Event]]:
    """See `Store.replay`."""
    tz = dates.zone(site.timezone)
    after = (-(2**62), 0)
    while True:
        async with store.reader() as conn:
            rows = [tuple(r) for r in await conn.execute_fetchall(_SQL, (site.id, after[0], after[0], after[1], page))]
            ids = {r[i] for r in rows for i in (3, 4, 5)} | {r[13 + i] for r in rows for i in _INTERNED}
            marks = ", ".join("?" * len(ids))
            found = await conn.execute_fetchall(f"SELECT id, value FROM strings WHERE id IN ({marks})", list(ids))
            text: dict[Any, str] = {i: v for i, v in found}
        if not rows:
            return
        out = []
        for r in rows:
            ts = r[1]
            values = [text.get(v, "") if i in _INTERNED else v for i, v in enumerate(r[13:])]
            out.append(Event(
                site.id, ts, datetime.fromtimestamp(ts, UTC).astimezone(tz).date().toordinal(), r[2], None,
                text.get(r[3], ""), text.get(r[4], ""), text.get(r[5], ""),
                SessionAttrs(**dict(zip(SESSION_ATTRS, values, strict=True))),
                tuple(json.loads(r[6]).items()) if r[6] else (), bool(r[9]), r[7], r[8],
                (r[10], r[11]) if r[10] is not None else None,
                # The page's length and the site's read thresholds: the target decides reads again.
                words=r[12], read_scroll=site.read_scroll, read_share=site.read_share,
            ))  # fmt: skip
        yield out
        if len(rows) < page:
            return
        after = (rows[-1][1], rows[-1][0])
