"""Which raw plans of a batch may read one filtered set: planning both backends share.

A filtered dashboard sends some twenty raw plans (top stats, chart, every tab)
with the same site, range and filter. A backend answers the plans of one
`shared_key` from one set of the filtered rows (store.sqlite.segments,
store.clickhouse.chshared); this module decides, once for both, which plans
go together and what each plan tests beyond its set, so the two backends
cannot group a batch differently.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from analytics.stats.plan import Plan
from analytics.stats.query import And, Filter, filter_dimensions


def shared_key(plan: Plan) -> Hashable | None:
    """Plans with equal keys may read one filtered set; None: the plan reads no filtered events."""
    q = plan.query
    if plan.rollup is not None or q.filters is None:
        return None
    return (q.site.id, q.site.timezone, q.start, q.end)


def conditions(f: Filter | None) -> tuple[Filter, ...]:
    """The conditions a filter ANDs together (itself, when it is not an AND)."""
    return () if f is None else f.items if isinstance(f, And) else (f,)


def joined(items: Sequence[Filter]) -> Filter | None:
    """The AND of `items`; None for none."""
    return None if not items else items[0] if len(items) == 1 else And(tuple(items))


def groups(plans: Sequence[Plan]) -> list[tuple[Filter, list[int]]]:
    """Plans of one `shared_key`, grouped by the filter their set holds, by index.

    A dashboard's filter is an AND of its conditions; a tab may add its own
    (outbound links: the goal). The conditions every plan has are the shared
    set's filter; a plan that adds only event conditions reads that set and
    tests them on it. Other plans are grouped by their exact filter.
    """
    common = list(conditions(plans[0].query.filters))
    for plan in plans[1:]:
        mine = conditions(plan.query.filters)
        common = [c for c in common if c in mine]
    out: dict[Filter, list[int]] = {}
    base = joined(common)
    for i, plan in enumerate(plans):
        rest = [c for c in conditions(plan.query.filters) if c not in common]
        events_only = all(d.startswith("event:") for d in filter_dimensions(joined(rest)))
        key = base if base is not None and events_only else plan.query.filters
        assert key is not None
        out.setdefault(key, []).append(i)
    return list(out.items())


def rest(plan: Plan, shared: Filter) -> Filter | None:
    """What `plan`'s filter tests beyond its set's filter `shared` (event conditions only), or None."""
    return joined([c for c in conditions(plan.query.filters) if c not in conditions(shared)])
