"""Rollup deltas: what events and visits add to the rollup tables.

The tables, their key columns and which of them are visit-level come from the
catalog (`ROLLUPS`); this module adds the counters and the counting rules.

Rollups stay exact by construction:
- visit-level figures (visits, bounces, duration, the visit's pageviews) sit at
  the bucket of the visit's start. A batch subtracts the contribution of every
  visitor's visits as they were before its first event touched them, and adds
  their contribution once the batch is done, so the tables always hold the
  contribution of the visits as stored;
- a visitor counts once per rollup key and calendar day of the site: a visit
  earns the visitor credit for a key only if no earlier visit of the same
  visitor id that day had it; a page or goal only if the visitor did not reach
  it earlier that day. Tables keyed by several columns also credit each
  column's value alone (`v_<column>`). Over a range, visitors are the sum of
  daily visitors;
- reads (analytics.visits.reading) follow pageviews and readers follow
  visitors: a read counts at its page row when its engagement decides it, and
  in a visit-level table as one of the visit's reads; a reader is a visitor
  credited, by the same rules, only for reads (`readers`, `r_<column>`).
"""

from __future__ import annotations

import operator
from collections.abc import Hashable

from analytics.catalog import ROLLUPS, SESSION_ATTRS, VISIT_ROLLUPS
from analytics.model import BUCKET, Event
from analytics.visits.reading import Rule
from analytics.visits.sessions import Group, PageMark, Session

Key = tuple[Hashable, ...]  # (site_id, bucket, *key columns)

TOTALS, PAGES, GOALS = "rollup_totals", "rollup_pages", "rollup_events"
# Goals keyed by the link they went to as well (rollup_events' `link_url`): outbound links and downloads.
LINK_EVENTS = frozenset(("Outbound Link: Click", "File Download"))


def link_url(event: Event) -> str:
    """The URL an outbound-link or download goal went to, else ''."""
    return dict(event.props).get("url", "") if event.name in LINK_EVENTS else ""

VISIT_SUMS = ("visitors", "visits", "pageviews", "bounces", "duration")
# Each table's counters, in the order Deltas keeps them.
COUNTERS: dict[str, tuple[str, ...]] = {
    # The first four are visit-level; the rest are sums of the page and goal rows.
    TOTALS: ("visitors", "visits", "bounces", "duration", "pageviews", "events", "time_total", "time_visits",
             "scroll_total", "scroll_visits", "reads", "readers"),  # fmt: skip
    PAGES: ("visitors", "visits", "pageviews", "time_total", "time_visits", "scroll_total", "scroll_visits", "reads",
            "readers"),  # fmt: skip
    GOALS: ("visitors", "events", "v_name"),
    **{
        r.table: (*VISIT_SUMS, *(f"v_{c}" for c in r.credits), "reads", "readers", *(f"r_{c}" for c in r.credits))
        for r in VISIT_ROLLUPS
    },
}
_TOTALS_WIDTH, _PAGES_WIDTH = len(COUNTERS[TOTALS]), len(COUNTERS[PAGES])
_missing = [r.table for r in ROLLUPS if r.table not in COUNTERS]
if _missing:
    raise RuntimeError(f"event-level rollup tables without counting rules: {_missing}")

# A visit's key values: its first-touch attributes, then its entry and exit page.
_VALUES = (*SESSION_ATTRS, "entry_page", "exit_page")


def _positions(columns: tuple[str, ...]) -> tuple[int, ...]:
    for c in columns:
        if c not in _VALUES:
            raise RuntimeError(f"visit rollup column {c!r} is neither a first-touch attribute nor a page")
    return tuple(_VALUES.index(c) for c in columns)


# Visit-level tables: (table, key getter over a visit's values, one key column?, credited column positions).
# A getter over one column returns the value itself, over several a tuple.
_VISIT_TABLES = tuple(
    (r.table, operator.itemgetter(*_positions(r.keys)), len(r.keys) == 1, _positions(r.credits))
    for r in VISIT_ROLLUPS
)


class Deltas:
    """Counter increments per rollup row, summed over a batch: table -> row key -> counters."""

    __slots__ = ("rows", "pages", "visit_tables")

    def __init__(self) -> None:
        self.rows: dict[str, dict[Key, list[int]]] = {table: {} for table in COUNTERS}
        self.pages = self.rows[PAGES]  # the busiest tables, at hand
        # (rows, key getter, one key column?, credited column positions) per visit-level table
        self.visit_tables = [(self.rows[t], get, single, credits) for t, get, single, credits in _VISIT_TABLES]

    def row(self, table: str, key: Key) -> list[int]:
        """The counters of one row, in COUNTERS[table] order (zeros when new)."""
        rows = self.rows[table]
        row = rows.get(key)
        if row is None:
            row = rows[key] = [0] * len(COUNTERS[table])
        return row

    def named(self, table: str) -> dict[Key, dict[str, int]]:
        """One table's non-zero counters by name (for tests and debugging)."""
        names = COUNTERS[table]
        return {k: {n: v for n, v in zip(names, row, strict=True) if v} for k, row in self.rows[table].items()}

    def fold_totals(self) -> None:
        """Add the page and goal rows' event-level counters to rollup_totals, per site and bucket.

        Every pageview, engagement and custom event adds to exactly one page or
        goal row, so rollup_totals gets their sums instead of a second count.
        """
        totals = self.rows[TOTALS]
        for (site, bucket, *_), r in self.rows[PAGES].items():
            t = totals.get((site, bucket))
            if t is None:
                t = totals[(site, bucket)] = [0] * _TOTALS_WIDTH
            t[4] += r[2]
            t[6] += r[3]
            t[7] += r[4]
            t[8] += r[5]
            t[9] += r[6]
            t[10] += r[7]  # reads; readers (t[11]) are credited per visit, like visitors
        for (site, bucket, *_), r in self.rows[GOALS].items():
            t = totals.get((site, bucket))
            if t is None:
                t = totals[(site, bucket)] = [0] * _TOTALS_WIDTH
            t[5] += r[1]


# -- events ----------------------------------------------------------------------


def pageview(deltas: Deltas, session: Session, group: Group, bucket: int, host: int, page: int, day: int) -> None:
    """A pageview: the page's views, its visit (once per visit) and its visitor (once per day)."""
    seen = f"p{page}@{day}"
    marks = session.seen
    first_for_visitor = seen not in marks if len(group) == 1 else not any(seen in o.seen for o in group)
    marks.add(seen)
    key = (session.site_id, bucket, host, page)
    row = deltas.pages.get(key)
    if row is None:
        row = deltas.pages[key] = [0] * _PAGES_WIDTH
    row[0] += first_for_visitor
    row[2] += 1
    mark = session.pages.get(page)
    if mark is None:
        session.pages[page] = PageMark(True)
        row[1] += 1
    else:
        if not mark.viewed:
            mark.viewed = True
            row[1] += 1
        mark.ms = mark.depth = 0  # a new pageview of the page: its reading starts afresh
        mark.read = False


def engagement(
    deltas: Deltas,
    session: Session,
    bucket: int,
    host: int,
    page: int,
    engaged_ms: int | None,
    scroll: int | None,
    read: tuple[Group, int, int | None, Rule] | None = None,
) -> bool:
    """An engagement send: engaged time, and the visit's deepest scroll on the page (raised, never re-added).

    With `read` (the visitor's visits, the event's local day, the page's words
    and the site's rule) it also decides whether the page's latest pageview
    became read with this send; returns True when it did (once per pageview).
    """
    mark = session.pages.get(page)
    if mark is None:
        mark = session.pages[page] = PageMark()
    key = (session.site_id, bucket, host, page)
    row = deltas.pages.get(key)
    if row is None:
        row = deltas.pages[key] = [0] * _PAGES_WIDTH
    if engaged_ms:
        row[3] += engaged_ms
        if not mark.timed:
            row[4] += 1
            mark.timed = True
    if scroll is not None:
        old = mark.scroll
        if old is None:
            row[5] += scroll
            row[6] += 1
            mark.scroll = scroll
        elif scroll > old:
            row[5] += scroll - old
            mark.scroll = scroll
    if read is None or not mark.viewed or mark.read:
        return False
    mark.ms += engaged_ms or 0
    if scroll is not None and scroll > mark.depth:
        mark.depth = scroll
    group, day, words, rule = read
    if not rule.is_read(mark.depth, mark.ms, words):
        return False
    mark.read = True
    session.reads += 1
    row[7] += 1
    seen = f"r{page}@{day}"
    marks = session.seen
    row[8] += seen not in marks if len(group) == 1 else not any(seen in o.seen for o in group)
    marks.add(seen)
    return True


def custom(
    deltas: Deltas, session: Session, group: Group, bucket: int, name: int, link: int, path: int, day: int
) -> None:
    """A custom event: the goal's events, its visitor once per day, and once per day per event name."""
    goal = f"g{name}:{link}:{path}@{day}"
    named = f"n{name}@{day}"
    if len(group) == 1:
        first_for_visitor = goal not in session.seen
        first_of_name = named not in session.seen
    else:
        first_for_visitor = not any(goal in o.seen for o in group)
        first_of_name = not any(named in o.seen for o in group)
    session.seen.add(goal)
    session.seen.add(named)
    row = deltas.row(GOALS, (session.site_id, bucket, name, link, path))
    row[0] += first_for_visitor
    row[1] += 1
    row[2] += first_of_name


# -- visits ----------------------------------------------------------------------


def add_visits(deltas: Deltas, group: Group, sign: int) -> None:
    """Add (sign 1) or take back (sign -1) what one visitor id's visits contribute.

    A visit's visitor credits depend on the same visitor's earlier visits that
    day, so a visitor's visits are counted together.
    """
    if len(group) == 1:
        _add_only_visit(deltas, group[0], sign)
        return
    rows = deltas.rows
    totals = rows[TOTALS]
    # (day, table or (table, column position), value): what the visitor was already credited for
    credited: set[tuple[Hashable, ...]] = set()

    def first(mark: tuple[Hashable, ...]) -> int:
        if mark in credited:
            return 0
        credited.add(mark)
        return 1

    for s in sorted(group, key=lambda s: (s.start, s.id)):
        site, bucket, day = s.site_id, s.start // BUCKET, s.day
        pageviews, reads = s.pageviews, s.reads
        bounce = int(pageviews <= 1 and s.interactive == 0)
        duration = 0 if bounce else s.last_action - s.start
        values = (*s.attrs, s.entry_page, s.exit_page)
        t = totals.get((site, bucket))
        if t is None:
            t = totals[(site, bucket)] = [0] * _TOTALS_WIDTH
        t[0] += sign * first((day, TOTALS))
        t[1] += sign
        t[2] += sign * bounce
        t[3] += sign * duration
        if reads:
            t[11] += sign * first(("r", day, TOTALS))
        for table, get, single, credit_positions in _VISIT_TABLES:
            sub = get(values)
            key = (site, bucket, sub) if single else (site, bucket, *sub)
            table_rows = rows[table]
            nc = len(credit_positions)
            row = table_rows.get(key)
            if row is None:
                row = table_rows[key] = [0] * (7 + 2 * nc)
            row[0] += sign * first((day, table, sub))
            row[1] += sign
            row[2] += sign * pageviews
            row[3] += sign * bounce
            row[4] += sign * duration
            for n, i in enumerate(credit_positions, 5):
                row[n] += sign * first((day, table, i, values[i]))
            if reads:
                row[5 + nc] += sign * reads
                row[6 + nc] += sign * first(("r", day, table, sub))
                for n, i in enumerate(credit_positions, 7 + nc):
                    row[n] += sign * first(("r", day, table, i, values[i]))


def _add_only_visit(deltas: Deltas, s: Session, sign: int) -> None:
    """add_visits() for a visitor id's only visit, the usual case: every visitor credit is 1."""
    rows = deltas.rows
    site, bucket = s.site_id, s.start // BUCKET
    bounce = int(s.pageviews <= 1 and s.interactive == 0)
    duration = 0 if bounce else s.last_action - s.start
    # The visit's contribution, signed: a visit, a visitor, its pageviews, bounce, duration, reads, a reader.
    one, pageviews, reads = sign, sign * s.pageviews, sign * s.reads
    reader = sign * (s.reads > 0)
    bounce, duration = sign * bounce, sign * duration
    values = (*s.attrs, s.entry_page, s.exit_page)
    totals = rows[TOTALS]
    t = totals.get((site, bucket))
    if t is None:
        totals[(site, bucket)] = [one, one, bounce, duration, 0, 0, 0, 0, 0, 0, 0, reader]
    else:
        t[0] += one
        t[1] += one
        t[2] += bounce
        t[3] += duration
        t[11] += reader
    base = [one, one, pageviews, bounce, duration]
    for table_rows, get, single, credit_positions in deltas.visit_tables:
        sub = get(values)
        key = (site, bucket, sub) if single else (site, bucket, *sub)
        nc = len(credit_positions)
        row = table_rows.get(key)
        if row is None:
            table_rows[key] = base + [one] * nc + [reads, reader] + [reader] * nc
            continue
        row[0] += one
        row[1] += one
        row[2] += pageviews
        row[3] += bounce
        row[4] += duration
        for n in range(5, 5 + nc):
            row[n] += one
        if reads:
            row[5 + nc] += reads
            for n in range(6 + nc, len(row)):
                row[n] += reader
