"""Where a raw plan's range splits in two, so two readers can read the halves at once.

A filtered dashboard spends nearly all its time in one statement over its
filtered set (store.sqlite.segments), on one reader, while the store's other
reader and the machine's other core wait. With a second reader, each raw plan
or filtered set is read in two halves of its range, one on each reader, and the
halves' sums are added (compiler.Half says why they add up exactly).

The cut is the local midnight that best halves the range's traffic, by the
15-minute rollups from the range's first raw event on (a 12-month range with 90
days of data splits inside those 90 days). A range is not split when a visit
near the cut stored its day in a zone the site has since left: visit figures
count a visitor once per stored day, and both halves must agree on its side.

Each reader reads its own snapshot: an event committed between the two halves'
first steps may count in the later one only, as if the view were read a moment
later. Stored history is read the same either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from analytics.model import BUCKET, DAY
from analytics.stats import dates
from analytics.stats.plan import Plan
from analytics.store.sqlite.compiler import Half
from analytics.store.sqlite.days import EPOCH, local_offset_sql

# A range shorter than this many days is read whole: halves would cost more than they save.
MIN_DAYS = 2


# Sessions store their local day as computed when they began. A change of the site's time zone
# leaves older days in the old zone, up to 26 hours (UTC-12 to UTC+14) from the new zone's.
_ZONE_SPREAD = 27 * 3600

Fetch = Callable[[str, Sequence[Any]], Awaitable[list[Any]]]


async def half_pair(fetch: Fetch, plan: Plan) -> tuple[Half, Half] | None:
    """The two halves of `plan`'s range, or None when it is not split (part days, under MIN_DAYS,
    no traffic on both sides of any midnight, visits near the cut whose stored day is in another
    zone). `fetch` runs a statement on the batch's reader, within its budget."""
    q = plan.query
    tz = dates.zone(q.site.timezone)
    if (q.last_day - q.first_day).days + 1 < MIN_DAYS or not q.whole_days:
        return None
    start, end = int(q.start.timestamp()), int(q.end.timestamp())
    at = f"bucket * {BUCKET}"
    day = f"(({at} + {local_offset_sql(q.site.timezone, q.start, q.end, at)}) / {DAY})"
    # The traffic per local day by the rollups, from the first raw event in the range on (raw
    # events may be pruned while the rollups stay).
    first = "(SELECT MIN(ts) FROM events WHERE site_id = ? AND ts >= ? AND ts < ?)"
    sql = (
        f"SELECT {day}, SUM(pageviews + events) FROM rollup_totals"
        f" WHERE site_id = ? AND bucket >= {first} / {BUCKET} AND bucket < ? GROUP BY 1 ORDER BY 1"
    )
    rows = await fetch(sql, (q.site.id, q.site.id, start, end, -(-end // BUCKET)))
    cut = _middle([(int(d), int(w or 0)) for d, w in rows])
    if cut is None:
        return None
    cut_day = EPOCH + timedelta(days=cut)
    cut_at = int(dates.local_midnight(cut_day, tz).timestamp())
    if not start < cut_at < end:
        return None
    # Visitors of visits are counted per stored day, the halves split visits by their start:
    # both must put every visit near the cut on the same side.
    other_zone = (
        "SELECT 1 FROM sessions WHERE site_id = ? AND start >= ? AND start < ? AND (day >= ?) != (start >= ?) LIMIT 1"
    )
    if await fetch(other_zone, (q.site.id, cut_at - _ZONE_SPREAD, cut_at + _ZONE_SPREAD, cut_day.toordinal(), cut_at)):
        return None
    return Half(True, cut_at), Half(False, cut_at)


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
