"""Rollup deltas: tables from the catalog, visitor credits, exact totals over any batching."""

from __future__ import annotations

import json
import random
from collections.abc import Hashable

from analytics.catalog import ROLLUP_KEYS, ROLLUPS, SESSION_ATTRS, VISIT_ROLLUPS
from analytics.model import Event, SessionAttrs
from analytics.visits import rollups
from analytics.visits.batch import Batch
from analytics.visits.rollups import COUNTERS, Deltas
from analytics.visits.sessions import TIMEOUT, Group, PageMark, Session

LINKEDIN = tuple({"channel": "Organic Social", "source": "LinkedIn"}.get(n, "") for n in SESSION_ATTRS)
DIRECT = tuple({"channel": "Direct", "source": "Direct / None"}.get(n, "") for n in SESSION_ATTRS)


def ev(ts: int, visitor: int = 7, name: str = "pageview", page: int = 1) -> Event:
    return Event(site_id=1, ts=ts, day=ts // 86400, visitor_id=visitor, prev_visitor_id=None, name=name,
                 hostname="h", path=str(page), attrs=SessionAttrs())  # fmt: skip


def run(groups: dict[tuple[int, int], Group], last_id: int, events: list[tuple[Event, tuple[Hashable, ...]]]) -> Batch:
    batch = Batch(groups, last_id)
    for e, attrs in events:
        batch.apply(e, hash(e.name) % 100, 1, int(e.path), 0, lambda _, a=attrs: a)
    return batch


def test_every_catalog_rollup_has_counters() -> None:
    assert set(COUNTERS) == set(ROLLUP_KEYS) == {r.table for r in ROLLUPS}
    for r in VISIT_ROLLUPS:
        credited = [c for c in r.keys if len(r.keys) > 1]
        assert COUNTERS[r.table] == ("visitors", "visits", "pageviews", "bounces", "duration",
                                     *(f"v_{c}" for c in credited), "reads", "readers",
                                     *(f"r_{c}" for c in credited))  # fmt: skip


def test_visitor_counted_once_per_column_across_combinations() -> None:
    batch = run({}, 0, [(ev(1000), LINKEDIN), (ev(1000 + TIMEOUT + 10_000), DIRECT)])
    rows = batch.finish().named("rollup_sources").values()
    assert sum(c.get("visitors", 0) for c in rows) == 2  # one per combination
    assert sum(c.get("v_utm_campaign", 0) for c in rows) == 1  # both have no campaign: one visitor
    assert sum(c.get("v_source", 0) for c in rows) == 2


def test_a_late_event_of_an_earlier_visit_moves_a_later_visits_credit() -> None:
    """Visits are counted per visitor: a change to one visit re-credits the visitor's others."""
    groups: dict[tuple[int, int], Group] = {}
    first = run(groups, 0, [(ev(1000, page=1), LINKEDIN), (ev(1000 + 3 * TIMEOUT, page=2), DIRECT)])
    total = Deltas()
    for d in (first.finish(), run(groups, 2, [(ev(1100, page=2), LINKEDIN)]).finish()):  # arrives late
        for table, rows in d.rows.items():
            for key, counters in rows.items():
                row = total.row(table, key)
                for i, v in enumerate(counters):
                    row[i] += v
    exits = {k[1:]: c for k, c in total.named("rollup_exit_pages").items() if c}
    # Both visits now leave on page 2: the earlier one (bucket 1) has the visitor's credit for it.
    assert exits == {
        (1, 2): {"visitors": 1, "visits": 1, "pageviews": 2, "duration": 100},
        (7, 2): {"visits": 1, "pageviews": 1, "bounces": 1},
    }


def test_visit_rollups_equal_a_count_of_the_stored_visits_whatever_the_batches() -> None:
    rng = random.Random(4)
    events = []
    for visitor in range(30):
        t = rng.randrange(0, 86400)
        for _ in range(rng.randrange(1, 12)):
            t += rng.choice((5, 60, 600, TIMEOUT + 1, 3 * TIMEOUT))
            name = rng.choice(("pageview", "pageview", "engagement", "Signup"))
            events.append((ev(t, visitor, name, rng.randrange(1, 5)), rng.choice((LINKEDIN, DIRECT))))
    rng.shuffle(events)  # out of order: late events continue (and re-credit) earlier visits

    def visit_tables(d: Deltas) -> dict[str, dict[tuple[Hashable, ...], list[int]]]:
        out = {t: {k: v for k, v in d.rows[t].items() if any(v)} for t in (r.table for r in VISIT_ROLLUPS)}
        out["totals"] = {k: v[:4] for k, v in d.rows["rollup_totals"].items() if any(v[:4])}
        return out

    for size in (1, 7, len(events)):
        groups: dict[tuple[int, int], Group] = {}
        total = Deltas()
        last_id = 0
        for i in range(0, len(events), size):
            batch = run(groups, last_id, events[i : i + size])
            last_id = batch.visits.next_id
            for table, rows in batch.finish().rows.items():
                for key, counters in rows.items():
                    row = total.row(table, key)
                    for j, v in enumerate(counters):
                        row[j] += v
        recount = Deltas()
        for group in groups.values():
            rollups.add_visits(recount, group, 1)
        assert visit_tables(total) == visit_tables(recount), size


def test_state_json_is_what_json_dumps_writes() -> None:
    s = Session(id=1, site_id=1, visitor_id=7, day=5, start=0, last=0, last_action=0, entry_page=3, exit_page=3, pageviews=1, events=0, interactive=0, attrs=LINKEDIN)
    assert s.state_json() == '{"p":{},"s":[]}'
    s.pages = {3: PageMark(True, None, False), 12: PageMark(True, 70, True, 41_000, 80, True)}
    s.seen = {"p3@5", "g4:9:0@5", "n4@5", "r12@5"}
    expected = {"p": {"3": [1, None, 0, 0, 0, 0], "12": [1, 70, 1, 41_000, 80, 1]}, "s": sorted(s.seen)}
    assert s.state_json() == json.dumps(expected, separators=(",", ":"))
    copy = Session(id=1, site_id=1, visitor_id=7, day=5, start=0, last=0, last_action=0, entry_page=3, exit_page=3, pageviews=1, events=0, interactive=0, attrs=LINKEDIN)
    copy.load_state(s.state_json())
    assert (copy.pages, copy.seen) == (s.pages, s.seen)
    # A visit stored before reads were counted: three fields per page, no reading state yet.
    copy.load_state('{"p":{"3":[1,40,1]},"s":[]}')
    assert copy.pages == {3: PageMark(True, 40, True, 0, 0, False)}


# A visit attribute with its own rollup table, added the way the catalog says: one entry and a
# migration (here run by hand). Nothing else changes; ingest and the demo write its column and table.
