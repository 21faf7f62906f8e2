"""Where a filtered set's range splits in two, so two readers can read the halves at once.

A filtered dashboard spends nearly all its time in one statement over its
filtered set (store.sqlite.segments), on one reader, while the store's other
reader and the machine's other core wait. When both readers are free, the set
is read in two halves of the range, each on its own reader, and the halves'
sums are added (compiler.Half says why they add up exactly).

The cut is the local midnight that best halves the range's traffic, by the
15-minute rollups from the range's first raw event on (a 12-month range with 90
days of data splits inside those 90 days). The first half must also read the events after the cut of the visits
it began before the cut. A visit has no gap over 30 minutes (visits.sessions),
so each such visit has an event in the 30 minutes after the cut, and its `last`
bounds the rest: one look at those 30 minutes finds the `tail` to read up to.

Each reader reads its own snapshot: an event committed between the two halves'
first steps may count in the later one only, as if the view were read a moment
later. Stored history is read the same either way.
"""

from __future__ import annotations

from datetime import timedelta

import aiosqlite

from analytics.model import BUCKET
from analytics.stats import dates
from analytics.stats.plan import Plan
from analytics.store.sqlite.compiler import Compiler, Half
from analytics.store.sqlite.days import EPOCH
from analytics.visits.sessions import TIMEOUT

# A range shorter than this many days is read whole: halves would cost more than they save.
MIN_DAYS = 2


async def half_pair(conn: aiosqlite.Connection, plan: Plan) -> tuple[Half, Half] | None:
    """The two halves of `plan`'s range, or None when it is not split (part days, under MIN_DAYS,
    no traffic on both sides of any midnight)."""
    q = plan.query
    tz = dates.zone(q.site.timezone)
    days = (q.last_day - q.first_day).days + 1
    whole = q.start == dates.local_midnight(q.first_day, tz) and q.end == dates.local_midnight(
        q.last_day + timedelta(days=1), tz
    )
    if days < MIN_DAYS or not whole:
        return None
    start, end = int(q.start.timestamp()), int(q.end.timestamp())
    c = Compiler(plan, {})
    day = c.local_day(f"bucket * {BUCKET}")
    # The traffic per local day by the rollups, from the first raw event in the range on (raw
    # events may be pruned while the rollups stay).
    first = "(SELECT MIN(ts) FROM events WHERE site_id = ? AND ts >= ? AND ts < ?)"
    sql = (
        f"SELECT {day}, SUM(pageviews + events) FROM rollup_totals"
        f" WHERE site_id = ? AND bucket >= {first} / {BUCKET} AND bucket < ? GROUP BY 1 ORDER BY 1"
    )
    async with conn.execute(sql, (*c.params, q.site.id, q.site.id, start, end, -(-end // BUCKET))) as cur:
        weights = [(int(d), int(w or 0)) for d, w in await cur.fetchall()]
    cut = _middle(weights)
    if cut is None:
        return None
    cut_at = int(dates.local_midnight(EPOCH + timedelta(days=cut), tz).timestamp())
    if not start < cut_at < end:
        return None
    probe = (
        "SELECT MAX(s.last) FROM events e JOIN sessions s ON s.id = e.session_id"
        " WHERE e.site_id = ? AND e.ts >= ? AND e.ts <= ? AND s.start < ?"
    )
    async with conn.execute(probe, (q.site.id, cut_at, cut_at + TIMEOUT, cut_at)) as cur:
        row = await cur.fetchone()
    last = row[0] if row is not None else None
    tail = cut_at if last is None else min(end, max(cut_at, int(last) + 1))
    return Half(True, cut_at, tail), Half(False, cut_at, tail)


def _middle(weights: list[tuple[int, int]]) -> int | None:
    """The local day (days since 1970) whose midnight leaves closest to half the weight before it,
    with some weight on each side; None when there is no such day."""
    total = sum(w for _, w in weights)
    if total <= 0:
        return None
    best, best_gap, before = None, total, 0
    for day, w in weights:
        if 0 < before < total:
            gap = abs(total - 2 * before)
            if gap < best_gap:
                best, best_gap = day, gap
        before += w
    return best
