"""Date ranges in the site's time zone, and the UTC offsets a range spans.

Every zone's offset is a multiple of 15 minutes, so local days and hours are
whole runs of the 15-minute UTC rollup buckets.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

from analytics.errors import BadRequest
from analytics.model import BUCKET, DAY

# The calendar this service counts in. Python's dates end at 0001 and 9999, and a
# day's UTC instants, its zone offsets and a day either side must all exist, so
# ranges and imported rows stay inside these bounds (a 400, never an overflow).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9998, 12, 31)
BOUNDS = f"dates must lie between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"

PRESETS = ("day", "24h", "7d", "28d", "30d", "91d", "month", "6mo", "12mo", "year", "all")


@functools.lru_cache(maxsize=256)
def zone(tz_name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(tz_name)


def local_day(ts: float, tz_name: str) -> int:
    """The calendar day (proleptic ordinal) of instant `ts` in `tz_name`: a visitor counts once per such day."""
    return datetime.fromtimestamp(ts, zone(tz_name)).date().toordinal()


def local_midnight(day: date, tz: zoneinfo.ZoneInfo) -> datetime:
    """The UTC instant at which `day` starts in `tz` (gaps handled by fold=0)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def in_bounds(day: date) -> bool:
    """Whether `day` lies in [FIRST_DAY, LAST_DAY], the days a range or an imported row may name."""
    return FIRST_DAY <= day <= LAST_DAY


def resolve(
    spec: object, tz_name: str, now: datetime, earliest: date | None = None
) -> tuple[datetime, datetime, date, date]:
    """A Plausible `date_range` to (start UTC, end UTC exclusive, first local day, last local day)."""
    tz = zoneinfo.ZoneInfo(tz_name)
    today = now.astimezone(tz).date()
    if isinstance(spec, list):
        if len(spec) != 2 or not all(isinstance(x, str) for x in spec):
            raise BadRequest("date_range must be a preset or a list of two ISO dates")
        try:
            first, last = (date.fromisoformat(x[:10]) for x in spec)
        except ValueError:
            raise BadRequest(f"date_range {spec!r} has an invalid date; use YYYY-MM-DD") from None
        if not (in_bounds(first) and in_bounds(last)):
            raise BadRequest(f"date_range {spec!r}: {BOUNDS}")
        if last < first:
            raise BadRequest("date_range ends before it starts")
        if (last - first).days > 366 * 20:
            raise BadRequest("date_range spans more than 20 years")
    elif spec == "24h":
        end = now.astimezone(UTC)
        start = end - timedelta(hours=24)
        return start, end, start.astimezone(tz).date(), end.astimezone(tz).date()
    elif spec == "day":
        first = last = today
    elif isinstance(spec, str) and spec.endswith("d") and spec[:-1] in ("7", "28", "30", "91"):
        # Plausible's "7d" is the 7 days before today, today excluded.
        last = today - timedelta(days=1)
        first = today - timedelta(days=int(spec[:-1]))
    elif spec == "month":
        first, last = today.replace(day=1), today
    elif spec == "6mo" or spec == "12mo":
        months = 6 if spec == "6mo" else 12
        y, m = today.year, today.month - (months - 1)
        while m < 1:
            m, y = m + 12, y - 1
        first, last = date(y, m, 1), today
    elif spec == "year":
        first, last = date(today.year, 1, 1), today
    elif spec == "all":
        first, last = max(earliest or today, FIRST_DAY), today
    else:
        raise BadRequest(f"date_range {spec!r} is not one of {', '.join(PRESETS)} or [from, to]")
    return local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz), first, last


def offsets(tz_name: str, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """[(from_ts, offset_seconds), ...] covering [start, end): a step function of the zone's offset."""
    tz = zoneinfo.ZoneInfo(tz_name)
    out: list[tuple[int, int]] = []
    t = int(start.timestamp()) - DAY
    stop = int(end.timestamp()) + DAY

    def off(ts: int) -> int:
        delta = datetime.fromtimestamp(ts, UTC).astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    current = off(t)
    out.append((t, current))
    step = 6 * 3600
    while t < stop:
        nxt = t + step
        if off(nxt) != current:
            lo, hi = t, nxt  # find the exact 15-minute boundary of the change
            while hi - lo > BUCKET:
                mid = lo + ((hi - lo) // 2 // BUCKET) * BUCKET or lo + BUCKET
                if off(mid) == current:
                    lo = mid
                else:
                    hi = mid
            current = off(hi)
            out.append((hi, current))
        t = nxt
    return out


def granularity(first: date, last: date) -> str:
    """What the bare `time` dimension means for a range, as Plausible picks it."""
    days = (last - first).days + 1
    if days <= 1:
        return "hour"
    if days <= 40:
        return "day"
    if days <= 120:
        return "week"
    return "month"


def labels(kind: str, first: date, last: date) -> list[str]:
    """Every label of a time dimension across the range, for include.time_labels."""
    out: list[str] = []
    if kind == "hour":
        d = first
        while d <= last:
            out += [f"{d.isoformat()} {h:02d}:00:00" for h in range(24)]
            d += timedelta(days=1)
    elif kind == "day":
        out = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    elif kind == "week":
        d = first - timedelta(days=first.weekday())
        while d <= last:
            out.append(max(d, first).isoformat())
            d += timedelta(days=7)
    elif kind == "month":
        y, m = first.year, first.month
        while date(y, m, 1) <= last:
            out.append(date(y, m, 1).isoformat())
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out
