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
  daily visitors.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from analytics.catalog import ROLLUPS, SESSION_ATTRS, VISIT_ROLLUPS
from analytics.model import BUCKET
from analytics.visits.sessions import Group, PageMark, Session

Key = tuple[Hashable, ...]  # (site_id, bucket, *key columns)

TOTALS, PAGES, GOALS = "rollup_totals", "rollup_pages", "rollup_events"
VISIT_SUMS = ("visitors", "visits", "pageviews", "bounces", "duration")
# Each table's counters, in the order Deltas keeps them.
COUNTERS: dict[str, tuple[str, ...]] = {
    # The first four are visit-level; the rest are sums of the page and goal rows.
    TOTALS: ("visitors", "visits", "bounces", "duration", "pageviews", "events", "time_total", "time_visits",
             "scroll_total", "scroll_visits"),  # fmt: skip
    PAGES: ("visitors", "visits", "pageviews", "time_total", "time_visits", "scroll_total", "scroll_visits"),
    GOALS: ("visitors", "events", "v_name"),
    **{r.table: VISIT_SUMS + tuple(f"v_{c}" for c in r.credits) for r in VISIT_ROLLUPS},
}
_missing = [r.table for r in ROLLUPS if r.table not in COUNTERS]
if _missing:
    raise RuntimeError(f"event-level rollup tables without counting rules: {_missing}")

# A visit's key values: its first-touch attributes, then its entry and exit page.
_VALUES = (*SESSION_ATTRS, "entry_page", "exit_page")


def _key_builder(columns: tuple[str, ...]) -> Callable[[int, int, tuple[Hashable, ...]], Key]:
    """(site, bucket, visit values) -> the table's row key, for these key columns."""
    for c in columns:
        if c not in _VALUES:
            raise RuntimeError(f"visit rollup column {c!r} is neither a first-touch attribute nor a page")
    idx = tuple(_VALUES.index(c) for c in columns)
    if len(idx) == 1:
        (i,) = idx
        return lambda site, bucket, v: (site, bucket, v[i])
    return lambda site, bucket, v: (site, bucket, *[v[i] for i in idx])


# Visit-level tables: (table, row key builder, positions of the credited columns).
_VISIT_TABLES = tuple(
    (r.table, _key_builder(r.keys), tuple(_VALUES.index(c) for c in r.credits)) for r in VISIT_ROLLUPS
)


class Deltas:
    """Counter increments per rollup row, summed over a batch: table -> row key -> counters."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: dict[str, dict[Key, list[int]]] = {table: {} for table in COUNTERS}

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
                t = totals[(site, bucket)] = [0] * 10
            t[4] += r[2]
            t[6] += r[3]
            t[7] += r[4]
            t[8] += r[5]
            t[9] += r[6]
        for (site, bucket, *_), r in self.rows[GOALS].items():
            t = totals.get((site, bucket))
            if t is None:
                t = totals[(site, bucket)] = [0] * 10
            t[5] += r[1]


# -- events ----------------------------------------------------------------------


def pageview(deltas: Deltas, session: Session, group: Group, bucket: int, host: int, page: int, day: int) -> None:
    """A pageview: the page's views, its visit (once per visit) and its visitor (once per day)."""
    mark = session.pages.get(page)
    first_in_visit = mark is None or not mark.viewed
    seen = f"p{page}@{day}"
    first_for_visitor = seen not in session.seen if len(group) == 1 else not any(seen in o.seen for o in group)
    session.seen.add(seen)
    if mark is None:
        mark = session.pages[page] = PageMark()
    mark.viewed = True
    row = deltas.row(PAGES, (session.site_id, bucket, host, page))
    row[0] += first_for_visitor
    row[1] += first_in_visit
    row[2] += 1


def engagement(
    deltas: Deltas, session: Session, bucket: int, host: int, page: int, engaged_ms: int | None, scroll: int | None
) -> None:
    """An engagement send: engaged time, and the visit's deepest scroll on the page (raised, never re-added)."""
    mark = session.pages.get(page)
    if mark is None:
        mark = session.pages[page] = PageMark()
    row = deltas.row(PAGES, (session.site_id, bucket, host, page))
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
    rows = deltas.rows
    totals = rows[TOTALS]
    ordered = group if len(group) == 1 else sorted(group, key=lambda s: (s.start, s.id))
    # (day, table or (table, column position)) -> key values already credited that day
    credited: dict[tuple[int, Hashable], set[Hashable]] = {}
    single = len(group) == 1
    for s in ordered:
        site = s.site_id
        bucket = s.start // BUCKET
        pageviews = s.pageviews
        bounce = int(pageviews <= 1 and s.interactive == 0)
        duration = 0 if bounce else s.last_action - s.start
        values = (*s.attrs, s.entry_page, s.exit_page)
        visitor = 1 if single else _credit(credited, s.day, TOTALS, ())
        t = totals.get((site, bucket))
        if t is None:
            t = totals[(site, bucket)] = [0] * 10
        t[0] += sign * visitor
        t[1] += sign
        t[2] += sign * bounce
        t[3] += sign * duration
        for table, key_of, credit_idx in _VISIT_TABLES:
            key = key_of(site, bucket, values)
            table_rows = rows[table]
            row = table_rows.get(key)
            if row is None:
                row = table_rows[key] = [0] * (5 + len(credit_idx))
            if single:
                row[0] += sign
                for n in range(5, 5 + len(credit_idx)):
                    row[n] += sign
            else:
                row[0] += sign * _credit(credited, s.day, table, key[2:])
                for n, i in enumerate(credit_idx, 5):
                    row[n] += sign * _credit(credited, s.day, (table, i), values[i])
            row[1] += sign
            row[2] += sign * pageviews
            row[3] += sign * bounce
            row[4] += sign * duration


def _credit(credited: dict[tuple[int, Hashable], set[Hashable]], day: int, what: Hashable, value: Hashable) -> int:
    """1 the first time `value` of `what` comes up among a visitor's visits of `day`, else 0."""
    seen = credited.setdefault((day, what), set())
    if value in seen:
        return 0
    seen.add(value)
    return 1
