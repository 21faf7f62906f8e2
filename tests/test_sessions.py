"""Session assignment and rollup deltas, without a database."""

from __future__ import annotations

from analytics.model import Event, SessionAttrs
from analytics.visits.sessions import TIMEOUT, Deltas, Interned, Session, apply

ATTRS = ("Organic Social", "LinkedIn", "", "", "", "", "", "", "CH", "Desktop", "Chrome", "131", "Windows", "10", "Laptop")


def ev(ts: int, name: str = "pageview", page: int = 1, visitor: int = 7, prev: int | None = None, **kw: object) -> tuple[Event, Interned]:
    event = Event(site_id=1, ts=ts, day=ts // 86400, visitor_id=visitor, prev_visitor_id=prev, name=name, hostname="h",
                  path=f"/{page}", attrs=SessionAttrs(), **kw)  # type: ignore[arg-type]
    attrs = ATTRS if ts < 10_000 else ("Direct", "Direct / None", *ATTRS[2:])
    return event, Interned(name=hash(name) % 1000, hostname=1, page=page, attrs=attrs, link_url=0, goal_path=0)


class World:
    def __init__(self) -> None:
        self.by_visitor: dict[tuple[int, int], list[Session]] = {}
        self.next = 0
        self.deltas = Deltas()

    def sessions_of(self, site: int, visitor: int) -> list[Session]:
        return self.by_visitor.setdefault((site, visitor), [])

    def new_id(self) -> int:
        self.next += 1
        return self.next

    def send(self, pair: tuple[Event, Interned]) -> Session | None:
        return apply(pair[0], pair[1], self.sessions_of, self.new_id, self.deltas)

    def total(self, table: str, counter: str) -> int:
        return sum(c.get(counter, 0) for c in self.deltas.rows[table].values())


def test_timeout_splits_visits_and_keeps_first_touch() -> None:
    w = World()
    s1 = w.send(ev(1000))
    s2 = w.send(ev(1000 + TIMEOUT, page=2))  # exactly 30 minutes later: same visit
    s3 = w.send(ev(1000 + 2 * TIMEOUT + 1, page=3))  # more than 30 minutes after the last event
    assert s1 is s2 and s3 is not None and s3 is not s1
    assert (s1.entry_page, s1.exit_page, s1.pageviews, s1.duration, s1.is_bounce) == (1, 2, 2, TIMEOUT, False)
    assert s1.attrs[1] == "LinkedIn"  # first touch kept although later events came without a referrer
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
    exits = {k[2:]: c["visits"] for k, c in w.deltas.rows["rollup_exit_pages"].items() if c.get("visits")}
    assert exits == {(3,): 1}


def test_visitor_counted_once_per_column_across_combinations() -> None:
    w = World()
    w.send(ev(1000))  # LinkedIn / Organic Social
    w.send(ev(1000 + TIMEOUT + 10_000))  # a second visit, now Direct: another source combination
    rows = w.deltas.rows["rollup_sources"].values()
    assert sum(c["visitors"] for c in rows) == 2  # one per combination
    assert sum(c["v_utm_campaign"] for c in rows) == 1  # both have no campaign: one visitor
    assert sum(c["v_source"] for c in rows) == 2
