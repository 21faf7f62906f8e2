"""Rollups per segment: settled days of every rollup table again per channel, source and campaign.

"Readers from LinkedIn: what did they read?" is a filter on one value of a
visit attribute. Answered from raw events, it reads every matching event of
the range and joins it to its visit. Here each settled local day (the daily
tier's rule, store.sqlite.days) is summed once more per value of each segment
attribute (catalog `SEGMENTS`): the day's visits are replayed through the same
counting code that writes the rollups (visits.split), and the rows are kept
in `<table>_seg`, keyed (site_id, seg, value, day, *keys). A filtered view then
reads those rows for its settled days and raw events only for the days after
(store.sqlite.reads).

Nothing runs on the ingest path: a day is replayed once, in the background,
from the export readers' pool and a worker thread, and written in one short
transaction. `segment_days` says through which day a site's rows are complete
(every day up to it, from the site's first event). A time-zone change or a bulk
load into old days forgets them; the next round rebuilds them.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiosqlite

from analytics.catalog import BY_NAME, ROLLUP_KEYS, SEGMENTS, SESSION_ATTRS
from analytics.model import BUCKET, DAY, Site
from analytics.stats import dates
from analytics.store.sqlite.days import EPOCH, SETTLE_DAYS, day_number
from analytics.store.sqlite.pool import Connections
from analytics.store.sqlite.write import HORIZON
from analytics.visits.rollups import COUNTERS, LINK_EVENTS
from analytics.visits.split import Stored, rows_by_value

_POSITIONS = {dim: SESSION_ATTRS.index(BY_NAME[dim].column) for dim in SEGMENTS}
_ATTRS = ", ".join(f"s.{a}" for a in SESSION_ATTRS)
_EVENTS = (
    "SELECT e.ts, s.visitor_id, e.name, e.hostname, e.page, e.props, e.interactive, e.scroll_depth, e.engaged_ms,"
    f" e.read, {_ATTRS} FROM events e JOIN sessions s ON s.id = e.session_id"
    " WHERE e.site_id = ? AND e.ts >= ? AND e.ts <= ? AND s.start >= ? AND s.start < ? AND s.last >= ?"
    " ORDER BY e.ts, e.id"
)

# A site's bookkeeping and its first event, in one statement.
_STATE = (
    "SELECT (SELECT timezone FROM segment_days WHERE site_id = ?), (SELECT through_day FROM segment_days"
    " WHERE site_id = ?), (SELECT MIN(ts) FROM events WHERE site_id = ?)"
)


def table(rollup: str) -> str:
    """The per-segment copy of a rollup table."""
    return f"{rollup}_seg"


async def drop(conn: aiosqlite.Connection, site_id: int) -> None:
    """Forget a site's per-segment rows (zone changed, bulk load, site removed)."""
    for rollup in ROLLUP_KEYS:
        await conn.execute(f"DELETE FROM {table(rollup)} WHERE site_id = ?", (site_id,))
    await conn.execute("DELETE FROM segment_days WHERE site_id = ?", (site_id,))


async def build(
    store: Connections,
    now: float,
    sites: Sequence[Site],
    progress: Callable[[int, int], None] | None = None,
    limit: int | None = None,
) -> int:
    """Replay settled days of `sites` not yet split, oldest first; returns the days added.

    `limit`: at most so many days in all (a housekeeping round stays short; the
    next one goes on). `progress(done, total)` is called after each day.
    """
    added = 0
    limit = limit if limit is not None else 1 << 30
    for site in sites:
        if added >= limit:
            break
        tz = dates.zone(site.timezone)
        last = datetime.fromtimestamp(now, tz).date() - timedelta(days=SETTLE_DAYS)
        async with store.export_reader() as conn:
            async with conn.execute(_STATE, (site.id, site.id, site.id)) as cur:
                zone, through_day, first_ts = await cur.fetchone() or (None, None, None)
        if through_day is not None and zone != site.timezone:
            await store.write(functools.partial(drop, site_id=site.id))  # days of another zone: start again
            through_day = None
        if through_day is not None:
            first = EPOCH + timedelta(days=through_day + 1)
        elif first_ts is not None:
            first = datetime.fromtimestamp(first_ts, tz).date()
        else:
            continue
        total = min((last - first).days + 1, limit - added)
        for i in range(total):
            day = first + timedelta(days=i)
            async with store.export_reader() as conn:
                rows = await _day_rows(conn, site, day)
            after = None if i == 0 and through_day is None else day_number(day) - 1
            if not await store.write(functools.partial(_save, site=site, day=day, after=after, rows=rows)):
                break  # another process went on with this site
            added += 1
            if progress is not None:
                progress(i + 1, total)
    return added


async def _day_rows(conn: aiosqlite.Connection, site: Site, day: date) -> dict[int, dict[str, Any]]:
    """Per segment number, per rollup table: the day's rows keyed (value, *keys)."""
    tz = dates.zone(site.timezone)
    start = int(dates.local_midnight(day, tz).timestamp())
    end = int(dates.local_midnight(day + timedelta(days=1), tz).timestamp())
    # Every event of every visit that adds to the day: visits with an event in it. A visit
    # lives at most as long as the writer may continue it, so those started long before cannot.
    earliest = start - HORIZON - DAY
    async with conn.execute(
        "SELECT MIN(start), MAX(last) FROM sessions WHERE site_id = ? AND start >= ? AND start < ? AND last >= ?",
        (site.id, earliest, end, start),
    ) as cur:
        window = await cur.fetchone()
    if window is None or window[0] is None:
        return {}
    params = (site.id, window[0], window[1], earliest, end, start)
    raw = [tuple(r) for r in await conn.execute_fetchall(_EVENTS, params)]
    names = {i: v for i, v in await conn.execute_fetchall(
        "SELECT id, value FROM strings WHERE value IN ('pageview', 'engagement', ?, ?)", tuple(LINK_EVENTS)
    )}  # fmt: skip
    urls = {json.loads(r[5]).get("url", "") for r in raw if r[5] and names.get(r[2]) in LINK_EVENTS}
    found = await conn.execute_fetchall(
        "SELECT value, id FROM strings WHERE value IN (SELECT value FROM json_each(?))", (json.dumps(sorted(urls)),)
    )
    link_ids: dict[str, int] = {v: i for v, i in found}
    events = [_stored(r, names, link_ids, tz) for r in raw]
    buckets = range(start // BUCKET, end // BUCKET)

    def replay() -> dict[int, dict[str, Any]]:
        return {number: rows_by_value(events, _POSITIONS[dim], buckets) for dim, number in SEGMENTS.items()}

    return await asyncio.to_thread(replay)


def _stored(r: tuple[Any, ...], names: dict[int, str], link_ids: dict[str, int], tz: Any) -> Stored:
    name = names.get(r[2])
    kind = name if name in ("pageview", "engagement") else "custom"
    link = link_ids.get(json.loads(r[5]).get("url", ""), 0) if name in LINK_EVENTS and r[5] else 0
    local = datetime.fromtimestamp(r[0], UTC).astimezone(tz).date().toordinal()
    return Stored(r[0], local, r[1], kind, r[2], r[3], r[4], link, bool(r[6]), r[7], r[8], r[9] == 1, tuple(r[10:]))


async def _save(
    conn: aiosqlite.Connection, site: Site, day: date, after: int | None, rows: dict[int, dict[str, Any]]
) -> bool:
    """Write one day's rows, if the site's rows still reach exactly `after` (None: none yet) in its
    zone: another worker process may have written the day, or the zone changed. False if not."""
    async with conn.execute("SELECT timezone, through_day FROM segment_days WHERE site_id = ?", (site.id,)) as cur:
        found = await cur.fetchone()
    if (None if found is None else (found[0], found[1])) != (None if after is None else (site.timezone, after)):
        return False
    number = day_number(day)
    for seg, tables in rows.items():
        for rollup, summed in tables.items():
            keys, counters = ROLLUP_KEYS[rollup], COUNTERS[rollup]
            cols = ("site_id", "seg", "value", "day", *keys, *counters)
            await conn.executemany(
                f"INSERT INTO {table(rollup)} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [(site.id, seg, key[0], number, *key[1:], *values) for key, values in summed.items()],
            )
    await conn.execute(
        "INSERT INTO segment_days (site_id, timezone, through_day) VALUES (?, ?, ?)"
        " ON CONFLICT (site_id) DO UPDATE SET timezone = excluded.timezone, through_day = excluded.through_day",
        (site.id, site.timezone, number),
    )
    return True
