"""One filtered set per dashboard on ClickHouse: the raw plans of a batch that share a filter read it once.

A filtered dashboard sends some twenty raw plans (top stats, chart, every tab)
with the same site, range and filter. Compiled one by one, each scans the
range's events, tests the filter, and most join the newest version of each
visit (`sessions FINAL`, the costly read) once more. Here the plans of one site,
range and filter read two sets computed once per statement, as materialized
CTEs (`enable_materialized_cte`):
- `fe<n>`: the range's events that pass the filter, with only the columns the
  plans read;
- `fv<n>`: the newest version of the visits that started in the range and hold
  such events, each with `r`, whether one of them made a pageview read (or the
  visits that pass the filter, when it tests visit attributes only). A visit
  breakdown (sources, countries...) then groups these visits with no join.
Every plan's parts then aggregate those sets (chsums.Compiler with `Shared`).
Same counting rules, same numbers: only where the rows come from changes. The
SQLite store does the same in store/sqlite/segments.py.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

from analytics.stats import sharing
from analytics.stats.plan import Plan
from analytics.stats.query import Filter, Or, filter_dimensions
from analytics.store.clickhouse.chbatch import Layout, Part, union
from analytics.store.clickhouse.chsums import Compiler, Shared, events_table, needs_visit_row, reads_custom_only

# Where a shared set pays: a set read by one plan only is a copy of what it would read anyway.
MIN_PLANS = 2
SETTINGS = " SETTINGS enable_materialized_cte = 1"
_EVENT_REF = re.compile(r"\be\.([a-z_][a-z0-9_]*)")
_VISIT_REF = re.compile(r"\bs\.([a-z_][a-z0-9_]*)")
# Every part over the events reads these; the rest are taken as the parts name them.
_EVENT_ALWAYS = ("ts", "session_id", "name")
Tagged = tuple[int, int, Part]  # plan index, key width, part


Derived = tuple[int, int, frozenset[str]]  # (plan, from plan, sums): the plan's totals are the other's rows' sum


class Batch(NamedTuple):
    """A batch's one statement: its SQL and parameters, every plan's parts, where each row's values go."""

    sql: str
    params: dict[str, Any]
    tagged: list[Tagged]
    layout: Layout  # rows are (part, grouping set, keys, sums): which plans each feeds
    derived: tuple[Derived, ...] = ()


def groups(plans: Sequence[Plan], members: Sequence[int]) -> list[tuple[Filter, list[int]]]:
    """Plans of one `shared_key` (`members`, indexes into `plans`), grouped as `stats.sharing.groups` does."""
    return [(f, [members[j] for j in found]) for f, found in sharing.groups([plans[i] for i in members])]


def statement(plans: Sequence[Plan], tiers: dict[int, int], imported: set[int]) -> Batch:
    """The batch as one statement: the shared sets first, then every plan's parts, laid out by chbatch.union."""
    keyed: dict[Hashable, list[int]] = {}
    for i, plan in enumerate(plans):
        key = sharing.shared_key(plan)
        if key is not None:
            keyed.setdefault(key, []).append(i)
    sets: dict[int, tuple[Filter, int]] = {}  # plan index -> (its set's filter, set number)
    for members in keyed.values():
        for shared, group in groups(plans, members):
            if len(group) >= MIN_PLANS:
                n = len({s for _, s in sets.values()})
                sets.update((i, (shared, n)) for i in group)
        # Lone plans on events alone (the unfiltered dashboard's two goal-link tabs) read one set of
        # the events that pass any of their filters, each testing its own there: one scan, not one each.
        lone = [i for i in members if i not in sets and _events_only(plans[i].query.filters)]
        if len(lone) >= MIN_PLANS:
            n = len({s for _, s in sets.values()})
            either = Or(tuple(dict.fromkeys(f for i in lone if (f := plans[i].query.filters) is not None)))
            sets.update((i, (either, n)) for i in lone)

    derived = _page_totals(plans, sets)
    less = {i: names for i, _, names in derived}
    tagged: list[Tagged] = []
    by_set: dict[int, list[str]] = {}
    for i, plan in enumerate(plans):
        site_id = plan.query.site.id
        if i in less:  # these totals come from the pages tab's rows: not counted again
            plan = dataclasses.replace(plan, sums=plan.sums - less[i])
        share = None
        if i in sets:
            shared, n = sets[i]
            rest = sharing.rest(plan, shared)
            visit_filter = not any(d.startswith("event:") for d in filter_dimensions(shared))
            # A plan that reads custom events only (a goal tab, a goal-link tab) reads the set's custom
            # events, taken from goal_events: a few thousand rows, not the set's every event.
            goals = events_table(shared) == "events" and reads_custom_only(plan.query)
            share = Shared(f"fg{n}" if goals else f"fe{n}", f"fv{n}", rest, read_mark=not visit_filter)
        compiler = Compiler(plan, f"b{i}_", tiers.get(site_id), site_id in imported, share)
        for part in compiler.parts():
            tagged.append((i, plan.key_width, part))
            if i in sets:
                by_set.setdefault(sets[i][1], []).append(part[0])

    if not tagged:
        return Batch("", {}, [], {})
    ctes: list[str] = []
    params: dict[str, Any] = {}
    done = set()
    for i, (shared, n) in sets.items():
        if n in done:
            continue
        done.add(n)
        first = dataclasses.replace(plans[i], query=dataclasses.replace(plans[i].query, filters=shared))
        compiler = Compiler(first, f"f{n}_")
        ctes += _sets(compiler, shared, n, by_set.get(n, []))
        params.update(compiler.params)
    sql, part_params, layout = union(tagged)
    params.update(part_params)
    if ctes:
        sql = f"WITH {', '.join(ctes)} {sql}{SETTINGS}"
    return Batch(sql, params, tagged, layout, derived)


def _page_totals(plans: Sequence[Plan], sets: dict[int, tuple[Filter, int]]) -> tuple[Derived, ...]:
    """The batch's page totals (`stats.sharing.page_totals`) whose two plans read one set with no
    condition of their own: the totals are then summed from the tab's rows inside the statement.

    Those are the most costly parts of the set (12 months, two filters, 10M events:
    1.5M events, about 290 ms of 700 for the two). A segment plan is raw here, so its
    totals qualify too.
    """

    def plain(i: int) -> bool:
        return i in sets and sharing.rest(plans[i], sets[i][0]) is None

    pairs = sharing.page_totals(plans, per_segment=False)
    return tuple((i, tab, names) for i, tab, names in pairs if plain(i) and plain(tab) and sets[i] == sets[tab])


def _events_only(f: Filter | None) -> bool:
    """Whether a filter tests event rows alone (so it can be tested again on a set of events)."""
    return f is not None and all(d.startswith("event:") for d in filter_dimensions(f))


def _sets(c: Compiler, shared: Filter, n: int, parts: list[str]) -> list[str]:
    """The CTEs of set `n` (filter `shared`) that its plans' parts read: events, then visits.

    Their parameters are left in `c.params`.
    """
    fe, fg, fv = f"fe{n}", f"fg{n}", f"fv{n}"
    over_events = [sql for sql in parts if f"FROM {fe} AS e" in sql]
    over_goals = [sql for sql in parts if f"FROM {fg} AS e" in sql]
    over_visits = [sql for sql in parts if f"{fv} AS s" in sql]
    visit_filter = not any(d.startswith("event:") for d in filter_dimensions(shared))
    out = []
    q = c.q

    def events(name: str, table: str, readers: list[str], also: tuple[str, ...] = ()) -> str:
        cols = dict.fromkeys([*_EVENT_ALWAYS, *also, *(m for sql in readers for m in _EVENT_REF.findall(sql))])
        source = f"{table} AS e"
        if needs_visit_row(filter_dimensions(shared)):
            source += f" INNER JOIN {c.sessions()} AS s ON s.id = e.session_id"
        where = f"e.site_id = {c.p(q.site.id)} AND {c.bounds('e.ts')} AND {c.filter_sql(shared)}"
        return f"{name} AS MATERIALIZED (SELECT {', '.join(f'e.{x}' for x in cols)} FROM {source} WHERE {where})"

    if over_events or (over_visits and not visit_filter):
        read = ("read",) if over_visits and not visit_filter else ()  # the visits' read marks
        out.append(events(fe, events_table(shared), over_events, read))
    if over_goals:
        out.append(events(fg, "goal_events", over_goals))
    if over_visits:
        cols = dict.fromkeys(["id", *(m for sql in over_visits for m in _VISIT_REF.findall(sql))])
        cols.pop("r", None)
        select = ", ".join(f"s.{x}" for x in cols)
        where = f"s.site_id = {c.p(q.site.id)} AND {c.bounds('s.start')}"
        if visit_filter:
            sql = f"SELECT {select} FROM sessions AS s FINAL WHERE {where} AND {c.visit_filter_sql(shared)}"
        else:  # the visits holding the set's events, each with whether one of them made a pageview read
            # Two sets of visit ids tested on `sessions`, not a join: only the matching visits' columns are
            # read (12 months, two filters, 10M events: 361k of 2.3M visits, 320 -> 273 ms).
            marked = f"s.id IN (SELECT session_id FROM {fe} WHERE read = 1) AS r"
            held = f"s.id IN (SELECT session_id FROM {fe})"
            sql = f"SELECT {select}, {marked} FROM sessions AS s FINAL WHERE {where} AND {held}"
        out.append(f"{fv} AS MATERIALIZED ({sql})")
    return out
