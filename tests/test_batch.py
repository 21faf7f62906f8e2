"""One batch of events applied to visits (analytics/visits/batch.py), without a database:
a touched visitor's visits are taken back as they were and counted again as they are.

Visit assignment over many batches is checked in test_sessions.py, counting rules in test_rollups.py.
"""

from __future__ import annotations

from collections.abc import Hashable

from analytics.catalog import SESSION_ATTRS
from analytics.model import Event, SessionAttrs
from analytics.visits.batch import Batch
from analytics.visits.rollups import COUNTERS
from analytics.visits.sessions import Group, Session

ATTRS: tuple[Hashable, ...] = tuple("" for _ in SESSION_ATTRS)


def ev(ts: int, name: str = "pageview", visitor: int = 7) -> Event:
    return Event(site_id=1, ts=ts, day=0, visitor_id=visitor, prev_visitor_id=None, name=name, hostname="h",
                 path="/", attrs=SessionAttrs())  # fmt: skip


def totals(batch: Batch) -> dict[str, int]:
    out: dict[str, int] = {}
    for counters in batch.finish().rows["rollup_totals"].values():
        for name, value in zip(COUNTERS["rollup_totals"], counters, strict=True):
            out[name] = out.get(name, 0) + value
    return {k: v for k, v in out.items() if v}


def apply(batch: Batch, e: Event) -> Session | None:
    return batch.apply(e, 5 if e.name == "Signup" else 1, 2, 3, 0, lambda _: ATTRS)


def test_a_new_visit_is_opened_touched_and_counted() -> None:
    batch = Batch({}, last_id=41)
    s = apply(batch, ev(1000))
    assert s is not None and s.id == 42 and batch.touched == {42: s} and batch.visits.opened == 1
    assert totals(batch) == {"visitors": 1, "visits": 1, "bounces": 1, "pageviews": 1}


def test_continuing_a_stored_visit_moves_its_contribution() -> None:
    stored = Session(id=9, site_id=1, visitor_id=7, day=0, start=1000, last=1000, last_action=1000, entry_page=3,
                     exit_page=3, pageviews=1, events=0, interactive=0, attrs=ATTRS)  # fmt: skip
    groups: dict[tuple[int, int], Group] = {(1, 7): [stored]}
    batch = Batch(groups, last_id=9)
    assert apply(batch, ev(1060, "Signup")) is stored and apply(batch, ev(1090)) is stored
    # Taken back as a bounce of 0 s, counted again as a visit of 90 s: the visit and visitor stay one.
    assert totals(batch) == {"duration": 90, "events": 1, "pageviews": 1, "bounces": -1}
    assert batch.touched == {9: stored} and batch.visits.opened == 0
    assert (stored.pageviews, stored.events, stored.last_action, stored.is_bounce) == (2, 1, 1090, False)


def test_an_engagement_event_never_opens_a_visit() -> None:
    batch = Batch({}, last_id=0)
    assert apply(batch, ev(1000, "engagement")) is None
    assert batch.touched == {} and totals(batch) == {}
