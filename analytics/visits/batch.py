"""A batch of events applied to visits: each event assigned, rollup deltas summed.

Backend-neutral: a store loads the visits the batch can touch into `groups`,
interns the event's strings, calls `apply` per event in arrival order and
`finish` once, then writes the touched visits, the events and the deltas in
one transaction. Each event is one bucketed counter update; a visitor's visits
are counted once per batch (taken back as they were, added as they are).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from analytics.model import BUCKET, Event, SessionAttrs
from analytics.visits import rollups
from analytics.visits.reading import Rule
from analytics.visits.rollups import Deltas
from analytics.visits.sessions import Group, Session, Visits


class Batch:
    """The visits and rollup deltas of one batch of events."""

    __slots__ = ("visits", "deltas", "touched", "read", "_groups_seen")

    def __init__(self, groups: dict[tuple[int, int], Group], last_id: int) -> None:
        self.visits = Visits(groups, last_id)
        self.deltas = Deltas()
        self.touched: dict[int, Session] = {}  # session id -> session: the visits to write back
        self.read = False  # whether the last engagement applied made its pageview read
        self._groups_seen: dict[int, Group] = {}  # id(group) -> group, counted again in finish()

    def apply(
        self,
        event: Event,
        name: int,
        host: int,
        page: int,
        link: int,
        attrs_of: Callable[[SessionAttrs], tuple[Hashable, ...]],
    ) -> Session | None:
        """Assign `event` (its strings interned) to a visit, update it and the deltas.

        `attrs_of` turns the event's attributes into stored values; it is called
        only when the event opens a visit. Returns the visit, or None when the
        event is dropped (an engagement event never opens a visit).
        """
        session = self.visits.find(event)
        kind = event.name
        if session is None:
            if kind == "engagement":
                return None
            group = self.visits.group(event.site_id, event.visitor_id)
            if id(group) not in self._groups_seen:
                self._touch(group)
            session = self.visits.open(event, page, attrs_of(event.attrs))
        else:
            group = self.visits.groups[(session.site_id, session.visitor_id)]
            if id(group) not in self._groups_seen:
                self._touch(group)
        self.touched[session.id] = session
        ts = event.ts
        if ts > session.last:
            session.last = ts
        if kind == "engagement":
            rule = Rule(event.read_scroll, event.read_share)
            self.read = rollups.engagement(
                self.deltas, session, ts // BUCKET, host, page, event.engaged_ms, event.scroll_depth,
                (group, event.day, event.words, rule),
            )  # fmt: skip
            return session
        if ts > session.last_action:
            session.last_action = ts
        if kind == "pageview":
            session.pageviews += 1
            session.exit_page = page
            rollups.pageview(self.deltas, session, group, ts // BUCKET, host, page, event.day)
        else:
            session.events += 1
            session.interactive += event.interactive
            # The goal's path column is for pageview goals, which are not written yet.
            rollups.custom(self.deltas, session, group, ts // BUCKET, name, link, 0, event.day)
        return session

    def _touch(self, group: Group) -> None:
        """The first time a batch touches a visitor's visits: take back what they counted so far."""
        self._groups_seen[id(group)] = group
        if group:
            rollups.add_visits(self.deltas, group, -1)

    def finish(self) -> Deltas:
        """Count the touched visitors' visits as they are now; the deltas are then complete."""
        for group in self._groups_seen.values():
            rollups.add_visits(self.deltas, group, 1)
        self.deltas.fold_totals()
        return self.deltas
