"""Reads: the rule, and the write path's decision per pageview (no database: visits.batch over events)."""

from __future__ import annotations

import dataclasses

from analytics.catalog import SESSION_ATTRS
from analytics.model import BUCKET, Event, SessionAttrs
from analytics.visits.batch import Batch
from analytics.visits.reading import Rule, check_thresholds
from analytics.visits.rollups import Deltas

LINKEDIN = tuple({"channel": "Organic Social", "source": "LinkedIn"}.get(n, "") for n in SESSION_ATTRS)
T0 = 1_000 * BUCKET


def test_needed_time_is_thirty_percent_of_the_reading_time_but_at_least_ten_seconds() -> None:
    rule = Rule()
    assert rule.needed_ms(None) == 10_000  # length unknown (a Plausible tracker): the minimum alone
    assert rule.needed_ms(100) == 10_000  # 26 s to read, 30 % is 7.8 s: the minimum
    assert rule.needed_ms(230) == 18_000  # a minute to read, 30 % of it
    assert rule.needed_ms(1150) == 90_000  # 5 minutes to read, 30 % of it
    assert Rule(75, 50).needed_ms(1150) == 150_000
    assert Rule(75, 0).needed_ms(1150) == 10_000


def test_a_read_needs_both_the_depth_and_the_time() -> None:
    rule = Rule()
    assert rule.is_read(75, 90_000, 1150)
    assert not rule.is_read(74, 90_000, 1150)
    assert not rule.is_read(100, 89_999, 1150)
    assert Rule(50, 30).is_read(50, 90_000, 1150)


def test_thresholds_are_checked() -> None:
    assert check_thresholds(75, 30) is None
    assert check_thresholds(0, 30) == "The scroll depth for a read must be between 1 and 100 %."
    assert check_thresholds(101, 30) == "The scroll depth for a read must be between 1 and 100 %."
    assert check_thresholds(75, -1) == "The share of the reading time for a read must be between 0 and 100 %."


def ev(ts: int, name: str = "pageview", page: int = 1, visitor: int = 7, **engagement: int | None) -> Event:
    e = Event(site_id=1, ts=ts, day=ts // 86400, visitor_id=visitor, prev_visitor_id=None, name=name,
              hostname="h", path=str(page), attrs=SessionAttrs())  # fmt: skip
    return dataclasses.replace(e, **engagement) if engagement else e


def run(events: list[Event]) -> tuple[Deltas, list[bool], Batch]:
    batch = Batch({}, 0)
    reads = []
    for e in events:
        batch.apply(e, 1, 1, int(e.path), 0, lambda _: LINKEDIN)
        reads.append(batch.read if e.name == "engagement" else False)
    return batch.finish(), reads, batch


def eng(ts: int, ms: int, depth: int, page: int = 1, words: int | None = 1150, visitor: int = 7) -> Event:
    return ev(ts, "engagement", page, visitor, engaged_ms=ms, scroll_depth=depth, words=words)


def test_the_engagement_that_crosses_both_thresholds_reads_the_pageview_once() -> None:
    deltas, reads, _ = run([
        ev(T0),
        eng(T0 + 40, 40_000, 50),  # halfway, 40 s
        eng(T0 + 100, 60_000, 80),  # 100 s and 80 %: read
        eng(T0 + 130, 30_000, 100),  # still read, not twice
    ])  # fmt: skip
    assert reads == [False, False, True, False]
    page = deltas.named("rollup_pages")[(1, T0 // BUCKET, 1, 1)]
    assert (page["reads"], page["readers"]) == (1, 1)
    totals = deltas.named("rollup_totals")[(1, T0 // BUCKET)]
    assert (totals["reads"], totals["readers"], totals["pageviews"]) == (1, 1, 1)
    sources = deltas.named("rollup_sources")
    (row,) = sources.values()
    assert (row["reads"], row["readers"], row["r_source"], row["r_channel"]) == (1, 1, 1, 1)


def test_fast_scrolling_half_reading_and_an_idle_tab_are_not_reads() -> None:
    _, reads, _ = run([
        ev(T0), eng(T0 + 2, 2_000, 100),  # to the bottom in 2 s
        ev(T0 + 10, page=2), eng(T0 + 200, 200_000, 50, page=2),  # half the page, for long
        ev(T0 + 300, page=3), eng(T0 + 3900, 30_000, 10, page=3),  # an hour idle: 30 s at most
    ])  # fmt: skip
    assert reads == [False, False, False, False, False, False]


def test_each_pageview_is_read_on_its_own() -> None:
    deltas, reads, batch = run([
        ev(T0), eng(T0 + 100, 100_000, 90),  # read
        ev(T0 + 200), eng(T0 + 210, 10_000, 90),  # the same page again: its time starts afresh
        ev(T0 + 300), eng(T0 + 400, 100_000, 90),  # read again
    ])  # fmt: skip
    assert reads == [False, True, False, False, False, True]
    page = deltas.named("rollup_pages")[(1, T0 // BUCKET, 1, 1)]
    assert (page["reads"], page["readers"], page["pageviews"]) == (2, 1, 3)  # one reader, read twice
    (session,) = batch.touched.values()
    assert session.reads == 2


def test_the_site_rule_travels_with_the_event() -> None:
    strict = [ev(T0), dataclasses.replace(eng(T0 + 100, 100_000, 80), read_scroll=90)]
    assert run(strict)[1] == [False, False]
    lenient = [ev(T0), dataclasses.replace(eng(T0 + 12, 12_000, 80), read_share=0)]
    assert run(lenient)[1] == [False, True]


def test_without_a_word_count_ten_seconds_suffice() -> None:
    assert run([ev(T0), eng(T0 + 11, 11_000, 80, words=None)])[1] == [False, True]


def test_an_engagement_for_a_page_not_viewed_in_the_visit_is_no_read() -> None:
    assert run([ev(T0, page=2), eng(T0 + 100, 100_000, 90, page=1)])[1] == [False, False]
