"""Assigning events to visits, without a database."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from analytics.catalog import SESSION_ATTRS
from analytics.model import Event, SessionAttrs
from analytics.visits.batch import Batch
from analytics.visits.rollups import COUNTERS
from analytics.visits.sessions import TIMEOUT, Group, Session, Visits, attr_values


def stored_attrs(**values: str) -> tuple[Hashable, ...]:
    """Attributes as the store keeps them, in the catalog's order whatever it is."""
    return tuple(values.get(n, "") for n in SESSION_ATTRS)


LINKEDIN = stored_attrs(channel="Organic Social", source="LinkedIn", country="CH", device="Desktop")
DIRECT = stored_attrs(channel="Direct", source="Direct / None", country="CH", device="Desktop")


def ev(ts: int, name: str = "pageview", page: int = 1, visitor: int = 7, prev: int | None = None, **kw: Any) -> Event:
    return Event(
        site_id=1, ts=ts, day=ts // 86400, visitor_id=visitor, prev_visitor_id=prev, name=name, hostname="h",
        path=f"/{page}", attrs=SessionAttrs(), **kw,
    )  # fmt: skip


class World:
    """Visits and summed rollup deltas over any number of batches."""

    def __init__(self) -> None:
        self.groups: dict[tuple[int, int], Group] = {}
        self.last_id = 0
        self.rows: dict[str, dict[tuple[Hashable, ...], dict[str, int]]] = {t: {} for t in COUNTERS}

    def send(self, *events: Event) -> Session | None:
        """One batch; returns the visit of its last event."""
        batch = Batch(self.groups, self.last_id)
        session = None
        for e in events:
            page = int(e.path[1:])
            # Events before ts 10,000 come from LinkedIn, later ones directly.
            attrs = LINKEDIN if e.ts < 10_000 else DIRECT
            session = batch.apply(e, hash(e.name) % 1000, 1, page, 0, lambda _, a=attrs: a)
        self.last_id = batch.visits.next_id
        for table, rows in batch.finish().rows.items():
            for key, counters in rows.items():
                target = self.rows[table].setdefault(key, {})
                for name, value in zip(COUNTERS[table], counters, strict=True):
                    target[name] = target.get(name, 0) + value
        return session

    def total(self, table: str, counter: str) -> int:
        return sum(c.get(counter, 0) for c in self.rows[table].values())


def test_timeout_splits_visits_and_keeps_first_touch() -> None:
    w = World()
    s1 = w.send(ev(1000))
    s2 = w.send(ev(1000 + TIMEOUT, page=2))  # exactly 30 minutes later: same visit
    s3 = w.send(ev(1000 + 2 * TIMEOUT + 1, page=3))  # more than 30 minutes after the last event
    assert s1 is s2 and s3 is not None and s3 is not s1
    assert (s1.entry_page, s1.exit_page, s1.pageviews, s1.duration, s1.is_bounce) == (1, 2, 2, TIMEOUT, False)
    assert s1.attrs == LINKEDIN  # first touch kept although later events came without a referrer
    assert (w.total("rollup_totals", "visits"), w.total("rollup_totals", "visitors")) == (2, 1)


def test_engagement_updates_but_never_starts_a_visit() -> None:
    w = World()
    assert w.send(ev(500, "engagement", scroll_depth=50, engaged_ms=4000)) is None
    s = w.send(ev(1000))
    assert w.send(ev(1100, "engagement", scroll_depth=70, engaged_ms=9000)) is s
    assert s is not None and (s.pageviews, s.last, s.last_action, s.duration, s.is_bounce) == (1, 1100, 1000, 0, True)
    assert w.total("rollup_pages", "scroll_total") == 70 and w.total("rollup_pages", "time_total") == 9000
    # a deeper scroll on the same page raises the visit's maximum, it doesn't add a visit
    w.send(ev(1200, "engagement", scroll_depth=90, engaged_ms=1000))
    assert (w.total("rollup_pages", "scroll_total"), w.total("rollup_pages", "scroll_visits")) == (90, 1)
    assert (w.total("rollup_pages", "time_total"), w.total("rollup_pages", "time_visits")) == (10000, 1)
    # rollup_totals carries the same sums, at the events' buckets
    assert (w.total("rollup_totals", "scroll_total"), w.total("rollup_totals", "time_total")) == (90, 10000)


def test_interactive_event_prevents_bounce_and_non_interactive_does_not() -> None:
    w = World()
    s = w.send(ev(1000))
    w.send(ev(1010, "Video Play", interactive=False))
    assert s is not None and s.is_bounce and w.total("rollup_totals", "bounces") == 1
    w.send(ev(1020, "Signup"))
    assert not s.is_bounce and w.total("rollup_totals", "bounces") == 0
    assert w.total("rollup_totals", "duration") == 20 and w.total("rollup_totals", "events") == 2


def test_visit_continues_across_midnight_on_yesterdays_id() -> None:
    w = World()
    s = w.send(ev(86400 - 60, visitor=1))
    after = w.send(ev(86400 + 60, visitor=2, prev=1))  # new day: new id, yesterday's id tried too
    assert after is s and s is not None and s.visitor_id == 1 and s.pageviews == 2
    assert w.total("rollup_totals", "visitors") == 1


def test_exit_page_moves_with_the_visit() -> None:
    w = World()
    w.send(ev(1000, page=1))
    w.send(ev(1010, page=2))
    w.send(ev(1020, page=3))
    exits = {k[2:]: c["visits"] for k, c in w.rows["rollup_exit_pages"].items() if c.get("visits")}
    assert exits == {(3,): 1}


def test_one_batch_counts_as_many_batches() -> None:
    events = [ev(1000), ev(1010, page=2), ev(1020, "Signup", page=2), ev(1030, "engagement", page=2, engaged_ms=5),
              ev(1000 + 2 * TIMEOUT, page=3), ev(1000 + 2 * TIMEOUT + 5, page=1), ev(1100, visitor=8)]  # fmt: skip
    one, many = World(), World()
    one.send(*events)
    for e in events:
        many.send(e)
    nonzero = [{t: {k: c for k, c in rows.items() if any(c.values())} for t, rows in w.rows.items()} for w in (one, many)]
    assert nonzero[0] == nonzero[1]
    assert one.total("rollup_totals", "visits") == 3 and one.total("rollup_totals", "visitors") == 2


def test_the_open_visit_with_the_latest_event_wins() -> None:
    early = Session(id=1, site_id=1, visitor_id=7, day=0, start=100, last=1000, last_action=1000, entry_page=1, exit_page=1, pageviews=1, events=0, interactive=0, attrs=LINKEDIN)
    late = Session(id=2, site_id=1, visitor_id=8, day=0, start=200, last=1500, last_action=1500, entry_page=1, exit_page=1, pageviews=1, events=0, interactive=0, attrs=LINKEDIN)
    visits = Visits({(1, 7): [early], (1, 8): [late]}, 2)
    assert visits.find(ev(1600, visitor=8, prev=7)) is late
    assert visits.find(ev(1600, visitor=7)) is early
    assert visits.find(ev(1500 + TIMEOUT + 1, visitor=8)) is None
    assert visits.find(ev(150, visitor=8)) is None  # before the visit started
    assert visits.find(ev(1600, visitor=9)) is None


def test_attribute_values_follow_the_catalog() -> None:
    values = attr_values(SessionAttrs(source="Google", country="DE", screen="Laptop"))
    assert dict(zip(SESSION_ATTRS, values, strict=True)) == {
        **{n: "" for n in SESSION_ATTRS}, "channel": "Direct", "source": "Google", "country": "DE", "screen": "Laptop"
    }  # fmt: skip
