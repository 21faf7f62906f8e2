"""Date ranges in the site's time zone, and the UTC offsets a range spans.

Every zone's offset is a multiple of 15 minutes, so local days and hours are
whole runs of the 15-minute UTC rollup buckets.

The rule for every preset, in the site's time zone (Plausible's, checked against
its `QueryPeriod`; the dashboard uses the same rule and always prints the dates):

- "Last N days" (`7d`, `28d`, `30d`, `91d`) and "Last N months" (`6mo`, `12mo`)
  are complete days or months before the current one: today, or this month,
  is left out, so a range never mixes finished and unfinished days.
- "Today" (`day`), "Month to date" and "Year to date" run up to now. The API's
  `month` and `year` name the whole calendar month or year (the days still to
  come hold nothing, so the figures are the same).
- "Yesterday" and "Last month" are the complete previous day and month.

Comparisons (`previous_period`): a rolling range (N days, N months, "all", a
custom range) compares with the range of the same length that ends the day
before it starts; a calendar range (today, yesterday, month to date, last
month, year to date) with the previous calendar unit, aligned by day and cut
at that unit's end (month to date on March 31 compares with February 1-28).
`year_earlier` is the same dates one year before (February 29 becomes the 28th).
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


# Day 0 of both stores' daily tables: their `day` column counts local days from here.
EPOCH = date(1970, 1, 1)


def day_number(day: date) -> int:
    """Days since 1970-01-01: the `day` column of both stores' daily tables."""
    return (day - EPOCH).days


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
        first, last = today.replace(day=1), month_end(today)
    elif spec == "6mo" or spec == "12mo":
        first, last = last_months(today, 6 if spec == "6mo" else 12)
    elif spec == "year":
        first, last = date(today.year, 1, 1), date(today.year, 12, 31)
    elif spec == "all":
        first, last = max(earliest or today, FIRST_DAY), today
    else:
        raise BadRequest(f"date_range {spec!r} is not one of {', '.join(PRESETS)} or [from, to]")
    return local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz), first, last


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    return add_months(day.replace(day=1), 1) - timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, its day of month cut to the target month's length (Mar 31 - 1 = Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    first = date(year, month + 1, 1)
    length = ((first.replace(day=28) + timedelta(days=4)).replace(day=1) - first).days
    return first.replace(day=min(day.day, length))


def last_months(today: date, months: int) -> tuple[date, date]:
    """The `months` complete calendar months before `today`'s month."""
    this_month = today.replace(day=1)
    return add_months(this_month, -months), this_month - timedelta(days=1)


# Dashboard presets -> how their comparison is found: "day", "month", "year" (the previous
# calendar unit, aligned by day) or "length" (the same number of days, ending right before).
CALENDAR_UNIT = {"today": "day", "yesterday": "day", "month": "month", "lastmonth": "month", "year": "year"}
MONTHS_BACK = {"12mo": 12}  # whole-month rolling presets compare with as many whole months before


def preset_days(period: str, today: date, earliest: date | None = None) -> tuple[date, date]:
    """A dashboard preset's local days [first, last] on `today` (see the module's rule)."""
    if period == "today":
        return today, today
    if period == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if period in ("7d", "28d", "30d", "91d"):
        return today - timedelta(days=int(period[:-1])), today - timedelta(days=1)
    if period == "month":
        return today.replace(day=1), today
    if period == "lastmonth":
        first = add_months(today.replace(day=1), -1)
        return first, month_end(first)
    if period in MONTHS_BACK:
        return last_months(today, MONTHS_BACK[period])
    if period == "year":
        return date(today.year, 1, 1), today
    if period == "all":
        return max(min(earliest or today, today), FIRST_DAY), today
    raise BadRequest(f"unknown period {period!r}")


def previous_period(period: str, first: date, last: date) -> tuple[date, date]:
    """The range `period` [first, last] compares with by default (see the module's rule)."""
    unit = CALENDAR_UNIT.get(period)
    if unit == "day":
        return first - timedelta(days=1), last - timedelta(days=1)
    if unit == "month":
        start = add_months(first.replace(day=1), -1)
        if period == "lastmonth":  # a whole month compares with the whole month before
            return start, month_end(start)
        return start, min(add_months(last, -1), month_end(start))
    if unit == "year":
        return _year_back(first), _year_back(last)
    if period in MONTHS_BACK:
        return add_months(first, -MONTHS_BACK[period]), first - timedelta(days=1)
    days = (last - first).days + 1
    return first - timedelta(days=days), first - timedelta(days=1)


def year_earlier(first: date, last: date) -> tuple[date, date]:
    """The same dates one year earlier."""
    return _year_back(first), _year_back(last)


def _year_back(day: date) -> date:
    return add_months(day, -12)


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
