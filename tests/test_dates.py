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
        ("month", date(2026, 3, 1), date(2026, 3, 2)),
        ("6mo", date(2025, 10, 1), date(2026, 3, 2)),
        ("12mo", date(2025, 4, 1), date(2026, 3, 2)),
        ("year", date(2026, 1, 1), date(2026, 3, 2)),
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
