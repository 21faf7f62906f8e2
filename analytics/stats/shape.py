"""From per-group sums to metrics: the last stage of the stats pipeline.

Backends only produce sums; every formula lives here, once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from analytics.stats.dates import labels
from analytics.stats.query import And, Condition, Filter, Not, Or, Query, QueryResult, needed_sums

Sums = dict[str, float]
Runner = Callable[[Query, set[str]], Awaitable[tuple[dict[tuple[Any, ...], Sums], bool]]]




def _ratio(a: float, b: float, digits: int | None = 0) -> float | int | None:
    if not b:
        return 0 if digits == 0 else 0.0
    value = a / b
    return int(round(value)) if digits == 0 else round(value, digits)


def metric_value(name: str, s: Sums, total_visitors: float) -> float | int | None:
    get = s.get
    if name in ("visitors", "visits", "pageviews", "events"):
        return int(get(name, 0))
    if name == "views_per_visit":
        return _ratio(get("pageviews", 0), get("visits", 0), 2)
    if name == "bounce_rate":
        return _ratio(100 * get("bounces", 0), get("visits", 0))
    if name == "visit_duration":
        return _ratio(get("duration", 0), get("visits", 0))
    if name == "time_on_page":
        return _ratio(get("time_total", 0) / 1000, get("page_visits", 0))
    if name == "scroll_depth":
        return _ratio(get("scroll_total", 0), get("scroll_visits", 0)) if get("scroll_visits") else None
    if name == "percentage":
        return _ratio(100 * get("visitors", 0), total_visitors, 1)
    if name == "conversion_rate":
        return _ratio(100 * get("visitors", 0), total_visitors, 2)
    raise KeyError(name)


def _without_goals(f: Filter | None) -> Filter | None:
    """The filter with event:goal conditions removed: the base for conversion_rate."""
    if f is None or (isinstance(f, Condition) and f.dimension == "event:goal"):
        return None
    if isinstance(f, Condition):
        return f
    if isinstance(f, Not):
        inner = _without_goals(f.item)
        return Not(inner) if inner is not None else None
    items = tuple(x for x in (_without_goals(i) for i in f.items) if x is not None)
    if not items:
        return None
    return items[0] if len(items) == 1 else (And(items) if isinstance(f, And) else Or(items))


async def shape(run: Runner, query: Query) -> QueryResult:
    groups, used_rollups = await run(query, needed_sums(query.metrics))

    total_visitors = 0.0
    if "percentage" in query.metrics:
        base = dataclasses.replace(query, dimensions=(), metrics=("visitors",))
        totals, _ = await run(base, {"visitors"})
        total_visitors = sum(s.get("visitors", 0) for s in totals.values())
    if "conversion_rate" in query.metrics:
        base = dataclasses.replace(
            query,
            dimensions=tuple(d for d in query.dimensions if d != "event:goal"),
            filters=_without_goals(query.filters),
            metrics=("visitors",),
        )
        totals, _ = await run(base, {"visitors"})
        if base.dimensions:
            # Per-row base: conversion within each time bucket or other dimension.
            return _finish(query, groups, used_rollups, per_row_base=totals)
        total_visitors = sum(s.get("visitors", 0) for s in totals.values())
    return _finish(query, groups, used_rollups, total_visitors=total_visitors)


def _finish(
    query: Query,
    groups: dict[tuple[Any, ...], Sums],
    used_rollups: bool,
    total_visitors: float = 0.0,
    per_row_base: dict[tuple[Any, ...], Sums] | None = None,
) -> QueryResult:
    time_index = next((i for i, d in enumerate(query.dimensions) if d.startswith("time")), None)
    first = query.first_day.isoformat()
    rows = []
    for key, sums in groups.items():
        if not any(sums.values()):
            continue  # rollup rows that were moved away (a visit's exit page changed)
        if time_index is not None and isinstance(key[time_index], str) and key[time_index] < first:
            key = (*key[:time_index], first, *key[time_index + 1 :])  # a week starting before the range
        base = total_visitors
        if per_row_base is not None:
            base_key = tuple(v for v, d in zip(key, query.dimensions, strict=True) if d != "event:goal")
            base = per_row_base.get(base_key, {}).get("visitors", 0)
        rows.append((key, tuple(metric_value(m, sums, base) for m in query.metrics)))
    if not query.dimensions and not rows:
        rows = [((), tuple(metric_value(m, {}, 0) for m in query.metrics))]

    rows.sort(key=lambda r: tuple(str(v) for v in r[0]))
    order = query.order_by or (
        ((query.dimensions[time_index], "asc"),) if time_index is not None else ((query.metrics[0], "desc"),)
    )
    for name, direction in reversed(order):
        if name in query.metrics:
            i = query.metrics.index(name)
            rows.sort(key=lambda r: (r[1][i] is None, r[1][i] or 0), reverse=direction == "desc")
        else:
            i = query.dimensions.index(name)
            rows.sort(key=lambda r: (str(r[0][i])), reverse=direction == "desc")

    result = QueryResult(rows=rows[query.offset : query.offset + query.limit], used_rollups=used_rollups)
    if query.total_rows:
        result.total_rows = len(rows)
    if query.time_labels and time_index is not None:
        dim = query.dimensions[time_index]
        kind = query.time_granularity if dim == "time" else dim.split(":", 1)[1]
        result.time_labels = labels(kind, query.first_day, query.last_day)
    return result
