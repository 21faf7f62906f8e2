"""Date ranges in the site's time zone (analytics/stats/dates.py): presets, offsets, granularity and labels."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from analytics.errors import BadRequest
from analytics.stats import dates

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Zurich


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "first", "last"),
    [
        ("day", date(2026, 3, 2), date(2026, 3, 2)),
        ("7d", date(2026, 2, 23), date(2026, 3, 1)),  # Plausible's 7d leaves today out
        ("28d", date(2026, 2, 2), date(2026, 3, 1)),
        ("30d", date(2026, 1, 31), date(2026, 3, 1)),
        ("91d", date(2025, 12, 1), date(2026, 3, 1)),
        ("month", date(2026, 3, 1), date(2026, 3, 31)),  # Plausible's month and year: the whole calendar unit
        ("6mo", date(2025, 9, 1), date(2026, 2, 28)),  # complete months, this one left out
        ("12mo", date(2025, 3, 1), date(2026, 2, 28)),
        ("year", date(2026, 1, 1), date(2026, 12, 31)),
        ("all", date(2025, 7, 9), date(2026, 3, 2)),
        (["2026-02-01", "2026-02-10"], date(2026, 2, 1), date(2026, 2, 10)),
    ],
)
def test_presets_are_whole_local_days(spec: object, first: date, last: date) -> None:
    start, end, f, l_ = dates.resolve(spec, "Europe/Zurich", NOW, date(2025, 7, 9))
    assert (f, l_) == (first, last)
    tz = dates.zone("Europe/Zurich")
    assert (start, end) == (dates.local_midnight(first, tz), dates.local_midnight(date.fromordinal(last.toordinal() + 1), tz))


def test_24h_is_the_last_24_hours_not_days() -> None:
    assert dates.resolve("24h", "Europe/Zurich", NOW) == (utc(2026, 3, 1, 9), NOW, date(2026, 3, 1), date(2026, 3, 2))


def test_all_without_data_is_today() -> None:
    assert dates.resolve("all", "Europe/Zurich", NOW)[2:] == (date(2026, 3, 2), date(2026, 3, 2))


def test_local_midnight_across_zones_and_changes() -> None:
    assert dates.local_midnight(date(2026, 3, 2), dates.zone("Europe/Zurich")) == utc(2026, 3, 1, 23)
    assert dates.local_midnight(date(2026, 3, 29), dates.zone("Europe/Berlin")) == utc(2026, 3, 28, 23)  # CET
    assert dates.local_midnight(date(2026, 3, 30), dates.zone("Europe/Berlin")) == utc(2026, 3, 29, 22)  # CEST
    assert dates.local_midnight(date(2026, 3, 2), dates.zone("Asia/Kolkata")) == utc(2026, 3, 1, 18, 30)


def test_local_day() -> None:
    late = utc(2026, 3, 1, 23, 30).timestamp()
    assert dates.local_day(late, "Europe/Zurich") == date(2026, 3, 2).toordinal()
    assert dates.local_day(late, "UTC") == date(2026, 3, 1).toordinal()
    assert dates.local_day(late, "America/St_Johns") == date(2026, 3, 1).toordinal()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["2026-03-01"], "date_range must be a preset or a list of two ISO dates"),
        (["2026-03-01", 5], "date_range must be a preset or a list of two ISO dates"),
        (["2026-02-30", "2026-03-01"], "has an invalid date; use YYYY-MM-DD"),
        (["2026-03-02", "2026-03-01"], "date_range ends before it starts"),
        (["1990-01-01", "2026-03-01"], "date_range spans more than 20 years"),
        ("5d", "is not one of day, 24h, 7d"),
        (7, "is not one of"),
    ],
)
def test_bad_ranges(spec: object, message: str) -> None:
    with pytest.raises(BadRequest, match=message.replace("[", r"\[")):
        dates.resolve(spec, "UTC", NOW)


def test_offsets_step_at_the_exact_change() -> None:
    # Berlin moves from +1 to +2 on March 29, 2026 at 01:00 UTC.
    steps = dates.offsets("Europe/Berlin", utc(2026, 3, 28), utc(2026, 3, 30))
    assert steps == [(int(utc(2026, 3, 27).timestamp()), 3600), (int(utc(2026, 3, 29, 1).timestamp()), 7200)]
    assert dates.offsets("UTC", utc(2026, 3, 28), utc(2026, 3, 30)) == [(int(utc(2026, 3, 27).timestamp()), 0)]
    # Lord Howe Island changes by half an hour (+11 -> +10:30), on April 5, 2026 at 02:00 local.
    howe = dates.offsets("Australia/Lord_Howe", utc(2026, 4, 4), utc(2026, 4, 6))
    assert howe == [(int(utc(2026, 4, 3).timestamp()), 39600), (int(utc(2026, 4, 4, 15).timestamp()), 37800)]


@pytest.mark.parametrize(
    ("days", "kind"), [(1, "hour"), (2, "day"), (40, "day"), (41, "week"), (120, "week"), (121, "month")]
)
def test_granularity(days: int, kind: str) -> None:
    first = date(2026, 1, 1)
    assert dates.granularity(first, date.fromordinal(first.toordinal() + days - 1)) == kind


def test_labels() -> None:
    hours = dates.labels("hour", date(2026, 3, 1), date(2026, 3, 2))
    assert (len(hours), hours[0], hours[-1]) == (48, "2026-03-01 00:00:00", "2026-03-02 23:00:00")
    assert dates.labels("day", date(2026, 2, 27), date(2026, 3, 1)) == ["2026-02-27", "2026-02-28", "2026-03-01"]
    # Weeks start on Monday; the first is labelled by the range's first day.
    assert dates.labels("week", date(2026, 3, 4), date(2026, 3, 20)) == ["2026-03-04", "2026-03-09", "2026-03-16"]
    assert dates.labels("month", date(2025, 11, 15), date(2026, 2, 1)) == [
        "2025-11-01", "2025-12-01", "2026-01-01", "2026-02-01",
    ]  # fmt: skip
    assert dates.labels("minute", date(2026, 3, 1), date(2026, 3, 1)) == []


# -- the dashboard's presets and what they compare with: one rule, on fixed dates ----------------

D = date
# today -> {preset: ((first, last), (compared first, compared last))}
RULES: dict[date, dict[str, tuple[tuple[date, date], tuple[date, date]]]] = {
    D(2026, 11, 30): {  # the examples
        "today": ((D(2026, 11, 30), D(2026, 11, 30)), (D(2026, 11, 29), D(2026, 11, 29))),
        "yesterday": ((D(2026, 11, 29), D(2026, 11, 29)), (D(2026, 11, 28), D(2026, 11, 28))),
        "7d": ((D(2026, 11, 23), D(2026, 11, 29)), (D(2026, 11, 16), D(2026, 11, 22))),
        "28d": ((D(2026, 11, 2), D(2026, 11, 29)), (D(2026, 10, 5), D(2026, 11, 1))),
        "30d": ((D(2026, 10, 31), D(2026, 11, 29)), (D(2026, 10, 1), D(2026, 10, 30))),
        "month": ((D(2026, 11, 1), D(2026, 11, 30)), (D(2026, 10, 1), D(2026, 10, 30))),
        "lastmonth": ((D(2026, 10, 1), D(2026, 10, 31)), (D(2026, 9, 1), D(2026, 9, 30))),
        "12mo": ((D(2025, 11, 1), D(2026, 10, 31)), (D(2024, 11, 1), D(2025, 10, 31))),
        "year": ((D(2026, 1, 1), D(2026, 11, 30)), (D(2025, 1, 1), D(2025, 11, 30))),
        "all": ((D(2026, 6, 1), D(2026, 11, 30)), (D(2025, 11, 30), D(2026, 5, 31))),  # 183 days before
    },
    D(2026, 3, 31): {  # month to date is cut at February's end
        "month": ((D(2026, 3, 1), D(2026, 3, 31)), (D(2026, 2, 1), D(2026, 2, 28))),
        "lastmonth": ((D(2026, 2, 1), D(2026, 2, 28)), (D(2026, 1, 1), D(2026, 1, 31))),
        "7d": ((D(2026, 3, 24), D(2026, 3, 30)), (D(2026, 3, 17), D(2026, 3, 23))),
    },
    D(2026, 1, 1): {  # the first day of a year: everything but today lies in the year before
        "today": ((D(2026, 1, 1), D(2026, 1, 1)), (D(2025, 12, 31), D(2025, 12, 31))),
        "yesterday": ((D(2025, 12, 31), D(2025, 12, 31)), (D(2025, 12, 30), D(2025, 12, 30))),
        "7d": ((D(2025, 12, 25), D(2025, 12, 31)), (D(2025, 12, 18), D(2025, 12, 24))),
        "month": ((D(2026, 1, 1), D(2026, 1, 1)), (D(2025, 12, 1), D(2025, 12, 1))),
        "lastmonth": ((D(2025, 12, 1), D(2025, 12, 31)), (D(2025, 11, 1), D(2025, 11, 30))),
        "12mo": ((D(2025, 1, 1), D(2025, 12, 31)), (D(2024, 1, 1), D(2024, 12, 31))),
        "year": ((D(2026, 1, 1), D(2026, 1, 1)), (D(2025, 1, 1), D(2025, 1, 1))),
    },
    D(2028, 2, 29): {  # a leap day: a year earlier has no Feb 29
        "year": ((D(2028, 1, 1), D(2028, 2, 29)), (D(2027, 1, 1), D(2027, 2, 28))),
        "month": ((D(2028, 2, 1), D(2028, 2, 29)), (D(2028, 1, 1), D(2028, 1, 29))),
        "lastmonth": ((D(2028, 1, 1), D(2028, 1, 31)), (D(2027, 12, 1), D(2027, 12, 31))),
    },
}
CASES = [(today, p, rng, cmp) for today, presets in RULES.items() for p, (rng, cmp) in presets.items()]


@pytest.mark.parametrize(("today", "preset", "days", "compared"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_preset_and_its_comparison(today: date, preset: str, days: tuple[date, date],
                                         compared: tuple[date, date]) -> None:  # fmt: skip
    assert dates.preset_days(preset, today, earliest=date(2026, 6, 1)) == days
    assert dates.previous_period(preset, *days) == compared


def test_a_year_earlier_and_month_arithmetic() -> None:
    assert dates.year_earlier(D(2026, 11, 1), D(2026, 11, 30)) == (D(2025, 11, 1), D(2025, 11, 30))
    assert dates.year_earlier(D(2028, 2, 1), D(2028, 2, 29)) == (D(2027, 2, 1), D(2027, 2, 28))
    assert dates.add_months(D(2026, 3, 31), -1) == D(2026, 2, 28)
    assert dates.add_months(D(2026, 1, 15), -13) == D(2024, 12, 15)
    assert dates.month_end(D(2028, 2, 3)) == D(2028, 2, 29) and dates.month_end(D(2026, 12, 5)) == D(2026, 12, 31)


@pytest.mark.parametrize(
    ("now", "today"),
    [
        (utc(2026, 3, 28, 22, 59), date(2026, 3, 28)),  # 23:59 CET
        (utc(2026, 3, 28, 23, 0), date(2026, 3, 29)),  # midnight CET; at 02:00 the clocks jump to 03:00
        (utc(2026, 10, 24, 22, 0), date(2026, 10, 25)),  # midnight CEST; at 03:00 back to 02:00
    ],
)
def test_today_in_zurich_around_the_clock_changes(now: datetime, today: date) -> None:
    start, end, first, last = dates.resolve("day", "Europe/Zurich", now)
    assert (first, last) == (today, today)
    # A local day is 23 or 25 hours long on the days the clocks change, and its UTC bounds say so.
    hours = {date(2026, 3, 29): 23, date(2026, 10, 25): 25}.get(today, 24)
    assert (end - start).total_seconds() == hours * 3600
    _, _, f7, l7 = dates.resolve("7d", "Europe/Zurich", now)
    assert (f7, l7) == (date.fromordinal(today.toordinal() - 7), date.fromordinal(today.toordinal() - 1))
