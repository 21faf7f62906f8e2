"""The daily rollup tier: closed local days of the 15-minute rollups, summed once.

A 30-day dashboard then reads 30 rows per key instead of 2,880 buckets. Only
days that can no longer change are summed: a visit adds to its start bucket for
as long as the writer can still continue it (two days), so a day is rolled up
three days after it ends. Visitor credits are per local day of the site already,
which makes the daily sums exact. A change of the site's time zone drops and
rebuilds its daily rows.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timedelta

import aiosqlite

from analytics.model import BUCKET, DAY, Site
from analytics.stats import dates
from analytics.stats.dates import EPOCH as EPOCH  # re-exported for this store
from analytics.stats.dates import day_number as day_number

SETTLE_DAYS = 3


def local_offset_sql(tz_name: str, start: datetime, end: datetime, ts_expr: str) -> str:
    """The zone's UTC offset in seconds at `ts_expr`, as SQL: a CASE over its changes in [start, end)."""
    steps = dates.offsets(tz_name, start, end)
    # Each step is (from, offset): before a change the previous step's offset holds.
    cases = " ".join(f"WHEN {ts_expr} < {t} THEN {steps[i][1]}" for i, (t, _) in enumerate(steps[1:]))
    last = steps[-1][1]
    return f"CASE {cases} ELSE {last} END" if cases else str(last)


async def _columns(conn: aiosqlite.Connection, table: str) -> list[str]:
    async with conn.execute(f"PRAGMA table_info({table})") as cur:
        return [row[1] for row in await cur.fetchall()]


async def roll(conn: aiosqlite.Connection, now: float, sites: Iterable[Site]) -> int:
    """Sum every settled, not yet summed local day of each site. Returns days added.

    The sites (their ids and time zones) come from accounts. Runs inside the
    writer's transaction (store.write), like every other write.
    """
    from analytics.catalog import ROLLUP_KEYS

    added = 0
    for site_id, tz_name in [(site.id, site.timezone) for site in sites]:
        async with conn.execute("SELECT timezone, through_day FROM rollup_days WHERE site_id = ?", (site_id,)) as cur:
            done = await cur.fetchone()
        if done is not None and done[0] != tz_name:
            await drop(conn, site_id)
            done = None
        tz = zoneinfo.ZoneInfo(tz_name)
        last = datetime.fromtimestamp(now, tz).date() - timedelta(days=SETTLE_DAYS)
        if done is not None:
            first = EPOCH + timedelta(days=done[1] + 1)
        else:
            async with conn.execute("SELECT MIN(bucket) FROM rollup_totals WHERE site_id = ?", (site_id,)) as cur:
                row = await cur.fetchone()
            if row is None or row[0] is None:
                continue
            first = datetime.fromtimestamp(row[0] * BUCKET, tz).date()
        if first > last:
            continue
        start, end = dates.local_midnight(first, tz), dates.local_midnight(last + timedelta(days=1), tz)
        day = f"((bucket * {BUCKET} + {local_offset_sql(tz_name, start, end, f'bucket * {BUCKET}')}) / {DAY})"
        for table, keys in ROLLUP_KEYS.items():
            counters = [c for c in await _columns(conn, table) if c not in ("site_id", "bucket", *keys)]
            cols = ", ".join(("site_id", "day", *keys, *counters))
            select = ", ".join(("site_id", day, *keys, *(f"SUM({c})" for c in counters)))
            group = ", ".join((day, *keys))
            await conn.execute(
                f"INSERT INTO {table}_day ({cols}) SELECT {select} FROM {table}"
                f" WHERE site_id = ? AND bucket >= ? AND bucket < ? GROUP BY {group}",
                (site_id, int(start.timestamp()) // BUCKET, int(end.timestamp()) // BUCKET),
            )
        await conn.execute(
            "INSERT INTO rollup_days (site_id, timezone, through_day) VALUES (?, ?, ?)"
            " ON CONFLICT (site_id) DO UPDATE SET timezone = excluded.timezone, through_day = excluded.through_day",
            (site_id, tz_name, day_number(last)),
        )
        added += (last - first).days + 1
    return added


async def drop(conn: aiosqlite.Connection, site_id: int) -> None:
    """Forget a site's daily tier (zone changed, site removed); the next roll rebuilds it."""
    from analytics.catalog import ROLLUP_KEYS

    for table in ROLLUP_KEYS:
        await conn.execute(f"DELETE FROM {table}_day WHERE site_id = ?", (site_id,))
    await conn.execute("DELETE FROM rollup_days WHERE site_id = ?", (site_id,))
