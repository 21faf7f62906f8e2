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
from analytics.stats.query import And, Filter, filter_dimensions, joined


def shared_key(plan: Plan) -> Hashable | None:
    """Plans with equal keys may read one filtered set; None: the plan reads no filtered events."""
    q = plan.query
    if plan.rollup is not None or q.filters is None:
        return None
    return (q.site.id, q.site.timezone, q.start, q.end)


def conditions(f: Filter | None) -> tuple[Filter, ...]:
    """The conditions a filter ANDs together (itself, when it is not an AND)."""
    return () if f is None else f.items if isinstance(f, And) else (f,)


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


# Sums over a set's events that add up over pages: a page visit, a view, a read, a second, a scroll
# depth belong to one page each. The totals of a set are then the sum of its pages tab's rows.
PAGE_ADDITIVE = frozenset({"pageviews", "reads", "time_total", "page_visits", "scroll_total", "scroll_visits"})


def page_totals(plans: Sequence[Plan], *, per_segment: bool = True) -> list[tuple[int, int, frozenset[str]]]:
    """(totals plan, pages plan, sums): a batch's totals whose page sums are its pages tab's rows' sum.

    A filtered dashboard's top stats and its pages tab count page visits, seconds,
    scroll depth and views over the same events. Each belongs to one page, so the
    totals are the rows' sum, exactly, however the tab is answered (a pages rollup
    keeping the filtered pages reads far fewer rows than the events). Both must have
    the same site, range and filter, no imported history and no histogram, and the
    totals must be read from raw events: not from rollups, nor, with `per_segment`
    (a store keeping rollups per segment, store.sqlite.splits), from those.
    """
    tabs: dict[Hashable, int] = {}
    for i, p in enumerate(plans):
        if p.query.dimensions == ("event:page",) and _plain(p):
            tabs.setdefault(_same(p), i)
    out = []
    for i, p in enumerate(plans):
        tab = tabs.get(_same(p))
        if tab is None or p.query.dimensions or not _plain(p) or p.rollup is not None:
            continue  # (totals from rollups read few rows already)
        if per_segment and p.segment is not None:
            continue
        names = p.sums & plans[tab].sums & PAGE_ADDITIVE
        if names:
            out.append((i, tab, frozenset(names)))
    return out


def _plain(p: Plan) -> bool:
    return _filter(p) is not None and not p.histogram and not p.imports and not p.continues


def _filter(p: Plan) -> Filter | None:
    """The filter a plan answers: its query's, or the conditions it keeps rows by (`plan.own_filter`)."""
    return p.keep[1] if p.keep is not None and p.query.filters is None else p.query.filters


def _same(p: Plan) -> Hashable:
    q = p.query
    return (q.site.id, q.site.timezone, q.start, q.end, _filter(p))
