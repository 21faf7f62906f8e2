"""The demo's traffic model (analytics/devtools/traffic.py): seeded, exact in count, and no visit
crossing a UTC or local midnight. The demo's database is checked in test_demo.py."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime

from analytics.catalog import ATTR_DEFAULTS, SESSION_ATTRS
from analytics.devtools import traffic
from analytics.model import DAY

TZ = "Europe/Berlin"
START = int(datetime(2026, 3, 27, tzinfo=UTC).timestamp())
END = START + 4 * DAY  # across the change to summer time on March 29


def test_articles_are_a_fixed_list() -> None:
    arts = traffic.articles()
    assert arts == traffic.articles() and len(arts) == len(set(arts)) == 240
    assert all(a.startswith("/blog/") and a.endswith("/") for a in arts)


def test_hourly_counts_add_up_exactly() -> None:
    hours = traffic.hourly_counts(10_000, START + 1800, END, TZ, random.Random(1))
    assert sum(c for _, c in hours) == 10_000
    assert [h for h, _ in hours] == list(range(START, END, 3600))  # the first hour partly in range
    by_hour = defaultdict(int)
    for h, c in hours:
        by_hour[datetime.fromtimestamp(h, UTC).hour] += c
    assert by_hour[2] < by_hour[8]  # 03:00 or 04:00 in Berlin is quieter than the morning
    assert traffic.hourly_counts(10_000, START, END, TZ, random.Random(1)) == traffic.hourly_counts(
        10_000, START, END, TZ, random.Random(1)
    )


def test_midnights_and_local_days() -> None:
    bounds = traffic.midnights(START, END, TZ)
    utc = [START + i * DAY for i in range(-1, 4)]
    # Berlin's midnights: 23:00 UTC in CET, 22:00 UTC from March 30 on (summer time starts March 29, 02:00).
    cet = [START + i * DAY - 3600 for i in range(-1, 3)]
    cest = [START + i * DAY - 7200 for i in (3, 4)]
    assert bounds == sorted({*utc, *cet, *cest, END})
    starts, ordinals = traffic.local_days(START, END, TZ)
    assert starts == [*cet, *cest, START + 5 * DAY - 7200]  # up to the first midnight at or after END
    assert ordinals == list(range(ordinals[0], ordinals[0] + 7))


def test_a_day_of_events_is_seeded_ordered_and_stays_inside_its_midnights() -> None:
    def day(seed: int) -> list:  # type: ignore[type-arg]
        t = traffic.Traffic(1, "blog.example.org", TZ, seed)
        hours = traffic.hourly_counts(3000, START, START + DAY, TZ, t.rng)
        starts, ordinals = traffic.local_days(START, START + DAY, TZ)
        return t.day(hours, START, START + DAY, traffic.midnights(START, START + DAY, TZ), starts, ordinals)

    events = day(3)
    assert events == day(3) and events != day(4)
    assert len(events) == 3000 and [e.ts for e in events] == sorted(e.ts for e in events)
    assert all(START <= e.ts < START + DAY and e.site_id == 1 and e.hostname == "blog.example.org" for e in events)
    bounds = traffic.midnights(START, START + DAY, TZ)
    by_visitor = defaultdict(list)
    for e in events:
        by_visitor[e.visitor_id].append(e)
    for visitor_events in by_visitor.values():
        first, last = visitor_events[0].ts, visitor_events[-1].ts
        assert not any(first < b <= last for b in bounds)  # a visitor's day ends at the next midnight
        assert len({e.day for e in visitor_events}) == 1
    kinds = {e.kind for e in events}
    assert kinds == {"pageview", "engagement", "custom"}
    assert {e.attrs.device for e in events} >= {"Desktop", "Mobile"}


def test_session_attrs_fill_every_catalog_attribute() -> None:
    attrs = traffic.session_attrs({"source": "Xing", "country": "DE"})
    assert attrs.values == tuple({"source": "Xing", "country": "DE"}.get(n, ATTR_DEFAULTS[n]) for n in SESSION_ATTRS)


def test_pages_have_a_fixed_length_in_words() -> None:
    lengths = [traffic.words(p) for p in traffic.articles()]
    assert min(lengths) >= 200 and max(lengths) < 1600 and len(set(lengths)) > 100
    assert traffic.words("/about/") == 150
    assert traffic.words(traffic.articles()[0]) == traffic.words(traffic.articles()[0])
