"""The daily rollup tier on ClickHouse: closed local days of the 15-minute rollups, summed once per key.

The same rules as SQLite's (store/sqlite/days.py): a visit adds to its start
bucket for as long as the writer can still continue it (two days), so a local
day is summed three days after it ends, and visitor credits are per local day
of the site already, which makes the daily sums exact. Housekeeping appends a
site's newly settled days to `rollups_day` (a SummingMergeTree keyed by local
day) and records how far the tier reaches in `rollup_days`; a change of the
site's time zone drops its daily rows and sums them again.

A rollup plan over whole local days then reads settled days from `rollups_day`
and only the rest (today, the last three days) from 15-minute buckets: a
12-month dashboard reads 365 rows per key instead of 35,000 buckets.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from analytics.model import BUCKET, DAY, Site
from analytics.stats import dates
from analytics.stats.dates import EPOCH as EPOCH  # re-exported for this store
from analytics.stats.dates import day_number as day_number
from analytics.stats.query import Query
from analytics.store.clickhouse.chclient import Connection
from analytics.store.clickhouse.ddl import DELTA_COUNTERS, DELTA_KEYS

SETTLE_DAYS = 3
_KEYS = ", ".join(f"k{i}" for i in range(DELTA_KEYS))


def local_offset(tz_name: str, start: datetime, end: datetime, ts: str) -> str:
    """The zone's UTC offset in seconds at `ts`, as SQL: a CASE over its changes in [start, end)."""
    steps = dates.offsets(tz_name, start, end)
    cases = " ".join(f"WHEN {ts} < {t} THEN {steps[i][1]}" for i, (t, _) in enumerate(steps[1:]))
    return f"(CASE {cases} ELSE {steps[-1][1]} END)" if cases else str(steps[-1][1])


async def tiers(conn: Connection, sites: Sequence[Site]) -> dict[int, int]:
    """Per site, the last local day its daily tier holds, if the tier is in the site's current time zone."""
    if not sites:
        return {}
    rows = await conn.rows(
        "SELECT site_id, argMax(timezone, version), argMax(through_day, version) FROM rollup_days"
        " WHERE site_id IN {ids:Array(UInt32)} GROUP BY site_id",
        {"ids": sorted({s.id for s in sites})},
    )
    zones = {s.id: s.timezone for s in sites}
    return {int(site_id): int(through) for site_id, tz, through in rows if zones.get(int(site_id)) == tz}


async def roll(conn: Connection, now: float, sites: Sequence[Site]) -> int:
    """Sum every settled, not yet summed local day of each site into `rollups_day`. Returns days added."""
    added = 0
    for site in sites:
        rows = await conn.rows(
            "SELECT argMax(timezone, version), argMax(through_day, version) FROM rollup_days"
            " WHERE site_id = {site:UInt32} HAVING count() > 0",
            {"site": site.id},
        )
        done = (str(rows[0][0]), int(rows[0][1])) if rows else None
        if done is not None and done[0] != site.timezone:
            await drop(conn, site.id)
            done = None
        tz = dates.zone(site.timezone)
        last = datetime.fromtimestamp(now, tz).date() - timedelta(days=SETTLE_DAYS)
        if done is not None:
            first = EPOCH + timedelta(days=done[1] + 1)
        else:
            found = await conn.rows(
                "SELECT min(bucket), count() FROM rollups WHERE site_id = {site:UInt32}", {"site": site.id}
            )
            if not found or not found[0][1]:
                continue
            first = datetime.fromtimestamp(int(found[0][0]) * BUCKET, tz).date()
        if first > last:
            continue
        start, end = dates.local_midnight(first, tz), dates.local_midnight(last + timedelta(days=1), tz)
        ts = f"bucket * {BUCKET}"
        counters = [f"c{i}" for i in range(DELTA_COUNTERS)]
        await conn.command(
            f"INSERT INTO rollups_day (rollup, site_id, day, {_KEYS}, {', '.join(counters)})"
            f" SELECT rollup, site_id, intDiv({ts} + {local_offset(site.timezone, start, end, ts)}, {DAY}) AS day,"
            f" {_KEYS}, {', '.join(f'sum({c})' for c in counters)} FROM rollups"
            " WHERE site_id = {site:UInt32} AND bucket >= {lo:Int64} AND bucket < {hi:Int64}"
            f" GROUP BY site_id, `rollup`, day, {_KEYS}",
            {"site": site.id, "lo": int(start.timestamp()) // BUCKET, "hi": int(end.timestamp()) // BUCKET},
        )
        await conn.insert(
            "rollup_days", ("site_id", "timezone", "through_day", "version"),
            [(site.id, site.timezone, day_number(last), time.time_ns())],
        )  # fmt: skip
        added += (last - first).days + 1
    return added


async def drop(conn: Connection, site_id: int) -> None:
    """Forget a site's daily tier (zone changed, site removed or copied over); the next roll sums it again."""
    for table in ("rollups_day", "rollup_days"):
        await conn.command(f"DELETE FROM {table} WHERE site_id = {{site:UInt32}}", {"site": site_id})


def whole_days(q: Query, through_day: int | None) -> tuple[int, int] | None:
    """The local days [first, last] of `q` the daily tier answers: whole local days up to `through_day`.

    None for an hourly breakdown, a range that is not whole local days ("24h"), or no tier.
    """
    return q.daily_days(through_day)


def after(q: Query, last_day: int) -> int:
    """The first 15-minute bucket after local day `last_day` of the query's site."""
    day = EPOCH + timedelta(days=last_day + 1)
    return int(dates.local_midnight(day, dates.zone(q.site.timezone)).timestamp()) // BUCKET
