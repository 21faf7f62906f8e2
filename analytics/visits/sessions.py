"""Visits: assignment of events to sessions, and the rollup deltas they cause.

Pure logic over in-memory objects, so it is tested without a database. The
store loads the sessions of the visitors in a batch, calls `apply` for each
event inside its write transaction, and writes back sessions and deltas.

Rollups stay exact by construction:
- session-level figures (visits, bounces, duration, per-session pageviews) sit
  at the bucket of the session's start, and an event adds the *difference*
  between the session's contribution before and after it;
- a visitor counts once per rollup key and calendar day of the site: a visit
  earns the visitor credit for a key only if no earlier visit of the same
  visitor id that day had it; a page or goal only if the visitor did not reach
  it earlier that day. Over a range, visitors are the sum of daily visitors.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from analytics.model import BUCKET, Event

TIMEOUT = 30 * 60

Key = tuple[Hashable, ...]


@dataclass(slots=True)
class PageMark:
    viewed: bool = False
    scroll: int | None = None  # max scroll depth reached on this page in this visit
    timed: bool = False  # engaged time was recorded for this page in this visit


@dataclass(slots=True)
class Session:
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
    attrs: tuple[Hashable, ...]  # interned SessionAttrs, in SESSION_ATTRS order
    pages: dict[int, PageMark] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # "<kind><id>@<day>": pages and goals reached, per day

    @property
    def is_bounce(self) -> bool:
        return self.pageviews <= 1 and self.interactive == 0

    @property
    def duration(self) -> int:
        # Reference §2: a bounce counts as 0 even if engagement events followed it.
        return 0 if self.is_bounce else self.last_action - self.start

    def state_json(self) -> str:
        pages = {str(p): [int(m.viewed), m.scroll, int(m.timed)] for p, m in self.pages.items()}
        return json.dumps({"p": pages, "s": sorted(self.seen)}, separators=(",", ":"))

    def load_state(self, text: str) -> None:
        data = json.loads(text)
        self.pages = {int(p): PageMark(bool(v), s, bool(t)) for p, (v, s, t) in data["p"].items()}
        self.seen = set(data["s"])


SESSION_ATTRS = (
    "channel", "source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_content",
    "utm_term", "country", "device", "browser", "browser_version", "os", "os_version", "screen",
)  # fmt: skip
_A = {name: i for i, name in enumerate(SESSION_ATTRS)}


def _attr(name: str) -> Callable[[Session], Hashable]:
    i = _A[name]
    return lambda s: s.attrs[i]


# Session-level rollup tables: their key columns (with a getter each), and whether
# they carry per-visit pageviews. rollup_totals carries pageviews at the event's own
# bucket instead (see apply()).
SESSION_TABLES: dict[str, tuple[tuple[tuple[str, Callable[[Session], Hashable]], ...], bool]] = {
    "rollup_totals": ((), False),
    "rollup_sources": (
        tuple((n, _attr(n)) for n in ("channel", "source", "referrer", "utm_source", "utm_medium",
                                       "utm_campaign", "utm_content", "utm_term")),
        True,
    ),  # fmt: skip
    "rollup_locations": ((("country", _attr("country")),), True),
    "rollup_devices": ((("device", _attr("device")), ("screen", _attr("screen"))), True),
    "rollup_browsers": ((("browser", _attr("browser")), ("browser_version", _attr("browser_version"))), True),
    "rollup_os": ((("os", _attr("os")), ("os_version", _attr("os_version"))), True),
    "rollup_entry_pages": ((("entry_page", lambda s: s.entry_page),), True),
    "rollup_exit_pages": ((("exit_page", lambda s: s.exit_page),), True),
}


def table_key(table: str, session: Session) -> Key:
    return tuple(get(session) for _, get in SESSION_TABLES[table][0])


class Deltas:
    """Counter increments per (table, site, bucket, key), summed over a batch."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[tuple[Hashable, ...], dict[str, int]]] = defaultdict(dict)

    def add(self, table: str, site_id: int, bucket: int, key: Key, **counters: int) -> None:
        row = self.rows[table].setdefault((site_id, bucket, *key), defaultdict(int))
        for name, value in counters.items():
            if value:
                row[name] += value


def _first(session: Session, others: list[Session], key: Callable[[Session], Key | Hashable]) -> int:
    """1 if no earlier visit of the same visitor id on the same day had the same value of `key`."""
    if len(others) == 1:  # the usual case: this is the visitor's only visit
        return 1
    value = key(session)
    for o in others:
        if o is session or o.day != session.day:
            continue
        if (o.start, o.id) < (session.start, session.id) and key(o) == value:
            return 0
    return 1


Contribution = dict[str, tuple[Key, dict[str, int]]]


def _contribution(session: Session, others: list[Session]) -> Contribution:
    out = {}
    for table, (columns, with_pageviews) in SESSION_TABLES.items():
        counters = {
            "visitors": _first(session, others, lambda s, t=table: table_key(t, s)),  # type: ignore[misc]
            "visits": 1,
            "pageviews": session.pageviews if with_pageviews else 0,
            "bounces": int(session.is_bounce),
            "duration": session.duration,
        }
        if len(columns) > 1:
            for name, get in columns:
                counters[f"v_{name}"] = _first(session, others, get)
        out[table] = (table_key(table, session), counters)
    return out


def _add_contribution_delta(deltas: Deltas, session: Session, before: Contribution | None, after: Contribution) -> None:
    bucket = session.start // BUCKET
    for table, (key, counters) in after.items():
        old_key, old = before[table] if before else (key, {})
        if old_key == key:
            diff = {n: v - old.get(n, 0) for n, v in counters.items()}
            deltas.add(table, session.site_id, bucket, key, **diff)
        else:
            deltas.add(table, session.site_id, bucket, old_key, **{n: -v for n, v in old.items()})
            deltas.add(table, session.site_id, bucket, key, **counters)


def find_session(event: Event, candidates: list[Session]) -> Session | None:
    """The visitor's open session: today's id first, then yesterday's (midnight)."""
    best = None
    for s in candidates:
        if s.site_id != event.site_id or s.visitor_id not in (event.visitor_id, event.prev_visitor_id):
            continue
        if s.last >= event.ts - TIMEOUT and s.start <= event.ts:
            if best is None or s.last > best.last:
                best = s
    return best


@dataclass(slots=True)
class Interned:
    """The event's strings as ids, from the store's string table."""

    name: int
    hostname: int
    page: int
    attrs: tuple[Hashable, ...]
    link_url: int
    goal_path: int


def apply(
    event: Event,
    ids: Interned,
    sessions_of: Callable[[int, int], list[Session]],
    new_session_id: Callable[[], int],
    deltas: Deltas,
) -> Session | None:
    """Assign `event` to a session, update it and record rollup deltas.

    `sessions_of(site_id, visitor_id)` returns the loaded sessions of a visitor
    (the list is mutated when a session starts). Returns the session, or None
    when the event is dropped (an engagement event never starts a session).
    """
    candidates = sessions_of(event.site_id, event.visitor_id)
    if event.prev_visitor_id is not None:
        candidates = candidates + sessions_of(event.site_id, event.prev_visitor_id)
    session = find_session(event, candidates)
    kind = event.kind
    if session is None:
        if kind == "engagement":
            return None
        session = Session(
            id=new_session_id(),
            site_id=event.site_id,
            visitor_id=event.visitor_id,
            day=event.day,
            start=event.ts,
            last=event.ts,
            last_action=event.ts,
            entry_page=ids.page,
            exit_page=ids.page,
            pageviews=0,
            events=0,
            interactive=0,
            attrs=ids.attrs,
        )
        sessions_of(event.site_id, event.visitor_id).append(session)
        before = None
    else:
        before = _contribution(session, sessions_of(session.site_id, session.visitor_id))

    visitor_sessions = sessions_of(session.site_id, session.visitor_id)
    bucket = event.ts // BUCKET
    site = event.site_id
    session.last = max(session.last, event.ts)
    if kind != "engagement":
        session.last_action = max(session.last_action, event.ts)
    mark = session.pages.get(ids.page)

    if kind == "pageview":
        session.pageviews += 1
        session.exit_page = ids.page
        first_in_visit = mark is None or not mark.viewed
        seen = f"p{ids.page}@{event.day}"
        first_for_visitor = not any(seen in o.seen for o in visitor_sessions)
        session.seen.add(seen)
        if mark is None:
            mark = session.pages[ids.page] = PageMark()
        mark.viewed = True
        deltas.add(
            "rollup_pages", site, bucket, (ids.hostname, ids.page),
            pageviews=1, visits=int(first_in_visit), visitors=int(first_for_visitor),
        )  # fmt: skip
        deltas.add("rollup_totals", site, bucket, (), pageviews=1)
    elif kind == "engagement":
        if mark is None:
            mark = session.pages[ids.page] = PageMark()
        page_counters: dict[str, int] = {}
        if event.engaged_ms:
            page_counters["time_total"] = event.engaged_ms
            page_counters["time_visits"] = int(not mark.timed)
            mark.timed = True
        if event.scroll_depth is not None:
            old = mark.scroll
            new = event.scroll_depth if old is None else max(old, event.scroll_depth)
            page_counters["scroll_total"] = new - (old or 0)
            page_counters["scroll_visits"] = int(old is None)
            mark.scroll = new
        deltas.add("rollup_pages", site, bucket, (ids.hostname, ids.page), **page_counters)
        deltas.add("rollup_totals", site, bucket, (), **page_counters)
    else:
        session.events += 1
        session.interactive += int(event.interactive)
        goal = f"g{ids.name}:{ids.link_url}:{ids.goal_path}@{event.day}"
        name = f"n{ids.name}@{event.day}"
        first_for_visitor = not any(goal in o.seen for o in visitor_sessions)
        first_of_name = not any(name in o.seen for o in visitor_sessions)
        session.seen.update((goal, name))
        deltas.add(
            "rollup_events", site, bucket, (ids.name, ids.link_url, ids.goal_path),
            events=1, visitors=int(first_for_visitor), v_name=int(first_of_name),
        )  # fmt: skip
        deltas.add("rollup_totals", site, bucket, (), events=1)

    _add_contribution_delta(deltas, session, before, _contribution(session, visitor_sessions))
    return session
