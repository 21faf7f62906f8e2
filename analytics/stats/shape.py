"""From per-group sums to a result: the last stage of the stats pipeline.

Backends only produce sums; `stats.metrics` holds every formula, and this
module applies them, orders rows, pages them and adds time labels.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from analytics.stats.dates import labels
from analytics.stats.metrics import Sums, metric_value
from analytics.stats.query import And, Condition, Filter, Not, Or, PageGoal, Query, QueryResult

Groups = dict[tuple[Any, ...], Sums]
Row = tuple[tuple[Any, ...], tuple[float | int | None, ...]]  # (dimension values, metric values)


def _without_goals(f: Filter | None) -> Filter | None:
    """The filter with event:goal conditions removed: the base for conversion_rate."""
    if f is None or (isinstance(f, Condition) and f.dimension == "event:goal") or isinstance(f, PageGoal):
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


def supporting(query: Query) -> list[Query]:
    """The queries whose visitor totals a query's metrics are relative to.

    `percentage` is a share of all visitors of the view; `conversion_rate` a
    share of the visitors without the goal condition (per row when the query
    has other dimensions, such as time).
    """
    out = []
    if "percentage" in query.metrics:
        out.append(dataclasses.replace(query, dimensions=(), metrics=("visitors",)))
    if "conversion_rate" in query.metrics:
        out.append(
            dataclasses.replace(
                query,
                dimensions=tuple(d for d in query.dimensions if d != "event:goal"),
                filters=_without_goals(query.filters),
                metrics=("visitors",),
            )
        )
    return out


def shape(query: Query, groups: Groups, support: list[Groups]) -> QueryResult:
    """Metrics from sums: `groups` for the query, `support` for each of `supporting(query)`."""
    total_visitors = 0.0
    bases = iter(support)
    if "percentage" in query.metrics:
        total_visitors = sum(s.get("visitors", 0) for s in next(bases).values())
    if "conversion_rate" in query.metrics:
        totals = next(bases)
        if any(d != "event:goal" for d in query.dimensions):
            # Per-row base: conversion within each time bucket or other dimension.
            return _finish(query, groups, per_row_base=totals)
        total_visitors = sum(s.get("visitors", 0) for s in totals.values())
    return _finish(query, groups, total_visitors=total_visitors)


def _finish(
    query: Query,
    groups: Groups,
    total_visitors: float = 0.0,
    per_row_base: Groups | None = None,
) -> QueryResult:
    time_index = next((i for i, d in enumerate(query.dimensions) if d.startswith("time")), None)
    first = query.first_day.isoformat()
    rows: list[Row] = []
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

    return paged(query, rows)


def paged(query: Query, rows: list[Row]) -> QueryResult:
    """The result of `rows`: in the query's order (by default the first metric, descending), one page of them."""
    time_index = next((i for i, d in enumerate(query.dimensions) if d.startswith("time")), None)
    rows = sorted(rows, key=lambda r: tuple(str(v) for v in r[0]))
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

    result = QueryResult(rows=rows[query.offset : query.offset + query.limit])
    if query.total_rows:
        result.total_rows = len(rows)
    if query.time_labels and time_index is not None:
        dim = query.dimensions[time_index]
        kind = query.time_granularity if dim == "time" else dim.split(":", 1)[1]
        result.time_labels = labels(kind, query.first_day, query.last_day)
    return result
