"""Rollup rows per value of one visit attribute: stored visits replayed through the counting code.

A filtered view on one channel, source or campaign sums exactly what the rollups
would hold had the site received only that channel's visits. So the visits
are replayed through `visits.batch` as if each value were a site of its own:
the event's site becomes the visit's value, and every counting rule (visitor
credits per local day, page visits, reads, visit-level figures at the start
bucket) applies unchanged among the visitor's visits with that value.

Backend-neutral: a store reads the events (their strings interned, each with
its visit's stored attributes) and keeps the rows of the buckets it asks for.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from analytics.model import Event, SessionAttrs
from analytics.visits.batch import Batch
from analytics.visits.rollups import COUNTERS

_NO_ATTRS = SessionAttrs()


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored event as the replay needs it: interned ids, and its visit's visitor id and attributes."""

    ts: int
    day: int  # the event's local calendar day (date ordinal)
    visitor_id: int
    kind: str  # "pageview", "engagement" or "custom"
    name: int
    host: int
    page: int
    link: int  # the interned URL of an outbound-link or download goal, else 0
    interactive: bool
    scroll_depth: int | None
    engaged_ms: int | None
    read: bool  # an engagement that made its pageview read when it arrived
    attrs: tuple[Hashable, ...]  # the visit's first-touch attributes as stored, in SESSION_ATTRS order


# Reads were decided once, on arrival, by the site's thresholds of the time (visits.reading): the
# replay takes those decisions instead of deciding again. An engagement that made its pageview read
# passes thresholds of 0 (its pageview had the 10 s every read needs); any other, none it can reach.
_READ = {True: (0, 0), False: (101, 0)}


# One table's rows: (value, *key columns) -> counters in COUNTERS[table] order.
Rows = dict[tuple[Hashable, ...], list[int]]


def rows_by_value(events: Iterable[Stored], position: int, buckets: range) -> dict[str, Rows]:
    """Replay `events` (in time order) with each visit's attribute at `position` as its site.

    Returns, per rollup table, the rows of the buckets in `buckets` summed over
    those buckets and keyed by (value, *key columns). The events must hold every
    event of every visit that adds to those buckets.
    """
    batch = Batch({}, 0)
    apply = batch.apply
    attrs: tuple[Hashable, ...] = ()

    def attrs_of(_: SessionAttrs) -> tuple[Hashable, ...]:
        return attrs  # the visit's attributes as stored: nothing to intern

    for e in events:
        attrs = e.attrs
        scroll, share = _READ[e.read]
        event = Event(
            int(attrs[position]),  # type: ignore[call-overload]  # segment attributes are interned ids
            e.ts, e.day, e.visitor_id, None, e.kind, "", "", _NO_ATTRS, (), e.interactive,
            e.scroll_depth, e.engaged_ms, None, None, scroll, share,
        )  # fmt: skip
        apply(event, e.name, e.host, e.page, e.link, attrs_of)
    deltas = batch.finish()
    out: dict[str, Rows] = {}
    for table, rows in deltas.rows.items():
        summed: Rows = {}
        width = len(COUNTERS[table])
        for (value, bucket, *keys), counters in rows.items():
            if bucket not in buckets or not any(counters):
                continue
            key = (value, *keys)
            row = summed.get(key)
            if row is None:
                summed[key] = list(counters)
            else:
                for i in range(width):
                    row[i] += counters[i]
        out[table] = summed
    return out
