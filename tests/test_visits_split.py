"""Stored visits replayed per value of one attribute (analytics/visits/split.py), without a database:
each value counts as a site of its own, with every counting rule of visits/rollups.py."""

from __future__ import annotations

from collections.abc import Hashable

from analytics.catalog import SESSION_ATTRS
from analytics.model import BUCKET
from analytics.visits.rollups import COUNTERS
from analytics.visits.split import Stored, rows_by_value

SOURCE = SESSION_ATTRS.index("source")
GOOGLE, LINKEDIN = 11, 12  # interned source ids
DAY = range(0, 96)  # the buckets of one day


def attrs(source: int) -> tuple[Hashable, ...]:
    return tuple(source if i == SOURCE else 0 for i in range(len(SESSION_ATTRS)))


def view(ts: int, visitor: int, source: int, page: int = 3) -> Stored:
    return Stored(ts, 1, visitor, "pageview", 1, 2, page, 0, True, None, None, False, attrs(source))


def engage(ts: int, visitor: int, source: int, scroll: int, read: bool, page: int = 3) -> Stored:
    return Stored(ts, 1, visitor, "engagement", 4, 2, page, 0, True, scroll, 12_000, read, attrs(source))


def named(rows: dict[tuple[Hashable, ...], list[int]], table: str) -> dict[tuple[Hashable, ...], dict[str, int]]:
    return {k: {n: v for n, v in zip(COUNTERS[table], c, strict=True) if v} for k, c in rows.items()}


def test_each_value_counts_as_a_site_of_its_own() -> None:
    # Visitor 7 comes from Google, then from LinkedIn an hour later; visitor 8 from Google.
    events = [
        view(100, 7, GOOGLE),
        view(200, 7, GOOGLE, page=4),
        view(300, 8, GOOGLE),
        view(3700, 7, LINKEDIN),
        engage(3720, 7, LINKEDIN, 80, read=True),
    ]
    out = rows_by_value(events, SOURCE, DAY)
    totals = named(out["rollup_totals"], "rollup_totals")
    # Each value's visitors are its own: visitor 7 counts once under each source.
    assert totals[(GOOGLE,)] == {"visitors": 2, "visits": 2, "bounces": 1, "duration": 100, "pageviews": 3}
    assert totals[(LINKEDIN,)] == {"visitors": 1, "visits": 1, "bounces": 1, "pageviews": 1, "time_total": 12_000,
                                   "time_visits": 1, "scroll_total": 80, "scroll_visits": 1, "reads": 1,
                                   "readers": 1}  # fmt: skip
    pages = named(out["rollup_pages"], "rollup_pages")
    assert pages[(GOOGLE, 2, 3)] == {"visitors": 2, "visits": 2, "pageviews": 2}
    assert pages[(LINKEDIN, 2, 3)]["reads"] == 1
    sources = named(out["rollup_sources"], "rollup_sources")
    assert {k[0] for k in sources} == {GOOGLE, LINKEDIN}


def test_a_read_is_taken_as_stored() -> None:
    """An engagement that made its pageview read on arrival is a read; one that did not is not,
    whatever its scroll depth."""
    deep_not_read = [view(100, 7, GOOGLE), engage(120, 7, GOOGLE, 100, read=False)]
    shallow_read = [view(100, 7, GOOGLE), engage(120, 7, GOOGLE, 10, read=True)]

    def page(events: list[Stored]) -> dict[str, int]:
        return named(rows_by_value(events, SOURCE, DAY)["rollup_pages"], "rollup_pages")[(GOOGLE, 2, 3)]

    assert "reads" not in page(deep_not_read)
    assert page(shallow_read)["reads"] == 1


def test_only_the_asked_buckets_are_kept() -> None:
    """A visit that starts before the day and views a page in it: the page row is kept, the visit
    (at its start bucket) is not."""
    events = [view(95 * BUCKET, 7, GOOGLE), view(97 * BUCKET, 7, GOOGLE, page=4)]
    out = rows_by_value(events, SOURCE, range(96, 192))
    assert named(out["rollup_pages"], "rollup_pages") == {(GOOGLE, 2, 4): {"visitors": 1, "visits": 1, "pageviews": 1}}
    assert named(out["rollup_totals"], "rollup_totals") == {(GOOGLE,): {"pageviews": 1}}
