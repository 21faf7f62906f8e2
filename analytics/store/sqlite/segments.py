"""One filtered set per dashboard: the raw plans of a batch that share a filter read it once.

A filtered dashboard sends a dozen or more raw plans (top stats, chart, every
panel) with the same site, range and filter. Compiled one by one, each of them
scans every event in the range and joins it to its visit, then throws most
rows away. Here they become one statement: the events that pass the filter are
materialised once, each carrying the columns of its visit the plans need (`fe`),
and so are the visits that started in the range and pass it (`fs`, when the
filter is on visit attributes only; `fv`, the visits with a matching event,
when it tests events); every plan's parts then aggregate those small sets
(store.sqlite.compiler in `shared` mode). Same SQL per part, same numbers:
only where the rows come from changes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from analytics.catalog import BY_NAME
from analytics.stats import sharing
from analytics.stats.plan import Plan
from analytics.stats.query import Filter, Or
from analytics.store.sqlite.compiler import Compiler, Half, Part, visitor_day

# The event columns the compiled parts read, and the visit columns every part may read.
_EVENT_COLUMNS = ("ts", "session_id", "name", "hostname", "page", "scroll_depth", "engaged_ms", "read", "props")
_EVENT_ALWAYS = ("ts", "session_id", "name", "read")  # `fv` reads the session and the read flag
_EVENT_REF = re.compile(r"\be\.([a-z_]+)")
_VISIT_COLUMNS = ("visitor_id", "day", "start")
_VISITS_ONLY = ("id", "visitor_id", "day", "start", "pageviews", "interactive", "last_action", "reads")


# A part of the group: the plan it belongs to, its SQL, and whether it reads imported history.
Tagged = tuple[int, Part, bool]


def statement(
    plans: Sequence[Plan],
    shared: Filter,
    names: dict[str, int],
    through_day: int | None,
    strings: int,
    half: Half | None = None,
) -> tuple[str, list[Any], list[Tagged]]:
    """One statement for plans whose filters all hold `shared`: the filtered sets, then every part, tagged.

    Each row is (tag, the part's dimension values, its sums, NULL padding); the
    tag indexes the returned parts. With `half`, the sets hold that half of the
    range (compiler.Half).
    """
    parts: list[Tagged] = []
    for i, plan in enumerate(plans):
        extra = sharing.rest(plan, shared)
        compiler = Compiler(plan, names, through_day, shared=True, rest=extra, strings=strings, half=half)
        for part, imported in compiler.parts():
            parts.append((i, part, imported))
    dims = [d for plan in plans for d in plan.query.dimensions]
    visit_columns = sorted({BY_NAME[d].column for d in dims if d in BY_NAME and BY_NAME[d].level == "visit"})
    # `fe` carries only the visit columns a part over it reads: an exit-page panel answered from
    # the visits alone (`fs`) must not make every event row join its visit.
    over_events = [sql for _, (sql, _, _), _ in parts if " FROM fe e" in sql]
    event_visit_columns = [x for x in visit_columns if any(f"e.s_{x}" in sql for sql in over_events)]

    first = dataclasses.replace(plans[0], query=dataclasses.replace(plans[0].query, filters=shared))
    ctes, params = [], []
    if any(" FROM fe e" in sql or " FROM fv s" in sql for _, (sql, _, _), _ in parts):  # `fv` reads `fe`
        # Only the event columns a part names: a narrower set is quicker to materialise.
        used = {name for sql in over_events for name in _EVENT_REF.findall(sql)}
        c = Compiler(first, names, strings=strings, half=half)
        cols = [f"e.{x}" for x in _EVENT_COLUMNS if x in _EVENT_ALWAYS or x in used]
        cols += [f"s.{x} AS s_{x}" for x in (*_VISIT_COLUMNS, *event_visit_columns)]
        where = c.filtered_events()
        # When every plan tests its own event conditions too (the goal-link tabs, the Headline
        # check's listed pages), the set keeps only the events one of them can pass: those
        # conditions are tested on each event before it is joined to its visit.
        rests = [sharing.rest(plan, shared) for plan in plans]
        if all(r is not None for r in rests):
            either = list(dict.fromkeys(r for r in rests if r is not None))
            where += " AND " + c.filter_sql(either[0] if len(either) == 1 else Or(tuple(either)))
        ctes.append(
            f"fe AS MATERIALIZED (SELECT {', '.join(cols)} FROM events e JOIN sessions s ON s.id = e.session_id"
            f" WHERE {where})"
        )
        params += c.params
    if any(" FROM fs s" in sql for _, (sql, _, _), _ in parts):
        c = Compiler(first, names, strings=strings, half=half)
        cols = [f"s.{x}" for x in dict.fromkeys((*_VISITS_ONLY, *visit_columns))]
        where = c.filtered_visits()
        ctes.append(f"fs AS MATERIALIZED (SELECT {', '.join(cols)} FROM sessions s WHERE {where})")
        params += c.params

    if any(" FROM fv s" in sql for _, (sql, _, _), _ in parts):
        # The visits that started in the range and have an event in `fe`, with whether one of
        # those events made a read: one join to `sessions` for every visit-level tab.
        c = Compiler(first, names, shared=True, strings=strings, half=half)
        cols = [f"s.{x}" for x in dict.fromkeys((*_VISITS_ONLY, *visit_columns))]
        # Each also carries its visitor-day (`vd`) and whether it is the only visit of that visitor-day
        # here (`solo`), decided on these narrow rows before the join: see store.sqlite.compiler.once.
        matching = (
            f"SELECT e.session_id AS sid, MAX(COALESCE(e.read, 0)) AS r, {visitor_day('e.s_visitor_id', 'e.s_day')}"
            f" AS vd FROM fe e WHERE {c.visit_bounds('e.s_start')} GROUP BY e.session_id"
        )
        marked = f"SELECT m.*, COUNT(*) OVER (PARTITION BY m.vd) = 1 AS solo FROM ({matching}) m"
        ctes.append(
            f"fv AS MATERIALIZED (SELECT {', '.join(cols)}, x.r, x.vd, x.solo FROM ({marked}) x"
            " JOIN sessions s ON s.id = x.sid)"
        )
        params += c.params

    # Every row as wide as the widest part: dimension values and sums first, NULLs after.
    width = max(plans[i].key_width + len(part[2]) for i, part, _ in parts)
    selects = []
    for tag, (i, (sql, part_params, sums), _) in enumerate(parts):
        pad = ", NULL" * (width - plans[i].key_width - len(sums))
        selects.append(f"SELECT {tag}, p.*{pad} FROM ({sql}) p")
        params += part_params
    head = f"WITH {', '.join(ctes)} " if ctes else ""
    return head + " UNION ALL ".join(selects), params, parts
