"""Parse a Stats API v2 request body (reference §3) into a `Query`.

Each problem raises BadRequest with a message naming the bad part, so a client
sees e.g. `Unknown metric "visitorz"` rather than a generic error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal, cast

from analytics.catalog import is_dimension
from analytics.errors import BadRequest
from analytics.model import Site
from analytics.stats import dates, patterns
from analytics.stats.metrics import METRICS
from analytics.stats.query import OPERATORS, And, Condition, Filter, Not, Or, Query

MAX_LIMIT = 10000
# Filters compile to nested SQL; SQLite refuses expressions deeper than 1000
# nodes and parentheses nested more than ~35 levels. These bounds keep every
# accepted filter well inside both, and name the limit instead of failing later.
MAX_FILTER_DEPTH = 10  # nesting of and / or / not
MAX_FILTER_CLAUSES = 200  # conditions, counting each contains / matches value as one
MAX_PATTERN_LENGTH = 500  # characters in one matches pattern
MAX_PATTERNS = 100  # matches / matches_not patterns in one query: each costs a scan of the values
_KEYS = {"site_id", "metrics", "date_range", "dimensions", "filters", "order_by", "include", "pagination", "date"}


def parse_metrics(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise BadRequest("metrics must be a non-empty list")
    for m in value:
        if not isinstance(m, str) or m not in METRICS:
            raise BadRequest(f"Unknown metric {_show(m)}; valid metrics: {', '.join(METRICS)}")
    if len(set(value)) != len(value):
        raise BadRequest("metrics must not repeat")
    return tuple(value)


def parse_dimensions(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadRequest("dimensions must be a list")
    for d in value:
        if not isinstance(d, str) or not is_dimension(d):
            raise BadRequest(f"Unknown dimension {_show(d)}")
        _storable_name(d)
    if len(set(value)) != len(value):
        raise BadRequest("dimensions must not repeat")
    if sum(1 for d in value if d.startswith("time")) > 1:
        raise BadRequest("only one time dimension may be used")
    return tuple(value)


def parse_filter(value: Any, depth: int = 0) -> Filter:
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise BadRequest(f"Invalid filter {_show(value)}")
    op = value[0]
    if op in ("and", "or", "not") and depth >= MAX_FILTER_DEPTH:
        raise BadRequest(f"filters are nested too deeply: at most {MAX_FILTER_DEPTH} levels of and, or, not")
    if op in ("and", "or"):
        if len(value) != 2 or not isinstance(value[1], list) or not value[1]:
            raise BadRequest(f'Invalid filter {_show(value)}: "{op}" takes a non-empty list of filters')
        items = tuple(parse_filter(v, depth + 1) for v in value[1])
        return And(items) if op == "and" else Or(items)
    if op == "not":
        if len(value) != 2:
            raise BadRequest(f'Invalid filter {_show(value)}: "not" takes one filter')
        return Not(parse_filter(value[1], depth + 1))
    if op not in OPERATORS:
        raise BadRequest(f"Unknown filter operator {_show(op)}; valid: {', '.join(OPERATORS)}, and, or, not")
    if len(value) not in (3, 4):
        raise BadRequest(f"Invalid filter {_show(value)}: expected [operator, dimension, [values]]")
    dim, values = value[1], value[2]
    if not isinstance(dim, str) or not is_dimension(dim) or dim.startswith("time"):
        raise BadRequest(f"Invalid filter dimension {_show(dim)}")
    _storable_name(dim)
    if not isinstance(values, list) or not values:
        raise BadRequest(f"Invalid filter {_show(value)}: values must be a non-empty list")
    clean = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise BadRequest(f"Invalid filter value {_show(v)} for {dim}")
        if isinstance(v, str) and not _encodable(v):
            raise BadRequest(f"Invalid filter value for {dim}: it holds an unpaired surrogate character")
        clean.append(str(v))
    case_sensitive = True
    if len(value) == 4:
        mods = value[3]
        if not isinstance(mods, dict) or set(mods) - {"case_sensitive"}:
            raise BadRequest(f'Invalid filter modifiers {_show(mods)}; only "case_sensitive" is known')
        if not isinstance(mods.get("case_sensitive", True), bool):
            raise BadRequest("case_sensitive must be true or false")
        case_sensitive = mods.get("case_sensitive", True)
    if op in ("matches", "matches_not"):
        for v in clean:
            if len(v) > MAX_PATTERN_LENGTH:
                raise BadRequest(f"a matches pattern may have at most {MAX_PATTERN_LENGTH} characters")
            problem = patterns.problem(v)
            if problem is not None:
                raise BadRequest(f"Invalid regular expression {_show(v)}: {problem}")
    return Condition(op, dim, tuple(clean), case_sensitive)


def _integral(value: Any) -> Any:
    """7599.0 as 7599: JSON Schema counts a number with no fraction as an integer, and so do we."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _encodable(text: str) -> bool:
    """UTF-8 has no unpaired surrogates (JSON's "\\ud800" alone), so the database cannot bind one."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _storable_name(name: str) -> None:
    """A property name becomes a JSON path in SQL: NUL ends it early and a lone surrogate cannot be bound."""
    if "\x00" in name or not _encodable(name):
        raise BadRequest("Invalid dimension name: it holds a NUL or an unpaired surrogate character")


def parse_filters(value: Any) -> Filter | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise BadRequest("filters must be a list")
    items = tuple(parse_filter(v) for v in value)
    if sum(_clauses(i) for i in items) > MAX_FILTER_CLAUSES:
        raise BadRequest(
            f"filters are too complex: at most {MAX_FILTER_CLAUSES} conditions,"
            " counting each contains or matches value as one"
        )
    if sum(_patterns(i) for i in items) > MAX_PATTERNS:
        raise BadRequest(f"filters have too many matches patterns: at most {MAX_PATTERNS} in one query")
    return items[0] if len(items) == 1 else And(items)


def _clauses(f: Filter) -> int:
    if isinstance(f, Condition):
        return 1 if f.op in ("is", "is_not") else len(f.values)
    if isinstance(f, Not):
        return _clauses(f.item)
    return sum(_clauses(i) for i in f.items)


def _patterns(f: Filter) -> int:
    if isinstance(f, Condition):
        return len(f.values) if f.op in ("matches", "matches_not") else 0
    if isinstance(f, Not):
        return _patterns(f.item)
    return sum(_patterns(i) for i in f.items)


def parse(body: Mapping[str, Any], site: Site, now: datetime, earliest: date | None = None) -> Query:
    """Build a Query from a v2 body whose site_id was already resolved to `site`."""
    unknown = set(body) - _KEYS
    if unknown:
        raise BadRequest(f"Unknown key {_show(sorted(unknown)[0])} in query")
    for key in ("dimensions", "filters", "order_by", "include", "pagination"):
        if key in body and body[key] is None:
            raise BadRequest(f"{key} must not be null; leave it out instead")
    metrics = parse_metrics(body.get("metrics"))
    dimensions = parse_dimensions(body.get("dimensions"))
    filters = parse_filters(body.get("filters"))
    if "date_range" not in body:
        raise BadRequest("date_range is missing")
    _check_custom_range(body["date_range"])
    start, end, first, last = dates.resolve(body["date_range"], site.timezone, now, earliest)

    if "conversion_rate" in metrics and "event:goal" not in dimensions and not _has_goal_filter(filters):
        raise BadRequest("Metric conversion_rate needs the event:goal dimension or an event:goal filter")
    if "percentage" in metrics and not dimensions:
        raise BadRequest("Metric percentage needs at least one dimension")
    if {"time_on_page", "time_on_page_median", "scroll_depth"} & set(metrics) and any(
        d.startswith("visit:") for d in dimensions
    ):
        raise BadRequest(
            "Metrics time_on_page, time_on_page_median and scroll_depth cannot be broken down by a visit: dimension"
        )

    order_by = _order_by(body.get("order_by"), metrics, dimensions)
    include = body.get("include", {})
    if not isinstance(include, dict):
        raise BadRequest("include must be an object")
    for key in include:
        if key not in ("imports", "time_labels", "total_rows"):
            raise BadRequest(f"Unknown include option {_show(key)}")
        if not isinstance(include[key], bool):
            raise BadRequest(f"include.{key} must be true or false")
    if include.get("time_labels") and not any(d.startswith("time") for d in dimensions):
        raise BadRequest("include.time_labels needs a time dimension")

    pagination = body.get("pagination", {})
    if not isinstance(pagination, dict) or set(pagination) - {"limit", "offset"}:
        raise BadRequest("pagination must be an object with limit and offset")
    limit, offset = _integral(pagination.get("limit", MAX_LIMIT)), _integral(pagination.get("offset", 0))
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"pagination.limit must be between 1 and {MAX_LIMIT}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise BadRequest("pagination.offset must be a non-negative integer")

    return Query(
        site=site,
        metrics=metrics,
        start=start,
        end=end,
        first_day=first,
        last_day=last,
        dimensions=dimensions,
        filters=filters,
        order_by=order_by,
        limit=limit,
        offset=offset,
        include_imports=bool(include.get("imports")),
        time_labels=bool(include.get("time_labels")),
        total_rows=bool(include.get("total_rows")),
        time_granularity=dates.granularity(first, last),
    )


def _check_custom_range(spec: Any) -> None:
    """A custom range is two plain dates: a date-time would silently be cut to its day."""
    if isinstance(spec, list) and len(spec) == 2 and all(isinstance(x, str) for x in spec):
        for x in spec:
            if len(x) != 10:
                raise BadRequest(f"date_range {spec!r} has an invalid date; use YYYY-MM-DD")


def _has_goal_filter(f: Filter | None) -> bool:
    from analytics.stats.query import filter_dimensions

    return "event:goal" in filter_dimensions(f)


def _order_by(
    value: Any, metrics: tuple[str, ...], dimensions: tuple[str, ...]
) -> tuple[tuple[str, Literal["asc", "desc"]], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadRequest("order_by must be a list of [name, direction] pairs")
    out = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and item[1] in ("asc", "desc")):
            raise BadRequest(f"Invalid order_by entry {_show(item)}: expected [name, \"asc\" or \"desc\"]")
        if item[0] not in metrics and item[0] not in dimensions:
            raise BadRequest(f"order_by {_show(item[0])} is not one of the query's metrics or dimensions")
        out.append((item[0], cast(Literal["asc", "desc"], item[1])))
    return tuple(out)


def _show(value: Any) -> str:
    import json

    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):  # deeply nested input: name its type only
        text = type(value).__name__
    return text if len(text) <= 80 else text[:77] + "..."
