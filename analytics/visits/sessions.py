"""Visits: which visit (session) each event belongs to.

A visit is one visitor id's run of events on one site with no gap over 30
minutes. Its first-touch attributes (source, UTM tags, country, device...,
the catalog's SESSION_ATTRS) and its entry page come from the event that opens
it; an engagement event never opens one. Near midnight an event may carry
yesterday's visitor id too (`prev_visitor_id`), so a visit continues across
the salt rotation.

Pure logic over in-memory objects: a store loads the visits a batch can touch,
`Visits` finds or opens the visit of each event (`visits.batch` drives it and
`visits.rollups` counts), and the store writes the visits back.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass, field

from analytics.model import Event, SessionAttrs

TIMEOUT = 30 * 60


@dataclass(slots=True)
class PageMark:
    """What a visit did on one page: for once-per-visit page figures."""

    viewed: bool = False
    scroll: int | None = None  # max scroll depth reached on this page in this visit
    timed: bool = False  # engaged time was recorded for this page in this visit
    # The latest pageview of this page in this visit (reset by each pageview):
    # engaged ms and deepest scroll so far, and whether it was read (visits.reading).
    ms: int = 0
    depth: int = 0
    read: bool = False


@dataclass(slots=True, eq=False)
class Session:
    """One visit. `attrs` holds its first-touch attributes as stored, in SESSION_ATTRS order."""

    id: int
    site_id: int
    visitor_id: int
    day: int  # the site-local calendar day the visit started on: it belongs to that day
    start: int
    last: int  # any event, engagement included: keeps the visit open
    last_action: int  # pageviews and custom events only: ends the visit's duration
    entry_page: int
    exit_page: int
    pageviews: int
    events: int
    interactive: int
    attrs: tuple[Hashable, ...]
    reads: int = 0  # pageviews of this visit that were read
    pages: dict[int, PageMark] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # "<kind><id>@<day>": pages and goals reached, per day

    @property
    def is_bounce(self) -> bool:
        return self.pageviews <= 1 and self.interactive == 0

    @property
    def duration(self) -> int:
        # A bounce counts as 0 seconds even if engagement events followed it.
        return 0 if self.is_bounce else self.last_action - self.start

    def state_json(self) -> str:
        """The page and goal marks as the `state` column keeps them: JSON, as json.dumps() compactly writes it.

        Formatted directly (it is written for every visit a batch touches): page
        ids and scroll depths are ints, and the marks hold only letters, digits,
        ':' and '@', which JSON does not escape.
        """
        pages = ",".join([
            f'"{p}":[{int(m.viewed)},{"null" if m.scroll is None else int(m.scroll)},{int(m.timed)},'
            f'{int(m.ms)},{int(m.depth)},{int(m.read)}]'
            for p, m in self.pages.items()
        ])  # fmt: skip
        seen = '","'.join(sorted(self.seen))
        return f'{{"p":{{{pages}}},"s":["{seen}"]}}' if seen else f'{{"p":{{{pages}}},"s":[]}}'

    def load_state(self, text: str) -> None:
        data = json.loads(text)
        # Visits stored before reads were counted have three fields per page.
        self.pages = {
            int(p): PageMark(bool(m[0]), m[1], bool(m[2]), *((m[3], m[4], bool(m[5])) if len(m) > 3 else ()))
            for p, m in data["p"].items()
        }
        self.seen = set(data["s"])


def attr_values(attrs: SessionAttrs) -> tuple[str, ...]:
    """An event's first-touch attributes in SESSION_ATTRS order: SessionAttrs already stores them so."""
    return attrs.values


def find_session(event: Event, candidates: list[Session]) -> Session | None:
    """The visitor's open session: the one with the latest event within the timeout."""
    best = None
    for s in candidates:
        if s.site_id != event.site_id or s.visitor_id not in (event.visitor_id, event.prev_visitor_id):
            continue
        if s.last >= event.ts - TIMEOUT and s.start <= event.ts:
            if best is None or s.last > best.last:
                best = s
    return best


Group = list[Session]  # one visitor id's visits on one site


class Visits:
    """The visits a batch of events can touch, by (site, visitor id).

    `groups` is shared with the caller: the store fills it with the visits it
    loaded and may keep it between batches. New visits get ids from `next_id` up.
    """

    __slots__ = ("groups", "next_id", "opened")

    def __init__(self, groups: dict[tuple[int, int], Group], last_id: int) -> None:
        self.groups = groups
        self.next_id = last_id
        self.opened = 0  # visits opened by this batch

    def group(self, site_id: int, visitor_id: int) -> Group:
        """The visits of one visitor id on one site (created empty)."""
        g = self.groups.get((site_id, visitor_id))
        if g is None:
            g = self.groups[(site_id, visitor_id)] = []
        return g

    def find(self, event: Event) -> Session | None:
        """The open visit `event` continues, under today's or yesterday's visitor id."""
        candidates = self.groups.get((event.site_id, event.visitor_id))
        if event.prev_visitor_id is not None:
            prev = self.groups.get((event.site_id, event.prev_visitor_id))
            if prev:
                candidates = (candidates or []) + prev
        if not candidates:
            return None
        if len(candidates) == 1:  # the usual case, checked without the general loop
            s = candidates[0]
            return s if s.last >= event.ts - TIMEOUT and s.start <= event.ts else None
        return find_session(event, candidates)

    def open(self, event: Event, page: int, attrs: tuple[Hashable, ...]) -> Session:
        """Start a visit with `event`: its first-touch attributes and entry page. Not yet counted."""
        self.next_id += 1
        self.opened += 1
        ts = event.ts
        session = Session(
            self.next_id, event.site_id, event.visitor_id, event.day, ts, ts, ts, page, page, 0, 0, 0, attrs
        )
        self.group(event.site_id, event.visitor_id).append(session)
        return session
